#!/usr/bin/python3
"""codec: the codec table of issue 13 -- which libwebp method (effort) and
preprocessing the WEBP copy is encoded with, from real photos.

For each photo and size, and for each setting (libwebp method 0 to 4,
with and without image.c's "segment smooth" preprocessing, and the
shipped setting with libwebp's threads), microgo's own conversion
(src/modules/image.c through bench/webp_bench.c, libvips as the upload
path calls it) at image.h's quality 15: the encode time (libwebp's
import and encode, median of RUNS), the WEBP's bytes and its PSNR
against the decoded original; and Pillow's quality 15 as the original
app calls it (bench/pillow_webp.py: method left at Pillow's default, 4)
as the reference. The shipped setting (image.h) must stay within 15% of
Pillow's bytes and 0.5 dB of its PSNR on every photo.

    /usr/bin/python3 bench/codec.py     # prints the table (markdown)

bench/run.py calls measure(), markdown() and targets() for
bench/results.md.
"""

import io
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from PIL import Image, ImageChops, ImageStat

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import run  # noqa: E402  (real_photo, build_webp_bench)

RUNS = 3
MAX_BYTES = 1.15        # at most 15% larger than Pillow's
MAX_DB_LOSS = 0.5       # at most 0.5 dB below Pillow's PSNR

# Photographs among Debian's wallpapers (mate-backgrounds,
# plasma-workspace-wallpapers): many of the others are paintings or
# renderings (Elephants, Flow, SafeLanding, Autumn...), which compress
# unlike photos. A lit scene, fine detail, a smooth fog, moss, a macro
# with bokeh; none is larger than 2560 x 1920, so 6 and
# 24 MP are upscaled (smoother than a camera's 24 MP).
PLASMA = "/usr/share/wallpapers/%s/contents/images/2560x1600.jpg"
PHOTOS = {
    "EveningGlow (boats)": PLASMA % "EveningGlow",
    "Path (forest)": PLASMA % "Path",
    "DarkestHour (fog)": PLASMA % "DarkestHour",
    "OneStandsOut (moss)": PLASMA % "OneStandsOut",
    "FallenLeaf (macro)": PLASMA % "FallenLeaf",
}
# Every setting, timed: which photos at how many megapixels (the first
# three at 1 MP; at 6 and 24 MP the ones where method 2 comes furthest
# from Pillow, which the sweep below shows for the others).
GRID = [(1, 3), (6, ["OneStandsOut (moss)"]), (24, ["EveningGlow (boats)"])]
# The shipped setting alone against Pillow, once (bytes and PSNR do not
# vary between runs): every other photo at 24 MP, the size where it is
# furthest from Pillow. The whole measurement takes about 90 s on 2 cores.
SWEEP_MP = 24


def shipped():
    """image.h's settings for the WEBP copy: quality, method,
    preprocessing, thread_level."""
    text = open(os.path.join(os.path.dirname(BENCH), "src", "modules",
                             "image.h")).read()
    return tuple(int(re.search(r"#define\s+IMAGE_WEBP_%s\s+(\d+)" % k,
                               text).group(1))
                 for k in ("QUALITY", "METHOD", "PREPROCESS", "THREADS"))


def settings():
    """(method, preprocessing, thread_level) to measure: every method
    from 0 to 4 with and without the shipped preprocessing, and the
    shipped setting with one more libwebp thread."""
    _, method, pre, threads = shipped()
    out = [(m, p, threads) for m in range(5) for p in sorted({0, pre})]
    if threads == 0:
        out.append((method, pre, 1))
    return out


def label(setting):
    method, pre, threads = setting
    text = "method %d" % method
    if pre:
        text += ", smooth" if pre == 1 else ", preprocessing %d" % pre
    if threads:
        text += ", threads"
    return text


def decoded(data):
    return Image.open(io.BytesIO(data)).convert("RGB")


