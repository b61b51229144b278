#!/usr/bin/python3
"""The web page (assets/), driven in Chromium against a fresh local stack.

tests/run_all.py (`make test`) calls this as the `browser` suite. It makes
the test images with Pillow, starts tools/stack.py's Stack (private MariaDB,
MongoDB or its stand-in, 2 Kore instances, nginx; everything in a temporary
run directory), runs gallery.test.mjs (playwright-core driving
/usr/bin/chromium) against nginx, stops the stack, and ends with the test's
line `N passed, N failed`.

A Kore worker that died or a sandbox violation during the run counts as one
more failure. The exit status is 0 only if nothing failed.

  tests/browser/run_with_stack.py [--update-screenshot]

--update-screenshot copies the desktop screenshot to docs/screenshot.png.
Screenshots of every run are kept in a temporary directory, named at the end.
playwright-core is installed under tests/browser/node_modules by `npm ci`
when missing (package-lock.json pins it).
"""

import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from stack import Stack, StackError  # noqa: E402
from counted import finish  # noqa: E402

TEST_TIMEOUT = 600   # seconds for the whole browser run
NPM_TIMEOUT = 300


def make_fixtures(directory):
    """Three real images for Rex (a PNG and a JPEG, with long and non-ASCII
    names for the narrow screen, and a photo-like 12 MP JPEG), a text file
    named like an image, and small PNGs for the Load more test."""
    def scene(w, h, sky, ground, sun):
        img = Image.new("RGB", (w, h), sky)
        d = ImageDraw.Draw(img)
        for y in range(h // 2):      # a soft gradient towards the horizon
            t = y / (h / 2)
            d.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t)
                                                for a, b in zip(sky, (250, 250, 255))))
        d.rectangle([0, h * 3 // 5, w, h], fill=ground)
        d.ellipse([w * 0.65, h * 0.12, w * 0.65 + h * 0.22, h * 0.34], fill=sun)
        d.polygon([(0, h * 0.62), (w * 0.3, h * 0.3), (w * 0.55, h * 0.62)],
                  fill=tuple(max(0, c - 40) for c in ground))
        return img

    scene(640, 480, (70, 130, 200), (60, 140, 70), (255, 210, 60)).save(
        os.path.join(directory, "Mập khùng at the lake, a rather long file name.png"))
    scene(800, 600, (200, 110, 60), (110, 90, 60), (255, 240, 200)).save(
        os.path.join(directory, "sunset.jpg"), quality=90)
    # 4000x3000, photo-like: smoothed noise over gradients (a few MB, as a
    # camera's JPEG is), not a flat scene that compresses to nothing.
    w, h = 4000, 3000
    noise = Image.effect_noise((w, h), 90).filter(ImageFilter.GaussianBlur(1.5))
    grad = Image.linear_gradient("L").resize((w, h))
    Image.merge("RGB", (noise, grad, Image.blend(noise, grad, 0.5))).save(
        os.path.join(directory, "harbour, 12 MP.jpg"), quality=88)
    with open(os.path.join(directory, "notes.png"), "w") as f:
        f.write("This is not an image, whatever its name says.\n")
    many = os.path.join(directory, "many")
    os.mkdir(many)
    for i in range(20):
        Image.new("RGB", (48, 36), ((i * 37) % 256, (i * 91) % 256, 160)).save(
            os.path.join(many, "tile-%02d.png" % i))


def ensure_playwright():
    if os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        return True
    print("run_with_stack: installing playwright-core (npm ci)", flush=True)
    try:
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE,
                              timeout=NPM_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        print("run_with_stack: npm ci failed: %s" % e)
        return False
    return proc.returncode == 0


def main(argv):
    update_screenshot = "--update-screenshot" in argv
    if not ensure_playwright():
        print("0 passed, 1 failed")
        return 1

    work = tempfile.mkdtemp(prefix="microgo-browser-")
    fixtures = os.path.join(work, "fixtures")
    shots = os.path.join(work, "screenshots")
    os.mkdir(fixtures)
    os.mkdir(shots)
    make_fixtures(fixtures)

    stack = Stack(kore_instances=2)
    try:
        stack.start()
    except StackError as e:
        print("run_with_stack: the stack did not start: %s" % e, flush=True)
        print("0 passed, 1 failed")
        return 1

    out, rc = "", 1
    try:
        env = dict(os.environ, MICROGO_BASE_URL=stack.nginx_url,
                   MICROGO_FIXTURES=fixtures, MICROGO_SCREENSHOTS=shots)
        try:
            proc = subprocess.run(["node", os.path.join(HERE, "gallery.test.mjs")],
                                  cwd=HERE, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  timeout=TEST_TIMEOUT)
            out, rc = proc.stdout, proc.returncode
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode("utf-8", "replace") if isinstance(
                e.stdout, bytes) else (e.stdout or "")
            out += "\nrun_with_stack: the browser test took over %d s\n" % TEST_TIMEOUT
        problems = stack.kore_problems()
        if rc != 0 or problems:
            stack.keep_run_dir = True
    finally:
        stack.stop()

    passed, failed = finish(stack, out, rc, problems, "gallery.test.mjs", "test")

    desktop = os.path.join(shots, "desktop-1280x800.png")
    if update_screenshot and failed == 0 and os.path.exists(desktop):
        shutil.copyfile(desktop, os.path.join(ROOT, "docs", "screenshot.png"))
        print("run_with_stack: docs/screenshot.png updated")
    shutil.rmtree(fixtures, ignore_errors=True)
    print("run_with_stack: screenshots in %s" % shots)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
