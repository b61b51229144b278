#!/usr/bin/python3
"""make bench's instruction counts: what one request costs the Kore worker
(issue 13: /healthz at most 1.25x a bare Kore handler, /me at most 2x).

Four figures from valgrind's callgrind, in one run of this module:
bench/hello's bare handler, GET /healthz, GET /me with a valid token
(logged in first) and GET /me with a rejected one (its signature
altered). Each is the median of the instructions (Ir) one request costs
over REQUESTS - 1 requests (BENCH_IR_REQUESTS, default 40), sent on one
keep-alive connection with one request in flight, as wrk writes them
(request line, Host and the route's header).

How. Kore 4.1 forks its workers without exec, so valgrind runs the Kore
parent (`valgrind --tool=callgrind kore -fnr`, one worker, kore.conf's
settings) and follows the fork by itself. The worker writes a dump, and
zeroes its counters, each time it enters the first function of microgo
or of bench/hello that a request reaches (`--dump-before`: ctl_healthz,
mw_bearer, bench_hello). Between two such entries on the same route lies
exactly one whole request: the rest of the handler, the response written
to the socket, the request freed, back to epoll, reading and parsing the
next request, its route lookup, up to its handler. Each dump is thereby a
difference of counts, start-up and the first request of each route never
count (their dump is dropped), and nothing is excluded: every thread of
the worker (libraries' and microgo's) is in it, and so is a timer that
happens to fire, which the median keeps out. The kore parent and the
client are not counted.

No callgrind_control (it talks to valgrind through vgdb, and did not get
through to the sandboxed worker): dumps on a function's entry need
nothing from outside the process, so vgdb is off (--vgdb=no). The worker
exits on SIGTERM in under a second since the callgrind flavor's sandbox
allows tkill and tgkill (src/microgo.c); the wait is bounded anyway
(Proc.stop: SIGKILL to the parent and its worker after STOP_S) and the
dumps already written are read all the same.

It needs the callgrind flavor of microgo.so (`make callgrind`: the dev
build with the system calls valgrind asks for allowed) and bench/hello
(bench/run.py's build_hello). `/usr/bin/python3 bench/instructions.py`
runs it alone (MariaDB and the MongoDB stand-in from tools/stack.py) and
prints its markdown; bench/run.py calls measure() with its own stack.
MICROGO_KEEP_STACK=1 keeps the dumps and Kore's output.
"""

import base64
import glob
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from stack import Stack, free_port, render_kore_conf, Proc  # noqa: E402

MODULE = os.path.join(ROOT, ".build", "callgrind", "microgo.so")
REQUESTS = int(os.environ.get("BENCH_IR_REQUESTS", "40"))
START_S = 90        # for Kore under valgrind to answer
STOP_S = 30         # for it to exit after SIGTERM
IO_S = 30           # for one request under valgrind
TOP = 10

# name: (label, path, the function whose entry dumps)
ROUTES = {
    "bare": ("bare Kore handler (bench/hello)", "/hello", "bench_hello"),
    "healthz": ("GET /healthz", "/healthz", "ctl_healthz"),
    "me": ("GET /me, valid token", "/me", "mw_bearer"),
    "rejected": ("GET /me, rejected token (bad signature)", "/me",
                 "mw_bearer"),
}


