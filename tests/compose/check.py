#!/usr/bin/python3
"""check.py: what tests/compose/run.sh asks of the running compose stack,
through nginx on the published ports, as a client would, and through
`docker inspect` / `docker exec` where the question is about the
containers themselves.

  check.py api      --base-url URL --log-file F --log-offset N --docker D --project P
  check.py security --base-url URL --tls-url URL --cacert F --docker D --project P
                    --images IMG,IMG --state F
  check.py persist  --base-url URL --docker D --project P --state F
  check.py override --base-url URL --docker D --project P --state F --secret S
  check.py rotated  --base-url URL --docker D --project P --state F
  check.py renewed  --base-url URL --docker D --project P --state F
  check.py seedless --base-url URL --docker D --project P --state F
  check.py failover --base-url URL --docker D --project P

api:      the original's curl line, login (both seed users, one wrong
          password), /me, /readyz, upload a PNG, list, download, delete;
          three app replicas running; requests spread over at least two of
          them, and the shared log file written by at least two containers
          (the host= field of lines appended since offset N).
security: no known key works (tokens signed with the development constant
          microgo once shipped, an empty key, "secret", and alg=none get
          401 on /me and /img_collection, while the same claims signed
          with the generated key get 200); the generated secrets are in
          no image's history or configuration and in no container's
          configuration, each secret file has its owner and mode, the
          old fixed database password opens nothing and the access account
          may only SELECT authdb.users; TLS with the generated
          certificate, HSTS on TLS only, plain HTTP on loopback only; the
          hardening of app and nginx (capabilities, no-new-privileges,
          read-only root, memory and pids limits) in docker inspect and in
          the processes themselves. Saves a token and a digest of the key
          in the state file.
persist:  after `down` (volumes kept) and `up`: the same key, the saved
          token still works.
override: after `up` with JWT_SECRET=S in the environment: tokens are
          signed with S, the saved token is refused.
rotated:  after README's rotation (run --rm -e ROTATE=jwt_secret init,
          restart app and nginx): a new key, the saved token refused, new
          tokens signed with the new key (saved in its place).
renewed:  after `down -v` and `up`: a new key, the saved token is refused,
          the seed users log in (the databases were initialised again).
seedless: after README's DELETE of the seed users: neither logs in.
failover: `docker kill` one app replica, then 30 idempotent GETs (/healthz,
          /me) through nginx, all 200: nginx routes around the dead one.

Prints one line per check and, last, "N passed, N failed"; exit status 1 if
anything failed. Standard library and requests; run with /usr/bin/python3.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import struct
import subprocess
import sys
import time
import zlib

import requests

TIMEOUT = 15
RESULTS = []


def check(name, ok, detail="", note=""):
    """One check: detail is printed if it failed, note if it passed."""
    RESULTS.append(bool(ok))
    line = ("PASS " if ok else "FAIL ") + name
    if detail and not ok:
        line += ": " + detail
    elif note and ok:
        line += " (" + note + ")"
    print(line, flush=True)
    return ok


def summary():
    passed = sum(RESULTS)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def basic(user, password):
    raw = f"{user}:{password}".encode("utf-8")
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def png(width=16, height=8):
    """A small valid RGB PNG, made here (no PIL needed)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"".join(bytes((x * 15 % 256, y * 31 % 256, 200))
                                      for x in range(width))
                   for y in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def docker(args, opts, timeout=60):
    return subprocess.run([opts.docker] + args, capture_output=True, text=True,
                          timeout=timeout)


def containers(opts, service=None, running_only=True):
    """The project's containers (of one service), by full id."""
    args = ["ps", "-q", "--no-trunc",
            "--filter", f"label=com.docker.compose.project={opts.project}"]
    if service:
        args += ["--filter", f"label=com.docker.compose.service={service}"]
    if not running_only:
        args.insert(1, "-a")
    out = docker(args, opts)
    return [c for c in out.stdout.split() if c]


def app_containers(opts, running_only=True):
    return containers(opts, "app", running_only)


def one(opts, service):
    found = containers(opts, service)
    if not found:
        raise RuntimeError(f"no running {service} container")
    return found[0]


