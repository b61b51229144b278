"""The nginx edge (conf/nginx.conf; docs/API.md, "What nginx answers itself"
and "Limits"): what nginx refuses before Kore sees it, how long it waits on a
slow client, TLS, and that every error it makes is JSON.

Requests are written byte for byte on sockets where the framing matters (a
body announced and never sent, a header left half-way), so that nothing in
a client library hides what nginx does. The limits are docs/API.md's
("Limits", "Slow clients"); test_limits_are_the_documented_ones checks that
conf/nginx.conf sets those.
"""

import base64
import json
import os
import re
import socket
import ssl
import sys
import threading
import time

import pytest
import requests

from imagegen import image_bytes
from test_auth import make_token

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import stack as stackmod  # noqa: E402

NGINX_CONF = open(os.path.join(ROOT, "conf", "nginx.conf")).read()
ID = "0123456789abcdef01234567"
MIB = 1 << 20


def directive(name):
    """The value of a directive of conf/nginx.conf's server block (two tabs
    in; a location's are three), in seconds for a time ("10s"), as an int
    for a size in k/m or a plain number."""
    server = NGINX_CONF[NGINX_CONF.index("\n\tserver {"):]
    found = re.findall(r"(?m)^\t\t%s[ \t]+([^;]+);" % re.escape(name),
                       server)
    assert len(found) == 1, (name, found)
    value = found[0].split()[-1]
    m = re.fullmatch(r"(\d+)([smkKmM]?)", value)
    assert m, (name, value)
    n, unit = int(m.group(1)), m.group(2)
    return n * {"": 1, "s": 1, "m": 60 if name.endswith(("time", "timeout"))
                else MIB, "k": 1024, "K": 1024, "M": MIB}[unit]


# docs/API.md, "Limits" and "Slow clients".
BODY_MAX = 64 * 1024            # every route but /upload
UPLOAD_MAX = 33 * MIB
CONN_LIMIT = 64
HEADER_TIMEOUT = 10
BODY_TIMEOUT = 15
SEND_TIMEOUT = 15
KEEPALIVE_TIMEOUT = 15
KEEPALIVE_TIME = 600


def test_limits_are_the_documented_ones():
    assert directive("client_max_body_size") == BODY_MAX
    upload = NGINX_CONF[NGINX_CONF.index("location = /upload {"):]
    assert re.search(r"client_max_body_size\s+(\S+);", upload).group(1) \
        == "%dm" % (UPLOAD_MAX // MIB)
    assert directive("limit_conn") == CONN_LIMIT
    assert directive("client_header_timeout") == HEADER_TIMEOUT
    assert directive("client_body_timeout") == BODY_TIMEOUT
    assert directive("send_timeout") == SEND_TIMEOUT
    assert directive("keepalive_timeout") == KEEPALIVE_TIMEOUT
    assert directive("keepalive_time") == KEEPALIVE_TIME


# ---- a client that writes exactly what it is given

class Answer:
    def __init__(self, raw, elapsed):
        self.raw = raw
        self.elapsed = elapsed
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        self.status = int(m.group(1)) if m else None
        self.headers = [tuple(x.strip() for x in line.split(":", 1))
                        for line in lines[1:] if ":" in line]

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def get(self, name):
        values = self.all(name)
        return values[0] if values else None

    def __repr__(self):
        return "<%s %r>" % (self.status, self.raw[:300])


def _complete(raw):
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return m is None and head.startswith(b"HTTP/1.1 204") or \
        m is not None and len(body) >= int(m.group(1))


def read_answer(sock, t0, timeout=10):
    sock.settimeout(timeout)
    raw = b""
    while not _complete(raw):
        try:
            b = sock.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not b:
            break
        raw += b
    return Answer(raw, time.monotonic() - t0)


def exchange(port, data, timeout=10, tls_cert=None):
    """Sends data on a new connection; the answer (one)."""
    sock = connect(port, tls_cert, timeout)
    try:
        t0 = time.monotonic()
        sock.sendall(data)
        return read_answer(sock, t0, timeout)
    finally:
        sock.close()


def connect(port, tls_cert=None, timeout=10):
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls_cert is None:
        return sock
    ctx = ssl.create_default_context(cafile=tls_cert)
    return ctx.wrap_socket(sock, server_hostname="127.0.0.1")


def request(method, path, headers=(), body=b"", length=None):
    """The bytes of one request; length: the Content-Length to announce
    (default len(body); False: none)."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    lines += ["%s: %s" % kv for kv in headers]
    if length is None:
        length = len(body)
    if length is not False:
        lines.append("Content-Length: %d" % length)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def app_lines(stack, rid):
    return [line for line in stack.app_log().splitlines()
            if "rid=%s " % rid in line]


def access_line(stack, rid, timeout=10):
    """nginx's access log line of a request (written when nginx lets its
    connection go)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in open(stack.nginx_access_log)
                 if " rid=%s " % rid in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def settle_app_log(stack):
    """Returns once every Kore instance has logged a request sent after
    the ones a test made: the app log holds theirs by then, if any."""
    for i, url in enumerate(stack.kore_urls):
        for n in range(4):   # a few, so that every worker answers one
            rid = "settle-%d-%d-%f" % (i, n, time.time())
            requests.get(url + "/healthz", headers={"X-Request-ID": rid},
                         timeout=10)
            deadline = time.monotonic() + 5
            while not app_lines(stack, rid):
                assert time.monotonic() < deadline, "no log line for " + rid
                time.sleep(0.02)


