"""Soak: a bounded mixed load through nginx against 2 Kore instances, with
every dependency up.

SOAK_SECONDS (default 180) of 8 client threads, each picking at random
(seeded) among logins, /me, listings, downloads (checked byte for byte)
and uploads of small (64x48 PNG) and medium (640x480 JPEG) images, with a
short pause between requests. Each thread keeps at most KEEP of its own
uploads and deletes the oldest beyond that, so the store stays bounded and
the workers' memory can be compared over time.

Memory is compared at rest: the load is held (no request in flight) for a
moment when RSS is sampled after the warm-up (the first 20 % of the run)
and at the end, so that neither sample catches the transient buffers of a
request. Before the clock starts, a priming burst (concurrent medium and
small uploads and downloads, straight to each Kore instance on new
connections, until every worker has answered PRIME_MIN_UPLOADS uploads)
brings each worker's heap to the high-water mark of this load. Without it
a worker's heap was seen to settle in steps for the first 100-200 s (e.g.
45 MB at 36 s, 51.5 MB at 180 s, then flat at 51-52 MB up to 480 s): the
allocator finding its size, not a leak, and a worker that nginx happened
to leave idle during the warm-up settled only later.

Proves:
  * no 5xx and no connection error or client timeout while the
    dependencies are up (nginx's /login limit is lifted for the test);
  * no worker died or was restarted (same pids, nothing in Kore's output);
  * each worker's RSS (VmRSS) at the end is within 10 % of its RSS after
    the warm-up (the first 20 % of the run): no leak that grows with the
    number of requests;
  * every upload acknowledged and not deleted is listed and downloads
    byte for byte, and nothing half-stored is listed.

Reports (terminal summary): requests by kind and status, errors,
latency p50/p99 by kind, throughput, and every worker's RSS over the run.
"""

import hashlib
import os
import random
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "faults"))

import faultkit as fk  # noqa: E402

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "180"))
WARMUP_FRACTION = 0.2
THREADS = 8
PAUSE = 0.02               # between two requests of one thread (s)
CLIENT_TIMEOUT = 30        # far above any expected latency: a hang, if any
KEEP = 12                  # uploads a thread keeps before deleting the oldest
RSS_TOLERANCE = 0.10
RSS_SAMPLE_EVERY = 5.0     # s
MAX_REQUESTS_PER_THREAD = 200000
PRIME_ROUNDS = 20          # per thread: medium upload, download, small upload, download
PRIME_PASSES = 4           # at most, until every worker answered PRIME_MIN_UPLOADS uploads
PRIME_MIN_UPLOADS = 120
HOLD_TIMEOUT = CLIENT_TIMEOUT + 5

# Weights of the mix (uploads: 10 % small + 6 % medium).
MIX = (("login", 8), ("list", 30), ("download", 36), ("upload_small", 10),
       ("upload_medium", 6), ("me", 10))


@pytest.fixture
def stack(request):
    with fk.fresh_stack(request, settings={"DEP_TIMEOUT": "2"}) as s:
        yield s


class Hold:
    """Lets the test pause every client thread between two requests, and
    know when none is in flight."""

    def __init__(self):
        self._cond = threading.Condition()
        self._held = False
        self._in_flight = 0

    def enter(self):
        with self._cond:
            deadline = time.monotonic() + HOLD_TIMEOUT
            while self._held and time.monotonic() < deadline:
                self._cond.wait(0.1)
            self._in_flight += 1

    def leave(self):
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def quiesce(self):
        """Holds new requests and waits (bounded) until none is in flight."""
        with self._cond:
            self._held = True
            deadline = time.monotonic() + HOLD_TIMEOUT
            while self._in_flight and time.monotonic() < deadline:
                self._cond.wait(0.1)
            return self._in_flight == 0

    def release(self):
        with self._cond:
            self._held = False
            self._cond.notify_all()