def psnr(original, data):
    """PSNR in dB of the WEBP data, decoded (by Pillow's libwebp), against
    the original's decoded pixels: RGB, the mean squared error over all
    three 8-bit channels of every pixel alike (no luma weighting, no
    chroma subsampling), 10 log10(255^2 / MSE). Pillow's output is
    measured the same way."""
    diff = ImageChops.difference(original, decoded(data))
    mse = sum(ImageStat.Stat(diff).sum2) / (3.0 * original.width *
                                            original.height)
    return 10 * math.log10(255.0 ** 2 / mse) if mse else float("inf")


def pillow(img, runs):
    """The original app's encode (pillow_webp.py's save call) of the
    decoded image: (median ms of the encode alone, the WEBP)."""
    times = []
    for _ in range(runs):
        out = io.BytesIO()
        start = time.monotonic()
        img.save(out, "WEBP", quality=shipped()[0])
        times.append((time.monotonic() - start) * 1000)
    return statistics.median(times), out.getvalue()


def ours(webp_bench, path, setting, runs, work_dir):
    """microgo's conversion of path at setting: (median encode ms,
    median decode + encode ms, the WEBP)."""
    out = os.path.join(work_dir, "out.webp")
    r = json.loads(subprocess.run(
        [webp_bench, "-m", str(setting[0]), "-p", str(setting[1]),
         "-t", str(setting[2]), "-o", out, path, str(runs)],
        capture_output=True, text=True, check=True).stdout)
    with open(out, "rb") as f:
        return r["encode_ms_median"], r["ms_median"], f.read()


def photo(name, mp, runs, these, webp_bench, work_dir):
    """One image of the data: PHOTOS[name] through run.real_photo (a
    progressive JPEG of about mp megapixels, its aspect kept), Pillow's
    encode of it and ours at each of these settings, runs times each."""
    w, h = Image.open(PHOTOS[name]).size
    width = int(round(math.sqrt(mp * 1e6 * w / h)))
    height = int(round(width * h / w))
    jpeg, _ = run.real_photo(width, height, PHOTOS[name])
    path = os.path.join(work_dir, "photo.jpg")
    with open(path, "wb") as f:
        f.write(jpeg)
    original = decoded(jpeg)
    ms, webp = pillow(original, runs)
    image = {"name": name, "width": width, "height": height,
             "jpeg_bytes": len(jpeg), "runs": runs, "rows": [],
             "pillow": {"setting": None, "ms": ms, "bytes": len(webp),
                        "psnr": psnr(original, webp)}}
    for setting in these:
        ms, total, webp = ours(webp_bench, path, setting, runs, work_dir)
        image["rows"].append({
            "setting": setting, "ms": ms, "total_ms": total,
            "bytes": len(webp), "psnr": psnr(original, webp)})
    print("codec: %s %dx%d done" % (name, width, height), file=sys.stderr,
          flush=True)
    return image


def measure(work_dir, runs=RUNS):
    """The table's data: {"shipped": setting, "runs", "images": [...],
    "sweep": [...]}, an image {"name", "width", "height", "jpeg_bytes",
    "runs", "pillow": row, "rows": [row...]}, a row {"setting", "ms",
    "total_ms", "bytes", "psnr"}: "images" with every setting (GRID),
    "sweep" with the shipped one alone (SWEEP_MP)."""
    webp_bench = run.build_webp_bench()
    missing = [p for p in PHOTOS.values() if not os.path.exists(p)]
    if missing:
        raise RuntimeError("no %s: make deps-bench installs it" % missing[0])
    ship = tuple(shipped()[1:])
    data = {"shipped": ship, "runs": runs, "images": [], "sweep": []}
    for mp, names in GRID:
        if isinstance(names, int):
            names = list(PHOTOS)[:names]
        data["images"] += [photo(n, mp, runs, settings(), webp_bench,
                                 work_dir) for n in names]
    swept = [i["name"] for i in data["images"] if
             i["width"] * i["height"] > (SWEEP_MP - 1) * 1e6]
    data["sweep"] = [photo(n, SWEEP_MP, 1, [ship], webp_bench, work_dir)
                     for n in PHOTOS if n not in swept]
    return data


