#!/usr/bin/python3
"""The gallery's first paint: how long the web page takes, and how many
bytes it fetches, to show a 100-image gallery after the login click.

It starts a fresh local stack (tools/stack.py's Stack, as
tests/browser/run_with_stack.py does: MariaDB, MongoDB or, when no mongod
is on PATH, the in-memory stand-in tests/standin, 2 Kore instances, nginx),
uploads IMAGES photo-like JPEGs of 2 to 3 MP each (made with Pillow, each
different) for Rex through the API with requests, then runs
bench/gallery_paint.mjs RUNS times: each logs in through the page in
headless Debian Chromium with a fresh user-data-dir (nothing cached) and
measures from the click on "Log in" until every card of the first page has
its preview decoded, and the bytes transferred until then. It prints a
markdown table of the medians and writes it to bench/gallery.md.

  /usr/bin/python3 bench/gallery_paint.py

Environment: BENCH_RUNS (default 3), GALLERY_IMAGES (default 100).
playwright-core comes from tests/browser/node_modules (npm ci there, as
run_with_stack.py does, when missing). The exit status is 0 when every run
measured, whether or not the targets were met.
"""

import concurrent.futures
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time

import requests
from PIL import Image, ImageFilter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "browser"))

from stack import Stack, StackError  # noqa: E402
from run_with_stack import ensure_playwright  # noqa: E402
from run import machine  # noqa: E402  (bench/run.py: the same line)

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
IMAGES = int(os.environ.get("GALLERY_IMAGES", "100"))
USER, PASSWORD = "Rex", "Rex siu super"
UPLOADERS = 3            # uploads in flight: under MAX_USER_UPLOADS (4)
UPLOAD_ATTEMPTS = 5      # per image, on a 429
NODE_TIMEOUT = 180       # seconds for one measurement
TARGET_MS = 2000         # first paint of a 100-image gallery < 2 s
TARGET_BYTES = 5 * 1000 * 1000   # transfers < 5 MB
STANDIN = "†"
PAGE_RECORDS = 30        # assets/app.js: listing records a page asks for
# 2 to 3 MP, landscape and portrait.
SIZES = [(1920, 1080), (2048, 1365), (1800, 1200), (2000, 1500), (1600, 1600),
         (1365, 2048), (1500, 2000), (2100, 1400)]


def photo_jpeg(i):
    """Photo-like and different for each i: smoothed noise over a gradient,
    tinted and turned by i, quality 85 to 90."""
    w, h = SIZES[i % len(SIZES)]
    rnd = random.Random(i)
    noise = Image.effect_noise((w, h), 60 + rnd.randrange(50)).filter(
        ImageFilter.GaussianBlur(1.0 + rnd.random()))
    grad = Image.linear_gradient("L").rotate(rnd.choice([0, 90, 180, 270])).resize((w, h))
    tint = Image.new("L", (w, h), rnd.randrange(256))
    bands = [noise, grad, Image.blend(noise, tint, 0.5)]
    rnd.shuffle(bands)
    buf = io.BytesIO()
    Image.merge("RGB", bands).save(buf, "JPEG", quality=85 + rnd.randrange(6))
    return "photo-%03d.jpg" % i, w * h, buf.getvalue()


def upload_all(base, token):
    """IMAGES uploads, UPLOADERS at a time; (count, bytes, pixels, seconds)."""
    session = requests.Session()
    headers = {"Authorization": "Bearer %s" % token}

    def one(i):
        name, pixels, data = photo_jpeg(i)
        for _ in range(UPLOAD_ATTEMPTS):
            r = session.post(base + "/upload", headers=headers, timeout=60,
                             files={"data": (name, data, "image/jpeg")})
            if r.status_code != 429:
                break
            time.sleep(float(r.headers.get("Retry-After", "1")))
        if r.status_code != 201:
            raise RuntimeError("upload of %s: %d %s" % (name, r.status_code, r.text[:200]))
        return len(data), pixels

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(UPLOADERS) as pool:
        done = list(pool.map(one, range(IMAGES)))
    return len(done), sum(d[0] for d in done), sum(d[1] for d in done), time.time() - started


def measure(base):
    env = dict(os.environ, MICROGO_BASE_URL=base, MICROGO_USER=USER, MICROGO_PASSWORD=PASSWORD)
    proc = subprocess.run(["node", os.path.join(BENCH, "gallery_paint.mjs")], env=env,
                          cwd=BENCH, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=NODE_TIMEOUT)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError("gallery_paint.mjs printed no result:\n" + proc.stdout[-2000:])
    res = json.loads(lines[-1])
    if not res.get("ok"):
        raise RuntimeError("gallery_paint.mjs: %s" % "; ".join(res.get("errors", [])))
    return res


