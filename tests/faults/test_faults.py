"""Fault tests: what microgo promises when a dependency or a worker fails.

Each test is one scenario against its own stack (tools/stack.py: MariaDB, the
MongoDB stand-in, 2 Kore instances behind nginx, DEP_TIMEOUT=2 s), with
client threads running through nginx while the fault is injected:

  * a failing dependency gets 503 (naming it) within DEP_TIMEOUT + 1 s,
    never another 5xx, never a hang (the client gives up after
    DEP_TIMEOUT + 3 s, which counts as a failure), and no worker dies;
  * once the dependency is back the service recovers by itself, without a
    restart of Kore, within RECOVERY_MAX seconds (the time is reported);
  * a Kore worker killed mid-upload costs that one request an error, not
    a hang; Kore restarts the worker and nginx keeps serving;
  * at the end, every upload acknowledged with 201 is listed and downloads
    byte for byte, and nothing half-stored is listed (each listed original
    has its WEBP copy, each copy its original).

See tests/faults/README.md for which test proves which guarantee. Figures
(faults injected, 503 latencies, recovery times, acknowledged uploads
checked) appear in the terminal summary.
"""

import os
import signal
import threading
import time

import pytest

import faultkit as fk

DEP_TIMEOUT = 2
BOUND = DEP_TIMEOUT + 1          # a 503 must be answered within this (s)
CLIENT_TIMEOUT = DEP_TIMEOUT + 3  # beyond this the client calls it a hang
RECOVERY_MAX = 10.0              # the service must be back within this (s)
FAULT_SECONDS = 5.0              # how long a dependency stays down
WARM_SECONDS = 1.5               # load before the fault
STABLE_SECONDS = 1.5             # load after recovery, all of it must succeed
HANG_SECONDS = 8.0               # how long MongoDB hangs in authentication
HANG_WAITED = 0.8                # a request this share of DEP_TIMEOUT long waited

DEP_WORD = {"mariadb": "MariaDB", "mongodb": "MongoDB"}

# Client threads: (kind, user index). Uploads never need MariaDB (the
# Bearer token is checked without a database), so they run throughout the
# MariaDB scenarios and must succeed there.
MARIADB_PLAN = [("login", 0), ("login", 1), ("login", 0), ("badlogin", 1),
                ("readyz", 0), ("upload", 1), ("download", 1)]
MONGODB_PLAN = [("upload", 0), ("upload", 1), ("download", 0), ("download", 1),
                ("list", 0), ("readyz", 0)]
# The kinds each dependency's outage must show up in (as 503s).
AFFECTED = {"mariadb": {"login", "badlogin", "readyz"},
            "mongodb": {"upload", "download", "list", "readyz"}}


@pytest.fixture
def stack(request):
    with fk.fresh_stack(request, settings={"DEP_TIMEOUT": str(DEP_TIMEOUT)}) as s:
        yield s


@pytest.fixture
def images():
    return fk.Images()


# --------------------------------------------------------------------------
# Shared steps

def logged_in_apis(stack):
    apis = {}
    for user, pw in fk.USERS:
        api = fk.Api(stack.nginx_url, user, pw, CLIENT_TIMEOUT)
        api.ensure_login()
        apis[user] = api
    return apis


def seed_uploads(stack, ledger, images, per_user=3):
    """A few acknowledged uploads before any fault, so that downloads have
    something to fetch from the start."""
    for api in logged_in_apis(stack).values():
        for _ in range(per_user):
            name, data = images.make("small")
            out = api.upload(name, data)
            assert out.status == 201, out
            ledger.note(api.user, name, data, out)
        api.close()