def assert_nginx_json(answer, status, message=None):
    """An error nginx made itself: JSON in the API's shape, with the
    headers every answer carries, each once."""
    assert answer.status == status, answer
    assert answer.all("Content-Type") == ["application/json"], answer
    assert answer.all("X-Content-Type-Options") == ["nosniff"], answer
    assert answer.all("Referrer-Policy") == ["no-referrer"], answer
    assert answer.all("Cache-Control") == ["no-store"], answer
    assert len(answer.all("X-Request-ID")) == 1, answer
    body = json.loads(answer.body)
    assert list(body) == ["message"], body
    if message is not None:
        assert body["message"] == message, body


# ---- every route of conf/routes.conf, as a request

def routes():
    """(method, concrete path) for every route of conf/routes.conf, in its
    order: a regular expression's [^/]+ becomes an id, the fallback route
    an unknown path. The method is the first of the path's Allow in
    docs/API.md, POST for a path not there (nginx weighs a body before it
    looks at the method)."""
    allow = dict(doc_allow_table())
    out = []
    for line in open(os.path.join(ROOT, "conf", "routes.conf")):
        words = line.split()
        if len(words) >= 3 and words[0] == "route":
            if words[1] == "^/.*$":
                path = "/no/such/route"
            else:
                path = words[1].replace("[^/]+", ID).lstrip("^").rstrip("$")
            out.append((allow.get(path, "POST").split(",")[0], path))
    return out


# ---- body limits

@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous",
                                                           "token"])
def test_2mib_body_gets_413_on_every_route_but_upload(stack, login,
                                                      with_token):
    """64 KiB (client_max_body_size) everywhere but /upload: 2 MiB gets
    nginx's JSON 413, and Kore never sees the request."""
    headers = [("Authorization", "Bearer " + login())] if with_token else []
    body = b"x" * (2 * MIB)
    rids = []
    for method, path in routes():
        if path == "/upload":
            continue
        rid = "big-%s-%d-%s" % (method, len(rids), with_token)
        a = exchange(stack.nginx_port, request(
            method, path, headers + [("X-Request-ID", rid),
                                     ("Content-Type", "application/json")],
            body), timeout=30)
        assert_nginx_json(a, 413, "request body too large")
        assert a.get("X-Request-ID") == rid
        rids.append(rid)
    settle_app_log(stack)
    for rid in rids:
        assert app_lines(stack, rid) == [], rid
        line = access_line(stack, rid)
        assert len(line) == 1 and " 413 " in line[0] and \
            " upstream=- " in line[0], line


def test_body_limit_is_exact(stack):
    """BODY_MAX bytes reach the app (a login's 401); one more is 413."""
    at = exchange(stack.nginx_port, request("POST", "/login",
                                            body=b"x" * BODY_MAX))
    assert at.status == 401, at
    over = exchange(stack.nginx_port, request("POST", "/login",
                                              body=b"x" * (BODY_MAX + 1)))
    assert_nginx_json(over, 413, "request body too large")