def within(image, row):
    """(bytes vs Pillow's, dB vs Pillow's, both bounds kept)."""
    ref = image["pillow"]
    more = row["bytes"] / ref["bytes"] - 1
    loss = row["psnr"] - ref["psnr"]
    return more, loss, more <= MAX_BYTES - 1 and loss >= -MAX_DB_LOSS


def worst(data, setting):
    """Over every image measured at setting (the grid's, and the sweep's
    for the shipped one): the largest bytes vs Pillow's, the lowest dB vs
    Pillow's, the images out of bounds, how many images, and the encode
    speed against method 4 without preprocessing (Pillow's setting) on
    the grid as (slowest, fastest) ratios."""
    more, loss, out, speed = [], [], [], []
    for image in data["images"] + data["sweep"]:
        rows = {tuple(r["setting"]): r for r in image["rows"]}
        if setting not in rows:
            continue
        m, l, ok = within(image, rows[setting])
        more.append(m)
        loss.append(l)
        if not ok:
            out.append("%s at %.0f MP (%+.1f%%, %+.2f dB)" % (
                image["name"], image["width"] * image["height"] / 1e6,
                100 * m, l))
        if (4, 0, 0) in rows:
            speed.append(rows[(4, 0, 0)]["ms"] / rows[setting]["ms"])
    return max(more), min(loss), out, len(more), (min(speed), max(speed))


def marked(setting, ship):
    name = label(setting)
    return "**%s (shipped)**" % name if setting == ship else name