def service_ok(stack, kinds, images):
    """True when /readyz says both databases are ok through nginx and on
    every Kore instance directly, and one request of each kind in `kinds`
    succeeds through nginx."""
    probe = fk.Api(stack.nginx_url, "Rex", "Rex siu super", CLIENT_TIMEOUT)
    try:
        for base in [stack.nginx_url] + stack.kore_urls:
            probe.base = base
            r = probe.readyz()
            if r.status != 200 or r.json != {"mariadb": "ok", "mongodb": "ok"}:
                return False
        probe.base = stack.nginx_url
        if probe.login().status != 200:
            return False
        if "list" in kinds and probe.listing(limit=1).status != 200:
            return False
        if "upload" in kinds:
            name, data = images.make("small")
            up = probe.upload(name, data)
            if up.status != 201:
                return False
            if probe.download(up.json["fs_id"]).status != 200:
                return False
            # Not in the ledger: the test's own probe, deleted again.
            if probe.delete(up.json["fs_id"]).status != 204:
                return False
        return True
    finally:
        probe.close()


def wait_recovered(stack, kinds, images):
    """Seconds until service_ok() holds; AssertionError after RECOVERY_MAX."""
    took = fk.wait_for(lambda: service_ok(stack, kinds, images), RECOVERY_MAX, interval=0.1)
    assert took is not None, "the service did not recover within %.0f s of the " \
        "dependency's return (Kore not restarted)" % RECOVERY_MAX
    return took


class TooSlow(AssertionError):
    """An answer (a 503, or none before the client's timeout) that came
    later than the bound: lateness reported apart from wrong answers."""


def judge_window(dep, outcomes, t_fault, t_restore, t_recovered):
    """Checks the requests around one fault window. Returns (problems,
    too_slow, during): lists of strings (empty if all is well), and the
    requests that overlapped the fault."""
    before, during, after = fk.phases(outcomes, t_fault, t_restore)
    problems = []
    bad = [o for o in before if not fk.ok(o)]
    if bad:
        problems.append("before the fault: %s" % fk.describe(bad))
    word = DEP_WORD[dep]
    wrong, slow, unnamed = [], [], []
    for o in during:
        if fk.ok(o):
            continue
        if o.error == "ReadTimeout" or (o.status == 503 and o.latency > BOUND):
            slow.append(o)
        elif o.status != 503 or o.kind not in AFFECTED[dep]:
            wrong.append(o)
        elif o.kind == "readyz":
            if not o.json or o.json.get(dep) != "unavailable":
                unnamed.append(o)
        elif word not in (o.message or ""):
            unnamed.append(o)
    if wrong:
        problems.append("during the fault, answers other than success or a 503 from an "
                        "affected route: %s" % fk.describe(wrong))
    if unnamed:
        problems.append("503s not naming %s: %s" % (word, fk.describe(unnamed)))
    felt = {o.kind for o in during if o.status == 503 or o.error}
    missing = sorted(k for k in AFFECTED[dep] & {o.kind for o in outcomes} if k not in felt)
    if missing:
        problems.append("no 503 at all for %s during the fault: was it injected?" % missing)
    late = [o for o in after if o.started >= t_recovered and not fk.ok(o)]
    if late:
        problems.append("failures after recovery: %s" % fk.describe(late))
    too_slow = []
    if slow:
        too_slow.append("answers later than DEP_TIMEOUT + 1 = %d s (ReadTimeout: none within "
                        "the client's %d s): %s" % (BOUND, CLIENT_TIMEOUT, fk.describe(slow)))
    return problems, too_slow, during


def check_workers(stack, pids_before):
    """No worker died: same pids, nothing in Kore's output."""
    assert fk.worker_pids(stack) == pids_before, "worker pids changed: %s -> %s" % (
        pids_before, fk.worker_pids(stack))
    assert stack.kore_problems() == [], stack.kore_problems()