def test_chunked_body_over_the_limit_gets_413(stack):
    chunk = b"%x\r\n%s\r\n" % (32 * 1024, b"y" * 32 * 1024)
    a = exchange(stack.nginx_port, request(
        "POST", "/download", [("Transfer-Encoding", "chunked")], length=False)
        + chunk * 3 + b"0\r\n\r\n")
    assert_nginx_json(a, 413, "request body too large")


def test_upload_over_33mib_gets_413_with_or_without_token(stack, login):
    for headers in ([], [("Authorization", "Bearer " + login())]):
        sock = connect(stack.nginx_port)
        try:
            t0 = time.monotonic()
            sock.sendall(request("POST", "/upload", headers + [
                ("Content-Type", "multipart/form-data; boundary=x")],
                length=34 * MIB))
            a = read_answer(sock, t0)
        finally:
            sock.close()
        assert_nginx_json(a, 413, "request body too large")


# ---- the token of an upload, checked before its body

def _spooled_bodies(stack):
    """Files nginx holds open under its client_body_temp_path (nginx
    unlinks a temporary file as soon as it opens it, so only its workers'
    open descriptors show one)."""
    temp = os.path.realpath(os.path.join(stack.nginx_temp_dir, "client_body"))
    found = []
    for pid in stackmod.child_pids(stack.nginx_pid()):
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith(temp + "/"):
                found.append(target)
    return found


def test_unauthenticated_20mib_upload_refused_before_its_body(stack):
    """The headers of a 20 MiB upload without a valid token, and not one
    byte of its body: the app's own 401 comes at once, so nginx did not
    wait for the body, and nothing was spooled."""
    temp = os.path.join(stack.nginx_temp_dir, "client_body")
    before = sorted(os.listdir(temp)) if os.path.isdir(temp) else []
    rid = "anon-20mib-%d" % os.getpid()
    sock = connect(stack.nginx_port)
    try:
        t0 = time.monotonic()
        sock.sendall(request("POST", "/upload", [
            ("Content-Type", "multipart/form-data; boundary=x"),
            ("X-Request-ID", rid), ("Expect", "100-continue")],
            length=20 * MIB))
        a = read_answer(sock, t0)
        # The connection is still open (nginx discards what would come):
        # no worker holds a spool file for it.
        assert _spooled_bodies(stack) == []
    finally:
        sock.close()
    print("20 MiB upload without a token: %d after %.4f s" % (a.status,
                                                              a.elapsed))
    assert a.elapsed < 2, a.elapsed
    assert_nginx_json(a, 401, "a Bearer token is required")
    assert a.all("WWW-Authenticate") == ["Bearer"], a
    assert b"100 Continue" not in a.raw
    after = sorted(os.listdir(temp)) if os.path.isdir(temp) else []
    assert after == before
    # The app saw the token check and its answer (GET /me, twice), never
    # the upload.
    settle_app_log(stack)
    lines = app_lines(stack, rid)
    assert len(lines) == 2 and all(
        " method=GET path=/me status=401 " in line for line in lines), lines


@pytest.mark.parametrize("case", ["none", "basic", "garbage", "expired",
                                  "other key"])
def test_upload_401_is_the_apps_own(stack, case):
    """Whatever is wrong with the token, the upload's 401 through nginx is
    the one the app gives for that header (message, WWW-Authenticate),
    with a body announced and none sent, with no body, and chunked."""
    now = int(time.time())
    auth = {
        "none": None,
        "basic": "Basic " + base64.b64encode(b"Rex:Rex siu super").decode(),
        "garbage": "Bearer x.y.z",
        "expired": "Bearer " + make_token(stack.jwt_secret, claims={
            "sub": "2", "username": "Rex", "iat": now - 90,
            "exp": now - 30}),
        "other key": "Bearer " + make_token(stack.jwt_secret + "!"),
    }[case]
    headers = [("Authorization", auth)] if auth else []
    direct = requests.get(stack.kore_urls[0] + "/me", headers=dict(headers),
                          timeout=10)
    assert direct.status_code == 401
    mp = [("Content-Type", "multipart/form-data; boundary=x")]
    for name, data in (
            ("announced", request("POST", "/upload", headers + mp,
                                  length=20 * MIB)),
            ("no body", request("POST", "/upload", headers + mp)),
            ("chunked", request("POST", "/upload", headers + mp + [
                ("Transfer-Encoding", "chunked")], length=False)
             + b"100000\r\n" + b"z" * 4096)):
        a = exchange(stack.nginx_port, data)
        assert a.elapsed < 2, (name, a.elapsed)
        got = a.status, a.body.decode(), a.all("WWW-Authenticate")
        assert got == (401, direct.text,
                       [direct.headers["WWW-Authenticate"]]), (name, a)
        assert a.all("X-Content-Type-Options") == ["nosniff"], name