class Client(threading.Thread):
    """One soak thread: its own session, uploads and outcomes."""

    def __init__(self, n, stack, images, ledger, rec, deadline, stop, hold):
        super().__init__(daemon=True)
        user, pw = fk.USERS[n % 2]
        self.api = fk.Api(stack.nginx_url, user, pw, CLIENT_TIMEOUT)
        self.images = images
        self.ledger = ledger
        self.rec = rec
        self.deadline = deadline
        self.stop_event = stop
        self.hold = hold
        self.rng = random.Random(1000 + n)
        self.mine = []            # fs_ids this thread uploaded, oldest first
        self.mismatches = []
        self.kinds = [k for k, w in MIX for _ in range(w)]

    def run(self):
        try:
            self.api.ensure_login()
            for _ in range(MAX_REQUESTS_PER_THREAD):
                if self.stop_event.is_set() or time.monotonic() >= self.deadline:
                    break
                self.hold.enter()
                try:
                    self.one(self.rng.choice(self.kinds))
                finally:
                    self.hold.leave()
                time.sleep(PAUSE)
        finally:
            self.api.close()

    def one(self, kind):
        api = self.api
        if kind == "login":
            self.rec.add(api.login())
        elif kind == "me":
            self.rec.add(api._call("me", "GET", "/me", headers=api._auth()))
        elif kind == "list":
            self.rec.add(api.listing(limit=20, offset=self.rng.choice((0, 0, 10))))
        elif kind == "download":
            if not self.mine:
                return self.one("upload_small")
            fs_id = self.rng.choice(self.mine)
            out = self.rec.add(api.download(fs_id))
            if out.status == 200:
                digest = self.ledger.acked[fs_id][2]
                if hashlib.sha256(out.body).hexdigest() != digest:
                    self.mismatches.append(fs_id)
            out.body = None
        else:
            size = "small" if kind == "upload_small" else "medium"
            name, data = self.images.make(size)
            out = api.upload(name, data)
            out.kind = "upload_" + size
            self.rec.add(out)
            self.ledger.note(api.user, name, data, out)
            if out.status == 201:
                self.mine.append(out.json["fs_id"])
            while len(self.mine) > KEEP:
                old = self.mine.pop(0)
                d = self.rec.add(api.delete(old))
                if d.status == 204:
                    self.ledger.forget(old)


def uploads_served(stack, workers):
    """{worker pid: uploads answered 201} from the app log."""
    counts = dict.fromkeys(workers, 0)
    for line in stack.app_log().splitlines():
        if " path=/upload status=201 " in line:
            for field in line.split():
                if field.startswith("pid="):
                    pid = int(field[4:])
                    if pid in counts:
                        counts[pid] += 1
                    break
    return counts