def login(s, base, user, password, verify=True):
    # verify per request: a session's is overridden by $REQUESTS_CA_BUNDLE.
    r = s.post(base + "/login", headers=basic(user, password), timeout=TIMEOUT,
               verify=verify)
    token = None
    if r.status_code == 200:
        try:
            token = r.json().get("token")
        except ValueError:
            pass
    return r, token


def log_hosts(path, offset, tag, expected, wait=10):
    """The app log's lines since byte offset: {rid: host} for the request
    ids that start with tag, and every host= seen. Waits (at most wait
    seconds) until expected such ids are there: lines land a moment after
    the answers."""
    hosts_for_rid, all_hosts = {}, set()
    deadline = time.time() + wait
    while True:
        hosts_for_rid, all_hosts = {}, set()
        try:
            with open(path, "rb") as fp:
                fp.seek(offset)
                text = fp.read().decode("utf-8", "replace")
        except OSError as exc:
            text = ""
            print(f"cannot read {path}: {exc}", flush=True)
        for line in text.splitlines():
            m = re.search(r"\bhost=(\S+)", line)
            if not m:
                continue
            all_hosts.add(m.group(1))
            r = re.search(r"\brid=(\S+)", line)
            if r and r.group(1).startswith(tag):
                hosts_for_rid[r.group(1)] = m.group(1)
        if len(hosts_for_rid) >= expected or time.time() >= deadline:
            return hosts_for_rid, all_hosts
        time.sleep(0.5)


