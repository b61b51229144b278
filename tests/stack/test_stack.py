"""Smoke tests of the local stack (tools/stack.py) and of conf/nginx.conf in it:
the stack comes up, nginx fronts both Kore instances the way production will,
and MariaDB can be taken away and given back.

Run: cd /work/main && /usr/bin/python3 -m pytest -q tests/stack
"""

import base64
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import stack as stackmod  # noqa: E402
from stack import Stack, StackError  # noqa: E402

REX = ("Rex", "Rex siu super")
MAP = ("Mập", "Mập khùng")
DEP_TIMEOUT = 2


def basic(user, pw):
    raw = ("%s:%s" % (user, pw)).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


def raw_request(port, data, timeout=5):
    """Sends bytes as they are; returns the raw answer (headers and body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except socket.timeout:
            pass
    return b"".join(chunks).decode("utf-8", "replace")


def _complete(data):
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return m is not None and len(body) >= int(m.group(1))


def app_log_lines(stack, rid):
    return [line for line in stack.app_log().splitlines() if "rid=%s " % rid in line]


def wait_for_log(stack, rid, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = app_log_lines(stack, rid)
        if lines:
            return lines
        time.sleep(0.05)
    return []


@pytest.fixture(scope="module")
def stack():
    s = Stack(kore_instances=2, settings={"DEP_TIMEOUT": str(DEP_TIMEOUT)})
    s.start()
    try:
        yield s
    finally:
        problems = s.kore_problems()
        if problems:
            s.keep_run_dir = True
        s.stop()


def test_healthz_via_nginx_and_direct(stack):
    for url in [stack.nginx_url] + stack.kore_urls:
        r = requests.get(url + "/healthz", timeout=5)
        assert r.status_code == 200, url
        assert r.json() == {"status": "ok"}
        assert r.headers["Content-Type"].startswith("application/json")
    assert len(stack.kore_urls) == 2
    assert stack.mariadb_socket and os.path.exists(stack.mariadb_socket)
    assert stack.mongo_uri.startswith("mongodb://")


def test_idle_upstream_connections_never_answer_408(stack):
    """Kore 4.1 writes an unsolicited 408 on a connection idle for its
    http_header_timeout (10 s) and closes it. nginx keeps idle upstream
    connections for less, so after a longer pause no client ever gets a
    stale 408 in place of its own answer."""
    def burst():
        with requests.Session() as s:
            return [s.post(stack.nginx_url + "/login", headers={
                "Authorization": basic("Rex", "Rex siu super")},
                timeout=10).status_code
                for _ in range(6)] + [
                s.get(stack.nginx_url + "/healthz", timeout=10).status_code
                for _ in range(10)]

    assert set(burst()) == {200}
    time.sleep(11)
    codes = burst()
    assert codes.count(408) == 0 and set(codes) == {200}, codes


def test_original_curl_login_through_nginx(stack):
    """The original tutorial's test, as it is: no body, no Content-Length."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    r = subprocess.run(["curl", "-sS", "-v", "-X", "POST", "--user", "Rex:Rex siu super",
                        stack.nginx_url + "/login"], capture_output=True, text=True, timeout=15)
    assert r.returncode == 0, r.stderr
    sent = [line for line in r.stderr.splitlines() if line.startswith("> ")]
    assert not any(line.lower().startswith("> content-length") for line in sent), sent
    assert "< HTTP/1.1 200" in r.stderr, r.stderr + r.stdout
    assert '"token"' in r.stdout and "Login success" in r.stdout


def test_kore_alone_refuses_post_without_content_length(stack):
    """Why nginx.conf maps an empty Content-Length to 0: Kore 4.1 says 411."""
    answer = raw_request(stack.kore_ports[0], (
        "POST /login HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nConnection: close\r\n\r\n"
        % basic(*REX)).encode())
    assert answer.startswith("HTTP/1.1 411"), answer[:200]