def prime(stack, images, workers):
    """Priming: THREADS threads at once, straight to the Kore instances in
    turn and on a new connection each time (so that every worker gets its
    share), PRIME_ROUNDS each of a medium upload and its download, a small
    upload and its download, then their files deleted; again (at most
    PRIME_PASSES times) until every worker has answered PRIME_MIN_UPLOADS
    uploads. Returns (outcomes, uploads per worker); all must succeed."""
    rec = fk.Recorder()

    def run(n):
        user, pw = fk.USERS[n % 2]
        api = fk.Api(stack.kore_urls[n % len(stack.kore_urls)], user, pw, CLIENT_TIMEOUT)
        api.session.headers["Connection"] = "close"
        try:
            api.ensure_login()
            ids = []
            for _ in range(PRIME_ROUNDS):
                for size in ("medium", "small"):
                    name, data = images.make(size)
                    up = rec.add(api.upload(name, data))
                    if up.status == 201:
                        ids.append(up.json["fs_id"])
                        rec.add(api.download(up.json["fs_id"])).body = None
            for fs_id in ids:
                rec.add(api.delete(fs_id))
        finally:
            api.close()

    for _ in range(PRIME_PASSES):
        threads = [threading.Thread(target=run, args=(n,), daemon=True)
                   for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(PRIME_ROUNDS * 4 * CLIENT_TIMEOUT)
        assert not any(t.is_alive() for t in threads), "priming threads did not end"
        per_worker = uploads_served(stack, workers)
        if min(per_worker.values()) >= PRIME_MIN_UPLOADS:
            break
    return rec.snapshot(), per_worker


def sample_rss(stack):
    """{pid: {"VmRSS", "RssAnon", "RssFile", ...}} of every worker (KiB)."""
    return {w: fk.rss_parts(w) for w in fk.all_workers(stack)}


def served(stack, since_line=0):
    """{worker pid: request lines in the app log}, from line since_line on;
    and the log's line count."""
    lines = stack.app_log().splitlines()
    counts = {}
    for line in lines[since_line:]:
        if " method=" in line:
            for field in line.split():
                if field.startswith("pid="):
                    pid = int(field[4:])
                    counts[pid] = counts.get(pid, 0) + 1
                    break
    return counts, len(lines)


def test_soak(stack):
    images = fk.Images(seed=3)
    for size in ("small", "medium"):
        images.make(size)  # the noise backgrounds, made before the clock runs
    ledger, rec, stop, hold = fk.Ledger(), fk.Recorder(), threading.Event(), Hold()
    pids = fk.worker_pids(stack)
    workers = fk.all_workers(stack)
    rss_start = sample_rss(stack)
    t_prime = time.monotonic()
    primed, primed_per_worker = prime(stack, images, workers)
    prime_seconds = time.monotonic() - t_prime
    prime_bad = [o for o in primed if not fk.ok(o)]
    time.sleep(1.0)
    rss_primed = sample_rss(stack)

    t0 = time.monotonic()
    deadline = t0 + SOAK_SECONDS
    t_warm = t0 + SOAK_SECONDS * WARMUP_FRACTION
    clients = [Client(n, stack, images, ledger, rec, deadline, stop, hold)
               for n in range(THREADS)]
    for c in clients:
        c.start()

    samples = []                 # (seconds since start, {pid: KiB})
    rss_warm = None
    next_sample = t0
    while time.monotonic() < deadline + 1 and any(c.is_alive() for c in clients):
        now = time.monotonic()
        if rss_warm is None and now >= t_warm:
            quiet = hold.quiesce()
            time.sleep(0.5)
            rss_warm = sample_rss(stack)
            samples.append((time.monotonic() - t0, rss_warm))
            warm_count = len(rec.snapshot())
            _, log_mark = served(stack)
            hold.release()
            assert quiet, "requests still in flight %d s into the warm-up pause" % HOLD_TIMEOUT
        elif now >= next_sample:
            samples.append((now - t0, sample_rss(stack)))
            next_sample = now + RSS_SAMPLE_EVERY
        time.sleep(0.2)
    stop.set()
    for c in clients:
        c.join(CLIENT_TIMEOUT + 5)
    assert not any(c.is_alive() for c in clients), "soak threads did not end"
    elapsed = time.monotonic() - t0
    time.sleep(0.5)              # at rest, as for the warm-up sample
    rss_end = sample_rss(stack)
    samples.append((time.monotonic() - t0, rss_end))
    served_after, _ = served(stack, log_mark if rss_warm is not None else 0)

    def kib(sample, w, key="VmRSS"):
        return (sample or {}).get(w, {}).get(key)

    outcomes = rec.snapshot()
    counts = rec.counts(outcomes)
    errors = [o for o in outcomes if o.status is None]
    server_errors = [o for o in outcomes if o.status is not None and o.status >= 500]
    unexpected = [o for o in outcomes if o.status is not None and o.status < 500
                  and o.status not in {"login": (200,), "me": (200,), "list": (200,),
                                       "download": (200,), "upload_small": (201,),
                                       "upload_medium": (201,), "delete": (204,)}[o.kind]]
    mismatches = [m for c in clients for m in c.mismatches]

    apis = {}
    for user, pw in fk.USERS:
        apis[user] = fk.Api(stack.nginx_url, user, pw, CLIENT_TIMEOUT)
        apis[user].ensure_login()
    stored = fk.check_ledger(apis, ledger)

    lines = ["%.0f s (SOAK_SECONDS=%s), %d threads through nginx; %d requests, %.1f/s"
             % (elapsed, os.environ.get("SOAK_SECONDS", "180 (default)"), THREADS,
                len(outcomes), len(outcomes) / elapsed)]
    lines.append("priming before the clock: %d requests in %.1f s, %d failed; uploads per "
                 "worker %s; worker VmRSS after it (KiB): %s"
                 % (len(primed), prime_seconds, len(prime_bad),
                    ", ".join("%d" % primed_per_worker[w] for w in workers),
                    ", ".join("%s" % kib(rss_primed, w) for w in workers)))
    lines.append("requests by kind and status:")
    lines += fk.format_counts(counts)
    lines.append("errors: %d connection errors/timeouts, %d 5xx, %d other unexpected statuses"
                 % (len(errors), len(server_errors), len(unexpected)))
    lines.append("latency (s)       n      p50      p99      max")
    by_kind = {}
    for o in outcomes:
        by_kind.setdefault(o.kind, []).append(o.latency)
    by_kind["all"] = [o.latency for o in outcomes]
    for kind in sorted(by_kind):
        v = by_kind[kind]
        lines.append("  %-14s %6d %8.3f %8.3f %8.3f"
                     % (kind, len(v), fk.percentile(v, 50), fk.percentile(v, 99), max(v)))
    lines.append("worker VmRSS (KiB, at rest): start -> after warm-up (%.0f s, %d requests) "
                 "-> end, change since warm-up (bound +%d %%), peak; anon/file split at "
                 "warm-up and end; requests the worker served after warm-up"
                 % (SOAK_SECONDS * WARMUP_FRACTION, warm_count if rss_warm else 0,
                    RSS_TOLERANCE * 100))
    for w in workers:
        warm, end = kib(rss_warm, w), kib(rss_end, w)
        peak = max(kib(smp, w) or 0 for _, smp in samples)
        change = (100.0 * (end - warm) / warm) if warm and end else float("nan")
        lines.append("  pid %-7d %6s -> %6s -> %6s %+6.1f %%  peak %6s;  anon %s -> %s, "
                     "file %s -> %s;  %d requests"
                     % (w, kib(rss_start, w), warm, end, change, peak,
                        kib(rss_warm, w, "RssAnon"), kib(rss_end, w, "RssAnon"),
                        kib(rss_warm, w, "RssFile"), kib(rss_end, w, "RssFile"),
                        served_after.get(w, 0)))
    lines.append("VmRSS samples every %.0f s (pids %s):" % (RSS_SAMPLE_EVERY,
                                                            " ".join(map(str, workers))))
    for t, smp in samples:
        lines.append("  %6.1f s  %s" % (t, " ".join("%7s" % kib(smp, w) for w in workers)))
    lines.append("uploads acknowledged %d, %d of them kept (the rest deleted by the test); "
                 "kept uploads checked (listed, copy listed, bytes identical): %d of %d; "
                 "listed pairs never acknowledged: %d"
                 % (sum(1 for o in outcomes if o.kind.startswith("upload") and o.status == 201),
                    stored["acknowledged"], stored["downloaded"], stored["acknowledged"],
                    stored["listed_pairs_not_acknowledged"]))
    fk.report("soak", "mixed load", lines)
    changes = [100.0 * (kib(rss_end, w) - kib(rss_warm, w)) / kib(rss_warm, w)
               for w in workers if kib(rss_warm, w) and kib(rss_end, w)]
    grown = [w for w in workers if kib(rss_end, w) is None or kib(rss_warm, w) is None
             or kib(rss_end, w) > kib(rss_warm, w) * (1 + RSS_TOLERANCE)]
    fk.report("soak", "totals: %d requests in %.0f s, %d 5xx, %d connection errors; worker "
              "RSS change since warm-up at most %+.1f %% (bound +%d %%); workers growing past "
              "it: %d" % (len(outcomes), elapsed, len(server_errors), len(errors),
                          max(changes) if changes else float("nan"), RSS_TOLERANCE * 100,
                          len(grown)), [])

    assert rss_warm is not None, "the run ended before the warm-up did"
    assert not prime_bad, "priming requests failed: %s" % fk.describe(prime_bad)
    assert not errors, "connection errors / timeouts: %s" % fk.describe(errors)
    assert not server_errors, "5xx with every dependency up: %s" % fk.describe(server_errors)
    assert not unexpected, "unexpected statuses: %s" % fk.describe(unexpected)
    assert not mismatches, "downloads differing from the bytes sent: %s" % mismatches
    assert fk.worker_pids(stack) == pids, (pids, fk.worker_pids(stack))
    assert stack.kore_problems() == [], stack.kore_problems()
    assert not grown, "worker RSS grew more than %d %% after the warm-up (KiB warm, end): %s" \
        % (RSS_TOLERANCE * 100, {w: (kib(rss_warm, w), kib(rss_end, w)) for w in grown})
