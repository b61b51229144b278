#!/usr/bin/python3
"""swarm.py: what tests/compose/run.sh (phase swarm) asks of microgo on a
single-node Docker Swarm, deployed as README.md says (docker-stack.yml,
tools/swarm-secrets.sh), through nginx's host-mode ports, as a client
would, and through `docker service` / `docker ps` for the tasks:

  swarm.py --base-url URL --tls-url URL --cacert F --docker D --stack S
           --new-image IMG --log-file F --log-offset N

- the stack converges: 3 healthy app tasks, MariaDB, MongoDB, nginx; the
  app is dnsrr, updates start-first with rollback; the secrets are files
  with their owner and mode; HTTPS with the certificate from the Docker
  secret and config; login works, /readyz says 200 within 60 s (the
  tasks start in no order: the app recovers by itself from starting
  before MongoDB), then an upload and its listing work;
- then, under continuous load through nginx (GETs of /healthz and /me on
  several threads, a POST /login every second): requests reach every
  task; `docker service scale` to 5 (nginx sends to all 5 within 30 s,
  without a restart) and back to 2; a rolling update to a rebuilt image
  (--new-image), then `docker service rollback`; a `docker kill`ed task is
  replaced within 30 s; a SIGHUP leaves a task serving. No GET may fail in
  any of these; failed POSTs are counted and reported (nginx does not
  retry a POST that reached a task which then went away);
- the shared log file has lines from every task that served.

Prints one line per check and, last, "N passed, N failed". Standard
library and requests; run with /usr/bin/python3.
"""

import argparse
import json
import os
import sys
import threading
import time

import requests

from check import TIMEOUT, check, docker, log_hosts, login, png, summary

USER, PASSWORD = "Rex", "Rex siu super"