def settle(load, t_restore):
    """Waits (bounded) until the load has run STABLE_SECONDS with no failed
    request since the dependency came back (each worker's circuit breaker
    closes on its own, up to a cooldown after its last failure). Returns
    the end of the last failed request (or t_restore if none failed);
    AssertionError if requests still fail RECOVERY_MAX s after the return."""
    deadline = t_restore + RECOVERY_MAX + STABLE_SECONDS
    while True:
        since = [o for o in load.rec.snapshot() if o.started >= t_restore]
        failed = [o for o in since if not fk.ok(o)]
        last = max([o.started + o.latency for o in failed] or [t_restore])
        assert last - t_restore <= RECOVERY_MAX, \
            "requests still failing %.0f s after the dependency was back: %s" \
            % (RECOVERY_MAX, fk.describe(failed[-12:]))
        clean = [o for o in since if o.started >= last]
        if time.monotonic() - last >= STABLE_SECONDS and len(clean) >= 10:
            return last
        assert time.monotonic() < deadline, "the load never ran %.1f s without a failure " \
            "after the dependency was back: %s" % (STABLE_SECONDS, fk.describe(failed[-12:]))
        time.sleep(0.1)


def run_window(stack, load, dep, inject, lift, kinds, images):
    """Load is running: warm up, inject, hold, lift, wait for recovery,
    hold. Returns (t_fault, t_restore, t_recovered, (first, recovery)):
    first is when a probe first succeeded (/readyz on every instance and
    the affected routes through nginx), recovery when the load's requests
    stopped failing, both in seconds after the dependency's return."""
    time.sleep(WARM_SECONDS)
    t_fault = time.monotonic()
    inject()
    time.sleep(FAULT_SECONDS)
    lift()
    t_restore = time.monotonic()
    first = wait_recovered(stack, kinds, images)
    t_recovered = settle(load, t_restore)
    recovery = t_recovered - t_restore
    fk.tally(faults=1, recovery=recovery)
    return t_fault, t_restore, t_recovered, (first, recovery)


def finish(stack, load, ledger, title, figures, problems, too_slow, pids_before):
    """Stops the load, checks the downloads it made and every acknowledged
    upload, reports the figures, and fails with every problem found (with
    TooSlow if lateness is the only one)."""
    outcomes = load.stop()
    if load.mismatches:
        problems.append("downloads that differ from the bytes sent: %s" % load.mismatches)
    apis = logged_in_apis(stack)
    try:
        stored = fk.check_ledger(apis, ledger)
    finally:
        for api in apis.values():
            api.close()
    figures.append("requests: %d in all; uploads acknowledged %d, not acknowledged %d"
                   % (len(outcomes), len(ledger.acked), ledger.unacked))
    figures.append("acknowledged uploads checked (listed, copy listed, bytes identical): "
                   "%d of %d; listed pairs never acknowledged: %d"
                   % (stored["downloaded"], stored["acknowledged"],
                      stored["listed_pairs_not_acknowledged"]))
    fk.report("faults", title, figures)
    fk.tally(checked=stored["downloaded"])
    assert not problems, "\n".join(problems + too_slow)
    check_workers(stack, pids_before)
    if too_slow:
        raise TooSlow("\n".join(too_slow))


# --------------------------------------------------------------------------
# (a) MariaDB

def test_mariadb_stopped_during_logins(stack, images):
    """MariaDB is shut down while 4 threads log in (one with a wrong
    password) and others upload and download: logins get 503 naming
    MariaDB within DEP_TIMEOUT + 1 s (never 401 for a good password, never
    a hang), /readyz marks mariadb unavailable, uploads and downloads do
    not notice; MariaDB is started again and logins succeed again with no
    Kore restart; no worker died; no acknowledged upload lost."""
    ledger = fk.Ledger()
    seed_uploads(stack, ledger, images)
    pids = fk.worker_pids(stack)
    load = fk.Load(stack, MARIADB_PLAN, ledger, images, CLIENT_TIMEOUT, pause=0.02).start()
    t_fault, t_restore, t_recovered, recovery = run_window(
        stack, load, "mariadb", stack.stop_mariadb, stack.start_mariadb, {"upload"}, images)
    problems, too_slow, during = judge_window("mariadb", load.rec.snapshot(), t_fault,
                                              t_restore, t_recovered)
    figures = ["faults injected: 1 (MariaDB stopped, clean shutdown, then started)"]
    figures += fk.fault_figures("MariaDB stopped", during, t_fault, t_restore, recovery)
    finish(stack, load, ledger, "MariaDB stopped during logins", figures, problems, too_slow,
           pids)


