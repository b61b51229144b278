"""faultkit: what the fault tests (tests/faults) and the soak test
(tests/soak) share.

  * a Stack per scenario (fresh_stack), kept with its outputs when the
    scenario fails;
  * an HTTP client (Api) whose every call is bounded by a client timeout
    and returns an Outcome (status or connection error, and latency)
    instead of raising;
  * unique test images (Images), generated with Pillow, never downloaded;
  * a Ledger of every upload the service acknowledged with 201, and
    check_ledger(), which proves none of them was lost and nothing
    half-stored is listed;
  * helpers for Kore's worker pids, their RSS, and waiting for recovery;
  * REPORT: figures the conftests print in pytest's terminal summary.

Standard library, requests and Pillow only (Debian's python3-requests and
python3-pil): run with /usr/bin/python3.
"""

import base64
import contextlib
import hashlib
import io
import os
import random
import sys
import threading
import time

import pytest
import requests
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from stack import Stack  # noqa: E402

USERS = (("Rex", "Rex siu super"), ("Mập", "Mập khùng"))

# Figures for the terminal summary: (section, title, [lines]).
REPORT = []
_report_lock = threading.Lock()


# Totals over the fault scenarios, for the summary's last lines.
TOTALS = {"faults": 0, "checked": 0, "recoveries": []}


def report(section, title, lines):
    with _report_lock:
        REPORT.append((section, title, list(lines)))


def tally(faults=0, checked=0, recovery=None):
    with _report_lock:
        TOTALS["faults"] += faults
        TOTALS["checked"] += checked
        if recovery is not None:
            TOTALS["recoveries"].append(recovery)


def basic_auth(user, pw):
    """The Basic header in UTF-8 (requests' auth= would send Latin-1)."""
    raw = ("%s:%s" % (user, pw)).encode("utf-8")
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


# --------------------------------------------------------------------------
# The stack

@contextlib.contextmanager
def fresh_stack(request, **kw):
    """A started Stack (2 Kore instances, DEP_TIMEOUT=2, nginx's /login
    limit out of the way unless given); stopped at the end. If the test
    failed, its run directory is kept and the Kore outputs and app log go
    to the report."""
    settings = {"DEP_TIMEOUT": "2"}
    settings.update(kw.pop("settings", {}))
    kw.setdefault("kore_instances", 2)
    kw.setdefault("login_rate", "1000r/s")
    s = Stack(settings=settings, **kw)
    s.start()
    try:
        yield s
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            s.keep_run_dir = True
            lines = []
            for i in range(s.n_kore):
                lines.append("--- kore-%d output (last 15 lines)" % (i + 1))
                lines += s.kore_output(i).splitlines()[-15:]
            lines.append("--- app log: the last 30 lines that are not 2xx answers")
            lines += [line for line in s.app_log().splitlines()
                      if " status=2" not in line][-30:]
            lines.append("--- everything is in %s (kept)" % s.run_dir)
            report("failures", "%s: stack output" % request.node.name, lines)
        s.stop()


def dependency_pid(stack, dep):
    """The pid of the MariaDB server or of the MongoDB stand-in the stack
    started (to freeze it with SIGSTOP)."""
    proc = {"mariadb": getattr(stack, "_mariadb", None),
            "mongodb": getattr(stack, "_mongo", None)}[dep]
    assert proc is not None and proc.alive(), "the stack runs no %s process" % dep
    return proc.pid


def worker_pids(stack):
    """{instance: sorted worker pids} of every running Kore instance."""
    out = {}
    for i in range(stack.n_kore):
        p = stack.kore_pids(i)
        out[i] = sorted(p["workers"]) if p else None
    return out


def all_workers(stack):
    return [w for ws in worker_pids(stack).values() if ws for w in ws]


