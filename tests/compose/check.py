#!/usr/bin/python3
"""check.py: what tests/compose/run.sh asks of the running compose stack,
through nginx on the published port, as a client would.

  check.py api      --base-url URL --log-file F --log-offset N --docker D --project P
  check.py failover --base-url URL --docker D --project P

api:      the original's curl line, login (both seed users, one wrong
          password), /me, /readyz, upload a PNG, list, download, delete;
          three app replicas running; requests spread over at least two of
          them, and the shared log file written by at least two containers
          (the host= field of lines appended since offset N).
failover: `docker kill` one app replica, then 30 idempotent GETs (/healthz,
          /me) through nginx, all 200: nginx routes around the dead one.

Prints one line per check and, last, "N passed, N failed"; exit status 1 if
anything failed. Standard library and requests; run with /usr/bin/python3.
"""

import argparse
import base64
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


def docker(args, opts):
    return subprocess.run([opts.docker] + args, capture_output=True, text=True,
                          timeout=60)


def app_containers(opts, running_only=True):
    args = ["ps", "-q", "--no-trunc",
            "--filter", f"label=com.docker.compose.project={opts.project}",
            "--filter", "label=com.docker.compose.service=app"]
    if not running_only:
        args.insert(1, "-a")
    out = docker(args, opts)
    return [c for c in out.stdout.split() if c]


def login(s, base, user, password):
    r = s.post(base + "/login", headers=basic(user, password), timeout=TIMEOUT)
    token = None
    if r.status_code == 200:
        try:
            token = r.json().get("token")
        except ValueError:
            pass
    return r, token


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
    hosts_for_rid = {}
    all_hosts = set()
    deadline = time.time() + 10
    while time.time() < deadline:
        hosts_for_rid, all_hosts = {}, set()
        try:
            with open(opts.log_file, "rb") as fp:
                fp.seek(opts.log_offset)
                text = fp.read().decode("utf-8", "replace")
        except OSError as exc:
            text = ""
            print(f"cannot read {opts.log_file}: {exc}", flush=True)
        for line in text.splitlines():
            m = re.search(r"\bhost=(\S+)", line)
            if not m:
                continue
            all_hosts.add(m.group(1))
            r = re.search(r"\brid=(\S+)", line)
            if r and r.group(1).startswith(run_tag):
                hosts_for_rid[r.group(1)] = m.group(1)
        if len(hosts_for_rid) == len(rids):
            break
        time.sleep(0.5)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("api", "failover"))
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--docker", default="/usr/bin/docker")
    ap.add_argument("--project", required=True)
    ap.add_argument("--log-file", default="logs/app_logs.log")
    ap.add_argument("--log-offset", type=int, default=0)
    opts = ap.parse_args()
    try:
        (run_api if opts.mode == "api" else run_failover)(opts)
    except Exception as exc:  # a crash is a failed check, not a lost count
        check(f"{opts.mode} checks ran to the end", False, f"{type(exc).__name__}: {exc}")
    sys.exit(summary())


if __name__ == "__main__":
    main()
