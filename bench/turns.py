#!/usr/bin/python3
"""The profile behind make bench's stall figure (issue 13: GET /me through
nginx while four clients upload 12 MP noise JPEGs through nginx).

A request waits when the event loop that should read it is busy with
something else. This measures those loops directly: perf's system-call
tracepoints on every Kore worker and nginx worker, while the bench's
scenario runs (4 wrk clients uploading a 12 MP noise JPEG, 10.8 MB,
without pause; 4 wrk connections asking GET /me; both through nginx).
One turn of a loop is the time from an epoll_wait's return to the next
epoll_wait, with the reads (recvfrom) and writes (write, writev,
pwrite64) made in it. Printed per process: the number of turns, their
p99 and longest, and the longest few with their system calls.

A thread that does nothing for a long time but stays in one turn, with
a system call or two, was off the CPU (preempted or stalled by the
machine); a turn with a thousand reads was working. A SCHED_FIFO sleeper
(1 ms sleeps) reports the longest gap it saw, the machine's own
hiccups, and /proc/stat the steal time, for the same seconds.

Then, for as many seconds more, the scheduler's view (perf sched record
on every CPU): for each of those event loops, its longest wait for a
core after a wake-up, and which threads ran on that core meanwhile.
Kore's threads all say "kore": the worker's own (its event loop) is
marked "loop", the others (image, login and database threads) "thread".

perf's own load lengthens the turns it records: read /me's latency from
make bench, which runs without it, and the turns from here.

Needs root and perf (linux-perf, make deps-bench), and the bench's stack
(tools/stack.py: MariaDB, the MongoDB stand-in, nginx, one Kore
instance). `/usr/bin/python3 bench/turns.py [SECONDS]` (default 15).
"""

import base64
import collections
import os
import re
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import run as bench                         # noqa: E402
from stack import Stack, child_pids         # noqa: E402

EVENTS = ["syscalls:sys_enter_epoll_wait", "syscalls:sys_exit_epoll_wait",
          "syscalls:sys_enter_recvfrom", "syscalls:sys_enter_write",
          "syscalls:sys_enter_writev", "syscalls:sys_enter_pwrite64"]
HICCUP = r"""
import sys, time
end = time.monotonic() + float(sys.argv[1]); last = time.monotonic(); worst = 0.0
while last < end:
    time.sleep(0.001)
    now = time.monotonic(); worst = max(worst, now - last); last = now
print("%.1f" % (worst * 1000))
"""


def turns(script_text):
    """{(comm, tid): [(ms, {syscall: count}), ...]} from perf script."""
    out = collections.defaultdict(list)
    start, calls = {}, {}
    pat = re.compile(r"\s*(\S+)\s+(\d+)\s+([\d.]+):\s+syscalls:sys_(enter|exit)_(\w+)")
    for line in script_text.splitlines():
        m = pat.match(line)
        if not m:
            continue
        comm, tid, t, kind, call = m.group(1), int(m.group(2)), float(m.group(3)), \
            m.group(4), m.group(5)
        if call == "epoll_wait" and kind == "exit":
            start[tid], calls[tid] = t, collections.Counter()
        elif call == "epoll_wait":
            if tid in start:
                out[(comm, tid)].append(((t - start.pop(tid)) * 1000, dict(calls[tid])))
        elif tid in calls:
            calls[tid][call] += 1
    return out


