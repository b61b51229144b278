"""pytest wiring for tests/faults: each test's outcome is kept on its item
(so a failing scenario keeps its stack's run directory and outputs), and
the figures the scenarios report (faults injected, 503 latencies, recovery
times, acknowledged uploads checked) are printed in the terminal summary,
with or without -s."""

import faultkit
# Keeps each test's outcome on its item (rep_setup, rep_call, ...).
from faultkit import pytest_runtest_makereport  # noqa: F401


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    faultkit.print_report(terminalreporter, ("faults", "failures"),
                          "fault tests: figures")