def test_authenticated_upload_through_nginx(stack, login):
    """A valid token passes the check: an upload bigger than nginx's
    1 MiB buffer (so spooled by nginx) is stored, listed and deleted."""
    bearer = {"Authorization": "Bearer " + login()}
    data = image_bytes("PNG", size=(1000, 1000), noise=True)
    assert len(data) > 2 * MIB
    r = requests.post(stack.nginx_url + "/upload", headers=bearer,
                      files={"data": ("edge.png", data)}, timeout=120)
    assert r.status_code == 201, r.text
    fs_id = r.json()["fs_id"]
    d = requests.post(stack.nginx_url + "/download", headers=bearer,
                      json={"fs_id": fs_id}, timeout=60)
    assert d.status_code == 200 and d.content == data
    assert requests.delete(stack.nginx_url + "/img_collection/" + fs_id,
                           headers=bearer, timeout=30).status_code == 204


# ---- requests in progress per address

def test_limit_conn(stack):
    """CONN_LIMIT requests in progress at once from one address (here:
    bodies announced and not sent yet); the next one gets a JSON 429 at
    once, and once one ends there is room again."""
    held = []
    try:
        for n in range(CONN_LIMIT):
            s = connect(stack.nginx_port)
            s.sendall(request("POST", "/download", [
                ("X-Request-ID", "held-%d" % n)], length=100))
            held.append(s)
        # nginx counts a request once its header is read: make sure it
        # has read every one, by a request on each being refused below.
        time.sleep(0.5)
        a = exchange(stack.nginx_port, request("GET", "/healthz"))
        assert_nginx_json(a, 429, "too many requests, slow down")
        # None of the held requests was answered.
        for s in held:
            s.settimeout(0.01)
            with pytest.raises(socket.timeout):
                s.recv(1)
        held.pop().close()
        deadline = time.monotonic() + 5
        while True:
            a = exchange(stack.nginx_port, request("GET", "/healthz"))
            if a.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert a.status == 200, a
    finally:
        for s in held:
            s.close()


# ---- slow clients

