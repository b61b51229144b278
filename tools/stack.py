#!/usr/bin/python3
"""stack: microgo's whole service on this machine, for `make run`, `make dev`
and the integration tests.

It starts, each on a free loopback port and with its state in one run
directory:

  * a private MariaDB server (mariadbd with its own datadir, socket and pid
    file; seeded from conf/mariadb/init.sql on first start; the app's
    account, which init.sql does not hold, made on every start with a
    password generated into the run directory, the MongoDB account's too:
    Stack.access_pwd). It never touches a system MariaDB: no /etc/mysql
    (every tool gets --no-defaults), no /var/lib/mysql, no /run/mysqld, no
    port 3306.
  * MongoDB: $MONGO_URI if set (nothing is started), else a private `mongod`
    if one is on PATH, else the wire-protocol stand-in
    tests/standin/mongod_standin.py, which is NOT MongoDB (in memory,
    mongomock semantics; see its docstring).
  * N Kore instances (`kore -fnr -c run/kore-N.conf`: kore.conf with its
    bind line moved to 127.0.0.1:<port> and request bodies spooled to
    run/kore-N.bodies/, not /tmp, so that what a killed worker leaves there
    goes when the instance stops), with every setting the app reads passed
    in the environment, so that a developer's .env cannot change what the
    tests see.
  * nginx, from conf/nginx.conf (the production file) with the upstream,
    listen addresses, file paths and TLS certificate rewritten (the header
    comment of conf/nginx.conf lists every line rewritten), spreading
    requests over the Kore instances as docker compose will: plain HTTP on
    one loopback port, TLS on another, with a self-signed certificate for
    127.0.0.1 made by the openssl CLI in run/nginx/certs/.

Everything started is tracked by its pid and stopped by it, in reverse order
(SIGTERM, a bounded wait, then SIGKILL for it and whatever it forked); no
other process is ever signalled. Every wait is bounded. Children also get
PR_SET_PDEATHSIG, so a launcher killed outright does not leave them behind.

Command line (tools/stack.py --help):
  run         `make run`: the whole stack in the foreground until Ctrl-C or
              SIGTERM; MariaDB's data in run/ (kept, seeded once), app log in
              logs/, nginx on 127.0.0.1:${PORT:-5000} and, with TLS, on
              127.0.0.1:${TLS_PORT:-5443} (--port, --tls-port, --kore N,
              --run-dir). Settings: .env.example, then .env, then the
              environment; JWT_SECRET is generated for the session if unset.
  dev         `make dev`: MariaDB and MongoDB, then `kodev run` in
              .build/microgo with every setting in its environment.
  nginx-test  render conf/nginx.conf as the stack would and run `nginx -t`.

Environment: MONGO_URI (use that MongoDB, start none), MICROGO_MONGO=
auto|standin|mongod, MICROGO_KEEP_STACK=1 (keep a test run directory).

As a module (tests): Stack(...).start() / .stop(), or `with Stack() as s:`.
Standard library and requests only; run it with /usr/bin/python3.
"""

import argparse
import base64
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Debian's python3-* packages (mongomock, pymongo for the stand-in) are for
# this interpreter; the python3 on PATH may be a pyenv build without them.
DEBIAN_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# Every setting the app reads (src/modules/config.c): each Kore instance gets
# all of them explicitly.
APP_KEYS = (
    "RUN_MODE", "JWT_SECRET", "JWT_SECRET_FILE", "JWT_TTL", "ACCESS_USR",
    "ACCESS_PWD", "ACCESS_PWD_FILE", "MARIADB_HOST", "MARIADB_PORT", "AUTHDB",
    "MONGO_HOST", "MONGO_PORT", "MONGO_URI", "MAX_UPLOAD_BYTES", "MAX_PIXELS",
    "MAX_USER_BYTES", "MAX_USER_FILES", "MAX_USER_UPLOADS", "LINK_TTL_MAX", "LOG_DIR",
    "DEP_TIMEOUT",
)

# Settings for tests, whatever .env says (the values of .env.example).
TEST_SETTINGS = {
    "RUN_MODE": "development",
    "JWT_TTL": "86400",
    "ACCESS_USR": "accessuser",
    # Empty: the stack generates the account's password (Stack.access_pwd).
    "ACCESS_PWD": "",
    "AUTHDB": "authdb",
    "MAX_UPLOAD_BYTES": "33554432",
    "MAX_PIXELS": "50000000",
    "MAX_USER_BYTES": "1073741824",
    "MAX_USER_FILES": "1000",
    "MAX_USER_UPLOADS": "4",
    "LINK_TTL_MAX": "604800",
    "JWT_SECRET_FILE": "",
    "ACCESS_PWD_FILE": "",
    "DEP_TIMEOUT": "3",
}

# The settings the stack decides: where its own servers are.
STACK_KEYS = ("MARIADB_HOST", "MARIADB_PORT", "MONGO_HOST", "MONGO_PORT", "MONGO_URI",
              "LOG_DIR")

# The users conf/mariadb/init.sql creates (its comment names the passwords).
SEED_USERS = (("Mập", "Mập khùng"), ("Rex", "Rex siu super"))

MONGO_DB = "image_records"

# Kore output lines that mean a worker died or the sandbox refused a call.
KORE_PROBLEM_RE = re.compile(
    r"sandbox violation|worker died|\) gone\b|has caused \d+ error|"
    r"\bfatal\b|AddressSanitizer|runtime error:|Segmentation", re.I)

START_TIMEOUT = 60.0     # for one server to answer
STOP_TIMEOUT = 15.0      # for one process to exit after SIGTERM
MARIADB_STOP_TIMEOUT = 30.0
# A test server holds two users: 8 MB of redo log rather than 96 (a kept
# run directory is 20 MB, not 114), a small buffer pool.
MARIADB_SMALL = ["--innodb-log-file-size=8M", "--innodb-buffer-pool-size=64M"]
PORT_ATTEMPTS = 3        # a port picked free may be taken before it is bound
# Kore 4.1 builds a spool file's name, "<http_body_disk_path>/http_body.XXXXXX",
# in a buffer of this size (HTTP_BODY_PATH_MAX) and fails the request if it
# does not fit.
KORE_BODY_PATH_MAX = 256


class StackError(RuntimeError):
    """The stack could not be started or used; the message says why."""


# --------------------------------------------------------------------------
# Helpers

def free_port():
    """A loopback port that was free just now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port, host="127.0.0.1"):
    """True if nothing listens on host:port (nor on the wildcard address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def tool_path(name):
    """The absolute path of a program (/usr/sbin too: not on every user's
    PATH, yet where mariadbd and nginx live); StackError if missing."""
    path = shutil.which(name, path=os.environ.get("PATH", os.defpath) + ":/usr/sbin:/sbin")
    if path is None:
        raise StackError("%s not found: run `make deps`" % name)
    return path


def tcp_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def parse_env_file(path):
    """KEY=VALUE lines as the app reads them (config_parse_line in
    src/modules/config.c): `export`, quotes, ` #` comments."""
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export") and line[6:7].isspace():
                line = line[6:].strip()
            key, sep, val = line.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z0-9_]+", key.strip()):
                continue
            val = val.strip()
            if val[:1] in ("'", '"'):
                end = val.find(val[0], 1)
                val = val[1:end] if end > 0 else val[1:]
            elif " #" in val:
                val = val.split(" #", 1)[0].strip()
            values[key.strip()] = val
    return values


def read_text(path, tail=None):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    if tail is not None:
        text = "\n".join(text.splitlines()[-tail:])
    return text


def read_from(path, offset):
    """The text of path from byte offset on ("" if it cannot be read)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def rel(path):
    """path relative to the repository when inside it, for messages."""
    try:
        r = os.path.relpath(path, ROOT)
    except ValueError:
        return path
    return path if r.startswith("..") else r


_libc = None


def _child_setup():
    """In the child, before exec: die with the launcher (SIGTERM)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort only
        pass