@pytest.mark.parametrize("dep", ["mariadb", "mongodb"])
def test_hung_dependency_answers_in_time(stack, images, dep):
    """The dependency hangs instead of going away (SIGSTOP: its port still
    accepts connections, nothing answers), then resumes (SIGCONT). The
    same promises as a stopped one: 503 within DEP_TIMEOUT + 1 s, recovery
    by itself, no worker died, nothing lost."""
    ledger = fk.Ledger()
    seed_uploads(stack, ledger, images)
    pids = fk.worker_pids(stack)
    pid = fk.dependency_pid(stack, dep)
    plan = MARIADB_PLAN if dep == "mariadb" else MONGODB_PLAN
    load = fk.Load(stack, plan, ledger, images, CLIENT_TIMEOUT, pause=0.02).start()
    frozen = []

    def freeze():
        os.kill(pid, signal.SIGSTOP)
        frozen.append(pid)

    def thaw():
        os.kill(pid, signal.SIGCONT)
        frozen.remove(pid)

    try:
        t_fault, t_restore, t_recovered, recovery = run_window(
            stack, load, dep, freeze, thaw, {"upload", "list"}, images)
    finally:
        if frozen:
            os.kill(pid, signal.SIGCONT)
    problems, too_slow, during = judge_window(dep, load.rec.snapshot(), t_fault, t_restore,
                                              t_recovered)
    figures = ["faults injected: 1 (%s frozen with SIGSTOP, then SIGCONT)" % DEP_WORD[dep]]
    figures += fk.fault_figures("%s hung" % DEP_WORD[dep], during, t_fault, t_restore, recovery)
    finish(stack, load, ledger, "%s hung (SIGSTOP) under load" % DEP_WORD[dep], figures,
           problems, too_slow, pids)


# --------------------------------------------------------------------------
# (b) MongoDB

def test_mongodb_commands_fail(stack, images):
    """MongoDB refuses every command (the stand-in's fail file) three times,
    with code 91 (ShutdownInProgress: drivers drop the connection), 2
    (BadValue: a plain command error) and 6 (HostUnreachable), while
    uploads, downloads, listings and /readyz run: each outage gives 503s
    naming MongoDB within DEP_TIMEOUT + 1 s and nothing else; the service
    recovers by itself each time; no worker died; every acknowledged upload
    is intact and nothing half-stored is listed (the data survives: the
    stand-in is not restarted)."""
    ledger = fk.Ledger()
    seed_uploads(stack, ledger, images)
    pids = fk.worker_pids(stack)
    fail_file = stack.mongo_fail_file
    assert fail_file, "the fail file needs the MongoDB stand-in"
    load = fk.Load(stack, MONGODB_PLAN, ledger, images, CLIENT_TIMEOUT, pause=0.05).start()
    problems, too_slow = [], []
    figures = ["faults injected: 3 (fail file with codes 91, 2, 6)"]
    try:
        for code in (91, 2, 6):
            t_window = time.monotonic()

            def inject(code=code):
                with open(fail_file, "w") as f:
                    f.write("%d\n" % code)

            t_fault, t_restore, t_recovered, recovery = run_window(
                stack, load, "mongodb", inject, lambda: os.unlink(fail_file),
                {"upload", "list"}, images)
            window = [o for o in load.rec.snapshot()
                      if t_window <= o.started < time.monotonic()]
            found, slow, during = judge_window("mongodb", window, t_fault, t_restore,
                                               t_recovered)
            problems += ["code %d: %s" % (code, p) for p in found]
            too_slow += ["code %d: %s" % (code, p) for p in slow]
            figures += fk.fault_figures("code %d" % code, during, t_fault, t_restore, recovery)
    finally:
        if os.path.exists(fail_file):
            os.unlink(fail_file)
    finish(stack, load, ledger, "MongoDB commands fail (fail file)", figures, problems,
           too_slow, pids)