def chromium_version():
    try:
        return subprocess.run(["/usr/bin/chromium", "--version"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "Chromium"


def verdict(ok):
    return "met" if ok else "**not met**"


def report(runs, uploaded, mongo_kind, started):
    n, up_bytes, up_pixels, up_secs = uploaded
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    mark = STANDIN if mongo_kind == "standin" else ""
    ms, mb = med("ms_click"), med("bytes_rt") / 1e6
    lines = [
        "# The gallery's first paint",
        "",
        "Made by bench/gallery_paint.py on %s, %s, with %s (headless, a fresh "
        "profile each run), through nginx on loopback, 2 Kore instances; "
        "%d runs, medians." % (machine(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
                               chromium_version(), len(runs)),
        "",
        "The gallery: %d photo-like JPEGs of 2 to 3 MP (%.0f MP, %.1f MB in all), "
        "uploaded for one user through the API in %.1f s, before the runs. A run logs "
        "in through the page and waits until every card of the first page shows its "
        "preview decoded (`naturalWidth > 0`). *Time* is from the click on Log in to "
        "that moment; *bytes* are the Resource Timing `transferSize` of the navigation "
        "and of every resource until then (headers and encoded bodies)."
        % (n, up_pixels / 1e6, up_bytes / 1e6, up_secs),
        "",
    ]
    if mongo_kind == "standin":
        lines += [
            "%s: MongoDB here is the in-memory stand-in (tests/standin), **not "
            "MongoDB**: the listing and every preview are read from it, so the time says "
            "what microgo and the page cost, not what a MongoDB server would add." % STANDIN,
            "",
        ]
    else:
        lines += ["MongoDB: %s." % mongo_kind, ""]
    lines += [
        "| images | cards in the first page (in the 1280x800 viewport) | median time, click to last preview decoded (ms) %s | median from navigation (ms) %s | bytes transferred (MB) | requests |"
        % (mark, mark),
        "|---:|---:|---:|---:|---:|---:|",
        "| %d | %d (%d) | %.0f | %.0f | %.2f | %d |" % (
            n, runs[0]["cards"], runs[0]["in_viewport"], ms, med("ms_nav"), mb,
            med("requests")),
        "",
        "| target | measured | |",
        "|---|---|---|",
        "| first paint of a 100-image gallery < 2 s %s | %.0f ms | %s |" % (mark, ms, verdict(ms < TARGET_MS)),
        "| transfers < 5 MB | %.2f MB | %s |" % (mb, verdict(med("bytes_rt") < TARGET_BYTES)),
        "",
        "Each run:",
        "",
        "| run | click to decoded (ms) | from navigation (ms) | bytes (Resource Timing) | bodies only | bytes (CDP) | previews fetched |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(runs):
        lines.append("| %d | %.0f | %.0f | %d | %d | %d | %d |" % (
            i + 1, r["ms_click"], r["ms_nav"], r["bytes_rt"], r["body_bytes_rt"],
            r["bytes_cdp"], r["previews"]))
    lines += [
        "",
        "*From navigation* includes the page's load and Playwright typing the "
        "credentials. MB are 10^6 bytes. The page lists %d records a page (an "
        "upload is two records, its original and its WEBP copy), so a first page "
        "shows about half as many cards, each fetching its 512 px WEBP preview."
        % PAGE_RECORDS,
        "",
    ]
    return "\n".join(lines)


def main():
    if not ensure_playwright():
        print("gallery_paint: playwright-core is missing (npm ci in tests/browser failed)")
        return 1
    started = time.time()
    stack = Stack(kore_instances=2)
    try:
        stack.start()
    except StackError as e:
        print("gallery_paint: the stack did not start: %s" % e)
        return 1
    try:
        base = stack.nginx_url
        r = requests.post(base + "/login", auth=(USER.encode(), PASSWORD.encode()), timeout=10)
        r.raise_for_status()
        print("gallery_paint: uploading %d images (%s)" % (IMAGES, stack.mongo_kind), flush=True)
        uploaded = upload_all(base, r.json()["token"])
        runs = []
        for i in range(RUNS):
            res = measure(base)
            print("gallery_paint: run %d: %.0f ms, %d bytes, %d cards" % (
                i + 1, res["ms_click"], res["bytes_rt"], res["cards"]), flush=True)
            runs.append(res)
        mongo_kind = stack.mongo_kind
        if stack.kore_problems():
            stack.keep_run_dir = True
            raise RuntimeError("Kore reported problems: %s" % stack.kore_problems())
    except (RuntimeError, requests.RequestException, subprocess.TimeoutExpired) as e:
        print("gallery_paint: %s" % e)
        stack.keep_run_dir = True
        return 1
    finally:
        stack.stop()
    text = report(runs, uploaded, mongo_kind, started)
    with open(os.path.join(BENCH, "gallery.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    print("gallery_paint: wrote bench/gallery.md (%.0f s)" % (time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