def _proc_start_time(pid):
    """Field 22 of /proc/PID/stat: tells a pid from a recycled one."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("ascii", "replace")
        return int(data.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def child_pids(pid):
    """Direct children of pid (all its threads), via /proc."""
    kids = []
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return kids
    found_file = False
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                found_file = True
                kids.extend(int(x) for x in f.read().split())
        except OSError:
            continue
    if not found_file:  # kernel without CONFIG_PROC_CHILDREN: scan /proc
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry, "rb") as f:
                    ppid = int(f.read().decode("ascii", "replace").rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                kids.append(int(entry))
    return sorted(set(kids))


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        for kid in child_pids(todo.pop()):
            if kid not in out:
                out.append(kid)
                todo.append(kid)
    return out


class Proc:
    """One process the stack started: its Popen, its output file."""

    def __init__(self, name, argv, out_path, env=None, cwd=ROOT):
        """out_path None: the child writes to the launcher's own terminal."""
        self.name = name
        self.argv = argv
        self.env = env
        self.out_path = out_path
        # A process group of its own (a terminal's Ctrl-C reaches the
        # launcher, which stops the stack in order), but not a session
        # of its own: with the kernel's autogroup scheduling, each
        # session is a group that gets an equal share of the CPU, so
        # Kore's image threads at nice 10 (src/modules/jobs.c) would
        # take half the cores from nginx's event loops however busy
        # those are. In one session the nice values rank them all:
        # make bench's /me through nginx during noise uploads, worst
        # 56-172 ms apart and 12-26 ms together (bench/results.md).
        common = dict(cwd=cwd, env=env, stdin=subprocess.DEVNULL, process_group=0,
                      preexec_fn=_child_setup)
        if out_path is None:
            self.popen = subprocess.Popen(argv, **common)
        else:
            with open(out_path, "ab") as out:
                out.write(("--- %s: %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"),
                                             " ".join(argv))).encode())
                out.flush()
                self.popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                              **common)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def output(self, tail=None):
        return read_text(self.out_path, tail) if self.out_path else ""

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait up to timeout, then SIGKILL; then its leftover
        descendants (a Kore worker whose parent was killed, say)."""
        if self.popen.poll() is not None:
            return self.popen.returncode
        # The Popen is not reaped yet, so its pid cannot have been reused.
        kids = [(p, _proc_start_time(p)) for p in descendants(self.pid)]
        try:
            self.popen.send_signal(signal.SIGTERM)
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            sys.stderr.write("stack: %s (pid %d) ignored SIGTERM for %.0f s, killing it\n"
                             % (self.name, self.pid, timeout))
            self.popen.kill()
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                sys.stderr.write("stack: %s (pid %d) survives SIGKILL\n" % (self.name, self.pid))
        deadline = time.monotonic() + 3
        for pid, start in kids:
            while start is not None and _proc_start_time(pid) == start:
                if time.monotonic() > deadline:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                    break
                time.sleep(0.05)
        return self.popen.returncode


def wait_until(what, check, timeout, proc=None, interval=0.1):
    """Calls check() until it returns true; StackError after timeout, or as
    soon as proc has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        if proc is not None and not proc.alive():
            raise StackError("%s: %s exited with status %s before it was ready; "
                             "its output (%s) ends with:\n%s"
                             % (what, proc.name, proc.popen.returncode, proc.out_path,
                                proc.output(tail=30)))
        if time.monotonic() > deadline:
            detail = ""
            if proc is not None:
                detail = "; its output (%s) ends with:\n%s" % (proc.out_path, proc.output(tail=30))
            raise StackError("%s: not ready after %.0f s%s" % (what, timeout, detail))
        time.sleep(interval)


def http_ok(url, timeout=1.0):
    return requests.get(url, timeout=timeout).status_code == 200


# --------------------------------------------------------------------------
# Config rendering

# MICROGO_SANITIZE=1 (make asan-test): Kore loads the address- and
# undefined-behaviour-sanitized build of the module (`make asan`) instead,
# with the sanitizer runtimes preloaded (the kore binary itself is not
# instrumented). Their reports land in the Kore output, where
# kore_problems() finds them.
ASAN_MODULE = os.path.join(ROOT, ".build", "asan", "microgo.so")


def sanitized_module():
    if os.environ.get("MICROGO_SANITIZE", "") in ("", "0"):
        return None
    if not os.path.exists(ASAN_MODULE):
        raise StackError("MICROGO_SANITIZE is set but %s is missing: run `make asan`"
                         % rel(ASAN_MODULE))
    return ASAN_MODULE


def sanitizer_env(env):
    if sanitized_module() is None:
        return env
    libs = []
    for lib in ("libasan.so", "libubsan.so"):
        path = subprocess.run(["gcc", "-print-file-name=" + lib], capture_output=True,
                              text=True).stdout.strip()
        if not os.path.isabs(path):
            raise StackError("gcc does not know where %s is" % lib)
        libs.append(os.path.realpath(path))
    env = dict(env)
    env["LD_PRELOAD"] = " ".join(libs)
    # Leaks are not errors here: Kore's workers exit without freeing.
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:print_summary=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=0"
    return env


def render_kore_conf(text, port, pidfile, workers=None, module=None, body_dir=None):
    """kore.conf with the bind line of its server block on 127.0.0.1:port,
    a private pid file (Kore writes kore.pid in its cwd otherwise) and, if
    given, another number of workers, another module to load and another
    directory for request bodies spooled to disk (http_body_disk_path)."""
    blocks = list(re.finditer(r"^server\s+\S+\s*\{[^}]*\}", text, re.M))
    if len(blocks) != 1:
        raise StackError("kore.conf: expected one `server NAME { ... }` block, found %d"
                         % len(blocks))
    block = blocks[0]
    body, n = re.subn(r"^([ \t]*)bind[ \t]+\S+[ \t]+\d+[ \t]*$",
                      "\\1bind\t\t127.0.0.1 %d" % port, block.group(0), flags=re.M)
    if n != 1:
        raise StackError("kore.conf: expected one `bind ADDRESS PORT` line in the server "
                         "block, found %d" % n)
    text = text[:block.start()] + body + text[block.end():]
    if workers is not None:
        text, n = re.subn(r"^([ \t]*)workers[ \t]+\d+[ \t]*$", "\\1workers\t\t\t%d" % workers,
                          text, flags=re.M)
        if n == 0:
            text = "workers\t\t\t%d\n" % workers + text
    if module is not None:
        text, n = re.subn(r"^([ \t]*)load[ \t]+\S+([ \t]+\S+)?[ \t]*$",
                          lambda m: "%sload\t\t%s%s" % (m.group(1), module, m.group(2) or ""),
                          text, flags=re.M)
        if n != 1:
            raise StackError("kore.conf: expected one `load MODULE` line, found %d" % n)
    if re.search(r"^\s*pidfile\s", text, re.M):
        text = re.sub(r"^(\s*)pidfile\s.*$", "\\1pidfile\t\t%s" % pidfile, text, flags=re.M)
    else:
        text = ("# Rendered by tools/stack.py from kore.conf: do not edit.\n"
                "pidfile\t\t%s\n\n" % pidfile) + text
    if body_dir is not None:
        if len((body_dir + "/http_body.XXXXXX").encode()) >= KORE_BODY_PATH_MAX:
            raise StackError("%s: too long for Kore's spool file names (%d bytes at most)"
                             % (body_dir, KORE_BODY_PATH_MAX - 1))
        # Last, so that it wins over conf/http.conf's: Kore applies the
        # settings in the order it reads them, includes where they stand.
        text = (text.rstrip("\n") + "\n\n# tools/stack.py: this instance spools request "
                "bodies in its own run directory.\nhttp_body_disk_path\t%s\n" % body_dir)
    return text


def _sub_one(pattern, repl, text, what):
    new, n = re.subn(pattern, repl, text, flags=re.M)
    if n != 1:
        raise StackError("conf/nginx.conf: expected exactly one %s line, found %d "
                         "(tools/stack.py rewrites it)" % (what, n))
    return new


