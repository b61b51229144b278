"""pytest wiring for tests/soak: the stack's outputs are kept when the soak
fails, and its figures (requests by kind, errors, latencies, worker RSS)
are printed in the terminal summary, with or without -s."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "faults"))

import faultkit  # noqa: E402

# Keeps each test's outcome on its item (rep_setup, rep_call, ...).
from faultkit import pytest_runtest_makereport  # noqa: E402,F401


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    faultkit.print_report(terminalreporter, ("soak", "failures"), "soak test: figures")
