#!/usr/bin/python3
"""Runs every microgo test suite and ends with one line: `N passed, N failed`.

`make test` calls this. Each suite runs as its own process, so one suite
crashing cannot hide another's results; the counts come from each runner's
own report (cmocka's summary, pytest's JUnit XML, newman's assertion
counts), never from exit codes alone. The exit status is 0 only if every
suite ran and nothing failed.

Suites can be picked by name: `tests/run_all.py unit integration`.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"


def run_unit():
    """C unit tests (cmocka), also under valgrind memcheck."""
    passed = failed = 0
    for valgrind in ("", "1"):
        env = dict(os.environ, VALGRIND=valgrind)
        rc, out = _run(["make", "-s", "-C", "tests/unit"], env=env)
        if valgrind:
            leaks = len(re.findall(r"are (?:definitely|indirectly|possibly) lost "
                                   r"in loss record", out))
            FIGURES.append("[valgrind] unit tests under memcheck: %s, %d leaks" % (
                "0 errors" if rc == 0 else "failed", leaks))
        p = sum(int(n) for n in re.findall(r"\[  PASSED  \] (\d+) test", out))
        f = sum(int(n) for n in re.findall(r"\[  FAILED  \] (\d+) test", out))
        # A memcheck error or a build failure fails make, not cmocka.
        if rc != 0 and f == 0:
            f = 1
        passed, failed = passed + p, failed + f
    return passed, failed


def run_pytest(path):
    """A pytest directory, counted from its JUnit XML report."""
    with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as fp:
        report = fp.name
    try:
        _run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider",
              "--junitxml", report, path])
        return _junit_counts(report)
    finally:
        os.unlink(report)


def run_asan():
    """The integration suite again, against the module built with
    -fsanitize=address,undefined: any report fails it (test_zz_sandbox)."""
    rc, _ = _run(["make", "-s", "asan"])
    if rc != 0:
        return 0, 1
    os.environ["MICROGO_SANITIZE"] = "1"
    mark = len(FIGURES)
    try:
        passed, failed = run_pytest("tests/integration")
    finally:
        del os.environ["MICROGO_SANITIZE"]
    FIGURES[mark:] = ["%s (asan build)" % line for line in FIGURES[mark:]]
    FIGURES.append("[asan] integration suite on the -fsanitize=address,undefined build: "
                   "%d passed, %d failed (a sanitizer report fails it)" % (passed, failed))
    return passed, failed


def run_counted(cmd):
    """A runner that ends with its own `N passed, N failed` line."""
    rc, out = _run(cmd)
    m = re.findall(r"^(\d+) passed, (\d+) failed$", out, re.M)
    if not m:
        return 0, 1
    passed, failed = int(m[-1][0]), int(m[-1][1])
    if rc != 0 and failed == 0:
        failed = 1
    return passed, failed


SUITES = {
    "unit": run_unit,
    "standin": lambda: run_pytest("tests/standin"),
    "stack": lambda: run_pytest("tests/stack"),
    "integration": lambda: run_pytest("tests/integration"),
    "faults": lambda: run_pytest("tests/faults"),
    "soak": lambda: run_pytest("tests/soak"),
    "postman": lambda: run_counted([PYTHON,
                                    "tests/postman/run_with_stack.py"]),
    "browser": lambda: run_counted([PYTHON,
                                    "tests/browser/run_with_stack.py"]),
    "asan": run_asan,
    "fuzz": lambda: run_counted(["make", "-s", "-C", "tests/fuzz", "run"]),
    "compose": lambda: run_counted(["bash", "tests/compose/run.sh"]),
}


FIGURES = []
FIGURE_RE = re.compile(r"^\[(matrix|faults|soak)\] .*$", re.M)


def _run(cmd, env=None):
    print("==> " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(proc.stdout)
    sys.stdout.flush()
    FIGURES.extend(m.group(0) for m in FIGURE_RE.finditer(proc.stdout)
                   if "totals" in m.group(0) or "[matrix]" in m.group(0))
    return proc.returncode, proc.stdout


def _junit_counts(report):
    try:
        root = ET.parse(report).getroot()
    except (OSError, ET.ParseError):
        return 0, 1
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failures = skipped = 0
    for s in suites:
        tests += int(s.get("tests", 0))
        failures += int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
    if tests == 0:
        return 0, 1
    return tests - failures - skipped, failures


def leaks_found():
    """Leaks over the figures of the suites that ran: memcheck's leak
    records in the unit tests and the workers whose RSS grew past the soak's
    bound. None when neither ran."""
    found, seen = 0, False
    for line in FIGURES:
        m = re.search(r"^\[valgrind\] .*, (\d+) leaks$", line)
        if m:
            seen = True
            found += int(m.group(1))
        m = re.search(r"^\[soak\] totals: .*workers growing past it: (\d+)$", line)
        if m:
            seen = True
            found += int(m.group(1))
    return found if seen else None


def main(argv):
    names = argv or list(SUITES)
    total_p = total_f = 0
    rows = []
    for name in names:
        start = time.monotonic()
        p, f = SUITES[name]()
        rows.append((name, p, f, time.monotonic() - start))
        total_p, total_f = total_p + p, total_f + f
    print()
    # The figures the suites report, gathered in one place.
    for line in FIGURES:
        print(line)
    leaks = leaks_found()
    if leaks is not None:
        print("leaks found: %d" % leaks)
    for name, p, f, secs in rows:
        print("%-12s %5d passed %5d failed  %6.1fs" % (name, p, f, secs))
    print("%d passed, %d failed" % (total_p, total_f))
    return 0 if total_f == 0 and total_p > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