NGINX_TEMP_PATHS = ("client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
                    "uwsgi_temp_path", "scgi_temp_path")


def render_nginx_conf(text, upstreams, listen, pid_path, error_log, access_log, temp_dir,
                      login_rate=None, *, tls_listen, tls_cert, tls_key, conn_limit=None):
    """conf/nginx.conf for the local stack: the upstream's `server app:8080`
    line becomes one line per (host, port) with the same parameters, `listen
    80;` becomes listen, `listen 443 ssl;` tls_listen, the certificate and
    its key tls_cert and tls_key, and every file path a private one.
    login_rate and conn_limit, if given, replace production's /login rate
    and its requests in progress per client address (limit_conn)."""
    servers = list(re.finditer(r"^([ \t]*)server[ \t]+app:8080\b([^;\n]*);[ \t]*\n", text,
                               re.M))
    if not servers:
        raise StackError("conf/nginx.conf: no `server app:8080 ...;` line in the upstream "
                         "(tools/stack.py rewrites it)")
    indent, params = servers[0].group(1), servers[0].group(2)
    lines = "".join("%sserver %s:%d%s;\n" % (indent, h, p, params) for h, p in upstreams)
    for m in reversed(servers[1:]):
        text = text[:m.start()] + text[m.end():]
    text = text[:servers[0].start()] + lines + text[servers[0].end():]

    text = _sub_one(r"^([ \t]*)listen[ \t]+80;", "\\1listen\t\t\t%s;" % listen, text,
                    "`listen 80;`")
    text = _sub_one(r"^([ \t]*)listen[ \t]+443[ \t]+ssl;",
                    "\\1listen\t\t\t%s ssl;" % tls_listen, text, "`listen 443 ssl;`")
    text = _sub_one(r"^([ \t]*)ssl_certificate[ \t]+[^;\n]+;",
                    "\\1ssl_certificate\t\t%s;" % tls_cert, text, "ssl_certificate")
    text = _sub_one(r"^([ \t]*)ssl_certificate_key[ \t]+[^;\n]+;",
                    "\\1ssl_certificate_key\t%s;" % tls_key, text, "ssl_certificate_key")
    text = _sub_one(r"^([ \t]*)pid[ \t]+[^;\n]+;", "\\1pid\t\t\t%s;" % pid_path, text, "pid")
    text = _sub_one(r"^([ \t]*)error_log[ \t]+\S+?([ \t]+[^;\n]*)?;",
                    lambda m: "%serror_log\t\t%s%s;" % (m.group(1), error_log, m.group(2) or ""),
                    text, "error_log")
    text = _sub_one(r"^([ \t]*)access_log[ \t]+\S+?([ \t]+[^;\n]*)?;",
                    lambda m: "%saccess_log\t\t%s%s;" % (m.group(1), access_log,
                                                        m.group(2) or ""),
                    text, "access_log")
    for directive in NGINX_TEMP_PATHS:
        text = _sub_one(r"^([ \t]*)%s[ \t]+[^;\n]+;" % directive,
                        "\\1%s\t%s;" % (directive, os.path.join(temp_dir, directive[:-10])),
                        text, directive)
    if login_rate is not None:
        text = _sub_one(r"(limit_req_zone[^;\n]*zone=mg_login:\S+[ \t]+rate=)\S+?;",
                        "\\g<1>%s;" % login_rate, text, "limit_req_zone ... zone=mg_login")
    if conn_limit is not None:
        text = _sub_one(r"^([ \t]*limit_conn[ \t]+mg_conn[ \t]+)\d+;", "\\g<1>%d;" % conn_limit,
                        text, "limit_conn mg_conn")
    return ("# Rendered by tools/stack.py from conf/nginx.conf: do not edit.\n" + text)