def test_mongodb_stopped_and_restarted(stack, images):
    """The MongoDB stand-in is stopped and started again on the same port
    while uploads, downloads, listings and /readyz run. The stand-in keeps
    its data in memory only, so this checks availability, not data: 503s
    naming MongoDB within DEP_TIMEOUT + 1 s while it is down, recovery by
    itself once it is back, no worker died, and the uploads acknowledged
    after the restart are intact. Downloads go on asking for the files
    stored before the stop: 503 while it is down, 404 once it is back
    without them. No upload is in flight at the moment of the stop (the
    client threads hold new ones back until it is done):
    test_mongodb_lost_mid_upload covers that case."""
    ledger = fk.Ledger()
    seed_uploads(stack, ledger, images)
    pids = fk.worker_pids(stack)
    load = fk.Load(stack, MONGODB_PLAN, ledger, images, CLIENT_TIMEOUT, pause=0.05).start()

    def stop():
        load.gate_close(CLIENT_TIMEOUT + 1)
        stack.stop_mongo()
        ledger.clear()  # the stand-in's data is gone with it (Ledger.lost)
        load.gate_open()

    t_fault, t_restore, t_recovered, recovery = run_window(
        stack, load, "mongodb", stop, stack.start_mongo, {"upload", "list"}, images)
    problems, too_slow, during = judge_window("mongodb", load.rec.snapshot(), t_fault,
                                              t_restore, t_recovered)
    figures = ["faults injected: 1 (stand-in stopped, started again on its port; "
               "its data is lost, by design)"]
    figures += fk.fault_figures("MongoDB stopped", during, t_fault, t_restore, recovery)
    finish(stack, load, ledger, "MongoDB stopped and restarted", figures, problems,
           too_slow, pids)


def test_mongodb_lost_mid_upload(stack, images):
    """MongoDB goes away while an upload is writing its chunks (the stop is
    triggered by the stand-in logging the upload's first chunk insert): the
    client gets a 503 within DEP_TIMEOUT + 1 s of the fault, not a hang nor
    a 201; once MongoDB is back the service recovers by itself.
    Regression: libmongoc's upload stream went on inserting every remaining
    chunk after the first failure, each insert waiting out the server
    selection timeout, so the upload hung while MongoDB stayed away."""
    api = fk.Api(stack.nginx_url, "Rex", "Rex siu super", CLIENT_TIMEOUT)
    api.ensure_login()
    pids = fk.worker_pids(stack)
    watcher = fk.LogWatcher(os.path.join(stack.run_dir, "mongo", "commands.log"),
                            "cmd=insert coll=fs.chunks")
    result = {}
    t_fault = None
    for attempt in range(3):
        name, data = images.make("big")
        watcher.new_hits()
        result.clear()
        t = threading.Thread(target=lambda: result.update(out=api.upload(name, data)))
        t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not watcher.new_hits() and t.is_alive():
            time.sleep(0.002)
        t_fault = time.monotonic()
        stack.stop_mongo()
        t.join(CLIENT_TIMEOUT + 1)
        assert not t.is_alive(), "the client thread outlived its own timeout"
        if result["out"].status != 201:
            break
        # The whole upload went through before the stop: try again.
        stack.start_mongo()
        assert wait_recovered(stack, {"upload"}, images) is not None
    out = result["out"]
    answered = out.started + out.latency - t_fault
    # Keep it down past the client's timeout, so that a hang shows as one.
    time.sleep(max(0.0, t_fault + CLIENT_TIMEOUT + 1 - time.monotonic()))
    stack.start_mongo()
    recovery = wait_recovered(stack, {"upload", "list"}, images)
    fk.tally(faults=attempt + 1, recovery=recovery)
    fk.report("faults", "MongoDB lost mid-upload", [
        "faults injected: %d (stand-in stopped at an upload's first chunk insert)"
        % (attempt + 1),
        "the upload's answer: %r, %.2f s after the fault (bound %d s)"
        % (out, answered, BOUND),
        "recovered %.2f s after MongoDB was back" % recovery])
    check_workers(stack, pids)
    assert out.status == 503 or out.error == "ReadTimeout", \
        "upload in flight when MongoDB went away: %r (want a 503)" % out
    if answered > BOUND or out.error:
        raise TooSlow("upload in flight when MongoDB went away: %r, %.2f s after the "
                      "fault (want a 503 within %d s)" % (out, answered, BOUND))


