"""pytest wiring for tests/soak: the stack's outputs are kept when the soak
fails, and its figures (requests by kind, errors, latencies, worker RSS)
are printed in the terminal summary, with or without -s."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "faults"))

import faultkit  # noqa: E402


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    faultkit.print_report(terminalreporter, ("soak", "failures"), "soak test: figures")