def make_tls_pair(directory, days=365):
    """A self-signed certificate for localhost, 127.0.0.1 and ::1 and its
    key in directory as fullchain.pem and privkey.pem (the names
    conf/nginx.conf gives them), by tools/self-signed-cert.sh, as compose's
    init service and tools/swarm-secrets.sh make theirs: kept if a pair is
    there already, unless it is self-signed and ends within 30 days.
    Returns (certificate, key)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    r = subprocess.run(["sh", os.path.join(ROOT, "tools", "self-signed-cert.sh"),
                        directory, "localhost", str(days)],
                       capture_output=True, timeout=60,
                       env=dict(os.environ, PATH=os.path.dirname(tool_path("openssl"))
                                + os.pathsep + os.environ.get("PATH", "")))
    if r.returncode != 0:
        raise StackError("tools/self-signed-cert.sh could not make a certificate in %s:\n%s"
                         % (directory, r.stderr.decode("utf-8", "replace")))
    return os.path.join(directory, "fullchain.pem"), os.path.join(directory, "privkey.pem")


def _world_traversable(path):
    """True if every directory from / to path lets others through (o+x):
    nginx workers run as nobody when the master is root."""
    path = os.path.abspath(path)
    while True:
        try:
            if not os.stat(path).st_mode & 0o001:
                return False
        except OSError:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


# --------------------------------------------------------------------------
# The stack

class Stack:
    """MariaDB, MongoDB (or its stand-in), N Kore instances and nginx.

    settings: app settings (APP_KEYS) over TEST_SETTINGS; the stack sets
    MARIADB_*, MONGO_* and LOG_DIR itself (MONGO_URI here or in os.environ
    selects an external MongoDB). jwt_secret defaults to a random one.
    run_dir: where state goes (default: a new temporary directory, removed by
    stop() unless keep_run_dir). persistent: keep MariaDB's data across runs
    (`make run`). nginx_port, nginx_tls_port: nginx's plain HTTP and TLS
    ports, default free ones; the TLS port serves a self-signed certificate
    for 127.0.0.1 made in the run directory (tls_cert: give it to a client
    as the one to trust). login_rate: override nginx's /login rate limit
    (e.g. "1000r/s"); conn_limit: its requests in progress per client
    address (limit_conn); default production's.
    kore_workers: workers per Kore instance (default kore.conf's).
    mongo: "auto" | "standin" | "mongod" (default from $MICROGO_MONGO).
    Unless persistent, the stand-in logs every command it runs to
    run_dir/mongo/commands.log.
    """

    def __init__(self, kore_instances=2, settings=None, run_dir=None, log_dir=None,
                 nginx_port=None, persistent=False, keep_run_dir=None, login_rate=None,
                 mongo=None, kore_workers=None, verbose=False, nginx_tls_port=None,
                 conn_limit=None):
        if kore_instances < 1:
            raise ValueError("kore_instances must be at least 1")
        if kore_workers is not None and kore_workers < 1:
            raise ValueError("kore_workers must be at least 1")
        self.n_kore = kore_instances
        self.kore_workers = kore_workers
        self.verbose = verbose
        self.persistent = persistent
        self.login_rate = login_rate
        self.conn_limit = conn_limit
        self.mongo_mode = mongo or os.environ.get("MICROGO_MONGO", "auto")
        if self.mongo_mode not in ("auto", "standin", "mongod"):
            raise ValueError("mongo must be auto, standin or mongod")
        if keep_run_dir is None:
            keep_run_dir = os.environ.get("MICROGO_KEEP_STACK", "") not in ("", "0")
        self.keep_run_dir = keep_run_dir

        self._own_run_dir = run_dir is None
        self.run_dir = os.path.abspath(run_dir) if run_dir else None
        self._log_dir = log_dir
        self.requested_nginx_port = nginx_port
        self.requested_nginx_tls_port = nginx_tls_port

        s = dict(TEST_SETTINGS)
        s.update(settings or {})
        unknown = set(s) - set(APP_KEYS)
        if unknown:
            raise ValueError("unknown app settings: %s" % ", ".join(sorted(unknown)))
        self.external_mongo_uri = s.pop("MONGO_URI", "") or os.environ.get("MONGO_URI", "")
        for key in STACK_KEYS:
            s.pop(key, None)
        if s.get("JWT_SECRET_FILE"):
            with open(s["JWT_SECRET_FILE"], encoding="utf-8") as f:
                self.jwt_secret = f.read().rstrip()
        else:
            if not s.get("JWT_SECRET"):
                s["JWT_SECRET"] = base64.b64encode(secrets.token_bytes(48)).decode()
            self.jwt_secret = s["JWT_SECRET"]
        self.settings = s
        self.seed_users = SEED_USERS
        self.dep_timeout = int(s.get("DEP_TIMEOUT", "3"))
        self._access_pwd = None         # see access_pwd

        self.mariadb_port = None
        self.mongo_port = None
        self.mongo_uri = None
        self.mongo_kind = None          # "external", "mongod" or "standin"
        self.kore_ports = []
        self.nginx_port = None
        self.nginx_tls_port = None
        self._mariadb = None
        self._mongo = None
        self._kore = []
        self._nginx = None
        self._nginx_temp_dir = None
        self._tmp_dirs = []
        self._short_body_dirs = {}
        self._started = False

    # ---- paths

    def _path(self, *parts):
        return os.path.join(self.run_dir, *parts)

    @property
    def log_dir(self):
        return self._log_dir

    @property
    def log_path(self):
        """The app's log file ($LOG_DIR/app_logs.log)."""
        return os.path.join(self._log_dir, "app_logs.log")

    @property
    def mariadb_socket(self):
        return self._mariadb_socket

    @property
    def nginx_url(self):
        return "http://127.0.0.1:%d" % self.nginx_port

    @property
    def nginx_tls_url(self):
        """nginx's TLS port: https://127.0.0.1:<port>, with tls_cert."""
        return "https://127.0.0.1:%d" % self.nginx_tls_port

    @property
    def tls_cert(self):
        """The self-signed certificate nginx's TLS port serves (PEM, for
        127.0.0.1 and localhost): what a client trusts, e.g.
        requests.get(url, verify=stack.tls_cert)."""
        return self._path("nginx", "certs", "fullchain.pem")

    @property
    def tls_key(self):
        return self._path("nginx", "certs", "privkey.pem")

    @property
    def nginx_temp_dir(self):
        """Where nginx keeps its temporary files (client_body/, proxy/,
        ...); set once nginx has started."""
        return self._nginx_temp_dir

    @property
    def kore_urls(self):
        return ["http://127.0.0.1:%d" % p for p in self.kore_ports]

    @property
    def mongo_fail_file(self):
        """While this file exists the stand-in fails every command (see its
        --fail-file); None unless the stand-in runs."""
        return self._path("mongo", "fail") if self.mongo_kind == "standin" else None

    @property
    def mongo_hang_file(self):
        """While this file exists the stand-in holds back its replies to the
        commands the file names (see its --hang-file); None unless the
        stand-in runs."""
        return self._path("mongo", "hang") if self.mongo_kind == "standin" else None

    @property
    def nginx_access_log(self):
        return self._path("nginx", "access.log")

    @property
    def nginx_error_log(self):
        return self._path("nginx", "error.log")

    def _log(self, msg):
        if self.verbose:
            print("stack: " + msg, flush=True)

    # ---- lifecycle

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self, app=True):
        """Starts everything (app=False: MariaDB and MongoDB only); on any
        failure stops what it started and raises StackError."""
        if self._started:
            raise StackError("stack already started")
        if not os.path.exists(os.path.join(ROOT, "microgo.so")):
            raise StackError("%s/microgo.so is missing: run `make build` first" % ROOT)
        for tool in ("mariadbd", "mariadb-install-db", "mariadb", "mariadb-admin", "nginx",
                     "kore", "stdbuf"):
            tool_path(tool)
        if self.run_dir is None:
            self.run_dir = tempfile.mkdtemp(prefix="microgo-stack-")
            # nginx workers (nobody, when the master is root) write temp files
            # under it: let them through, without letting anyone list it.
            os.chmod(self.run_dir, 0o711)
        os.makedirs(self.run_dir, exist_ok=True)
        if self._log_dir is None:
            self._log_dir = self._path("logs")
        self._log_dir = os.path.abspath(self._log_dir)
        os.makedirs(self._log_dir, exist_ok=True)
        self._started = True
        try:
            self.start_mariadb()
            self.start_mongo()
            if app:
                for i in range(self.n_kore):
                    self._start_kore(i)
                self._start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stops everything this stack started, newest first; only that."""
        if self._nginx is not None:
            self._nginx.stop()
            self._nginx = None
        for i in reversed(range(len(self._kore))):
            self.stop_kore(i)
        if self._mongo is not None:
            self._mongo.stop()
            self._mongo = None
        self.stop_mariadb()
        for d in self._tmp_dirs:
            shutil.rmtree(d, ignore_errors=True)
        self._tmp_dirs = []
        self._short_sock_dir = None
        self._short_body_dirs = {}
        if (self._started and self._own_run_dir and not self.keep_run_dir
                and self.run_dir and os.path.isdir(self.run_dir)):
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif self._started and self._own_run_dir and self.keep_run_dir:
            sys.stderr.write("stack: kept %s\n" % self.run_dir)
        self._started = False

    # ---- MariaDB

    @property
    def _mariadb_socket(self):
        sock = self._path("mariadb", "mariadb.sock")
        if len(sock.encode()) > 100:  # sun_path holds 108 bytes
            if not getattr(self, "_short_sock_dir", None):
                self._short_sock_dir = tempfile.mkdtemp(prefix="mg-sock-")
                self._tmp_dirs.append(self._short_sock_dir)
            sock = os.path.join(self._short_sock_dir, "mariadb.sock")
        return sock

    def _mariadb_root_user(self):
        # mariadb-install-db --auth-root-authentication-method=socket makes
        # root@localhost and <the user running it>@localhost, unix_socket.
        if os.geteuid() == 0:
            return "root"
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name

    def _mariadb_client(self, *args, sql=None, check=True, tcp_user=None, password=None,
                        timeout=60):
        """Runs the mariadb client: as root over the socket, or as tcp_user
        over TCP as the app connects."""
        if tcp_user is None:
            argv = [tool_path("mariadb"), "--no-defaults", "--socket=" + self.mariadb_socket,
                    "--user=" + self._mariadb_root_user()]
        else:
            argv = [tool_path("mariadb"), "--no-defaults", "--protocol=TCP", "--host=127.0.0.1",
                    "--port=%d" % self.mariadb_port, "--user=" + tcp_user]
        argv += ["--default-character-set=utf8mb4", "--batch", "--skip-column-names"]
        argv += list(args)
        env = dict(os.environ)
        env.pop("MYSQL_PWD", None)
        if password is not None:
            env["MYSQL_PWD"] = password  # not on the command line, not in ps
        r = subprocess.run(argv, input=sql, capture_output=True, env=env, timeout=timeout,
                           cwd=self.run_dir)
        if check and r.returncode != 0:
            raise StackError("mariadb client as %s failed: %s"
                             % (tcp_user or self._mariadb_root_user(),
                                r.stderr.decode("utf-8", "replace").strip()))
        return r

    def _mariadb_install(self, data):
        if os.path.isdir(os.path.join(data, "mysql")):
            return False
        if os.path.isdir(data) and os.listdir(data):
            raise StackError("%s exists but holds no MariaDB system tables; remove it to "
                             "start afresh" % data)
        os.makedirs(data, exist_ok=True)
        # No --user: as root it would chown the system's auth_pam_tool_dir.
        # The bootstrap server runs as the invoking user (root is allowed).
        argv = [tool_path("mariadb-install-db"), "--no-defaults",
                "--auth-root-authentication-method=socket", "--skip-test-db",
                "--datadir=" + data] + MARIADB_SMALL
        log = self._path("mariadb", "install.log")
        with open(log, "wb") as out:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, cwd=self._path("mariadb"),
                               timeout=120)
        if r.returncode != 0:
            raise StackError("mariadb-install-db failed (status %d); %s ends with:\n%s"
                             % (r.returncode, log, read_text(log, 20)))
        return True

    def _mariadb_check_not_running(self, data):
        """Refuses a datadir that a server from another launcher still uses
        (InnoDB would refuse it too, less clearly)."""
        pid_file = self._path("mariadb", "mariadb.pid")
        try:
            with open(pid_file) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read().split(b"\0")
        except (OSError, ValueError):
            return
        if ("--datadir=" + data).encode() in cmdline:
            raise StackError("a MariaDB server (pid %d) already runs on %s: is another "
                             "`make run` or `make dev` using %s? Stop it first."
                             % (pid, self._path("mariadb", "data"), self.run_dir))

    def start_mariadb(self):
        """Starts the private MariaDB server (same datadir and port when it
        ran before), initialising and seeding it on first start; returns once
        it answers and accessuser can log in over TCP."""
        if self._mariadb is not None and self._mariadb.alive():
            return
        base = self._path("mariadb")
        data = os.path.join(base, "data")
        os.makedirs(base, exist_ok=True)
        self._mariadb_check_not_running(data)
        self._mariadb_install(data)

        pick = self.mariadb_port is None
        for attempt in range(PORT_ATTEMPTS):
            if pick:
                self.mariadb_port = free_port()
            err_log = os.path.join(base, "mariadb.err")
            err_size = os.path.getsize(err_log) if os.path.exists(err_log) else 0
            argv = [tool_path("mariadbd"), "--no-defaults", "--datadir=" + data,
                    "--socket=" + self.mariadb_socket,
                    "--pid-file=" + os.path.join(base, "mariadb.pid"),
                    "--log-error=" + err_log,
                    "--bind-address=127.0.0.1", "--port=%d" % self.mariadb_port,
                    "--skip-name-resolve",
                    "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
                    ] + MARIADB_SMALL
            if os.geteuid() == 0:
                argv.append("--user=root")
            self._log("starting mariadbd on 127.0.0.1:%d" % self.mariadb_port)
            self._mariadb = Proc("mariadbd", argv, os.path.join(base, "mariadbd.out"), cwd=base)
            try:
                wait_until("MariaDB", self._mariadb_ping, START_TIMEOUT, self._mariadb)
                break
            except StackError as exc:
                new_errors = read_from(err_log, err_size)
                self._mariadb.stop()
                self._mariadb = None
                if pick and "in use" in new_errors and attempt + 1 < PORT_ATTEMPTS:
                    continue
                raise StackError("%s\n%s ends with:\n%s"
                                 % (exc, err_log, "\n".join(new_errors.splitlines()[-20:])))

        seeded = os.path.join(base, "seeded")
        if not os.path.exists(seeded):
            self._mariadb_seed()
            with open(seeded, "w") as f:
                f.write("conf/mariadb/init.sql applied %s\n" % time.strftime("%Y-%m-%dT%H:%M:%S"))
        self._mariadb_access_user()
        self._mariadb_check_access()

    def _mariadb_ping(self):
        r = subprocess.run([tool_path("mariadb-admin"), "--no-defaults",
                            "--socket=" + self.mariadb_socket,
                            "--user=" + self._mariadb_root_user(), "--connect-timeout=1",
                            "ping"], capture_output=True, timeout=5)
        return r.returncode == 0

    def _mariadb_seed(self):
        init_sql = os.path.join(ROOT, "conf", "mariadb", "init.sql")
        self._log("seeding MariaDB from %s" % rel(init_sql))
        with open(init_sql, "rb") as f:
            self._mariadb_client(sql=f.read())
        # Anonymous users would shadow accessuser@'%' for logins from
        # 127.0.0.1; mariadb-install-db 10.11 makes none, but make sure.
        r = self._mariadb_client("-e", "SELECT CONCAT(QUOTE(User), '@', QUOTE(Host)) "
                                       "FROM mysql.user WHERE User = ''")
        anon = [x for x in r.stdout.decode().split("\n") if x]
        if anon:
            self._mariadb_client(sql=("".join("DROP USER %s;\n" % a for a in anon)
                                      + "FLUSH PRIVILEGES;\n").encode())

    # ---- The access account (MariaDB and MongoDB)

    @property
    def access_pwd(self):
        """The password of the app's database account (ACCESS_USR), the same
        in MariaDB and MongoDB. conf/mariadb/init.sql holds none, so the
        stack decides it: ACCESS_PWD_FILE's contents if that is set, else
        ACCESS_PWD if set, else the one kept in the run directory
        (run_dir/access_pwd, mode 0600: `make run`'s run/ keeps it across
        restarts), generated there on the first start. Unless
        ACCESS_PWD_FILE was given, the app reads it from run_dir/access_pwd
        (ACCESS_PWD_FILE), not from its environment."""
        if self._access_pwd is None:
            given = self.settings.get("ACCESS_PWD_FILE", "")
            if given:
                with open(given, encoding="utf-8") as f:
                    pwd = f.read().rstrip()
            else:
                path = self._path("access_pwd")
                pwd = self.settings.get("ACCESS_PWD", "")
                if not pwd and os.path.exists(path):
                    with open(path, encoding="utf-8") as f:
                        pwd = f.read().rstrip()
                if not pwd:
                    pwd = secrets.token_hex(24)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(pwd)
                os.chmod(path, 0o600)
                self.settings["ACCESS_PWD"] = ""
                self.settings["ACCESS_PWD_FILE"] = path
            if not pwd:
                raise StackError("ACCESS_PWD_FILE %s is empty" % given)
            self._access_pwd = pwd
        return self._access_pwd

    def _mariadb_access_user(self):
        """The app's account, on every start: created if missing, given the
        stack's password (so a run directory seeded before, or with another
        password, follows), and the grant conf/mariadb/access-user.sh gives
        it in docker compose: SELECT on authdb.users, nothing more."""
        def literal(text):
            return "'%s'" % text.replace("\\", "\\\\").replace("'", "\\'")
        account = "%s@'%%'" % literal(self.settings["ACCESS_USR"])
        pwd = literal(self.access_pwd)
        self._mariadb_client(sql=("CREATE USER IF NOT EXISTS %s IDENTIFIED BY %s;\n"
                                  "ALTER USER %s IDENTIFIED BY %s;\n"
                                  "GRANT SELECT ON authdb.users TO %s;\n"
                                  % (account, pwd, account, pwd, account)).encode("utf-8"))

    def _mariadb_check_access(self):
        usr, db = self.settings["ACCESS_USR"], self.settings["AUTHDB"]
        r = self._mariadb_client("--database=" + db, "-e", "SELECT COUNT(*) FROM users",
                                 tcp_user=usr, password=self.access_pwd, check=False)
        if r.returncode != 0:
            raise StackError(
                "MariaDB is up but %s cannot read %s.users over TCP (%s); the stack "
                "gave it SELECT on authdb.users (is AUTHDB another database?)"
                % (usr, db, r.stderr.decode("utf-8", "replace").strip()))

    def stop_mariadb(self):
        """Stops MariaDB (a clean shutdown); start_mariadb() brings it back
        on the same port with the same data."""
        if self._mariadb is not None:
            self._mariadb.stop(MARIADB_STOP_TIMEOUT)
            self._mariadb = None

    # ---- MongoDB

    def start_mongo(self):
        """Starts MongoDB (mongod or the stand-in; same port as before on a
        restart). With an external MONGO_URI nothing is started."""
        if self._mongo is not None and self._mongo.alive():
            return
        if self.external_mongo_uri:
            self.mongo_kind = "external"
            self.mongo_uri = self.external_mongo_uri
            return
        if self.mongo_mode == "mongod" or (self.mongo_mode == "auto" and shutil.which("mongod")):
            self._start_mongod()
        else:
            self._start_standin()

    def _mongo_uri_for(self, port):
        usr = urllib.parse.quote(self.settings["ACCESS_USR"], safe="")
        pwd = urllib.parse.quote(self.access_pwd, safe="")
        return "mongodb://%s:%s@127.0.0.1:%d/%s?authSource=%s" % (usr, pwd, port, MONGO_DB,
                                                                  MONGO_DB)

    def _start_standin(self):
        script = os.path.join(ROOT, "tests", "standin", "mongod_standin.py")
        if not os.path.exists(script):
            raise StackError("the MongoDB stand-in %s does not exist (yet); set MONGO_URI to "
                             "a real MongoDB or put mongod on PATH" % rel(script))
        base = self._path("mongo")
        os.makedirs(base, exist_ok=True)
        port_file = os.path.join(base, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        argv = [DEBIAN_PYTHON, script, "--host", "127.0.0.1",
                "--port", str(self.mongo_port or 0), "--port-file", port_file,
                "--user", "%s:%s@%s" % (self.settings["ACCESS_USR"],
                                        self.access_pwd, MONGO_DB),
                "--fail-file", os.path.join(base, "fail"),
                "--hang-file", os.path.join(base, "hang")]
        if not self.persistent:
            argv += ["--log", os.path.join(base, "commands.log")]
        self._log("starting the MongoDB stand-in")
        self._mongo = Proc("mongod_standin", argv, os.path.join(base, "standin.out"))
        self.mongo_kind = "standin"

        def ready():
            with open(port_file) as f:
                port = int(f.read().strip())
            return tcp_open("127.0.0.1", port) and port
        wait_until("MongoDB stand-in", ready, START_TIMEOUT, self._mongo)
        with open(port_file) as f:
            self.mongo_port = int(f.read().strip())
        self.mongo_uri = self._mongo_uri_for(self.mongo_port)

    def _start_mongod(self):
        if not shutil.which("mongod"):
            raise StackError("MICROGO_MONGO=mongod but no mongod on PATH")
        base = self._path("mongo")
        data = os.path.join(base, "data")
        os.makedirs(data, exist_ok=True)
        pick = self.mongo_port is None
        for attempt in range(PORT_ATTEMPTS):
            if pick:
                self.mongo_port = free_port()
            # No --auth: the access user exists (made below), so the app
            # authenticates as in production; nothing else listens here.
            argv = [tool_path("mongod"), "--dbpath", data, "--bind_ip", "127.0.0.1",
                    "--port", str(self.mongo_port), "--quiet"]
            self._log("starting mongod on 127.0.0.1:%d" % self.mongo_port)
            self._mongo = Proc("mongod", argv, os.path.join(base, "mongod.out"))
            self.mongo_kind = "mongod"
            try:
                wait_until("mongod", lambda: tcp_open("127.0.0.1", self.mongo_port),
                           START_TIMEOUT, self._mongo)
                break
            except StackError:
                out = self._mongo.output(tail=30)
                self._mongo.stop()
                self._mongo = None
                if pick and "in use" in out and attempt + 1 < PORT_ATTEMPTS:
                    continue
                raise
        marker = os.path.join(base, "user-created")
        if not os.path.exists(marker):
            # init-mongo.js reads the password from ACCESS_PWD_FILE with
            # require("fs"): mongosh, not the legacy mongo shell.
            shell = shutil.which("mongosh")
            if shell is None:
                raise StackError("mongod is on PATH but mongosh is not, so the access user "
                                 "cannot be created; set MICROGO_MONGO=standin or MONGO_URI")
            js = os.path.join(ROOT, "conf", "mongodb", "init-mongo.js")
            self.access_pwd  # writes run_dir/access_pwd unless ACCESS_PWD_FILE is given
            env = dict(os.environ, ACCESS_USR=self.settings["ACCESS_USR"],
                       ACCESS_PWD_FILE=self.settings["ACCESS_PWD_FILE"])
            r = subprocess.run([shell, "--quiet", "mongodb://127.0.0.1:%d/admin" % self.mongo_port,
                                js], capture_output=True, timeout=60, env=env)
            if r.returncode != 0:
                raise StackError("creating the MongoDB access user failed: %s"
                                 % r.stderr.decode("utf-8", "replace"))
            open(marker, "w").close()
        self.mongo_uri = self._mongo_uri_for(self.mongo_port)

    def stop_mongo(self):
        """Stops mongod or the stand-in (the stand-in loses its data);
        start_mongo() brings it back on the same port."""
        if self.mongo_kind == "external":
            raise StackError("MongoDB is external ($MONGO_URI): the stack cannot stop it")
        if self._mongo is not None:
            self._mongo.stop()
            self._mongo = None

    # ---- Kore

    def app_env(self, log_dir=None):
        """The environment of each Kore instance: every APP_KEYS setting."""
        env = dict(os.environ)
        env.update(self.settings)
        mongo_host, mongo_port = "127.0.0.1", self.mongo_port or 27017
        if self.mongo_kind == "external":
            u = urllib.parse.urlsplit(self.mongo_uri)
            mongo_host, mongo_port = u.hostname or mongo_host, u.port or 27017
        env.update({
            "MARIADB_HOST": "127.0.0.1",
            "MARIADB_PORT": str(self.mariadb_port),
            "MONGO_HOST": mongo_host,
            "MONGO_PORT": str(mongo_port),
            "MONGO_URI": self.mongo_uri or "",
            "LOG_DIR": log_dir or self._log_dir,
        })
        missing = [k for k in APP_KEYS if k not in env]
        if missing:
            raise StackError("app settings missing: %s" % ", ".join(missing))
        return env

    def kore_body_dir(self, i):
        """Where Kore instance i spools request bodies over
        http_body_disk_offload: a directory of its own in the run directory
        (production spools to /tmp), emptied whenever the instance starts or
        stops, so that files a killed worker left behind go with it."""
        d = self._path("kore-%d.bodies" % (i + 1))
        if len((d + "/http_body.XXXXXX").encode()) >= KORE_BODY_PATH_MAX:
            if not self._short_body_dirs.get(i):
                self._short_body_dirs[i] = tempfile.mkdtemp(prefix="mg-bodies-")
                self._tmp_dirs.append(self._short_body_dirs[i])
            d = self._short_body_dirs[i]
        return d

    def _clear_kore_body_dir(self, i):
        d = self.kore_body_dir(i)
        shutil.rmtree(d, ignore_errors=True)
        return d

    def _start_kore(self, i, port=None):
        template = open(os.path.join(ROOT, "kore.conf")).read()
        body_dir = self._clear_kore_body_dir(i)
        os.makedirs(body_dir, mode=0o700)
        pick = port is None
        for attempt in range(PORT_ATTEMPTS):
            if pick:
                port = free_port()
            conf = self._path("kore-%d.conf" % (i + 1))
            with open(conf, "w") as f:
                f.write(render_kore_conf(template, port, self._path("kore-%d.pid" % (i + 1)),
                                         self.kore_workers, sanitized_module(), body_dir))
            argv = [tool_path("stdbuf"), "-oL", "-eL", tool_path("kore"), "-fnr", "-c", conf]
            self._log("starting Kore %d on 127.0.0.1:%d" % (i + 1, port))
            out = self._path("kore-%d.out" % (i + 1))
            size = os.path.getsize(out) if os.path.exists(out) else 0
            proc = Proc("kore-%d" % (i + 1), argv, out, env=sanitizer_env(self.app_env()),
                        cwd=ROOT)
            url = "http://127.0.0.1:%d/healthz" % port
            try:
                wait_until("Kore %d" % (i + 1), lambda: http_ok(url), START_TIMEOUT, proc)
            except StackError:
                new_out = read_from(out, size)
                proc.stop()
                if pick and "in use" in new_out and attempt + 1 < PORT_ATTEMPTS:
                    continue
                self._clear_kore_body_dir(i)
                raise
            if len(self._kore) <= i:
                self._kore.extend([None] * (i + 1 - len(self._kore)))
                self.kore_ports.extend([None] * (i + 1 - len(self.kore_ports)))
            self._kore[i] = proc
            self.kore_ports[i] = port
            return proc

    def restart_kore(self, i):
        """Stops Kore instance i and starts it again on the same port; returns
        once it answers /healthz."""
        self.stop_kore(i)
        self._start_kore(i, port=self.kore_ports[i])

    def stop_kore(self, i):
        """Stops Kore instance i and removes the request bodies it spooled."""
        if self._kore[i] is not None:
            self._kore[i].stop()
            self._kore[i] = None
            self._clear_kore_body_dir(i)

    def kore_pids(self, i=None):
        """{"parent": pid, "workers": [pids]} of instance i, or a list of
        them for all instances (None for a stopped one)."""
        if i is None:
            return [self.kore_pids(j) for j in range(len(self._kore))]
        proc = self._kore[i]
        if proc is None or not proc.alive():
            return None
        return {"parent": proc.pid, "workers": child_pids(proc.pid)}

    def kore_env(self, i):
        """The environment Kore instance i was started with (Kore's process
        title overwrites /proc/PID/environ)."""
        proc = self._kore[i]
        return dict(proc.env) if proc is not None else None

    def kore_output(self, i):
        """What Kore instance i printed (stdout and stderr, all its runs)."""
        return read_text(self._path("kore-%d.out" % (i + 1)))

    def kore_problems(self):
        """[(instance, line)] for every Kore output line telling of a worker
        that died, a sandbox (seccomp) violation or a sanitizer report."""
        found = []
        for i in range(self.n_kore):
            for line in self.kore_output(i).splitlines():
                if KORE_PROBLEM_RE.search(line):
                    found.append((i, line))
        return found

    def app_log(self):
        return read_text(self.log_path)

    # ---- nginx

    def _start_nginx(self):
        base = self._path("nginx")
        os.makedirs(base, exist_ok=True)
        os.chmod(base, 0o755)
        temp_dir = os.path.join(base, "tmp")
        if os.geteuid() == 0 and not _world_traversable(base):
            # Workers run as nobody: their temp files go where nobody can go.
            temp_dir = tempfile.mkdtemp(prefix="microgo-nginx-")
            os.chmod(temp_dir, 0o711)
            self._tmp_dirs.append(temp_dir)
        os.makedirs(temp_dir, exist_ok=True)
        os.chmod(temp_dir, 0o755)
        self._nginx_temp_dir = temp_dir
        cert, key = make_tls_pair(os.path.dirname(self.tls_cert))
        template = open(os.path.join(ROOT, "conf", "nginx.conf")).read()
        pick = self.requested_nginx_port is None
        port = self.requested_nginx_port
        pick_tls = self.requested_nginx_tls_port is None
        tls_port = self.requested_nginx_tls_port
        conf = os.path.join(base, "nginx.conf")
        for attempt in range(PORT_ATTEMPTS):
            if pick:
                port = free_port()
            elif not port_is_free(port):
                raise StackError("127.0.0.1:%d is in use: stop what listens there or choose "
                                 "another port (PORT=5001 make run)" % port)
            if pick_tls:
                tls_port = free_port()
                while tls_port == port:
                    tls_port = free_port()
            elif not port_is_free(tls_port):
                raise StackError("127.0.0.1:%d is in use: stop what listens there or choose "
                                 "another port (TLS_PORT=5444 make run)" % tls_port)
            with open(conf, "w") as f:
                f.write(render_nginx_conf(
                    template, [("127.0.0.1", p) for p in self.kore_ports],
                    "127.0.0.1:%d" % port, os.path.join(base, "nginx.pid"),
                    self.nginx_error_log, self.nginx_access_log, temp_dir, self.login_rate,
                    tls_listen="127.0.0.1:%d" % tls_port, tls_cert=cert, tls_key=key,
                    conn_limit=self.conn_limit))
            t = subprocess.run([tool_path("nginx"), "-t", "-q", "-p", base + "/", "-c", conf],
                               capture_output=True, timeout=30, cwd=base)
            if t.returncode != 0:
                raise StackError("nginx -t refuses %s:\n%s"
                                 % (conf, t.stderr.decode("utf-8", "replace")))
            out = os.path.join(base, "nginx.out")
            size = os.path.getsize(out) if os.path.exists(out) else 0
            self._log("starting nginx on 127.0.0.1:%d, TLS on 127.0.0.1:%d" % (port, tls_port))
            argv = [tool_path("nginx"), "-p", base + "/", "-c", conf, "-g", "daemon off;"]
            proc = Proc("nginx", argv, out, cwd=base)
            self.nginx_port = port
            self.nginx_tls_port = tls_port

            def ready():
                return (http_ok(self.nginx_url + "/healthz")
                        and requests.get(self.nginx_tls_url + "/healthz", timeout=1.0,
                                         verify=cert).status_code == 200)
            try:
                wait_until("nginx", ready, START_TIMEOUT, proc)
            except StackError:
                new_out = read_from(out, size) + read_text(self.nginx_error_log)
                proc.stop()
                if (pick or pick_tls) and "in use" in new_out and attempt + 1 < PORT_ATTEMPTS:
                    continue
                raise
            self._nginx = proc
            return proc

    def nginx_pid(self):
        return self._nginx.pid if self._nginx is not None and self._nginx.alive() else None

    # ---- status

    def processes(self):
        """[(name, Proc)] of what runs now, in start order."""
        procs = [("MariaDB", self._mariadb), ("MongoDB", self._mongo)]
        procs += [("Kore %d" % (i + 1), p) for i, p in enumerate(self._kore)]
        procs.append(("nginx", self._nginx))
        return [(n, p) for n, p in procs if p is not None]


# --------------------------------------------------------------------------
# Command line

def _run_settings():
    """`make run` settings: .env.example's defaults, then .env, then the
    environment (as the app itself reads them)."""
    notes = []
    values = {}
    example = os.path.join(ROOT, ".env.example")
    dotenv = os.path.join(ROOT, ".env")
    if os.path.exists(example):
        values.update(parse_env_file(example))
    if os.path.exists(dotenv):
        values.update(parse_env_file(dotenv))
        notes.append("settings from .env (over .env.example's defaults)")
    else:
        notes.append("settings from .env.example (no .env)")
    from_env = [k for k in APP_KEYS if k in os.environ and k not in STACK_KEYS]
    for k in from_env:
        values[k] = os.environ[k]
    if from_env:
        notes.append("from the environment: " + ", ".join(from_env))
    if os.path.exists(dotenv):
        ignored = sorted(k for k, v in parse_env_file(dotenv).items() if k in STACK_KEYS and v)
        if ignored:
            notes.append(".env's %s ignored: the stack runs its own servers and logs to logs/ "
                         "(MONGO_URI in the environment selects an external MongoDB)"
                         % ", ".join(ignored))
    settings = {k: v for k, v in values.items() if k in APP_KEYS and k not in STACK_KEYS}
    generated = not settings.get("JWT_SECRET") and not settings.get("JWT_SECRET_FILE")
    if generated:
        settings["JWT_SECRET"] = base64.b64encode(secrets.token_bytes(48)).decode()
    return settings, notes, generated


class _Stop(Exception):
    pass


def _on_signal(signum, frame):
    raise _Stop(signal.Signals(signum).name)


def _catch_stop_signals():
    # SIGINT too: a shell starting us in the background sets it to SIG_IGN,
    # and Python then never raises KeyboardInterrupt.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)


def _print_summary(stack, notes, generated_secret):
    p = print
    p("")
    p("microgo local stack is up")
    p("  API (nginx)     %s  ->  Kore %s" % (stack.nginx_url, ", ".join(
        u.replace("http://", "") for u in stack.kore_urls)))
    p("  API over TLS    %s  (self-signed for 127.0.0.1: curl --cacert %s)"
      % (stack.nginx_tls_url, rel(stack.tls_cert)))
    p("  MariaDB         127.0.0.1:%d, socket %s, data in %s"
      % (stack.mariadb_port, rel(stack.mariadb_socket), rel(stack._path("mariadb", "data"))))
    p("                  (mariadb --no-defaults -S %s -u %s)"
      % (rel(stack.mariadb_socket), stack._mariadb_root_user()))
    if stack.mongo_kind == "standin":
        p("  MongoDB         STAND-IN, NOT MongoDB: tests/standin/mongod_standin.py on "
          "127.0.0.1:%d" % stack.mongo_port)
        p("                  (in memory: images are lost when the stack stops)")
    elif stack.mongo_kind == "mongod":
        p("  MongoDB         mongod on 127.0.0.1:%d, data in %s"
          % (stack.mongo_port, rel(stack._path("mongo", "data"))))
    else:
        p("  MongoDB         external, $MONGO_URI")
    p("  App log         %s" % rel(stack.log_path))
    p("  Kore output     %s" % ", ".join(rel(stack._path("kore-%d.out" % (i + 1)))
                                        for i in range(stack.n_kore)))
    p("  nginx logs      %s, %s" % (rel(stack.nginx_access_log), rel(stack.nginx_error_log)))
    p("  Settings        %s; RUN_MODE=%s" % ("; ".join(notes), stack.settings["RUN_MODE"]))
    if generated_secret:
        p("  JWT_SECRET      none in .env: generated a random one for this session "
          "(tokens stop working when the stack stops)")
    else:
        p("  JWT_SECRET      from .env / the environment")
    p("  Seed users      %s" % ", ".join("%s / %s" % u for u in SEED_USERS))
    p("  Try             curl -i -X POST --user 'Rex:Rex siu super' %s/login" % stack.nginx_url)
    p("                  curl -i --cacert %s %s/healthz" % (rel(stack.tls_cert),
                                                        stack.nginx_tls_url))
    p("")
    p("Ctrl-C stops everything started here (and only that).", flush=True)


def cmd_run(args):
    port = args.port if args.port is not None else int(os.environ.get("PORT", "5000"))
    if not port_is_free(port):
        sys.exit("stack: 127.0.0.1:%d is already in use; stop what listens there or choose "
                 "another port: PORT=5001 make run" % port)
    tls_port = (args.tls_port if args.tls_port is not None
                else int(os.environ.get("TLS_PORT", "5443")))
    if tls_port == port or not port_is_free(tls_port):
        sys.exit("stack: 127.0.0.1:%d is already in use; stop what listens there or choose "
                 "another port for TLS: TLS_PORT=5444 make run" % tls_port)
    settings, notes, generated = _run_settings()
    stack = Stack(kore_instances=args.kore, settings=settings, run_dir=args.run_dir,
                  log_dir=os.path.join(ROOT, "logs"), nginx_port=port, nginx_tls_port=tls_port,
                  persistent=True,
                  verbose=True)
    _catch_stop_signals()
    status = 0
    reported = set()
    try:
        t0 = time.monotonic()
        stack.start()
        _print_summary(stack, notes, generated)
        print("(up in %.1f s)" % (time.monotonic() - t0), flush=True)
        while True:
            for name, proc in stack.processes():
                if not proc.alive() and proc.pid not in reported:
                    reported.add(proc.pid)
                    print("stack: %s (pid %d) exited with status %s; see %s"
                          % (name, proc.pid, proc.popen.returncode, rel(proc.out_path)),
                          flush=True)
            time.sleep(1)
    except (KeyboardInterrupt, _Stop):
        print("\nstack: stopping", flush=True)
    except StackError as exc:
        print("stack: %s" % exc, file=sys.stderr, flush=True)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("stack: stopped", flush=True)
    return status


def cmd_dev(args):
    stage = os.path.abspath(args.stage)
    if not os.path.isdir(stage):
        sys.exit("stack: %s is missing: run `make dev` (it prepares it)" % rel(stage))
    settings, notes, generated = _run_settings()
    stack = Stack(kore_instances=1, settings=settings, run_dir=args.run_dir,
                  log_dir=os.path.join(ROOT, "logs"), persistent=True, verbose=True)
    _catch_stop_signals()
    status = 0
    kodev = None
    try:
        stack.start(app=False)
        env = stack.app_env()
        cflags = subprocess.run(["pkg-config", "--cflags", "glib-2.0", "libmongoc-1.0",
                                 "mariadb"], capture_output=True, text=True)
        if cflags.returncode == 0:
            env["CFLAGS"] = cflags.stdout.strip()
        print("microgo dev: MariaDB 127.0.0.1:%d, MongoDB %s, app log %s; %s"
              % (stack.mariadb_port, "STAND-IN (not MongoDB) on 127.0.0.1:%d" % stack.mongo_port
                 if stack.mongo_kind == "standin" else stack.mongo_uri, rel(stack.log_path),
                 "; ".join(notes)))
        if generated:
            print("microgo dev: JWT_SECRET generated for this session")
        print("microgo dev: kodev run in %s (http://127.0.0.1:8888); Ctrl-C stops all"
              % rel(stage), flush=True)
        # stdbuf's LD_PRELOAD reaches the kore that kodev execs: its log
        # lines come out whole and in order, not when a buffer fills.
        kodev = Proc("kodev", [tool_path("stdbuf"), "-oL", "-eL", tool_path("kodev"), "run"],
                     None, env=env, cwd=stage)
        kodev.popen.wait()
        status = kodev.popen.returncode or 0
    except (KeyboardInterrupt, _Stop):
        print("\nstack: stopping", flush=True)
    except StackError as exc:
        print("stack: %s" % exc, file=sys.stderr, flush=True)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if kodev is not None:
            kodev.stop()
        stack.stop()
    return status


def cmd_nginx_test(args):
    d = tempfile.mkdtemp(prefix="microgo-nginx-test-")
    try:
        os.chmod(d, 0o755)
        conf = os.path.join(d, "nginx.conf")
        cert, key = make_tls_pair(os.path.join(d, "certs"), days=1)
        text = render_nginx_conf(open(os.path.join(ROOT, "conf", "nginx.conf")).read(),
                                 [("127.0.0.1", 8080), ("127.0.0.1", 8081)], "127.0.0.1:%d"
                                 % free_port(), os.path.join(d, "nginx.pid"),
                                 os.path.join(d, "error.log"), os.path.join(d, "access.log"),
                                 os.path.join(d, "tmp"), tls_listen="127.0.0.1:%d" % free_port(),
                                 tls_cert=cert, tls_key=key)
        os.makedirs(os.path.join(d, "tmp"))
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([tool_path("nginx"), "-t", "-p", d + "/", "-c", conf],
                           capture_output=True, text=True)
        sys.stdout.write(r.stderr)
        return r.returncode
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="microgo's local stack (tools/stack.py)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="the whole stack in the foreground (make run)")
    p.add_argument("--port", type=int, help="nginx port (default $PORT or 5000)")
    p.add_argument("--tls-port", type=int, help="nginx TLS port (default $TLS_PORT or 5443)")
    p.add_argument("--kore", type=int, default=2, help="Kore instances (default 2)")
    p.add_argument("--run-dir", default=os.path.join(ROOT, "run"),
                   help="state directory (default run/ in the repository)")
    p = sub.add_parser("dev", help="MariaDB and MongoDB, then kodev run (make dev)")
    p.add_argument("--stage", default=os.path.join(ROOT, ".build", "microgo"),
                   help="where kodev runs (default .build/microgo, prepared by make)")
    p.add_argument("--run-dir", default=os.path.join(ROOT, "run"),
                   help="state directory (default run/ in the repository)")
    sub.add_parser("nginx-test", help="render conf/nginx.conf as the stack does; nginx -t")
    args = parser.parse_args(argv)
    return {"run": cmd_run, "dev": cmd_dev, "nginx-test": cmd_nginx_test}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