class Client:
    """One keep-alive HTTP/1.1 connection, requests as wrk writes them."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), IO_S)
        self.buf = b""

    def get(self, path, headers=None, method="GET"):
        head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (
            method, path, self.port)
        for k, v in (headers or {}).items():
            head += "%s: %s\r\n" % (k, v)
        self.sock.sendall((head + "\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            self._read()
        top, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = top.decode("latin-1").split("\r\n")
        fields = dict(line.split(":", 1) for line in lines[1:])
        fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
        size = int(fields.get("content-length", "0"))
        while len(self.buf) < size:
            self._read()
        body, self.buf = self.buf[:size], self.buf[size:]
        return int(lines[0].split()[1]), fields, body

    def _read(self):
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError("Kore closed the connection")
        self.buf += data

    def close(self):
        self.sock.close()


def dumps(directory):
    """{part: Ir} of the worker's dumps (callgrind.out.PID.PART); the one
    process that wrote parts is the worker."""
    parts = {}
    for path in glob.glob(os.path.join(directory, "callgrind.out.*.*")):
        pid, part = path.rsplit(".", 2)[-2:]
        parts.setdefault(pid, {})[int(part)] = path
    if len(parts) != 1:
        raise RuntimeError("callgrind: dumps from %d processes in %s (a "
                           "worker restarted?)" % (len(parts), directory))
    return next(iter(parts.values()))


def ir_of(path):
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("%s: no totals line" % path)


class Valgrinded:
    """Kore with one worker under callgrind, from a kore.conf text."""

    def __init__(self, name, conf_text, functions, env, work):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        conf = os.path.join(self.dir, "kore.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        argv = ["valgrind", "--tool=callgrind", "--vgdb=no",
                "--callgrind-out-file=" + os.path.join(
                    self.dir, "callgrind.out.%p")]
        argv += ["--dump-before=" + fn for fn in functions]
        argv += ["kore", "-fnr", "-c", conf]
        self.out = os.path.join(self.dir, "kore.out")
        self.proc = Proc("callgrind-" + name, argv, self.out, env=env,
                         cwd=ROOT)

    def wait_ready(self, port, path):
        """Connects, then GET path until it answers (its dump is the
        start-up's)."""
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if not self.proc.alive():
                break
            try:
                c = Client(port)
                try:
                    c.get(path)
                    return
                finally:
                    c.close()
            except (OSError, RuntimeError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("Kore under callgrind did not answer %s; its "
                           "output (%s) ends with:\n%s" % (
                               path, self.out, self.proc.output(tail=20)))

    def stop(self):
        """SIGTERM, STOP_S, then SIGKILL (Proc.stop): the dumps written
        so far are there either way."""
        t = time.monotonic()
        self.proc.stop(timeout=STOP_S)
        return time.monotonic() - t


def run_route(kore, port, path, headers, n, expect):
    """n requests on one connection; the parts their handlers dumped, in
    order (part i+1 holds request i whole)."""
    before = max(dumps(kore.dir)) if glob.glob(
        os.path.join(kore.dir, "callgrind.out.*.*")) else 0
    c = Client(port)
    try:
        for _ in range(n):
            status, fields, body = c.get(path, headers)
            if status != expect:
                raise RuntimeError("%s: %d, not %d: %r" % (path, status,
                                                           expect, body))
            if fields.get("connection", "").lower() == "close":
                raise RuntimeError("%s: Kore closed the connection" % path)
    finally:
        c.close()
    parts = dumps(kore.dir)
    got = sorted(p for p in parts if p > before)
    if len(got) != n:
        raise RuntimeError("%s: %d dumps for %d requests" % (path, len(got),
                                                             n))
    # The first part holds what came before this route's first request.
    return [parts[p] for p in got[1:]]


def summary(files):
    irs = [ir_of(f) for f in files]
    med = statistics.median(irs)
    # The file of the median request, for callgrind_annotate.
    near = min(zip(irs, files), key=lambda p: abs(p[0] - med))[1]
    return {"ir": med, "min": min(irs), "max": max(irs), "n": len(irs),
            "file": near}


def top(path, total, inclusive, n=TOP):
    """[(Ir, function, where)] by inclusive or exclusive cost, from
    callgrind_annotate, without the frames that hold the whole request
    (main down to Kore's worker loop: they say nothing). where: microgo's
    source file, or the binary (kore is stripped: its static functions
    are addresses)."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=" + (
                          "yes" if inclusive else "no"),
                          "--auto=no", "--threshold=100", path],
                         capture_output=True, text=True, timeout=60,
                         check=True).stdout
    rows, seen = [], set()
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+?):(.+?)"
                     r"(?:\s+\[(.*)\])?$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        ir, source, fn, binary = m.groups()
        ir = int(ir.replace(",", ""))
        # callgrind_annotate lists some functions twice, with and
        # without their binary.
        if ir >= 0.99 * total or fn in seen:
            continue
        seen.add(fn)
        if "/src/" in source:
            where = "src/" + source.split("/src/", 1)[1]
        else:
            where = os.path.basename(binary or source)
        rows.append((ir, fn, where))
    return rows[:n]


def bad_signature(token):
    head, claims, sig = token.split(".")
    return "%s.%s.%s%s" % (head, claims, "B" if sig[0] == "A" else "A",
                           sig[1:])


def login(port, user, password):
    auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    c = Client(port)
    try:
        status, _, body = c.get("/login", {"Authorization": "Basic " + auth,
                                           "Content-Length": "0"},
                                method="POST")
    finally:
        c.close()
    if status != 200:
        raise RuntimeError("/login: %d %r" % (status, body))
    return json.loads(body)["token"]


def measure(stack=None, hello_so=None, hello_conf=None, n=REQUESTS):
    """The four figures (see the module's docstring). stack: a started
    tools/stack.py Stack whose MariaDB and MongoDB the measured microgo
    uses (default: one of its own, without Kore and nginx). hello_so,
    hello_conf(module, port, pidfile, workers): bench/run.py's
    build_hello() and hello_kore_conf (default: imported from it)."""
    if not os.path.exists(MODULE):
        raise RuntimeError("%s is missing: run `make callgrind`" % MODULE)
    if hello_so is None or hello_conf is None:
        import run
        hello_so = hello_so or run.build_hello()
        hello_conf = hello_conf or run.hello_kore_conf
    own = stack is None
    if own:
        stack = Stack(kore_instances=1, settings={"RUN_MODE": "development"})
        stack.start(app=False)
    work = tempfile.mkdtemp(prefix="microgo-callgrind-")
    t0 = time.monotonic()
    data = {"requests": n, "routes": {}, "stop_s": {}}
    try:
        port = free_port()
        bare = Valgrinded("hello", hello_conf(
            hello_so, port, os.path.join(work, "hello.pid"), 1),
            ["bench_hello"], dict(os.environ), work)
        try:
            bare.wait_ready(port, "/hello")
            data["routes"]["bare"] = summary(run_route(
                bare, port, "/hello", {}, n, 200))
        finally:
            data["stop_s"]["bare"] = bare.stop()

        port = free_port()
        bodies = os.path.join(work, "bodies")
        os.makedirs(bodies, mode=0o700)
        text = open(os.path.join(ROOT, "kore.conf")).read()
        app = Valgrinded("microgo", render_kore_conf(
            text, port, os.path.join(work, "microgo.pid"), workers=1,
            module=MODULE, body_dir=bodies),
            ["ctl_healthz", "mw_bearer"], stack.app_env(), work)
        try:
            app.wait_ready(port, "/healthz")
            r = data["routes"]
            r["healthz"] = summary(run_route(app, port, "/healthz", {}, n,
                                             200))
            user, password = stack.seed_users[1]
            token = login(port, user, password)
            r["me"] = summary(run_route(
                app, port, "/me", {"Authorization": "Bearer " + token}, n,
                200))
            r["rejected"] = summary(run_route(
                app, port, "/me",
                {"Authorization": "Bearer " + bad_signature(token)}, n, 401))
        finally:
            data["stop_s"]["microgo"] = app.stop()
        me = data["routes"]["me"]
        data["top_me"] = top(me["file"], me["ir"], True)
        data["self_me"] = top(me["file"], me["ir"], False)
    finally:
        if own:
            stack.stop()
        if os.environ.get("MICROGO_KEEP_STACK", "") in ("", "0"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            sys.stderr.write("instructions: kept %s\n" % work)
    for s in data["routes"].values():
        del s["file"]
    data["seconds"] = time.monotonic() - t0
    return data


def kir(x):
    return "%.1fk" % (x / 1000.0)


def ratio(data, name):
    return data["routes"][name]["ir"] / data["routes"]["bare"]["ir"]


def markdown(data):
    r = data["routes"]
    lines = [
        "## Instructions per request (callgrind)",
        "",
        "Instructions (Ir) the Kore worker runs per request under valgrind's "
        "callgrind, one worker with kore.conf's settings, one keep-alive "
        "connection, one request at a time: the median of %d requests, each "
        "counted from its handler's entry to the next request's (response "
        "write, Kore's event loop, HTTP parse and route lookup included; "
        "start-up not; bench/instructions.py says how)." % (
            r["bare"]["n"]),
        "",
        "| request | Ir/request | min–max | vs bare handler |",
        "|---|---:|---:|---:|",
    ]
    for name in ("bare", "healthz", "me", "rejected"):
        s = r[name]
        lines.append("| %s | %s | %s–%s | %.2fx |" % (
            ROUTES[name][0], kir(s["ir"]), kir(s["min"]), kir(s["max"]),
            ratio(data, name)))
    lines += [
        "",
        "Where GET /me's instructions go: the top %d functions by inclusive "
        "cost and by their own (callgrind_annotate on the median request), "
        "without main and Kore's worker loop around the whole request. A "
        "function running when the request's count began (the handler) "
        "counts only from there; `0x...` are static functions of the "
        "stripped kore binary." % TOP,
        "",
        "| inclusive Ir | of /me | function | in | own Ir | function | in |",
        "|---:|---:|---|---|---:|---|---|",
    ]
    total = r["me"]["ir"]
    for (ir, fn, where), (own, ofn, owhere) in zip(data["top_me"],
                                                   data["self_me"]):
        lines.append("| %s | %.0f%% | `%s` | %s | %s | `%s` | %s |" % (
            "{:,}".format(ir), 100.0 * ir / total, fn, where,
            "{:,}".format(own), ofn, owhere))
    return lines


def targets(data):
    rows = []
    for name, limit in (("healthz", 1.25), ("me", 2.0)):
        x = ratio(data, name)
        rows.append(("instructions: %s <= %gx the bare handler" % (
            ROUTES[name][1], limit) if name == "healthz" else
            "instructions: %s <= %gx" % (ROUTES[name][1], limit),
            "%.2fx (%s Ir/request, bare %s)" % (
                x, kir(data["routes"][name]["ir"]),
                kir(data["routes"]["bare"]["ir"])),
            x <= limit))
    return rows


def main():
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    subprocess.run(["make", "-s", "callgrind"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    data = measure()
    print("\n".join(markdown(data)))
    print()
    for name, measured, ok in targets(data):
        print("%s: %s, %s" % (name, measured, "met" if ok else "NOT MET"))
    print("(%.0f s; Kore exited %s s after SIGTERM)" % (
        data["seconds"], ", ".join("%.1f" % v for v in
                                   data["stop_s"].values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