def _cut_off(stack, data, trickle=None, limit=60, port=None):
    """Seconds from the connection until nginx closes it, after sending
    data and then, if trickle=(bytes, every), those bytes one at a time
    every `every` seconds; None if it is still open after limit. Also
    what answer came, if any."""
    sock = connect(port or stack.nginx_port, timeout=limit)
    t0 = time.monotonic()
    got = b""
    try:
        sock.sendall(data)
        if trickle:
            rest, every = trickle
            for i in range(len(rest)):
                sock.settimeout(every)
                try:
                    b = sock.recv(65536)
                    if not b:
                        return time.monotonic() - t0, got
                    got += b
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    return time.monotonic() - t0, got
                try:
                    sock.sendall(rest[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    return time.monotonic() - t0, got
        sock.settimeout(0.2)
        while time.monotonic() - t0 < limit:
            try:
                b = sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return time.monotonic() - t0, got
            if not b:
                return time.monotonic() - t0, got
            got += b
        return None, got
    finally:
        sock.close()


def _unread_download(stack, token, fs_id, rid):
    """POST /download on a socket with a 4 KiB receive buffer that reads
    nothing: the seconds nginx took over the answer before it gave up (its
    access log's rt), and the bytes it had sent by then."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", stack.nginx_port))
    try:
        body = b'{"fs_id": "%s"}' % fs_id.encode()
        sock.sendall(request("POST", "/download", [
            ("Authorization", "Bearer " + token), ("X-Request-ID", rid),
            ("Content-Type", "application/json")], body))
        line = access_line(stack, rid, timeout=SEND_TIMEOUT + 30)
    finally:
        sock.close()
    assert len(line) == 1, line
    m = re.search(r'" (\d{3}) (\d+) rid=.* rt=([\d.]+) ', line[0])
    assert m and m.group(1) == "200", line
    return float(m.group(3)), int(m.group(2))


def test_slow_clients_are_cut_off(stack, login):
    """Measured, all at once (they take BODY_TIMEOUT and more):
    - a header stopped half-way is cut off HEADER_TIMEOUT after the
      connection, without an answer;
    - so is one trickled a byte every 2 s: the header timeout is a total;
    - so is a connection to the TLS port that never starts its handshake:
      the handshake counts in that total;
    - a body stopped half-way is cut off BODY_TIMEOUT after its last
      bytes, without an answer;
    - a body trickled a byte every BODY_TIMEOUT/3 s gets through although
      it takes longer than BODY_TIMEOUT in all: that timeout is per read
      (nginx sets no total for a body);
    - an idle keep-alive connection is closed KEEPALIVE_TIMEOUT after
      its last answer;
    - a client that reads nothing of an 8 MiB download is dropped
      SEND_TIMEOUT after nginx's last write, the answer unfinished.
    (keepalive_time, a keep-alive connection's total, is 10 minutes: not
    measured here.)"""
    token = login()
    big = image_bytes("PNG", size=(1700, 1700), noise=True)
    bearer = {"Authorization": "Bearer " + token}
    r = requests.post(stack.nginx_url + "/upload", headers=bearer,
                      files={"data": ("big.png", big)}, timeout=120)
    assert r.status_code == 201, r.text
    fs_id = r.json()["fs_id"]
    results = {}
    half_header = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    body_head = request("POST", "/download", [
        ("Content-Type", "application/json")], length=40)
    trickle_every = BODY_TIMEOUT / 3.0
    tail = b'{"fs_id": "%s"}' % ID.encode()
    tail = tail + b" " * (40 - len(tail))
    cases = {
        "header": lambda: _cut_off(stack, half_header),
        "header trickled": lambda: _cut_off(
            stack, half_header, (b"a" * 30, 2.0)),
        "TLS handshake": lambda: _cut_off(stack, b"",
                                          port=stack.nginx_tls_port),
        "body": lambda: _cut_off(stack, body_head + tail[:10]),
        "body trickled": lambda: _cut_off(
            stack, body_head + tail[:36], (tail[36:], trickle_every),
            limit=4 * trickle_every + KEEPALIVE_TIMEOUT + 10),
        "keep-alive": lambda: _cut_off(stack, request("GET", "/healthz")),
        "answer unread": lambda: _unread_download(
            stack, token, fs_id, "unread-%d" % os.getpid()),
    }

    def run(name):
        results[name] = cases[name]()
    threads = [threading.Thread(target=run, args=(n,)) for n in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    requests.delete(stack.nginx_url + "/img_collection/" + fs_id,
                    headers=bearer, timeout=30)
    print("cut off after (s): " + ", ".join(
        "%s %s" % (n, "%.2f" % results[n][0] if results[n][0] else "-")
        for n in cases) + "; unread answer: %d of %d bytes sent"
        % (results["answer unread"][1], len(big)))

    def within(name, bound):
        took, got = results[name]
        assert took is not None and bound - 0.5 <= took <= bound + 2.5, \
            (name, took, bound)
        return got

    assert within("header", HEADER_TIMEOUT) == b""
    assert within("header trickled", HEADER_TIMEOUT) == b""
    assert within("TLS handshake", HEADER_TIMEOUT) == b""
    # 10 body bytes were sent at once, then nothing.
    assert within("body", BODY_TIMEOUT) == b""
    # 4 bytes at BODY_TIMEOUT/3 apart: answered by the app (its 401: no
    # token), then the keep-alive connection idles out.
    took, got = results["body trickled"]
    assert got.startswith(b"HTTP/1.1 401"), got[:200]
    assert took is not None and took > BODY_TIMEOUT + 1, took
    got = within("keep-alive", KEEPALIVE_TIMEOUT)
    assert got.startswith(b"HTTP/1.1 200"), got[:200]
    # nginx's writes stop within a moment (the socket buffers are full).
    took, sent = results["answer unread"]
    assert SEND_TIMEOUT - 0.5 <= took <= SEND_TIMEOUT + 3, took
    assert sent < len(big), (sent, len(big))


# ---- methods and URLs Kore would answer without a body

# Paths of the API that only the instances answer: nginx knows no such
# path (docs/API.md says so under the table).
INSTANCE_ONLY = ("/metrics",)


def doc_allow_table():
    """docs/API.md's (path, Allow) rows nginx answers for, each {fs_id}
    an id (the share link's other parts stay as {name}: one segment)."""
    rows = re.findall(r"(?m)^\| `(/[^`]*)` \| `([A-Z, ]+)` \|$",
                      open(os.path.join(ROOT, "docs", "API.md")).read())
    assert len(rows) >= 9
    assert all(p in dict(rows) for p in INSTANCE_ONLY)
    return [(p.replace("{fs_id}", ID), allow) for p, allow in rows
            if p not in INSTANCE_ONLY]


@pytest.mark.parametrize("method", ["PROPFIND", "TRACE", "FOO"])
def test_methods_kore_does_not_know(stack, method):
    """Kore answers an empty 400 to a method outside its seven; nginx
    answers them itself, before any token check: 405 with the path's
    Allow (docs/API.md's table), 404 on a path the API does not have."""
    rids = []
    for path, allow in doc_allow_table():
        rid = "method-%s-%d" % (method, len(rids))
        a = exchange(stack.nginx_port, request(method, path, [
            ("X-Request-ID", rid)], length=False))
        assert a.status == 405 and a.all("Allow") == [allow], (
            "%s: give it a line in nginx.conf's $mg_allow map" % path, a)
        assert_nginx_json(a, 405, "method not allowed on this route")
        rids.append(rid)
    for path in ("/no/such/route",) + INSTANCE_ONLY:
        a = exchange(stack.nginx_port, request(method, path, length=False))
        if method == "TRACE":   # refused by nginx before it looks at the path
            assert_nginx_json(a, 405, "method not allowed on this route")
        else:
            assert_nginx_json(a, 404, "no such route")
    settle_app_log(stack)
    assert [r for r in rids if app_lines(stack, r)] == []
    # The app's own 405s keep the app's Allow, once.
    r = requests.put(stack.nginx_url + "/healthz", timeout=10)
    assert r.status_code == 405 and r.raw.headers.getlist("Allow") == [
        "GET, HEAD"]


def test_url_length(stack):
    """Kore answers an empty 414 from 1999 characters of request target
    on: nginx answers those itself, in JSON; 1998 still reach the app.
    A request line past nginx's 8 KiB buffer gets the same JSON 414."""
    a = exchange(stack.nginx_port, request("GET", "/" + "a" * 1997))
    assert a.status == 404 and a.get("Server") == "nginx", a
    assert b"no such route" in a.body
    a = exchange(stack.nginx_port, request("GET", "/" + "a" * 1998))
    assert_nginx_json(a, 414, "the URL is too long")
    a = exchange(stack.nginx_port, request("GET", "/healthz?x=" + "a" * 2000))
    assert_nginx_json(a, 414, "the URL is too long")
    a = exchange(stack.nginx_port, request("GET", "/" + "a" * 9000))
    assert_nginx_json(a, 414, "the URL is too long")


def test_head_openapi(stack, login):
    """HEAD /openapi.yaml through nginx: the headers of GET, no body."""
    bearer = {"Authorization": "Bearer " + login()}
    get = requests.get(stack.nginx_url + "/openapi.yaml", headers=bearer,
                       timeout=10)
    a = exchange(stack.nginx_port, request("HEAD", "/openapi.yaml", [
        ("Authorization", bearer["Authorization"])], length=False))
    assert a.status == 200, a
    assert a.body == b""
    assert a.get("Content-Length") == str(len(get.content))
    assert a.get("ETag") == get.headers["ETag"]
    assert a.get("Content-Type") == "application/yaml"
    a = exchange(stack.nginx_port, request("HEAD", "/openapi.yaml",
                                           length=False))
    assert a.status == 401 and a.body == b""


def test_nginx_own_errors_are_json(stack):
    """Each error nginx makes on its own, in the API's shape."""
    port = stack.nginx_port
    cases = [
        (b"GARBAGE\r\n\r\n", 400, None),
        (request("GET", "/healthz", [("Host", "twice")]), 400, None),
        (request("GET", "/../etc/passwd"), 400, None),
        (request("GET", "/healthz", [("X-Big", "a" * 9000)]), 400, None),
        (request("GET", "/__mg_400"), 404, "no such route"),
        (request("GET", "/__mg_auth"), 404, "no such route"),
        (request("GET", "/__mg_401"), 404, "no such route"),
        (request("POST", "/login", [("Transfer-Encoding", "gzip")],
                 length=False), 501, None),
        (b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505, None),
    ]
    for data, status, message in cases:
        assert_nginx_json(exchange(port, data), status, message)


# ---- TLS

def test_tls_answers_carry_hsts_plain_http_does_not(stack):
    r = requests.get(stack.nginx_tls_url + "/healthz", verify=stack.tls_cert,
                     timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.raw.headers.getlist("Strict-Transport-Security") == [
        "max-age=31536000"]
    r = requests.get(stack.nginx_url + "/healthz", timeout=10)
    assert r.status_code == 200
    assert "Strict-Transport-Security" not in r.headers
    # nginx's own errors too.
    a = exchange(stack.nginx_tls_port, request("PROPFIND", "/me",
                                               length=False),
                 tls_cert=stack.tls_cert)
    assert_nginx_json(a, 405)
    assert a.all("Strict-Transport-Security") == ["max-age=31536000"]
    a = exchange(stack.nginx_port, request("PROPFIND", "/me", length=False))
    assert a.all("Strict-Transport-Security") == []


def test_tls_login_and_upload(stack):
    """The API works over TLS: X-Forwarded-Proto says https."""
    r = requests.post(stack.nginx_tls_url + "/login", verify=stack.tls_cert,
                      headers={"Authorization": "Basic " + base64.b64encode(
                          b"Rex:Rex siu super").decode()}, timeout=30)
    assert r.status_code == 200, r.text
    bearer = {"Authorization": "Bearer " + r.json()["token"]}
    r = requests.post(stack.nginx_tls_url + "/upload", verify=stack.tls_cert,
                      headers=bearer, files={"data": ("t.png", image_bytes(
                          "PNG"))}, timeout=60)
    assert r.status_code == 201, r.text
    assert requests.delete(stack.nginx_tls_url + "/img_collection/" +
                           r.json()["fs_id"], headers=bearer,
                           verify=stack.tls_cert,
                           timeout=30).status_code == 204


def _tls_connect(stack, ctx, session=None):
    sock = socket.create_connection(("127.0.0.1", stack.nginx_tls_port),
                                    timeout=10)
    t = ctx.wrap_socket(sock, server_hostname="127.0.0.1", session=session)
    t.sendall(request("GET", "/healthz", [("Connection", "close")]))
    data = b""
    while True:
        b = t.recv(65536)
        if not b:
            break
        data += b
    out = (t.version(), t.session_reused, t.session, data)
    t.close()
    return out


def test_tls_versions_and_session_cache(stack):
    """TLS 1.2 and 1.3 only; a TLS 1.2 session resumes from nginx's cache
    (tickets are off, so only the cache can resume it)."""
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = ssl.create_default_context(cafile=stack.tls_cert)
        ctx.minimum_version = ctx.maximum_version = version
        v, reused, session, data = _tls_connect(stack, ctx)
        assert data.startswith(b"HTTP/1.1 200") and not reused
        v2, reused, _, data = _tls_connect(stack, ctx, session)
        assert (v, v2, reused) == (version.name.replace("_", "."),) * 2 + (
            True,), (v, v2, reused)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            ctx = ssl.create_default_context(cafile=stack.tls_cert)
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ctx.maximum_version = version
            # The server's alert, not the client refusing to offer it.
            with pytest.raises(ssl.SSLError, match="ALERT_PROTOCOL_VERSION"):
                _tls_connect(stack, ctx)


def test_plain_http_to_the_tls_port_gets_json_400(stack):
    a = exchange(stack.nginx_tls_port, request("GET", "/healthz"))
    assert_nginx_json(a, 400)