def run_api(opts):
    base = opts.base_url.rstrip("/")
    s = requests.Session()

    # The original tutorial's own test line, as it is: a POST without a
    # body (no Content-Length) through nginx.
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
         str(TIMEOUT), "-X", "POST", "--user", "Rex:Rex siu super", base + "/login"],
        capture_output=True, text=True, timeout=TIMEOUT + 5)
    check("curl -X POST --user 'Rex:Rex siu super' /login -> 200",
          out.stdout.strip() == "200", f"got {out.stdout.strip() or out.stderr.strip()}")

    r, token = login(s, base, "Rex", "Rex siu super")
    check("login Rex -> 200 with a token and an Authorization header",
          r.status_code == 200 and token
          and r.headers.get("Authorization") == f"Bearer {token}",
          f"{r.status_code} {r.text[:200]}")
    r2, token2 = login(s, base, "Mập", "Mập khùng")
    check("login Mập (UTF-8 user name through nginx and MariaDB) -> 200",
          r2.status_code == 200 and token2, f"{r2.status_code} {r2.text[:200]}")
    r3, _ = login(s, base, "Rex", "wrong password")
    check("login with a wrong password -> 401", r3.status_code == 401,
          f"{r3.status_code} {r3.text[:200]}")
    if not token:
        print("no token: the image checks cannot run", flush=True)
        return
    auth = {"Authorization": f"Bearer {token}"}

    r = s.get(base + "/me", headers=auth, timeout=TIMEOUT)
    check("GET /me -> 200 Rex", r.status_code == 200 and r.json().get("username") == "Rex",
          f"{r.status_code} {r.text[:200]}")
    r = s.get(base + "/readyz", timeout=TIMEOUT)
    check("GET /readyz -> 200, MariaDB and MongoDB ok",
          r.status_code == 200 and r.json() == {"mariadb": "ok", "mongodb": "ok"},
          f"{r.status_code} {r.text[:200]}")

    body = png()
    r = s.post(base + "/upload", headers=auth, timeout=TIMEOUT,
               files={"data": ("compose-test.png", body, "image/png")})
    fs_id = comp_id = None
    if r.status_code == 201:
        fs_id, comp_id = r.json().get("fs_id"), r.json().get("compressed_id")
    check("POST /upload a PNG -> 201 with fs_id and compressed_id",
          fs_id and comp_id, f"{r.status_code} {r.text[:200]}")
    if not fs_id:
        return

    r = s.get(base + "/img_collection", headers=auth, timeout=TIMEOUT)
    ids = {f.get("id"): f for f in r.json()} if r.status_code == 200 else {}
    check("GET /img_collection lists the original and its WEBP copy",
          fs_id in ids and comp_id in ids
          and ids[comp_id].get("filename") == "compose-test.webp"
          and ids[comp_id].get("original") == fs_id,
          f"{r.status_code} {r.text[:300]}")

    r = s.post(base + "/download", headers=auth, json={"fs_id": fs_id}, timeout=TIMEOUT)
    check("POST /download -> 200, the same bytes, image/png",
          r.status_code == 200 and r.content == body
          and r.headers.get("Content-Type", "").startswith("image/png"),
          f"{r.status_code} {len(r.content)} bytes {r.headers.get('Content-Type')}")
    r = s.post(base + "/download", headers=auth, json={"fs_id": comp_id}, timeout=TIMEOUT)
    check("POST /download the copy -> 200 WEBP",
          r.status_code == 200 and r.content[:4] == b"RIFF" and r.content[8:12] == b"WEBP",
          f"{r.status_code} {r.content[:12]!r}")

    r = s.delete(base + f"/img_collection/{fs_id}", headers=auth, timeout=TIMEOUT)
    check("DELETE /img_collection/<fs_id> -> 204", r.status_code == 204,
          f"{r.status_code} {r.text[:200]}")
    r = s.post(base + "/download", headers=auth, json={"fs_id": comp_id}, timeout=TIMEOUT)
    r2 = s.get(base + "/img_collection", headers=auth, timeout=TIMEOUT)
    left = [f for f in r2.json() if f.get("id") in (fs_id, comp_id)] \
        if r2.status_code == 200 else ["?"]
    check("after the delete: the copy is gone too (404, not listed)",
          r.status_code == 404 and not left, f"download {r.status_code}, listed {left}")

    # Three replicas, and nginx spreads requests over them. Each request
    # carries its own X-Request-ID, which nginx passes on and the app logs
    # (rid=), so every line found is one of these requests.
    apps = app_containers(opts)
    check("docker-compose started 3 app replicas", len(apps) == 3,
          f"{len(apps)} running")
    for c in apps[:1]:
        uid = docker(["exec", c, "id", "-u"], opts).stdout.strip()
        ro = docker(["inspect", "-f", "{{.HostConfig.ReadonlyRootfs}}", c],
                    opts).stdout.strip()
        write = docker(["exec", c, "sh", "-c", "touch /app/x 2>&1"], opts)
        check("the app runs as uid 10001 with a read-only root filesystem",
              uid == "10001" and ro == "true" and write.returncode != 0,
              f"uid {uid}, ReadonlyRootfs {ro}, touch /app/x: "
              f"{write.returncode} {write.stdout.strip()}")
    short = {c[:12] for c in apps}
    run_tag = f"compose-{os.getpid()}-{int(time.time())}"
    rids = []
    for i in range(30):
        rid = f"{run_tag}-{i}"
        rids.append(rid)
        path = "/me" if i % 2 else "/healthz"
        s2 = requests.Session()  # a new connection each time
        s2.get(base + path, headers=dict(auth, **{"X-Request-ID": rid}), timeout=TIMEOUT)
    hosts_for_rid, all_hosts = log_hosts(opts.log_file, opts.log_offset, run_tag,
                                         len(rids))
    check("every request through nginx is in the app log with its X-Request-ID",
          len(hosts_for_rid) == len(rids), f"{len(hosts_for_rid)} of {len(rids)} found")
    spread = set(hosts_for_rid.values())
    counts = {h: list(hosts_for_rid.values()).count(h) for h in sorted(spread)}
    detail = f"requests per host {counts}, app containers {sorted(short)}"
    check("requests reached at least 2 different replicas",
          len(spread) >= 2 and spread <= short, detail, note=detail)
    detail = f"hosts in the log {sorted(all_hosts)}"
    check("the shared log file has lines from at least 2 containers",
          len(all_hosts & short) >= 2, detail, note=detail)


# ------------------------------------------------------------- security

SECRETS = ("jwt_secret", "access_pwd", "mariadb_root_pwd", "mongo_root_pwd")
# Owner and mode of each (docker-compose.yml, the init service).
SECRET_MODES = {"jwt_secret": "10001:10001 400", "access_pwd": "0:0 444",
                "mariadb_root_pwd": "0:0 400", "mongo_root_pwd": "999:999 400"}