def test_utf8_user_logs_in_through_nginx(stack):
    r = requests.post(stack.nginx_url + "/login", headers={"Authorization": basic(*MAP)},
                      timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Authorization"] == "Bearer " + r.json()["token"]
    r = requests.post(stack.nginx_url + "/login", headers={"Authorization": basic("Rex", "x")},
                      timeout=10)
    assert r.status_code == 401


def test_chunked_body_through_nginx(stack):
    """A chunked request body (a 2 MiB upload: past client_body_buffer_size,
    so it goes through nginx's temp files, written by workers running as
    nobody when the stack runs as root) reaches Kore with a Content-Length:
    the app itself judges the file (not an image: 415)."""
    r = requests.post(stack.nginx_url + "/login", headers={"Authorization": basic(*REX)},
                      timeout=10)
    token = r.json()["token"]

    def body():
        yield b'--b\r\nContent-Disposition: form-data; name="data"; filename="x"\r\n\r\n'
        for _ in range(32):
            yield b"x" * 65536
        yield b"\r\n--b--\r\n"
    r = requests.post(stack.nginx_url + "/upload", data=body(), timeout=30, headers={
        "Authorization": "Bearer " + token, "Content-Type": "multipart/form-data; boundary=b",
        "X-Request-ID": "chunked-upload"})
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 415, r.text
    deadline = time.monotonic() + 5
    while not any(" method=POST path=/upload status=415 " in line
                  for line in app_log_lines(stack, "chunked-upload")):
        assert time.monotonic() < deadline, app_log_lines(stack, "chunked-upload")
        time.sleep(0.05)


def test_request_id(stack):
    conn = http.client.HTTPConnection("127.0.0.1", stack.nginx_port, timeout=5)
    try:
        # Generated by nginx, one copy, and the one in the app log.
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        resp.read()
        ids = resp.msg.get_all("X-Request-ID")
        assert ids and len(ids) == 1, ids
        assert re.fullmatch(r"[0-9a-f]{32}", ids[0])
        assert wait_for_log(stack, ids[0])
        # The client's own, when it is a sane token.
        conn.request("GET", "/healthz", headers={"X-Request-ID": "client-id.42_x"})
        resp = conn.getresponse()
        resp.read()
        assert resp.msg.get_all("X-Request-ID") == ["client-id.42_x"]
        assert wait_for_log(stack, "client-id.42_x")
        # Replaced when it is not (the app would otherwise log another id).
        conn.request("GET", "/healthz", headers={"X-Request-ID": "bad id\"<script>"})
        resp = conn.getresponse()
        resp.read()
        ids = resp.msg.get_all("X-Request-ID")
        assert len(ids) == 1 and re.fullmatch(r"[0-9a-f]{32}", ids[0]), ids
        assert wait_for_log(stack, ids[0])
        # On an error nginx makes itself, too.
        conn.request("GET", "/healthz", headers={"X-Request-ID": "x" * 65})
        resp = conn.getresponse()
        resp.read()
        assert re.fullmatch(r"[0-9a-f]{32}", resp.getheader("X-Request-ID"))
    finally:
        conn.close()


def test_requests_reach_both_instances(stack):
    rids = []
    for n in range(20):
        rid = "spread-%d-%d" % (os.getpid(), n)
        r = requests.get(stack.nginx_url + "/healthz", headers={"X-Request-ID": rid}, timeout=5)
        assert r.status_code == 200
        rids.append(rid)
    worker_of = {}
    for i, pids in enumerate(stack.kore_pids()):
        assert pids["workers"], "Kore %d has no workers" % (i + 1)
        for w in pids["workers"]:
            worker_of[w] = i
    seen = set()
    for rid in rids:
        lines = wait_for_log(stack, rid)
        assert len(lines) == 1, (rid, lines)
        pid = int(re.search(r"\bpid=(\d+)", lines[0]).group(1))
        assert pid in worker_of, (pid, worker_of)
        seen.add(worker_of[pid])
    assert seen == {0, 1}
    access = open(stack.nginx_access_log).read()
    for port in stack.kore_ports:
        assert "upstream=127.0.0.1:%d " % port in access


def test_nginx_errors_are_json(stack):
    # 413: nginx refuses on the header alone.
    answer = raw_request(stack.nginx_port, (
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 40000000\r\n"
        "Connection: close\r\n\r\n").encode())
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413"), answer[:300]
    assert re.search(r"(?im)^content-type: application/json", head)
    assert re.search(r"(?im)^x-request-id: [0-9a-f]{32}", head)
    assert '"message"' in body
    # 429: more than the /login burst at once.
    statuses = []
    with requests.Session() as s:
        for _ in range(60):
            r = s.post(stack.nginx_url + "/login", timeout=5)
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.headers["Content-Type"] == "application/json"
                assert "message" in r.json()
                break
    assert 429 in statuses, statuses
    assert statuses[0] in (401, 429)  # 401, never 411: nginx sent a Content-Length
    time.sleep(2.5)  # the bucket refills at 10 r/s


def test_mariadb_outage_and_recovery(stack):
    pids_before = stack.kore_pids()
    login = stack.nginx_url + "/login"
    hdr = {"Authorization": basic(*REX)}
    assert requests.post(login, headers=hdr, timeout=10).status_code == 200

    stack.stop_mariadb()
    t0 = time.monotonic()
    r = requests.post(login, headers=hdr, timeout=DEP_TIMEOUT + 5)
    elapsed = time.monotonic() - t0
    assert r.status_code == 503, r.text
    assert "MariaDB" in r.json()["message"]
    assert elapsed <= DEP_TIMEOUT + 1, elapsed
    r = requests.get(stack.nginx_url + "/readyz", timeout=DEP_TIMEOUT + 5)
    assert r.status_code == 503 and r.json()["mariadb"] != "ok", r.text

    stack.start_mariadb()
    deadline = time.monotonic() + 5
    while True:
        r = requests.post(login, headers=hdr, timeout=DEP_TIMEOUT + 5)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text
    assert stack.kore_pids() == pids_before, "Kore was restarted"


def test_mongo_outage_and_recovery(stack):
    port = stack.mongo_port
    stack.stop_mongo()
    r = requests.get(stack.nginx_url + "/readyz", timeout=DEP_TIMEOUT + 5)
    assert r.status_code == 503 and r.json().get("mongodb") != "ok", r.text
    stack.start_mongo()
    assert stack.mongo_port == port
    deadline = time.monotonic() + 10
    while True:
        r = requests.get(stack.nginx_url + "/readyz", timeout=DEP_TIMEOUT + 5)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text


def test_one_instance_down_nginx_uses_the_other(stack):
    stack.stop_kore(1)
    try:
        for _ in range(6):
            r = requests.post(stack.nginx_url + "/login",
                              headers={"Authorization": basic(*REX)}, timeout=10)
            assert r.status_code == 200, r.text
            assert requests.get(stack.nginx_url + "/healthz", timeout=5).status_code == 200
        stack.stop_kore(0)
        r = requests.get(stack.nginx_url + "/healthz", timeout=10)
        assert r.status_code == 502
        assert r.headers["Content-Type"] == "application/json"
        assert "message" in r.json()
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])
        # An upload's token check that reaches no instance: the same JSON
        # 502, not the 500 nginx's auth_request makes of it.
        r = requests.post(stack.nginx_url + "/upload", timeout=10, headers={
            "Authorization": "Bearer x.y.z", "Content-Type": "multipart/form-data; boundary=x"},
            data=b"--x--\r\n")
        assert r.status_code == 502, r.text
        assert r.headers["Content-Type"] == "application/json"
        assert r.json() == {"message": "the service is unavailable"}
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        stack.restart_kore(0)
        stack.restart_kore(1)
    # Back through nginx once its fail_timeout (5 s) is over, in every
    # nginx worker: each keeps its own count of failures (the upstream
    # has no shared zone), so one 200 says only that one worker is back.
    # 10 in a row, each on a connection of its own.
    deadline = time.monotonic() + 8
    row = 0
    while row < 10:
        ok = requests.get(stack.nginx_url + "/healthz", timeout=5).status_code == 200
        row = row + 1 if ok else 0
        assert time.monotonic() < deadline, row
        if not ok:
            time.sleep(0.2)