def markdown(data):
    """The tables for bench/results.md: one per image of the grid, the
    sweep, a summary of each setting over all of them, and the
    verdict."""
    ship = tuple(data["shipped"])
    quality = shipped()[0]
    lines = [
        "## Codec table: libwebp's method for the WEBP copy (issue 13)", "",
        "bench/codec.py: real photos (Debian's wallpapers, resized and "
        "saved as progressive JPEG by bench/run.py's real_photo; none is "
        "larger than 2560 x 1920, so 6 and 24 MP are upscaled), each "
        "converted by microgo's own code (src/modules/image.c via "
        "bench/webp_bench.c) at quality %d with each libwebp setting, and "
        "by Pillow at quality %d (its default method, 4) as the original "
        "app does. ms: the encode alone (libwebp's RGB import and encode, "
        "no decode), median of %d; total: decode + encode. PSNR: the "
        "decoded WEBP against the decoded JPEG, RGB (MSE over all three "
        "channels). \"smooth\" is libwebp's segment-smooth preprocessing; "
        "\"threads\" its thread_level 1. Shipped (image.h): **%s**; bounds: "
        "at most +%.0f%% bytes and -%.1f dB against Pillow on every photo."
        % (quality, quality, data["runs"], label(ship),
           100 * (MAX_BYTES - 1), MAX_DB_LOSS), ""]
    for image in data["images"]:
        ref = image["pillow"]
        m4 = next((r for r in image["rows"]
                   if tuple(r["setting"]) == (4, 0, 0)), None)
        lines += ["### %s, %d x %d (%.1f MP, JPEG %.0f KB)" % (
            image["name"], image["width"], image["height"],
            image["width"] * image["height"] / 1e6,
            image["jpeg_bytes"] / 1e3), "",
            "| setting | ms | total ms | vs method 4 | bytes | vs Pillow | "
            "PSNR dB | vs Pillow | bounds |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
            "| Pillow q%d (method 4) | %.0f | | | %d | | %.2f | | |" % (
                quality, ref["ms"], ref["bytes"], ref["psnr"])]
        for row in image["rows"]:
            more, loss, ok = within(image, row)
            lines.append("| %s | %.0f | %.0f | %.1fx | %d | %+.1f%% | %.2f | "
                         "%+.2f | %s |" % (
                             marked(tuple(row["setting"]), ship), row["ms"],
                             row["total_ms"], m4["ms"] / row["ms"],
                             row["bytes"], 100 * more, row["psnr"], loss,
                             "ok" if ok else "**out**"))
        lines.append("")

    lines += ["### The shipped setting on the other photos, %d MP" % SWEEP_MP,
              "", "One conversion each (bytes and PSNR do not vary between "
              "runs).", "",
              "| photo | size | Pillow bytes | shipped bytes | vs Pillow | "
              "Pillow PSNR | shipped PSNR | vs Pillow | bounds |",
              "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for image in data["sweep"]:
        row = image["rows"][0]
        more, loss, ok = within(image, row)
        lines.append("| %s | %d x %d | %d | %d | %+.1f%% | %.2f | %.2f | "
                     "%+.2f | %s |" % (
                         image["name"], image["width"], image["height"],
                         image["pillow"]["bytes"], row["bytes"], 100 * more,
                         image["pillow"]["psnr"], row["psnr"], loss,
                         "ok" if ok else "**out**"))

    lines += ["", "### Each setting on every photo", "",
              "| setting | photos | largest vs Pillow | lowest dB vs Pillow | "
              "encode speed vs method 4 | bounds on every photo |",
              "|---|---:|---:|---:|---:|---|"]
    fits = []
    for setting in settings():
        more, loss, out, n, (slow, fast) = worst(data, setting)
        lines.append("| %s | %d | %+.1f%% | %+.2f | %.1f-%.1fx | %s |" % (
            marked(setting, ship), n, 100 * more, loss, slow, fast,
            "**not met** (%d)" % len(out) if out else "met"))
        if not out and setting[2] == 0:
            fits.append((setting, slow, fast))
    same = sum(1 for i in data["images"] for r in i["rows"]
               if tuple(r["setting"]) == (4, 0, 0) and
               r["bytes"] == i["pillow"]["bytes"])
    lines += ["", "Method 4 without preprocessing is Pillow's setting: its "
              "WEBP is Pillow's to the byte on %d of %d photos, so both "
              "encode the same decoded pixels." % (same,
                                                   len(data["images"]))]
    more, loss, out, n, (slow, fast) = worst(data, ship)
    verdict = ("Verdict: the shipped %s %s the bounds on %d of %d photos "
               "(at most %+.1f%% bytes, at worst %+.2f dB against Pillow; "
               "its encode %.1f-%.1fx as fast as method 4)" % (
                   label(ship), "misses" if out else "meets",
                   len(out) if out else n, n, 100 * more, loss, slow, fast))
    if out:
        verdict += ": " + "; ".join(out)
    if fits and fits != [(ship, slow, fast)]:
        verdict += ("; within both on all %d photos of the full table: %s, "
                    "encoding at %.1f-%.1fx method 4's speed" % (
                        len(data["images"]),
                        ", ".join(label(f[0]) for f in fits),
                        min(f[1] for f in fits), max(f[2] for f in fits)))
    lines += ["", verdict + "."]
    return lines


def targets(data):
    """bench/run.py's rows: (target, measured, met)."""
    ship = tuple(data["shipped"])
    more, loss, _, n, _ = worst(data, ship)
    return [
        ("WEBP q15 shipped setting: <= 15% larger than Pillow q15 on every "
         "photo", "%s: at most %+.1f%% on %d photos" % (
             label(ship), 100 * more, n), more <= MAX_BYTES - 1),
        ("WEBP q15 shipped setting: PSNR no more than 0.5 dB below "
         "Pillow's on every photo", "%s: at worst %+.2f dB on %d photos" % (
             label(ship), loss, n), loss >= -MAX_DB_LOSS),
    ]


def main():
    with tempfile.TemporaryDirectory(prefix="microgo-codec-") as work:
        start = time.monotonic()
        data = measure(work)
        took = time.monotonic() - start
    print("\n".join(markdown(data)))
    print("")
    for name, measured, ok in targets(data):
        print("| %s | %s | %s |" % (name, measured, run.verdict(ok)))
    print("\n(measured in %.0f s)" % took)
    return 0 if all(ok for _, _, ok in targets(data)) else 1


if __name__ == "__main__":
    sys.exit(main())
