"""Fixtures for the integration tests: the whole local stack (tools/stack.py),
started once per pytest session.

  stack        the started stack.Stack: 2 Kore instances behind nginx,
               RUN_MODE=development, DEP_TIMEOUT=2, a random JWT_SECRET for the
               session (stack.jwt_secret: a failing token can be decoded with it).
               See tools/stack.py for its attributes and fault
               helpers (stop_mariadb/start_mariadb, stop_mongo/start_mongo,
               restart_kore, kore_pids, kore_output, kore_problems, ...).
  nginx_url    http://127.0.0.1:<port> of nginx, in front of both instances.
  kore_url     the first Kore instance, directly.
  login        login(user="Rex", pw="Rex siu super", url=None) -> token,
               through nginx unless url is given; asserts a 200.
  auth_header  auth_header(token) -> {"Authorization": "Bearer <token>"}.

stack.seed_users: the (user, password) pairs conf/mariadb/init.sql creates.

basic_auth(user, pw) builds the Basic header in UTF-8 (requests' own
auth=(user, pw) encodes in Latin-1 and cannot send "Mập").

nginx keeps production's /login limit (10 r/s per address, burst 20, then
429): a test that logs in in a tight loop should reuse a token instead.

When the session fails, the Kore outputs and the app log are printed at the
end, with the run directory kept (MICROGO_KEEP_STACK=1 keeps it always). Any
"sandbox violation" / "worker ... gone" line in a Kore output is reported in
the summary too; a test that wants to fail on them checks
stack.kore_problems().
"""

import base64
import os
import sys

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from stack import Stack  # noqa: E402


_report = {}


def basic_auth(user, pw):
    raw = ("%s:%s" % (user, pw)).encode("utf-8")
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


@pytest.fixture(scope="session")
def stack(request):
    s = Stack(kore_instances=2, settings={
        "RUN_MODE": "development",
        "DEP_TIMEOUT": "2",
    })
    s.start()
    try:
        yield s
    finally:
        failed = request.session.testsfailed > 0
        _report["problems"] = s.kore_problems()
        if failed:
            s.keep_run_dir = True
            _report["outputs"] = [(i, s.kore_output(i)) for i in range(s.n_kore)]
            _report["app_log"] = s.app_log()
            _report["run_dir"] = s.run_dir
        s.stop()


@pytest.fixture(scope="session")
def nginx_url(stack):
    return stack.nginx_url


@pytest.fixture(scope="session")
def kore_url(stack):
    return stack.kore_urls[0]


@pytest.fixture(scope="session")
def login(stack):
    def _login(user="Rex", pw="Rex siu super", url=None):
        r = requests.post((url or stack.nginx_url) + "/login", headers=basic_auth(user, pw),
                          timeout=10)
        assert r.status_code == 200, "login %s: %d %s" % (user, r.status_code, r.text)
        return r.json()["token"]
    return _login


@pytest.fixture(scope="session")
def auth_header():
    return lambda token: {"Authorization": "Bearer " + token}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tr = terminalreporter
    cases = getattr(config, "microgo_matrix_cases", None)
    if cases is not None:
        tr.write_line("[matrix] bad-input cases tried: %d, stored data "
                      "unchanged afterwards" % cases)
    problems = _report.get("problems")
    if problems:
        tr.section("Kore: workers died or sandbox violations", sep="!", red=True)
        for i, line in problems:
            tr.write_line("kore-%d: %s" % (i + 1, line))
    if "outputs" in _report:
        tr.section("stack output (the session failed)", sep="-")
        for i, text in _report["outputs"]:
            tr.write_line("--- kore-%d output (last 60 lines)" % (i + 1))
            for line in text.splitlines()[-60:]:
                tr.write_line(line)
        tr.write_line("--- app log (last 60 lines)")
        for line in _report["app_log"].splitlines()[-60:]:
            tr.write_line(line)
        tr.write_line("--- everything is in %s (kept)" % _report["run_dir"])