def test_every_setting_is_in_kores_environment(stack):
    """So that a developer's .env (read from the repository, Kore's cwd)
    cannot change what the tests see."""
    env = stack.kore_env(0)
    missing = [k for k in stackmod.APP_KEYS if k not in env]
    assert missing == []
    assert env["MARIADB_HOST"] == "127.0.0.1"
    assert env["MARIADB_PORT"] == str(stack.mariadb_port)
    assert env["MONGO_URI"] == stack.mongo_uri
    assert env["LOG_DIR"] == os.path.dirname(stack.log_path)
    assert env["DEP_TIMEOUT"] == str(DEP_TIMEOUT)
    assert env["JWT_SECRET"] == stack.jwt_secret and len(stack.jwt_secret) >= 32


def test_kore_pids_and_output(stack):
    for i, pids in enumerate(stack.kore_pids()):
        assert pids["parent"] > 0 and len(pids["workers"]) >= 1
        assert open("/proc/%d/comm" % pids["parent"]).read().startswith("kore")
        assert "worker" in stack.kore_output(i)


def test_no_worker_died(stack):
    assert stack.kore_problems() == []


def test_stop_leaves_nothing():
    s = Stack(kore_instances=1)
    s.start()
    pids = [p.pid for _, p in s.processes()]
    pids += s.kore_pids(0)["workers"] + stackmod.child_pids(s.nginx_pid())
    run_dir = s.run_dir
    s.stop()
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z", pid
    assert not os.path.exists(run_dir)