def rss_kib(pid):
    """VmRSS of pid in KiB (None if it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_parts(pid):
    """{"VmRSS", "RssAnon", "RssFile", "RssShmem"} of pid in KiB ({} if it
    is gone): file pages (libraries paged in) apart from anonymous memory
    (the heap)."""
    parts = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    parts[key] = int(line.split()[1])
    except OSError:
        return {}
    return parts


def cpu_ticks(pid):
    """utime + stime of pid, all its threads (clock ticks); None if gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            fields = f.read().decode("ascii", "replace").rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def wait_for(check, timeout, interval=0.1):
    """Calls check() until it is true or timeout passes; returns the seconds
    it took, or None on timeout. Exceptions count as not yet."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        try:
            if check():
                return time.monotonic() - start
        except Exception:  # noqa: BLE001 - not yet
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# --------------------------------------------------------------------------
# Images

class Images:
    """Unique images, so that every upload's bytes are its own: a noise
    background generated once per size, with a stripe of pixels encoding a
    counter painted over it before each save."""

    SIZES = {
        "small": ((64, 48), "PNG", {}),
        "medium": ((640, 480), "JPEG", {"quality": 85}),
        "big": ((2000, 1500), "JPEG", {"quality": 90}),
        "large": ((4000, 3000), "JPEG", {"quality": 90}),
    }

    def __init__(self, seed=1):
        self._lock = threading.Lock()
        self._bases = {}
        self._n = 0
        self._rng = random.Random(seed)

    def _base(self, kind):
        with self._lock:
            if kind not in self._bases:
                size, _, _ = self.SIZES[kind]
                if kind == "small":
                    img = Image.new("RGB", size, tuple(self._rng.randrange(256)
                                                       for _ in range(3)))
                else:
                    img = Image.effect_noise(size, 60).convert("RGB")
                self._bases[kind] = img
            return self._bases[kind]

    def make(self, kind="small"):
        """(filename, bytes) of a new image of that kind."""
        size, fmt, save = self.SIZES[kind]
        with self._lock:
            self._n += 1
            n = self._n
        img = self._base(kind).copy()
        # 24 pixels wide, 8 high: the counter in the colour channels, big
        # enough to survive JPEG.
        for bit in range(24):
            on = (n >> bit) & 1
            colour = (255, 255, 255) if on else (0, 0, 0)
            for x in range(bit * 2, bit * 2 + 2):
                for y in range(8):
                    if x < size[0] and y < size[1]:
                        img.putpixel((x, y), colour)
        buf = io.BytesIO()
        img.save(buf, fmt, **save)
        ext = {"PNG": "png", "JPEG": "jpg"}[fmt]
        return "%s-%d.%s" % (kind, n, ext), buf.getvalue()


# --------------------------------------------------------------------------
# The client

class Outcome:
    """One request: what was asked, what came back (status, or the
    exception's class name in error), how long it took."""

    __slots__ = ("kind", "status", "error", "latency", "started", "json", "body",
                 "message", "lost")

    def __init__(self, kind, started):
        self.kind = kind
        self.started = started
        self.status = None
        self.error = None
        self.latency = None
        self.json = None
        self.body = None
        self.message = None
        self.lost = False  # a download of a file the store has lost

    @property
    def label(self):
        return str(self.status) if self.status is not None else self.error

    def __repr__(self):
        return "<%s %s %.3fs%s>" % (self.kind, self.label, self.latency or 0,
                                    " %r" % self.message if self.message else "")


class Api:
    """A user's session against one base URL (nginx by default). Every call
    is bounded by `timeout` (connect and read) and returns an Outcome."""

    def __init__(self, base_url, user, password, timeout):
        self.base = base_url
        self.user = user
        self.password = password
        self.timeout = timeout
        self.token = None
        self.session = requests.Session()

    def close(self):
        self.session.close()

    def _call(self, kind, method, path, keep_body=False, **kw):
        out = Outcome(kind, time.monotonic())
        try:
            r = self.session.request(method, self.base + path, timeout=self.timeout, **kw)
            out.status = r.status_code
            if keep_body:
                out.body = r.content
            ctype = r.headers.get("Content-Type", "")
            if ctype.startswith("application/json"):
                try:
                    out.json = r.json()
                except ValueError:
                    out.json = None
                if isinstance(out.json, dict):
                    out.message = out.json.get("message")
        except requests.RequestException as exc:
            out.error = type(exc).__name__
            # A worker that went away mid-request leaves a dead pooled
            # connection behind: start the next request on a fresh one.
            self.session.close()
            self.session = requests.Session()
        out.latency = time.monotonic() - out.started
        return out

    def _auth(self):
        return {"Authorization": "Bearer " + (self.token or "none")}

    def login(self):
        out = self._call("login", "POST", "/login", headers=basic_auth(self.user, self.password))
        if out.status == 200 and out.json:
            self.token = out.json.get("token")
        return out

    def ensure_login(self, attempts=50, pause=0.2):
        """Logs in, retrying (bounded) until it works; AssertionError if not."""
        last = None
        for _ in range(attempts):
            last = self.login()
            if last.status == 200:
                return last
            time.sleep(pause)
        raise AssertionError("%s cannot log in: %r" % (self.user, last))

    def upload(self, name, data):
        return self._call("upload", "POST", "/upload", headers=self._auth(),
                          files={"data": (name, data)})

    def download(self, fs_id):
        return self._call("download", "POST", "/download", keep_body=True,
                          headers=self._auth(), json={"fs_id": fs_id})

    def listing(self, limit=20, offset=0):
        return self._call("list", "GET", "/img_collection?limit=%d&offset=%d" % (limit, offset),
                          headers=self._auth())

    def delete(self, fs_id):
        return self._call("delete", "DELETE", "/img_collection/" + fs_id, headers=self._auth())

    def readyz(self):
        return self._call("readyz", "GET", "/readyz")

    def list_all(self, page=1000, max_pages=100):
        """Every file of the user, paging with limit/offset; AssertionError
        if a page cannot be read."""
        files = []
        for p in range(max_pages):
            out = self.listing(limit=page, offset=p * page)
            assert out.status == 200, "listing page %d: %r" % (p, out)
            files.extend(out.json)
            if len(out.json) < page:
                return files
        raise AssertionError("more than %d files listed" % (page * max_pages))


class Recorder:
    """Outcomes from many threads, with the figures the tests assert on."""

    def __init__(self):
        self._lock = threading.Lock()
        self.outcomes = []

    def add(self, out):
        with self._lock:
            self.outcomes.append(out)
        return out

    def snapshot(self):
        with self._lock:
            return list(self.outcomes)

    def counts(self, outcomes=None):
        """{kind: {label: n}}"""
        table = {}
        for o in self.snapshot() if outcomes is None else outcomes:
            table.setdefault(o.kind, {}).setdefault(o.label, 0)
            table[o.kind][o.label] += 1
        return table


def percentile(values, p):
    """The p-th percentile (nearest rank) of values; None if empty."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def format_counts(table):
    lines = []
    for kind in sorted(table):
        parts = ", ".join("%s: %d" % (k, n) for k, n in sorted(table[kind].items()))
        lines.append("  %-9s %s" % (kind, parts))
    return lines


# --------------------------------------------------------------------------
# Acknowledged uploads

class Ledger:
    """Every upload answered 201: its ids, the owner and the sha256 of the
    bytes sent. Uploads not acknowledged are only counted."""

    def __init__(self):
        self._lock = threading.Lock()
        self.acked = {}        # fs_id -> (user, compressed_id, sha256, name)
        self.unacked = 0
        self.lost = {}         # as acked: uploads the store lost (clear())

    def note(self, user, name, data, out):
        with self._lock:
            if out.status == 201 and out.json and "fs_id" in out.json:
                self.acked[out.json["fs_id"]] = (user, out.json["compressed_id"],
                                                 hashlib.sha256(data).hexdigest(), name)
            else:
                self.unacked += 1

    def clear(self):
        """The store itself was lost: what was acknowledged moves to lost.
        Downloads of lost files go on while nothing newer is acknowledged,
        so that downloads feel the outage: 503 while the store is down,
        404 once it is back empty."""
        with self._lock:
            self.lost.update(self.acked)
            self.acked.clear()
            self.unacked = 0

    def forget(self, fs_id):
        """The test itself deleted it."""
        with self._lock:
            self.acked.pop(fs_id, None)

    def of(self, user):
        with self._lock:
            return {k: v for k, v in self.acked.items() if v[0] == user}

    def lost_of(self, user):
        with self._lock:
            return {k: v for k, v in self.lost.items() if v[0] == user}


def check_ledger(apis, ledger):
    """Proves, with every dependency up: each acknowledged upload is listed
    (original and its WEBP copy) and downloads byte for byte; every listed
    original has its copy and every listed copy its original (nothing
    half-stored). apis: {user: logged-in Api}. Returns the figures; raises
    AssertionError listing every problem found."""
    problems = []
    figures = {"acknowledged": 0, "listed_files": 0, "downloaded": 0,
               "listed_pairs_not_acknowledged": 0}
    for user, api in apis.items():
        files = api.list_all()
        figures["listed_files"] += len(files)
        by_id = {f["id"]: f for f in files}
        copies_of = {}
        for f in files:
            if f["tag"] == "compressed":
                copies_of.setdefault(f["original"], []).append(f["id"])
                if f["original"] not in by_id:
                    problems.append("%s: listed copy %s has no listed original %s"
                                    % (user, f["id"], f["original"]))
            elif f["tag"] == "original":
                pass
            else:
                problems.append("%s: listed file %s has tag %r" % (user, f["id"], f["tag"]))
        for f in files:
            if f["tag"] == "original" and not copies_of.get(f["id"]):
                problems.append("%s: listed original %s (%s) has no listed copy"
                                % (user, f["id"], f["filename"]))
        mine = ledger.of(user)
        figures["acknowledged"] += len(mine)
        originals = {f["id"] for f in files if f["tag"] == "original"}
        figures["listed_pairs_not_acknowledged"] += len(originals - set(mine))
        for fs_id, (_, copy_id, digest, name) in sorted(mine.items()):
            if fs_id not in by_id:
                problems.append("%s: acknowledged upload %s (%s) is not listed"
                                % (user, fs_id, name))
                continue
            if copy_id not in by_id:
                problems.append("%s: the copy %s of acknowledged upload %s is not listed"
                                % (user, copy_id, fs_id))
            elif by_id[copy_id].get("original") != fs_id:
                problems.append("%s: copy %s names original %r, not %s"
                                % (user, copy_id, by_id[copy_id].get("original"), fs_id))
            d = api.download(fs_id)
            if d.status != 200:
                problems.append("%s: download of acknowledged %s: %r" % (user, fs_id, d))
                continue
            figures["downloaded"] += 1
            if hashlib.sha256(d.body).hexdigest() != digest:
                problems.append("%s: %s downloads %d bytes that differ from those sent"
                                % (user, fs_id, len(d.body)))
    assert not problems, "\n".join(["acknowledged uploads / stored pairs:"] + problems)
    return figures


def print_report(tr, sections, heading):
    """Prints (and consumes, so that two conftests in one session do not
    print them twice) the REPORT entries of the given sections."""
    with _report_lock:
        mine = [e for e in REPORT if e[0] in sections]
        for e in mine:
            REPORT.remove(e)
    if not mine:
        return
    tr.section(heading, sep="=")
    for section, title, lines in mine:
        tr.write_line("[%s] %s" % (section, title))
        for line in lines:
            tr.write_line("    " + line)
    if "faults" in sections and TOTALS["faults"]:
        rec = TOTALS["recoveries"]
        tr.write_line("[faults] totals: %d faults injected; %d acknowledged uploads checked "
                      "(listed with their copy, downloaded byte for byte), none lost; "
                      "recovery times (s): %s" % (
                          TOTALS["faults"], TOTALS["checked"],
                          ", ".join("%.2f" % r for r in rec) or "none"))


# --------------------------------------------------------------------------
# Load: client threads, each bounded in time and in count

OK = {"login": (200,), "badlogin": (401,), "upload": (201,), "download": (200,), "list": (200,),
      "readyz": (200,), "delete": (204,)}


def ok(out):
    return out.status in OK[out.kind] or (out.lost and out.status == 404)


class Load:
    """Client threads running one kind of request each, back to back with
    a pause, until stop() or max_requests each. Every request is bounded by
    the Api's timeout, so the threads always end.

    plan: [(kind, user_index)] with kind in login, upload, download, list,
    readyz. Uploads use images of `upload_size`, are noted in the ledger
    and pass through a gate the test may close (gate_close() returns once
    no upload is in flight). Downloads pick one of the user's acknowledged
    uploads (a listing when there is none yet) and check the bytes."""

    def __init__(self, stack, plan, ledger, images, timeout, pause=0.05,
                 upload_size="small", max_requests=5000, base_url=None):
        self.stack = stack
        self.plan = plan
        self.ledger = ledger
        self.images = images
        self.timeout = timeout
        self.pause = pause
        self.upload_size = upload_size
        self.max_requests = max_requests
        self.base = base_url or stack.nginx_url
        self.rec = Recorder()
        self.mismatches = []
        self._stop = threading.Event()
        self._threads = []
        self._gate = threading.Condition()
        self._gate_open = True
        self._in_flight = 0
        self._rng = random.Random(7)

    # -- upload gate
    def gate_close(self, timeout):
        """Lets no new upload start; returns once none is in flight
        (AssertionError after timeout)."""
        deadline = time.monotonic() + timeout
        with self._gate:
            self._gate_open = False
            while self._in_flight:
                left = deadline - time.monotonic()
                assert left > 0, "uploads still in flight after %.0f s" % timeout
                self._gate.wait(left)

    def gate_open(self):
        with self._gate:
            self._gate_open = True
            self._gate.notify_all()

    def _enter_upload(self):
        with self._gate:
            deadline = time.monotonic() + 60
            while not self._gate_open and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._gate.wait(min(left, 0.1))
            if self._stop.is_set():
                return False
            self._in_flight += 1
            return True

    def _leave_upload(self):
        with self._gate:
            self._in_flight -= 1
            self._gate.notify_all()

    # -- threads
    def start(self):
        apis = []
        for kind, u in self.plan:
            user, pw = USERS[u]
            api = Api(self.base, user, pw, self.timeout)
            if kind not in ("login", "badlogin", "readyz"):
                api.ensure_login()
            if kind == "badlogin":
                api.password = pw + " (wrong)"
            apis.append(api)
        for (kind, _), api in zip(self.plan, apis):
            t = threading.Thread(target=self._run, args=(kind, api), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, join_timeout=None):
        self._stop.set()
        self.gate_open()
        deadline = time.monotonic() + (join_timeout or self.timeout + 10)
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        alive = [t for t in self._threads if t.is_alive()]
        assert not alive, "%d client threads did not end" % len(alive)
        return self.rec.snapshot()

    def _run(self, kind, api):
        try:
            for _ in range(self.max_requests):
                if self._stop.is_set():
                    break
                self._one(kind, api)
                self._stop.wait(self.pause)
        finally:
            api.close()

    def _one(self, kind, api):
        if kind in ("login", "badlogin"):
            out = api.login()
            out.kind = kind
            self.rec.add(out)
        elif kind == "readyz":
            self.rec.add(api.readyz())
        elif kind == "list":
            self.rec.add(api.listing(limit=20))
        elif kind == "upload":
            if not self._enter_upload():
                return
            try:
                name, data = self.images.make(self.upload_size)
                out = self.rec.add(api.upload(name, data))
                self.ledger.note(api.user, name, data, out)
            finally:
                self._leave_upload()
        elif kind == "download":
            mine = self.ledger.of(api.user)
            lost = not mine
            if lost:
                mine = self.ledger.lost_of(api.user)
            if not mine:
                self.rec.add(api.listing(limit=20))
                return
            fs_id = self._rng.choice(sorted(mine))
            out = api.download(fs_id)
            out.lost = lost
            self.rec.add(out)
            if out.status == 200:
                if hashlib.sha256(out.body).hexdigest() != mine[fs_id][2]:
                    self.mismatches.append(fs_id)
            out.body = None
        else:
            raise ValueError(kind)


class LogWatcher:
    """Counts new lines containing a needle in a growing file (the
    stand-in's commands.log), reading only what was appended."""

    def __init__(self, path, needle):
        self.path = path
        self.needle = needle
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0
        self.rest = ""

    def new_hits(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return 0
        self.offset += len(data)
        text = self.rest + data.decode("utf-8", "replace")
        lines = text.split("\n")
        self.rest = lines.pop()
        return sum(1 for line in lines if self.needle in line)


# --------------------------------------------------------------------------
# Judging a fault window

def phases(outcomes, t_fault, t_restore):
    """Splits outcomes: before (ended before the fault), during (overlapping
    the fault: started before it was lifted and ended after it began),
    after (started once it was lifted)."""
    before, during, after = [], [], []
    for o in outcomes:
        end = o.started + o.latency
        if end < t_fault:
            before.append(o)
        elif o.started < t_restore:
            during.append(o)
        else:
            after.append(o)
    return before, during, after


def describe(outcomes, limit=12):
    return "; ".join(repr(o) for o in outcomes[:limit]) + \
        (" ... (%d in all)" % len(outcomes) if len(outcomes) > limit else "")


def fault_figures(name, during, t_fault, t_restore, recovery):
    """Report lines for one fault window."""
    lat = [o.latency for o in during if o.status == 503]
    lines = ["%s: down %.1f s; %d requests overlapped it" % (name, t_restore - t_fault,
                                                             len(during))]
    lines += format_counts(Recorder().counts(during))
    if lat:
        lines.append("  503 latency: max %.3f s, p50 %.3f s (%d answers)"
                     % (max(lat), percentile(lat, 50), len(lat)))
    if recovery is not None:
        first, last = recovery
        lines.append("  recovery: first success %.2f s after the dependency was back; the "
                     "last failed request ended %.2f s after it" % (first, last))
    return lines


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """The hook both suites' conftest.py import: each phase's report is
    kept on the item as rep_<phase>."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
