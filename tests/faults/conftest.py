"""pytest wiring for tests/faults: each test's outcome is kept on its item
(so a failing scenario keeps its stack's run directory and outputs), and
the figures the scenarios report (faults injected, 503 latencies, recovery
times, acknowledged uploads checked) are printed in the terminal summary,
with or without -s."""

import pytest

import faultkit


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    faultkit.print_report(terminalreporter, ("faults", "failures"),
                          "fault tests: figures")