def test_mongodb_hangs_in_authentication(stack, images):
    """MongoDB takes new connections and answers their hello, then never
    answers authentication (the stand-in holds back its replies to
    saslStart and saslContinue). It is restarted with that hang in place,
    so every worker has to open new connections. Requests straight to each
    Kore instance (listings, uploads, /readyz) all get a 503 naming
    MongoDB within DEP_TIMEOUT + 1 s, and on every instance some of them
    were the ones that waited on the hang; once it ends the service
    recovers by itself, and no worker died.
    Regression: libmongoc 1.23 authenticates a new connection twice when
    the first try fails (speculatively with the hello, then in full), each
    try waiting out socketTimeoutMS, so such a request took twice
    DEP_TIMEOUT; now no wait outlasts the call's deadline."""
    hang_file = stack.mongo_hang_file
    assert hang_file, "the hang file needs the MongoDB stand-in"
    pids = fk.worker_pids(stack)
    plan = [("list", 0), ("upload", 1), ("readyz", 0)]
    stack.stop_mongo()
    with open(hang_file, "w") as f:
        f.write("saslStart saslContinue\n")
    try:
        stack.start_mongo()
        t_fault = time.monotonic()
        loads = [fk.Load(stack, plan, fk.Ledger(), images, CLIENT_TIMEOUT, pause=0.05,
                         base_url=url).start() for url in stack.kore_urls]
        time.sleep(HANG_SECONDS)
        per_instance = [load.stop() for load in loads]
    finally:
        os.unlink(hang_file)
    t_restore = time.monotonic()
    recovery = wait_recovered(stack, {"upload", "list"}, images)
    fk.tally(faults=1, recovery=recovery)

    outcomes = [o for outs in per_instance for o in outs]
    waited = [[o for o in outs if o.latency >= HANG_WAITED * DEP_TIMEOUT] for outs in per_instance]
    problems, too_slow, _ = judge_window("mongodb", outcomes, t_fault, t_restore, t_restore)
    figures = ["faults injected: 1 (stand-in restarted holding back saslStart and "
               "saslContinue replies for %.0f s)" % HANG_SECONDS]
    figures += fk.fault_figures("MongoDB hung in authentication", outcomes, t_fault, t_restore,
                                None)
    figures.append("requests that waited on the hang, per Kore instance: %s; recovered "
                   "%.2f s after the hang ended" % (", ".join(str(len(w)) for w in waited),
                                                    recovery))
    fk.report("faults", "MongoDB hung in authentication", figures)
    assert not problems, "\n".join(problems + too_slow)
    assert all(waited), "an instance never waited on the hang: was it reached? %s" % (
        [len(w) for w in waited])
    check_workers(stack, pids)
    if too_slow:
        raise TooSlow("\n".join(too_slow))


# --------------------------------------------------------------------------
# (c) A worker killed mid-upload