class Docker:
    """The stack's services and tasks, through check.py's docker()."""

    def __init__(self, opts):
        self.opts, self.stack = opts, opts.stack

    def run(self, args, timeout=60):
        return docker(args, self.opts, timeout)

    def service(self, name):
        return f"{self.stack}_{name}"

    def tasks(self, name, healthy_only=True):
        """The running containers of a service: [(short id, image)]."""
        out = self.run(["ps", "--filter",
                        f"label=com.docker.swarm.service.name={self.service(name)}",
                        "--format", "{{.ID}} {{.Status}} {{.Image}}"])
        found = []
        for line in out.stdout.splitlines():
            cid, _, rest = line.partition(" ")
            image = rest.split()[-1] if rest else ""
            if healthy_only and "(healthy)" not in rest:
                continue
            found.append((cid[:12], image))
        return found

    def converge(self, name, count, seconds):
        """Waits until the service has exactly count healthy tasks (and no
        others running); the seconds it took, or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            healthy = self.tasks(name)
            if len(healthy) == count and len(self.tasks(name, False)) == count:
                return time.monotonic() - t0
            time.sleep(1)
        return None

    def settled(self, name, seconds):
        """Waits until the service's update (or rollback) is no longer under
        way; its last state."""
        t0 = time.monotonic()
        state = None
        while time.monotonic() - t0 < seconds:
            state = self.inspect(name).get("UpdateStatus", {}).get("State")
            if state not in ("updating", "rollback_started"):
                break
            time.sleep(1)
        return state

    def inspect(self, name):
        out = self.run(["service", "inspect", self.service(name)])
        return json.loads(out.stdout)[0] if out.returncode == 0 else {}


class Load:
    """Requests through nginx until stop(): THREADS threads of idempotent
    GETs (/healthz and /me, in turn) and one thread of POST /login, once a
    second. Every answer is kept as (time, method, path, outcome)."""

    THREADS = 3

    def __init__(self, base, token):
        self.base, self.token = base, token
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.answers = []
        self.threads = [threading.Thread(target=self.gets, daemon=True)
                        for _ in range(self.THREADS)]
        self.threads.append(threading.Thread(target=self.posts, daemon=True))

    def record(self, method, path, outcome):
        with self.lock:
            self.answers.append((time.monotonic(), method, path, outcome))

    def ask(self, session, method, path, **kw):
        try:
            r = session.request(method, self.base + path, timeout=TIMEOUT, **kw)
            self.record(method, path, r.status_code)
        except requests.RequestException as exc:
            self.record(method, path, type(exc).__name__)

    def gets(self):
        s = requests.Session()
        auth = {"Authorization": f"Bearer {self.token}"}
        i = 0
        while not self.done.is_set():
            self.ask(s, "GET", "/me" if i % 2 else "/healthz", headers=auth)
            i += 1
            self.done.wait(0.02)

    def posts(self):
        s = requests.Session()
        while not self.done.is_set():
            self.ask(s, "POST", "/login", auth=(USER, PASSWORD))
            self.done.wait(1)

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(TIMEOUT + 5)

    def since(self, t0):
        """(GETs answered, failed GETs, POSTs answered, failed POSTs) since t0."""
        with self.lock:
            window = [a for a in self.answers if a[0] >= t0]
        gets = [a for a in window if a[1] == "GET"]
        posts = [a for a in window if a[1] == "POST"]
        bad = lambda answers: [f"{m} {p}: {o}" for _, m, p, o in answers if o != 200]
        return len(gets), bad(gets), len(posts), bad(posts)


def ready_after(session, base, limit, streak=5):
    """Asks /readyz through nginx (a new task and worker each time, as
    often as not) until it says 200 streak times in a row, for at most
    limit seconds. (whether it did, what it took)."""
    t0 = time.monotonic()
    row, answers = 0, 0
    while time.monotonic() - t0 < limit:
        try:
            code = session.get(base + "/readyz", timeout=TIMEOUT).status_code
        except requests.RequestException:
            code = None
        answers += 1
        row = row + 1 if code == 200 else 0
        if row >= streak:
            return True, f"{time.monotonic() - t0:.1f} s, {answers} asked"
        time.sleep(0.5)
    return False, f"{answers} asked, the last {code}"


def reached(opts, base, token, expected, tag, tries=80):
    """Sends tagged GETs (a new connection each) until the log shows each of
    the expected hosts served one, at most tries of them; the hosts seen."""
    auth = {"Authorization": f"Bearer {token}"}
    seen = set()
    for i in range(tries):
        requests.get(base + "/me", timeout=TIMEOUT,
                     headers=dict(auth, **{"X-Request-ID": f"{tag}-{i}"}))
        if i % 10 == 9 or i == tries - 1:
            by_rid, _ = log_hosts(opts.log_file, opts.log_offset, tag, i + 1)
            seen = set(by_rid.values())
            if expected <= seen:
                break
    return seen


def step(load, name, action):
    """Runs action under the load; checks that no GET failed meanwhile and
    reports the POSTs. action returns (ok, detail)."""
    t0 = time.monotonic()
    ok, detail = action()
    check(name, ok, detail, note=detail)
    # Docker's DNS answer nginx holds is at most 5 s old: what it still
    # sends to a task that went away is inside the window.
    time.sleep(6)
    gets, bad_gets, posts, bad_posts = load.since(t0)
    check(f"{name}: no failed GET under load", gets > 0 and not bad_gets,
          f"{len(bad_gets)} of {gets} failed: {bad_gets[:5]}",
          note=f"{gets} GETs, {posts} POSTs, {len(bad_posts)} failed POSTs"
          + (f": {bad_posts[:3]}" if bad_posts else ""))
    return len(bad_posts)


def run(opts):
    d = Docker(opts)
    base = opts.base_url.rstrip("/")

    took = {name: d.converge(name, count, 300)
            for name, count in (("mariadb", 1), ("mongodb", 1), ("app", 3),
                                ("nginx", 1))}
    check("docker stack deploy converges: 3 healthy app tasks, MariaDB, "
          "MongoDB, nginx", all(v is not None for v in took.values()),
          f"seconds per service (None: not converged) {took}",
          note=f"{max(v or 0 for v in took.values()):.0f} s")
    app = d.inspect("app")
    spec = app.get("Spec", {})
    update = spec.get("UpdateConfig", {})
    check("the app: endpoint mode dnsrr; updates one at a time, start-first, "
          "rolled back on failure",
          spec.get("EndpointSpec", {}).get("Mode") == "dnsrr"
          and update.get("Parallelism") == 1 and update.get("Order") == "start-first"
          and update.get("FailureAction") == "rollback",
          f"{spec.get('EndpointSpec')} {update}")

    apps = d.tasks("app")
    modes = {}
    for path in ("/run/secrets/jwt_secret", "/run/secrets/access_pwd"):
        out = d.run(["exec", apps[0][0], "stat", "-c", "%u:%g %a", path]) \
            if apps else None
        modes[path] = out.stdout.strip() if out else "no task"
    check("Docker secrets in the app task: jwt_secret 10001:10001 400, "
          "access_pwd 444", modes.get("/run/secrets/jwt_secret") == "10001:10001 400"
          and modes.get("/run/secrets/access_pwd", "").endswith(" 444"), str(modes))

    r = requests.get(opts.tls_url.rstrip("/") + "/healthz", verify=opts.cacert,
                     timeout=TIMEOUT)
    check("HTTPS on nginx's host-mode port with the certificate of the "
          "microgo_tls_cert config and microgo_tls_key secret",
          r.status_code == 200, f"{r.status_code} {r.text[:200]}")

    s = requests.Session()
    r, token = login(s, base, USER, PASSWORD)
    check("login through nginx (MariaDB by its dnsrr name) -> 200 with a token",
          token is not None, f"{r.status_code} {r.text[:200]}")
    if not token:
        return
    auth = {"Authorization": f"Bearer {token}"}
    # A stack has no start order: an app task may start before MongoDB's
    # task has a name in Docker's DNS, and its first calls then fail
    # ("Failed to resolve mongodb", in the log). The app answers 503 for
    # those seconds and recovers by itself; what an operator waits for
    # is /readyz, so the test does too (bounded), and then one upload
    # must succeed at its first try.
    ready, waited = ready_after(s, base, 60)
    check("the stack becomes ready by itself: /readyz through nginx says "
          "both databases answer, 5 times in a row", ready,
          f"not within 60 s: {waited}", note=waited)
    r = s.post(base + "/upload", headers=auth, timeout=TIMEOUT,
               files={"data": ("swarm-test.png", png(), "image/png")})
    fs_id = r.json().get("fs_id") if r.status_code == 201 else None
    listed = s.get(base + "/img_collection", headers=auth, timeout=TIMEOUT)
    check("upload a PNG (MongoDB by its dnsrr name) -> 201, then listed",
          fs_id and listed.status_code == 200
          and any(f.get("id") == fs_id for f in listed.json()),
          f"{r.status_code} {r.text[:200]} (request id "
          f"{r.headers.get('X-Request-ID')}; the app log has its lines)")

    tag = f"swarm-{os.getpid()}-{int(time.time())}"
    hosts = {c for c, _ in apps}
    seen = reached(opts, base, token, hosts, f"{tag}-3")
    check("requests through nginx reach all 3 app tasks", hosts <= seen,
          f"tasks {sorted(hosts)}, seen {sorted(seen)}", note=f"{len(seen)} tasks")

    nginx_before = d.tasks("nginx")
    load = Load(base, token)
    load.start()
    failed_posts = 0
    served = set(seen)
    try:
        def scale(count, want_all):
            def action():
                t0 = time.monotonic()
                out = d.run(["service", "scale", f"{d.service('app')}={count}"],
                            timeout=240)
                t = d.converge("app", count, 180)
                if t is not None:
                    t = time.monotonic() - t0
                if out.returncode != 0 or t is None:
                    return False, f"scale: {out.stderr.strip()[-300:]}, converged {t}"
                if not want_all:
                    return True, f"{t:.0f} s to {count} healthy tasks"
                now = {c for c, _ in d.tasks("app")}
                t1 = time.monotonic()
                seen = reached(opts, base, token, now, f"{tag}-{count}", tries=120)
                served.update(seen)
                return now <= seen, (f"{t:.0f} s to {count} healthy tasks; all of "
                                     f"them served within {time.monotonic() - t1:.0f} s"
                                     if now <= seen else
                                     f"tasks {sorted(now)}, seen {sorted(seen)}")
            return action

        failed_posts += step(load, "docker service scale app=5: nginx sends to "
                             "all 5 tasks, no restart", scale(5, True))
        failed_posts += step(load, "docker service scale app=2", scale(2, False))

        def update(args, want_image, what):
            def action():
                t0 = time.monotonic()
                out = d.run(["service"] + args + [d.service("app")], timeout=400)
                t = d.converge("app", 2, 120)
                # The command returns once the tasks have converged; the
                # update is complete when its monitor period is over too.
                state = d.settled("app", 120)
                images = {img for _, img in d.tasks("app")}
                served.update(c for c, _ in d.tasks("app"))
                return (out.returncode == 0 and t is not None
                        and images == {want_image}
                        and state in ("completed", "rollback_completed"),
                        f"{what} in {time.monotonic() - t0:.0f} s: tasks run "
                        f"{sorted(images)}, update state {state}; "
                        f"{out.stderr.strip()[-300:]}")
            return action

        old_image = spec.get("TaskTemplate", {}).get("ContainerSpec", {}) \
            .get("Image", "").split("@")[0]
        failed_posts += step(
            load, "rolling update to a rebuilt image (docker service update --image)",
            update(["update", "--no-resolve-image", "--image", opts.new_image],
                   opts.new_image, "updated"))
        failed_posts += step(
            load, "docker service rollback: back to the first image",
            update(["rollback"], old_image, "rolled back"))

        def kill():
            victim = d.tasks("app")[0][0]
            out = d.run(["kill", victim])
            t0 = time.monotonic()
            t = None
            while time.monotonic() - t0 < 60:
                now = {c for c, _ in d.tasks("app")}
                if victim not in now and len(now) == 2:
                    t = time.monotonic() - t0
                    break
                time.sleep(0.5)
            served.update(c for c, _ in d.tasks("app"))
            return (out.returncode == 0 and t is not None and t <= 30,
                    f"killed {victim}; 2 healthy tasks again after "
                    + (f"{t:.1f} s" if t is not None else "more than 60 s"))

        failed_posts += step(load, "a killed app task is replaced within 30 s", kill)

        def hup():
            # Kore reopens the log on SIGHUP; with STOP_DRAIN_SECONDS the
            # entrypoint's shell sits between docker-init and Kore and
            # must pass it on, not die of it.
            before = d.tasks("app")
            out = d.run(["kill", "-s", "HUP", before[0][0]])
            time.sleep(3)
            after = d.tasks("app")
            return (out.returncode == 0 and after == before,
                    f"tasks before {before}, after {after}")

        failed_posts += step(load, "SIGHUP to an app task (log reopening): it "
                             "keeps serving", hup)
    finally:
        load.stop()

    now = {c for c, _ in d.tasks("app")}
    seen = reached(opts, base, token, now, f"{tag}-end")
    served.update(now)
    _, in_log = log_hosts(opts.log_file, opts.log_offset, tag, 0, wait=0)
    missing = served - in_log
    check("the shared log file has lines from every app task that served",
          not missing, f"missing {sorted(missing)} of {len(served)}",
          note=f"{len(served)} tasks")
    gets, bad_gets, posts, bad_posts = load.since(0)
    check("all the while: no failed GET", not bad_gets,
          f"{len(bad_gets)} of {gets}",
          note=f"{gets} GETs; POST /login: {posts} sent, {len(bad_posts)} failed"
          + (f" ({bad_posts[:3]})" if bad_posts else ""))
    print(f"failed POSTs under load: {failed_posts}", flush=True)
    nginx_after = d.tasks("nginx")
    check("nginx was never restarted", nginx_before == nginx_after and nginx_before,
          f"before {nginx_before}, after {nginx_after}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--tls-url", required=True)
    ap.add_argument("--cacert", required=True)
    ap.add_argument("--docker", default="/usr/bin/docker")
    ap.add_argument("--stack", required=True)
    ap.add_argument("--new-image", required=True)
    ap.add_argument("--log-file", default="logs/app_logs.log")
    ap.add_argument("--log-offset", type=int, default=0)
    opts = ap.parse_args()
    try:
        run(opts)
    except Exception as exc:  # a crash is a failed check, not a lost count
        check("swarm checks ran to the end", False, f"{type(exc).__name__}: {exc}")
    sys.exit(summary())


if __name__ == "__main__":
    main()