def _spool_files(pids):
    """{pid: [paths]} of the request-body spool files (Kore's http_body.*)
    each process holds open."""
    found = {}
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if os.path.basename(target).startswith("http_body."):
                found.setdefault(pid, []).append(target)
    return found


def test_spooled_bodies_stay_in_the_run_dir():
    """A body over http_body_disk_offload (1 MiB) is spooled to a file; the
    stack's Kore spools into the run directory, not production's /tmp, so
    the file a worker killed mid-upload leaves behind goes with stop()."""
    s = Stack(kore_instances=1)
    s.start()
    try:
        run_dir = os.path.realpath(s.run_dir)
        body = 3 << 20
        conn = socket.create_connection(("127.0.0.1", s.kore_ports[0]), timeout=10)
        try:
            conn.sendall(("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Content-Type: application/octet-stream\r\n"
                          "Content-Length: %d\r\n\r\n" % body).encode() + b"x" * (2 << 20))
            found = {}
            deadline = time.monotonic() + 10
            while not found and time.monotonic() < deadline:
                found = _spool_files(s.kore_pids(0)["workers"])
                time.sleep(0.05)
            assert found, "no worker holds a spool file for a 3 MiB body in flight"
            paths = [p for ps in found.values() for p in ps]
            for p in paths:
                assert os.path.realpath(p).startswith(run_dir + os.sep), p
            # The worker dies mid-upload: its spool file stays (Kore removes
            # it only when the request ends), in the run directory.
            pid = next(iter(found))
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert all(os.path.exists(p) for p in found[pid])
        finally:
            conn.close()
        # Stopping the instance removes them, even from a run directory
        # that is kept (make run's run/).
        s.stop_kore(0)
        assert not any(os.path.exists(p) for p in paths)
    finally:
        s.stop()
    assert not os.path.exists(run_dir)


def test_kore_that_fails_to_start_leaves_no_spool_dir():
    """A kept run directory (make run's run/) keeps no spool directory of a
    Kore instance that never came up (here: a JWT_TTL the app refuses)."""
    import tempfile
    d = tempfile.mkdtemp(prefix="microgo-stack-fail-")
    try:
        s = Stack(kore_instances=1, run_dir=d, settings={"JWT_TTL": "1"})
        with pytest.raises(StackError):
            s.start()
        assert os.path.exists(os.path.join(d, "kore-1.out"))
        assert not os.path.exists(s.kore_body_dir(0))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_rendering_fails_loudly_on_missing_markers():
    nginx = open(os.path.join(stackmod.ROOT, "conf", "nginx.conf")).read()
    args = ([("127.0.0.1", 1), ("127.0.0.1", 2)], "127.0.0.1:3", "/p", "/e", "/a", "/t")
    tls = dict(tls_listen="127.0.0.1:4", tls_cert="/c/cert.pem", tls_key="/c/key.pem")
    text = stackmod.render_nginx_conf(nginx, *args, **tls)
    assert "server 127.0.0.1:1 max_fails=1 fail_timeout=5s;" in text
    assert "server 127.0.0.1:2 max_fails=1 fail_timeout=5s;" in text
    directives = "\n".join(line for line in text.splitlines()
                           if not line.lstrip().startswith("#"))
    assert "app:8080" not in directives and "listen\t\t\t127.0.0.1:3;" in directives
    assert "listen\t\t\t127.0.0.1:4 ssl;" in directives
    assert "ssl_certificate\t\t/c/cert.pem;" in directives
    assert "ssl_certificate_key\t/c/key.pem;" in directives
    assert "/tmp/" not in directives and "/dev/stdout" not in directives
    assert "/etc/nginx" not in directives
    assert re.search(r"(?m)^\s*listen\s+(80|443)\b", directives) is None
    # Production's limits unless a test asks for others.
    assert "rate=10r/s;" in directives and re.search(r"limit_conn\s+mg_conn\s+64;", directives)
    text = stackmod.render_nginx_conf(nginx, *args, login_rate="1000r/s", conn_limit=3, **tls)
    assert "rate=1000r/s;" in text and re.search(r"limit_conn\s+mg_conn\s+3;", text)
    for marker in ("listen\t\t\t80;", "listen\t\t\t443 ssl;", "server app:8080", "pid\t\t\t",
                   "proxy_temp_path", "ssl_certificate\t", "ssl_certificate_key\t"):
        assert marker in nginx, marker
        with pytest.raises(StackError):
            stackmod.render_nginx_conf(nginx.replace(marker, "# " + marker), *args, **tls)
    with pytest.raises(StackError):
        stackmod.render_nginx_conf(nginx.replace("limit_conn\t\tmg_conn", "# x"), *args,
                                   conn_limit=3, **tls)
    kore = open(os.path.join(stackmod.ROOT, "kore.conf")).read()
    text = stackmod.render_kore_conf(kore, 4242, "/x/kore.pid")
    assert "bind\t\t127.0.0.1 4242" in text and "0.0.0.0" not in text
    assert "pidfile\t\t/x/kore.pid" in text
    with pytest.raises(StackError):
        stackmod.render_kore_conf(re.sub(r"(?m)^\s*bind\s.*$", "", kore), 1, "/x")
    # The spool directory is the last setting, after the include that sets
    # production's, so it is the one Kore keeps.
    text = stackmod.render_kore_conf(kore, 4242, "/x/kore.pid", body_dir="/x/bodies")
    directives = [line.split() for line in text.splitlines()
                  if line.strip() and not line.lstrip().startswith("#")]
    assert directives[-1] == ["http_body_disk_path", "/x/bodies"]
    assert ["include", "conf/http.conf"] in directives
    with pytest.raises(StackError):
        stackmod.render_kore_conf(kore, 1, "/x", body_dir="/" + "x" * 240)