def test_worker_killed_mid_upload(stack, images):
    """A 12-megapixel upload is being compressed when its Kore worker is
    killed with SIGKILL (the worker is the one burning CPU). Its client
    gets an error (nginx's 502 or a dropped connection) at once, not a
    hang and not a 201; Kore starts a new worker; requests through nginx
    succeed again straight away; the killed upload is not listed, and the
    uploads acknowledged before, during and after are all intact."""
    ledger = fk.Ledger()
    seed_uploads(stack, ledger, images)
    pids = fk.worker_pids(stack)
    api = fk.Api(stack.nginx_url, "Rex", "Rex siu super", 60)
    api.ensure_login()
    load = fk.Load(stack, [("upload", 1), ("download", 1), ("list", 0)], ledger, images,
                   CLIENT_TIMEOUT, pause=0.1).start()
    name, data = images.make("large")
    result = {}
    t = threading.Thread(target=lambda: result.update(out=api.upload(name, data)))
    workers = fk.all_workers(stack)
    history = [{w: fk.cpu_ticks(w) or 0 for w in workers}]
    t.start()
    # The worker compressing the image is the one burning most of a core
    # over the last 0.3 s (noise compresses slowly: seconds of libvips
    # work); the background load's small images never come close.
    victim, deadline = None, time.monotonic() + 20
    while victim is None and time.monotonic() < deadline and t.is_alive():
        time.sleep(0.1)
        history.append({w: fk.cpu_ticks(w) or 0 for w in workers})
        past = history[max(0, len(history) - 4)]
        grown = {w: history[-1][w] - past[w] for w in workers}
        busiest = max(grown, key=grown.get)
        if grown[busiest] >= 20:  # 0.2 s of CPU in 0.3 s, at 100 ticks/s
            victim = busiest
    assert victim is not None, "no worker was seen compressing the upload: %r" % result
    instance = next(i for i, ws in pids.items() if victim in ws)
    t_kill = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    t.join(65)
    out = result["out"]
    answered = out.started + out.latency - t_kill

    def replaced():
        now = fk.worker_pids(stack)[instance]
        return now is not None and len(now) == len(pids[instance]) and victim not in now
    restart = fk.wait_for(replaced, 10, interval=0.05)
    assert restart is not None, "Kore did not start a new worker: %s" % fk.worker_pids(stack)
    t_back = time.monotonic()

    # Straight away: through nginx and on the instance that lost a worker.
    after = []
    direct = fk.Api(stack.kore_urls[instance], "Rex", "Rex siu super", CLIENT_TIMEOUT)
    direct.token = api.token
    for i in range(10):
        for client in (api, direct):
            n, d = images.make("small")
            up = client.upload(n, d)
            ledger.note(client.user, n, d, up)
            after += [up, client.listing(limit=5)]
    direct.close()
    outcomes = load.stop()
    during = [o for o in outcomes if o.started < t_back and o.started + o.latency >= t_kill]
    late = [o for o in outcomes if o.started >= t_back + 0.5 and not fk.ok(o)]

    listed = [f["filename"] for f in api.list_all()]
    stored = fk.check_ledger({u: a for u, a in logged_in_apis(stack).items()}, ledger)
    problems = stack.kore_problems()
    fk.tally(faults=1, checked=stored["downloaded"], recovery=restart)
    fk.report("faults", "Kore worker killed mid-upload", [
        "faults injected: 1 (SIGKILL to worker %d of Kore %d while it compressed %d bytes)"
        % (victim, instance + 1, len(data)),
        "the killed upload's answer: %r, %.2f s after the kill" % (out, answered),
        "Kore started a new worker %.2f s after the kill" % restart,
        "background requests overlapping the kill: %s" % (
            ", ".join("%s %s" % (o.kind, o.label) for o in during if not fk.ok(o))
            or "all succeeded"),
        "acknowledged uploads checked: %d of %d; listed pairs never acknowledged: %d"
        % (stored["downloaded"], stored["acknowledged"],
           stored["listed_pairs_not_acknowledged"])])

    assert out.status != 201, "the killed upload was acknowledged: %r" % out
    assert out.error is not None or out.status in (502, 503, 504), out
    assert answered < 5, "the client waited %.1f s after the kill" % answered
    assert all(fk.ok(o) for o in after), fk.describe([o for o in after if not fk.ok(o)])
    assert not late, "failures after the worker was back: %s" % fk.describe(late)
    assert not load.mismatches, load.mismatches
    assert name not in listed, "the killed upload %s is listed" % name
    assert all(str(victim) in line for _, line in problems), problems
    others = {i: ws for i, ws in pids.items() if i != instance}
    now = fk.worker_pids(stack)
    assert all(now[i] == ws for i, ws in others.items()), (pids, now)