# Keys nobody may sign a valid token with: the one microgo once shipped
# as its development default, an empty one, a guess.
KNOWN_KEYS = (("the old development constant",
               b"microgo-development-secret-do-not-deploy"),
              ("an empty key", b""), ('"secret"', b"secret"))
OLD_ACCESS_PWD = "microgo-access-pwd"   # what init.sql and .env.example held
APP_LIMITS = {"Memory": 1 << 30, "PidsLimit": 512}
# nginx's CPU weight: 4 times an app container's (docker-compose.yml).
NGINX_LIMITS = {"Memory": 256 << 20, "PidsLimit": 256, "CpuShares": 4096}
NGINX_CAPS = ["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"]
# Linux capability numbers of NGINX_CAPS (linux/capability.h).
CAP_BITS = {"CHOWN": 0, "SETGID": 6, "SETUID": 7, "NET_BIND_SERVICE": 10}


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def token_claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def make_token(claims, key, alg="HS256"):
    """A JWT of these claims, fresh iat and exp, HS256 with key (or, alg
    "none", unsigned)."""
    now = int(time.time())
    claims = dict(claims, iat=now - 5, exp=now + 600)
    compact = lambda o: json.dumps(o, separators=(",", ":")).encode("utf-8")
    head = b64url(compact({"alg": alg, "typ": "JWT"})) + "." + b64url(compact(claims))
    if alg == "none":
        return head + "."
    return head + "." + b64url(hmac.new(key, head.encode("ascii"), hashlib.sha256).digest())


def signed_with(token, key):
    head, _, sig = token.rpartition(".")
    want = b64url(hmac.new(key, head.encode("ascii"), hashlib.sha256).digest())
    return hmac.compare_digest(sig, want)


def statuses(base, token, verify=True):
    """The statuses of GET /me and GET /img_collection with this token."""
    auth = {"Authorization": f"Bearer {token}"}
    return tuple(requests.get(base + path, headers=auth, timeout=TIMEOUT,
                              verify=verify).status_code
                 for path in ("/me", "/img_collection"))


def read_secrets(opts):
    """The generated secrets, read where root may read them all (MariaDB's
    container keeps its capabilities)."""
    db = one(opts, "mariadb")
    out = {}
    for name in SECRETS:
        r = docker(["exec", db, "cat", "/run/secrets/" + name], opts)
        if r.returncode != 0 or not r.stdout.strip():
            raise RuntimeError(f"cannot read /run/secrets/{name}: {r.stderr.strip()}")
        out[name] = r.stdout.strip()
    return out


def digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def proc_status(opts, container):
    """[{Name, Uid, CapEff, NoNewPrivs}] of every process in the container."""
    r = docker(["exec", container, "sh", "-c",
                "for f in /proc/[0-9]*/status; do cat \"$f\" 2>/dev/null; echo; done"], opts)
    procs, cur = [], {}
    for line in r.stdout.splitlines() + [""]:
        if not line.strip():
            if cur:
                procs.append(cur)
            cur = {}
            continue
        key, _, value = line.partition(":")
        if key in ("Name", "Uid", "CapEff", "NoNewPrivs"):
            cur[key] = value.split()[0] if value.split() else ""
    return procs


def cgroup_value(opts, container, v2, v1):
    r = docker(["exec", container, "sh", "-c",
                f"cat /sys/fs/cgroup/{v2} 2>/dev/null || cat /sys/fs/cgroup/{v1}"], opts)
    return r.stdout.strip() if r.returncode == 0 else f"unreadable: {r.stderr.strip()}"