def test_nginx_sends_exact_content_length_upstream():
    """What Kore receives, seen by a recording upstream: Content-Length 0 on
    a bodiless POST, the real length (and no Transfer-Encoding) for a chunked
    body, one X-Request-ID, X-Forwarded-For."""
    import threading

    received = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    upstream_port = srv.getsockname()[1]
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except socket.timeout:
                continue
            with c:
                c.settimeout(5)
                data = b""
                while True:
                    b = c.recv(1 << 20)
                    if not b:
                        break
                    data += b
                    if b"\r\n\r\n" in data and (_complete(data) or not re.search(
                            rb"(?im)^content-length:", data.partition(b"\r\n\r\n")[0])):
                        break
                head, _, body = data.partition(b"\r\n\r\n")
                received.append((head.decode("latin-1"), len(body)))
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
                          b"X-Request-ID: from-upstream\r\n\r\n{}")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    # Not pytest's tmp_path: nginx workers (nobody, under root) could not
    # reach their temp files below its 0700 directory.
    import tempfile
    d = tempfile.mkdtemp(prefix="microgo-nginx-echo-")
    os.chmod(d, 0o755)
    os.makedirs(os.path.join(d, "tmp"))
    os.chmod(os.path.join(d, "tmp"), 0o755)
    port = stackmod.free_port()
    conf = os.path.join(d, "nginx.conf")
    cert, key = stackmod.make_tls_pair(os.path.join(d, "certs"), days=1)
    with open(conf, "w") as f:
        f.write(stackmod.render_nginx_conf(
            open(os.path.join(stackmod.ROOT, "conf", "nginx.conf")).read(),
            [("127.0.0.1", upstream_port)], "127.0.0.1:%d" % port, os.path.join(d, "nginx.pid"),
            os.path.join(d, "error.log"), os.path.join(d, "access.log"), os.path.join(d, "tmp"),
            tls_listen="127.0.0.1:%d" % stackmod.free_port(), tls_cert=cert, tls_key=key))
    nginx = stackmod.Proc("nginx", ["nginx", "-p", d + "/", "-c", conf, "-g", "daemon off;"],
                          os.path.join(d, "nginx.out"), cwd=d)
    try:
        url = "http://127.0.0.1:%d" % port
        stackmod.wait_until("nginx", lambda: stackmod.tcp_open("127.0.0.1", port), 10, nginx)
        r = requests.post(url + "/login", timeout=5)
        assert r.status_code == 200 and r.headers["X-Request-ID"] != "from-upstream"

        def body():
            for _ in range(40):
                yield b"y" * 65536
        r = requests.post(url + "/upload", data=body(), headers={
            "X-Request-ID": "chunky", "Authorization": "Bearer t.o.k"}, timeout=10)
        assert r.status_code == 200, (r.status_code, open(os.path.join(d, "error.log")).read())
        assert r.headers["X-Request-ID"] == "chunky"
        r = requests.get(url + "/healthz", timeout=5)
        assert r.status_code == 200
    finally:
        nginx.stop()
        stop.set()
        t.join(5)
        srv.close()
        shutil.rmtree(d, ignore_errors=True)

    (h1, n1), (ha, na), (h2, n2), (h3, n3) = received
    assert re.search(r"(?im)^content-length: 0\r?$", h1) and n1 == 0, h1
    # The upload's token check, before its body: GET /me with the same
    # Authorization and request id, and no body or Content-Length.
    assert ha.startswith("GET /me HTTP/1.1\r\n") and na == 0, ha
    assert re.search(r"(?im)^authorization: Bearer t\.o\.k\r?$", ha), ha
    assert re.findall(r"(?im)^x-request-id: (.*?)\r?$", ha) == ["chunky"]
    assert re.search(r"(?im)^(content-length|transfer-encoding):", ha) is None, ha
    assert h2.startswith("POST /upload HTTP/1.1\r\n"), h2
    assert re.search(r"(?im)^content-length: %d\r?$" % (40 * 65536), h2), h2
    assert n2 == 40 * 65536
    assert "transfer-encoding" not in h2.lower()
    assert re.findall(r"(?im)^x-request-id: (.*?)\r?$", h2) == ["chunky"]
    assert re.search(r"(?im)^x-forwarded-for: 127\.0\.0\.1\r?$", h2)
    assert re.search(r"(?im)^connection:", h3) is None, h3  # keep-alive upstream