def waits(timehist, loops):
    """From perf sched timehist --state: for each tid in loops, its
    longest wake-up delay (ms) and {task: ms run} on that CPU meanwhile."""
    pat = re.compile(r"\s*([\d.]+)\s+\[(\d+)\]\s+(\S+)\[(\d+)(?:/(\d+))?\]\s+"
                     r"([\d.]+)\s+([\d.]+)\s+([\d.]+)")
    rows = []
    for line in timehist.splitlines():
        m = pat.match(line)
        if m:
            tid = int(m.group(4))
            pid = int(m.group(5) or tid)
            name = m.group(3)
            if name == "kore":
                name = "kore %s" % ("loop" if tid == pid else "thread")
            rows.append((float(m.group(1)), int(m.group(2)), name, tid,
                         float(m.group(7)), float(m.group(8))))
    out = {}
    for t, cpu, name, tid, delay, _ in rows:
        if tid in loops and delay > out.get(tid, (0, None, None))[0]:
            out[tid] = (delay, t, cpu)
    result = {}
    for tid, (delay, t, cpu) in out.items():
        ran = collections.Counter()
        for t2, cpu2, name2, tid2, _, run in rows:
            if cpu2 == cpu and t - delay / 1000 < t2 < t and tid2 != tid:
                ran[name2] += run
        result[tid] = (delay, ran)
    return result


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    if os.geteuid() != 0 or subprocess.run(["perf", "--version"],
                                           capture_output=True).returncode != 0:
        sys.exit("turns.py: needs root and perf (make deps-bench)")
    work = tempfile.mkdtemp(prefix="microgo-turns-")
    body_file = os.path.join(work, "noise12.multipart")
    body, ctype = bench.multipart(bench.noise_jpeg(4000, 3000), "n.jpg")
    with open(body_file, "wb") as f:
        f.write(body)
    stack = Stack(kore_instances=1, login_rate="1000000r/s",
                  settings={"RUN_MODE": "development", "MAX_USER_UPLOADS": "16"})
    stack.start()
    try:
        def token(user, password):
            auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
            r = requests.post(stack.kore_urls[0] + "/login", timeout=30,
                              headers={"Authorization": "Basic " + auth})
            r.raise_for_status()
            return r.json()["token"]
        rex, map_ = token("Rex", "Rex siu super"), token("Mập", "Mập khùng")
        nginx = stack.nginx_url
        uploads = subprocess.Popen(
            ["wrk", "-t1", "-c4", "-d%ds" % (2 * seconds + 8), "--timeout", "60s",
             "-s", os.path.join(ROOT, "bench", "report.lua"), nginx + "/upload"],
            env=dict(os.environ, BENCH_METHOD="POST", BENCH_BODY_FILE=body_file,
                     BENCH_HEADERS="Authorization: Bearer %s|Content-Type: %s"
                     % (map_, ctype)), stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        kore = [str(p) for p in bench.worker_pids(stack)]
        ngx = [str(p) for p in child_pids(stack.nginx_pid())]
        data = os.path.join(work, "perf.data")
        perf = subprocess.Popen(["perf", "record", "-q", "-e", ",".join(EVENTS),
                                 "-p", ",".join(kore + ngx), "-o", data, "--",
                                 "sleep", str(seconds)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        hiccup = subprocess.Popen(["chrt", "-f", "50", sys.executable, "-c", HICCUP,
                                   str(seconds)], stdout=subprocess.PIPE, text=True)
        stat0 = open("/proc/stat").readline().split()
        me = subprocess.run(["wrk", "--latency", "-t1", "-c4", "-d%ds" % (seconds - 1),
                             "-H", "Authorization: Bearer " + rex, nginx + "/me"],
                            capture_output=True, text=True, timeout=seconds + 60)
        stat1 = open("/proc/stat").readline().split()
        worst_gap = hiccup.communicate(timeout=60)[0].strip()
        _, err = perf.communicate(timeout=seconds + 120)
        sched = os.path.join(work, "sched.data")
        subprocess.run(["perf", "sched", "record", "-o", sched, "--", "sleep", str(seconds)],
                       capture_output=True, timeout=seconds + 120)
        uploads.communicate(timeout=2 * seconds + 120)
        script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,time,event"],
                                capture_output=True, text=True, timeout=600).stdout
        timehist = subprocess.run(["perf", "sched", "timehist", "-i", sched, "--state"],
                                  capture_output=True, text=True, timeout=600).stdout
    finally:
        stack.stop()

    total = sum(map(int, stat1[1:])) - sum(map(int, stat0[1:]))
    print("# Event-loop turns while 4 clients upload 12 MP noise through nginx "
          "(%d s, perf attached)\n" % seconds)
    latency = [line.strip() for line in me.stdout.splitlines()
               if re.match(r"(Latency|99%)\s+[0-9]", line.strip())]
    print("- GET /me through nginx meanwhile (wrk, with perf's load): %s" % "; ".join(latency))
    print("- the machine: longest gap of a SCHED_FIFO 1 ms sleeper %s ms; steal %s of %d "
          "CPU ticks" % (worst_gap, int(stat1[8]) - int(stat0[8]), total))
    if err.strip():
        print("- perf: %s" % err.strip().splitlines()[-1])
    print("\n| process | turns | p99 ms | longest ms | the longest turns: ms (reads, writes) |")
    print("|---|---|---|---|---|")
    for (comm, tid), ts in sorted(turns(script).items()):
        ms = sorted(t for t, _ in ts)
        top = sorted(ts, key=lambda x: -x[0])[:3]
        print("| %s %d | %d | %.2f | %.1f | %s |" % (
            comm, tid, len(ms), ms[int(len(ms) * 0.99)], ms[-1], ", ".join(
                "%.1f (%d, %d)" % (t, c.get("recvfrom", 0),
                                   c.get("write", 0) + c.get("writev", 0) + c.get("pwrite64", 0))
                for t, c in top)))


    print("\n# The scheduler, %d s more of the same load (perf sched record)\n" % seconds)
    print("| event loop | longest wait for a core after a wake-up | on that core meanwhile "
          "(ms run) |")
    print("|---|---|---|")
    names = dict([(int(p), "kore loop") for p in kore] + [(int(p), "nginx") for p in ngx])
    for tid, (delay, ran) in sorted(waits(timehist, set(names)).items()):
        print("| %s %d | %.1f ms | %s |" % (names[tid], tid, delay, ", ".join(
            "%s %.1f" % (n, ms) for n, ms in ran.most_common(4))))


if __name__ == "__main__":
    main()