def check_hardening(opts, name, container, caps, limits):
    hc = json.loads(docker(["inspect", "-f", "{{json .HostConfig}}", container],
                           opts).stdout)
    norm = lambda xs: sorted(x.upper().replace("CAP_", "", 1) for x in (xs or []))
    check(f"{name}: CapDrop ALL, CapAdd {caps or 'nothing'}",
          norm(hc.get("CapDrop")) == ["ALL"] and norm(hc.get("CapAdd")) == caps,
          f"CapDrop {hc.get('CapDrop')}, CapAdd {hc.get('CapAdd')}")
    check(f"{name}: SecurityOpt no-new-privileges, ReadonlyRootfs",
          "no-new-privileges:true" in (hc.get("SecurityOpt") or [])
          and hc.get("ReadonlyRootfs") is True,
          f"SecurityOpt {hc.get('SecurityOpt')}, ReadonlyRootfs {hc.get('ReadonlyRootfs')}")
    check(f"{name}: " + ", ".join(f"{k} {v}" for k, v in limits.items()),
          all(hc.get(k) == v for k, v in limits.items()),
          ", ".join(f"{k} {hc.get(k)}" for k in limits))
    mem = cgroup_value(opts, container, "memory.max", "memory/memory.limit_in_bytes")
    pids = cgroup_value(opts, container, "pids.max", "pids/pids.max")
    used = cgroup_value(opts, container, "pids.current", "pids/pids.current")
    check(f"{name}: the kernel enforces them (cgroup memory and pids limits)",
          mem == str(limits["Memory"]) and pids == str(limits["PidsLimit"]),
          f"memory {mem}, pids {pids}", note=f"{used} tasks in use")
    if "CpuShares" in limits:
        # cgroup v1 keeps the shares; v2 holds the weight Docker maps
        # them to (runc: 1 + (shares - 2) * 9999 / 262142).
        shares = limits["CpuShares"]
        cpu = cgroup_value(opts, container, "cpu.weight", "cpu/cpu.shares")
        check(f"{name}: the kernel weighs its CPU share as set",
              cpu in (str(shares), str(1 + (shares - 2) * 9999 // 262142)),
              f"cpu.weight or cpu.shares {cpu}")
    write = docker(["exec", container, "sh", "-c", "touch /etc/microgo-write-test"], opts)
    check(f"{name}: the root filesystem refuses writes", write.returncode != 0,
          "touch /etc/microgo-write-test succeeded")


def run_security(opts):
    base = opts.base_url.rstrip("/")
    tls = opts.tls_url.rstrip("/")
    s = requests.Session()
    r, token = login(s, base, "Rex", "Rex siu super")
    if not check("login Rex (for the token checks)", token, f"{r.status_code} {r.text[:200]}"):
        return
    secrets = read_secrets(opts)
    key = secrets["jwt_secret"].encode("utf-8")
    claims = token_claims(token)
    check("the app signs with the generated key (/run/secrets/jwt_secret, 64 hex digits)",
          signed_with(token, key) and re.fullmatch(r"[0-9a-f]{64}", secrets["jwt_secret"]),
          "the token's signature does not match the key in the secrets volume")
    got = statuses(base, make_token(claims, key))
    check("a token made here with the generated key: 200 on /me and /img_collection",
          got == (200, 200), f"{got}: the forged tokens below would prove nothing")
    for what, bad_key in KNOWN_KEYS:
        got = statuses(base, make_token(claims, bad_key))
        check(f"a token signed with {what}: 401 on /me and /img_collection",
              got == (401, 401), f"{got}")
    got = statuses(base, make_token(claims, None, alg="none"))
    check("an unsigned token (alg none): 401 on /me and /img_collection",
          got == (401, 401), f"{got}")

    # Nowhere but in the volume: not in any image, not in any container's
    # configuration (environment, command, labels).
    values = list(secrets.values())
    for image in opts.images.split(","):
        hist = docker(["history", "--no-trunc", "--format", "{{.CreatedBy}}", image], opts)
        conf = docker(["image", "inspect", image], opts)
        env = json.loads(conf.stdout or "[{}]")[0].get("Config", {}).get("Env") or []
        leaked = [n for n, v in secrets.items() if v in hist.stdout or v in conf.stdout]
        named = [e for e in env if e.split("=")[0] in ("JWT_SECRET", "ACCESS_PWD")]
        check(f"image {image}: no secret in its history or configuration",
              hist.returncode == 0 and conf.returncode == 0 and not leaked and not named,
              f"history rc {hist.returncode}, inspect rc {conf.returncode}, "
              f"found {leaked}, Env {named}")
    every = containers(opts, running_only=False)
    leaked = []
    for c in every:
        text = docker(["inspect", c], opts).stdout
        leaked += [f"{c[:12]}:{n}" for n, v in secrets.items() if v in text]
    check(f"no secret in docker inspect of the {len(every)} containers", every and not leaked,
          f"found {leaked}")
    app = app_containers(opts)[0]
    env = json.loads(docker(["inspect", "-f", "{{json .Config.Env}}", app], opts).stdout)
    envd = dict(e.split("=", 1) for e in env)
    check("the app's Env: JWT_SECRET_FILE and ACCESS_PWD_FILE, no JWT_SECRET or ACCESS_PWD value",
          envd.get("JWT_SECRET_FILE") == "/run/secrets/jwt_secret"
          and envd.get("ACCESS_PWD_FILE") == "/run/secrets/access_pwd"
          and not envd.get("JWT_SECRET") and not envd.get("ACCESS_PWD")
          and envd.get("RUN_MODE") == "production",
          f"{sorted(k + '=' + ('<set>' if v else '') for k, v in envd.items() if 'SECRET' in k or 'PWD' in k or k == 'RUN_MODE')}")
    r = docker(["exec", app, "sh", "-c", "stat -c '%n %u:%g %a' /run/secrets/*"], opts)
    modes = {line.split()[0].rsplit("/", 1)[1]: " ".join(line.split()[1:])
             for line in r.stdout.splitlines() if line.strip()}
    check("each secret file has its reader as owner, and its mode",
          modes == SECRET_MODES, f"{modes}")
    unread = [n for n in ("mariadb_root_pwd", "mongo_root_pwd")
              if docker(["exec", app, "cat", "/run/secrets/" + n], opts).returncode == 0]
    check("the app cannot read the database root passwords", not unread, f"read {unread}")

    # The databases: the access account with the generated password only,
    # and in MariaDB with SELECT on authdb.users and nothing more.
    db = one(opts, "mariadb")
    old = docker(["exec", "-e", "MYSQL_PWD=" + OLD_ACCESS_PWD, db, "mariadb", "-h",
                  "127.0.0.1", "-u", "accessuser", "-e", "SELECT 1"], opts)
    check("MariaDB refuses accessuser with the old fixed password",
          old.returncode != 0 and "Access denied" in old.stderr,
          f"rc {old.returncode} {old.stderr.strip()[:200]}")
    grants = docker(["exec", db, "sh", "-c",
                     "MYSQL_PWD=$(cat /run/secrets/access_pwd) exec mariadb -h 127.0.0.1 "
                     "-u accessuser -N -B -e 'SHOW GRANTS'"], opts)
    rows = [g for g in grants.stdout.splitlines() if g and not g.startswith("GRANT USAGE ON *.*")]
    check("MariaDB's accessuser (generated password) may SELECT authdb.users, nothing more",
          grants.returncode == 0
          and rows == ["GRANT SELECT ON `authdb`.`users` TO `accessuser`@`%`"],
          f"rc {grants.returncode} {grants.stderr.strip()[:200]} {grants.stdout!r}")
    mongo = one(opts, "mongodb")
    probe = ("import pymongo\n"
             "from pymongo.errors import PyMongoError\n"
             "def ok(pwd):\n"
             "    c = pymongo.MongoClient('127.0.0.1', 27017, username='accessuser', password=pwd,\n"
             "                            authSource='image_records', serverSelectionTimeoutMS=3000)\n"
             "    try:\n"
             "        c.image_records.command('ping'); return True\n"
             "    except PyMongoError:\n"
             "        return False\n"
             f"print(ok(open('/run/secrets/access_pwd').read().strip()), ok({OLD_ACCESS_PWD!r}))\n")
    r = docker(["exec", mongo, "python3", "-c", probe], opts)
    check("MongoDB: accessuser logs in with the generated password, not the old fixed one",
          r.stdout.split() == ["True", "False"], f"{r.stdout.strip()} {r.stderr.strip()[-200:]}")

    # TLS with the generated certificate, HSTS there only; plain HTTP on
    # loopback only.
    try:
        rt = requests.get(tls + "/healthz", verify=opts.cacert, timeout=TIMEOUT)
        hsts = rt.headers.get("Strict-Transport-Security", "")
        check("HTTPS with cert/fullchain.pem: GET /healthz 200 with Strict-Transport-Security",
              rt.status_code == 200 and hsts.startswith("max-age="),
              f"{rt.status_code}, HSTS {hsts!r}", note=hsts)
        rl, tls_token = login(requests.Session(), tls, "Rex", "Rex siu super",
                              verify=opts.cacert)
        check("HTTPS: login, then /me and /img_collection 200",
              tls_token and statuses(tls, tls_token, opts.cacert) == (200, 200),
              f"{rl.status_code} {rl.text[:200]}")
    except requests.RequestException as exc:
        check("HTTPS with cert/fullchain.pem answers", False, f"{type(exc).__name__}: {exc}")
    rp = requests.get(base + "/healthz", timeout=TIMEOUT)
    check("plain HTTP: GET /healthz 200 without Strict-Transport-Security",
          rp.status_code == 200 and "Strict-Transport-Security" not in rp.headers,
          f"{rp.status_code} {dict(rp.headers)}")
    nginx = one(opts, "nginx")
    plain = docker(["port", nginx, "80/tcp"], opts).stdout.split()
    check("plain HTTP is published on 127.0.0.1 only",
          plain and all(p.startswith("127.0.0.1:") for p in plain), f"{plain}")

    # Hardening, as configured and as the processes have it.
    for c in app_containers(opts):
        check_hardening(opts, f"app {c[:12]}", c, [], APP_LIMITS)
    check_hardening(opts, "nginx", nginx, NGINX_CAPS, NGINX_LIMITS)
    procs = [p for p in proc_status(opts, app) if p.get("Name") == "kore"]
    check("app: every kore process runs as 10001 with no capability and no_new_privs",
          procs and all(p["Uid"] == "10001" and int(p["CapEff"], 16) == 0
                        and p["NoNewPrivs"] == "1" for p in procs), f"{procs}")
    procs = [p for p in proc_status(opts, nginx) if p.get("Name") == "nginx"]
    mask = sum(1 << CAP_BITS[c] for c in NGINX_CAPS)
    masters = [p for p in procs if p["Uid"] == "0"]
    workers = [p for p in procs if p["Uid"] != "0"]
    check("nginx: the master (root) holds only its four capabilities, the workers "
          "(unprivileged) none, all no_new_privs",
          len(masters) == 1 and int(masters[0]["CapEff"], 16) == mask and workers
          and all(int(p["CapEff"], 16) == 0 for p in workers)
          and all(p["NoNewPrivs"] == "1" for p in procs), f"{procs}")

    with open(opts.state, "w") as f:
        json.dump({"token": token, "key": digest(secrets["jwt_secret"])}, f)


def run_persist(opts):
    base = opts.base_url.rstrip("/")
    state = json.load(open(opts.state))
    key = read_secrets(opts)["jwt_secret"]
    check("the key is the one from before (the secrets volume was kept)",
          digest(key) == state["key"], "a different key")
    got = statuses(base, state["token"])
    check("the token issued before still works: 200 on /me and /img_collection",
          got == (200, 200), f"{got}")
    r, token = login(requests.Session(), base, "Rex", "Rex siu super")
    check("login Rex -> 200 (the database passwords were kept too)", token,
          f"{r.status_code} {r.text[:200]}")


def run_override(opts):
    base = opts.base_url.rstrip("/")
    state = json.load(open(opts.state))
    r, token = login(requests.Session(), base, "Rex", "Rex siu super")
    check("with JWT_SECRET in the environment: login Rex -> 200", token,
          f"{r.status_code} {r.text[:200]}")
    check("the new token is signed with that JWT_SECRET, not the generated key",
          token and signed_with(token, opts.secret.encode("utf-8")), "another key signed it")
    got = statuses(base, state["token"])
    check("the token signed with the generated key: 401", got == (401, 401), f"{got}")
    key = read_secrets(opts)["jwt_secret"]
    check("the generated key is still in the volume, unchanged", digest(key) == state["key"],
          "the volume's key changed")


def run_renewed(opts):
    base = opts.base_url.rstrip("/")
    state = json.load(open(opts.state))
    key = read_secrets(opts)["jwt_secret"]
    check("after down -v: a new key", digest(key) != state["key"], "the same key")
    got = statuses(base, state["token"])
    check("after down -v: the old token gets 401", got == (401, 401), f"{got}")
    r, token = login(requests.Session(), base, "Rex", "Rex siu super")
    check("after down -v: login Rex -> 200, /me 200 (databases initialised again)",
          token and statuses(base, token)[0] == 200, f"{r.status_code} {r.text[:200]}")


def run_rotated(opts):
    base = opts.base_url.rstrip("/")
    state = json.load(open(opts.state))
    key = read_secrets(opts)["jwt_secret"]
    check("after ROTATE=jwt_secret: a new key in the volume", digest(key) != state["key"],
          "the same key")
    got = statuses(base, state["token"])
    check("after the rotation: a token signed with the old key gets 401", got == (401, 401),
          f"{got}")
    r, token = login(requests.Session(), base, "Rex", "Rex siu super")
    check("after the rotation: login Rex -> 200, signed with the new key, /me 200",
          token and signed_with(token, key.encode("utf-8"))
          and statuses(base, token) == (200, 200), f"{r.status_code} {r.text[:200]}")
    if token:
        with open(opts.state, "w") as f:
            json.dump({"token": token, "key": digest(key)}, f)


def run_seedless(opts):
    base = opts.base_url.rstrip("/")
    for user, pwd in (("Rex", "Rex siu super"), ("Mập", "Mập khùng")):
        r, _ = login(requests.Session(), base, user, pwd)
        check(f"after README's DELETE: the seed user {user} gets 401", r.status_code == 401,
              f"{r.status_code} {r.text[:200]}")


def run_failover(opts):
    base = opts.base_url.rstrip("/")
    r, token = login(requests.Session(), base, "Rex", "Rex siu super")
    if not check("login before the kill", token, f"{r.status_code} {r.text[:200]}"):
        return
    auth = {"Authorization": f"Bearer {token}"}

    apps = app_containers(opts)
    if not check("3 app replicas running before the kill", len(apps) == 3, f"{len(apps)}"):
        return
    victim = apps[0]
    out = docker(["kill", victim], opts)
    state = docker(["inspect", "-f", "{{.State.Running}}", victim], opts).stdout.strip()
    check(f"docker kill one replica ({victim[:12]})",
          out.returncode == 0 and state == "false",
          f"kill: {out.returncode} {out.stderr.strip()}, running={state}")

    bad = []
    slowest = 0.0
    for i in range(30):
        path = "/me" if i % 2 else "/healthz"
        t0 = time.monotonic()
        try:
            # A new connection for each request, as separate clients would.
            resp = requests.get(base + path, headers=auth, timeout=TIMEOUT)
            status = resp.status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        slowest = max(slowest, time.monotonic() - t0)
        if status != 200:
            bad.append(f"{i}:{path}:{status}")
    check("30 GETs (/healthz, /me) after the kill all answer 200",
          not bad, f"failed: {bad}", note=f"slowest {slowest:.2f} s")


MODES = {"api": run_api, "security": run_security, "persist": run_persist,
         "override": run_override, "rotated": run_rotated, "renewed": run_renewed,
         "seedless": run_seedless, "failover": run_failover}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=tuple(MODES))
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--tls-url", help="security: nginx's HTTPS address")
    ap.add_argument("--cacert", help="security: the certificate to trust")
    ap.add_argument("--images", default="", help="security: images to search, by name")
    ap.add_argument("--state", help="a token and the key's digest, kept between modes")
    ap.add_argument("--secret", help="override: the JWT_SECRET given")
    ap.add_argument("--docker", default="/usr/bin/docker")
    ap.add_argument("--project", required=True)
    ap.add_argument("--log-file", default="logs/app_logs.log")
    ap.add_argument("--log-offset", type=int, default=0)
    opts = ap.parse_args()
    try:
        MODES[opts.mode](opts)
    except Exception as exc:  # a crash is a failed check, not a lost count
        check(f"{opts.mode} checks ran to the end", False, f"{type(exc).__name__}: {exc}")
    sys.exit(summary())


if __name__ == "__main__":
    main()