def test_tls_pair_made_kept_and_renewed():
    """make_tls_pair, through tools/self-signed-cert.sh (compose's init and
    tools/swarm-secrets.sh run the same script): a self-signed pair for
    localhost and 127.0.0.1 that nginx serves (the stack's ready check
    fetches /healthz over TLS with it); kept while it has more than 30 days
    to run, made again when it ends sooner. A certificate it did not make
    is never replaced, even one about to end; one file of the two alone is
    an error that changes nothing."""
    import tempfile
    d = tempfile.mkdtemp(prefix="microgo-tls-")
    try:
        cert, key = stackmod.make_tls_pair(d, days=1)
        assert (os.path.basename(cert), os.path.basename(key)) == ("fullchain.pem",
                                                                    "privkey.pem")
        assert os.stat(key).st_mode & 0o777 == 0o600
        assert os.stat(cert).st_mode & 0o777 == 0o644
        first = open(cert).read()
        text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", cert],
                              capture_output=True, text=True, check=True).stdout
        assert "IP Address:127.0.0.1" in text and "DNS:localhost" in text
        assert "O = microgo self-signed" in text
        # Valid for 1 day only: renewed.
        stackmod.make_tls_pair(d)
        second = open(cert).read()
        assert second != first
        # Valid for a year: kept.
        stackmod.make_tls_pair(d)
        assert open(cert).read() == second

        # Someone else's certificate, ending tomorrow: kept as it is.
        for name in ("fullchain.pem", "privkey.pem"):
            os.unlink(os.path.join(d, name))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                        "-subj", "/O=Example CA customer/CN=localhost",
                        "-keyout", key, "-out", cert], capture_output=True, check=True)
        theirs = open(cert).read()
        stackmod.make_tls_pair(d)
        assert open(cert).read() == theirs

        # The certificate without its key: refused, the certificate kept.
        os.unlink(key)
        with pytest.raises(stackmod.StackError, match="only one of"):
            stackmod.make_tls_pair(d)
        assert open(cert).read() == theirs and not os.path.exists(key)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_stack_serves_tls_and_make_run_says_where(stack, capsys):
    r = requests.get(stack.nginx_tls_url + "/healthz", verify=stack.tls_cert, timeout=5)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    assert stack.nginx_tls_port != stack.nginx_port
    assert os.path.dirname(stack.tls_cert).startswith(stack.run_dir)
    # Plain HTTP is still served, without HSTS.
    r = requests.get(stack.nginx_url + "/healthz", timeout=5)
    assert r.status_code == 200 and "Strict-Transport-Security" not in r.headers, (
        r.status_code, stackmod.read_text(stack.nginx_error_log, tail=30))
    stackmod._print_summary(stack, ["settings from the test"], False)
    out = capsys.readouterr().out
    assert stack.nginx_tls_url in out and stackmod.rel(stack.tls_cert) in out
    assert "curl -i --cacert %s %s/healthz" % (stackmod.rel(stack.tls_cert),
                                                stack.nginx_tls_url) in out

