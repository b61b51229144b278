#!/usr/bin/python3
"""pillow_webp: the original app's codec path (Pillow, WEBP quality 15) on
one image: best and median of N runs, the process's peak RSS and its RSS
before the first conversion (Pillow and its codecs loaded, the file
read), in the same JSON shape as webp_bench.c.

    pillow_webp.py FILE RUNS
"""

import io
import json
import sys
import time

from PIL import Image


def peak_rss_kb():
    """VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent
    across fork and exec, so it would measure the bench's own process."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def main(path, runs):
    data = open(path, "rb").read()
    warm = io.BytesIO()
    Image.new("RGB", (8, 8)).save(warm, "WEBP", quality=15)
    Image.open(io.BytesIO(warm.getvalue())).load()
    base = peak_rss_kb()
    times = []
    for _ in range(runs):
        start = time.monotonic()
        img = Image.open(io.BytesIO(data))
        out = io.BytesIO()
        img.save(out, "WEBP", quality=15)
        times.append((time.monotonic() - start) * 1000)
    times.sort()
    print(json.dumps({
        "ms_best": round(times[0], 1),
        "ms_median": round(times[len(times) // 2], 1),
        "rss_kb": peak_rss_kb(),
        "base_kb": base,
        "out_bytes": len(out.getvalue())}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
