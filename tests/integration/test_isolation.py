"""Slow work never blocks a worker's event loop.

A Kore instance with a single worker runs here, so every request below
lands on the same event loop as the slow ones. If argon2id or libvips ran
on that loop, /healthz would wait behind them; with Kore tasks it answers
at once while they run.
"""

import base64
import io
import os
import signal
import statistics
import threading
import time

import pytest
import requests
from PIL import Image

from stack import Stack


@pytest.fixture(scope="module")
def single():
    with Stack(kore_instances=1, kore_workers=1, login_rate="1000r/s") as s:
        yield s


def basic(user, password):
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()


def timed_get(url, out, stop):
    """GETs url back to back until stop is set; appends latencies (s)."""
    with requests.Session() as session:
        for _ in range(10000):
            if stop.is_set():
                break
            t = time.monotonic()
            r = session.get(url, timeout=10)
            out.append((time.monotonic() - t, r.status_code))


def run_alongside(slow, url):
    """Runs slow() while timing GETs of url; returns (slow's seconds,
    latencies of the GETs completed meanwhile)."""
    lat, stop = [], threading.Event()
    probe = threading.Thread(target=timed_get, args=(url, lat, stop))
    probe.start()
    time.sleep(0.2)
    lat.clear()
    start = time.monotonic()
    slow()
    took = time.monotonic() - start
    stop.set()
    probe.join(timeout=30)
    assert all(code == 200 for _, code in lat)
    return took, [l for l, _ in lat]


def test_login_does_not_hold_up_the_worker(single):
    url = single.kore_urls[0]

    def logins():
        threads = [threading.Thread(target=requests.post, args=(
            url + "/login",), kwargs={"headers": {
                "Authorization": basic("Rex", "Rex siu super")},
                "timeout": 30}) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    took, lat = run_alongside(logins, url + "/healthz")
    # Eight argon2id verifications on two task threads take a while; the
    # event loop kept answering throughout.
    assert len(lat) >= 5, (took, lat)
    assert statistics.median(lat) < took / 4, (took, lat)


def test_logins_do_not_queue_downloads(single):
    """argon2id has a lane of its own: with sixteen logins queued on the
    worker's login thread, a download still finds a free quick thread."""
    url = single.kore_urls[0]
    auth = {"Authorization": basic("Rex", "Rex siu super")}
    token = requests.post(url + "/login", headers=auth,
                          timeout=30).json()["token"]
    bearer = {"Authorization": "Bearer " + token}
    fs_id = requests.post(url + "/upload", headers=bearer, files={
        "data": ("small.png", _png(), "image/png")},
        timeout=60).json()["fs_id"]

    lat, stop = [], threading.Event()

    def downloads():
        with requests.Session() as session:
            for _ in range(10000):
                if stop.is_set():
                    break
                t = time.monotonic()
                r = session.post(url + "/download", headers=bearer,
                                 json={"fs_id": fs_id}, timeout=30)
                lat.append(time.monotonic() - t)
                assert r.status_code == 200

    def flood():
        for _ in range(3):
            assert requests.post(url + "/login", headers=auth,
                                 timeout=60).status_code == 200

    probe = threading.Thread(target=downloads)
    probe.start()
    start = time.monotonic()
    threads = [threading.Thread(target=flood) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    stop.set()
    probe.join(timeout=30)
    # 48 logins one at a time: long enough to queue anything behind them.
    assert took > 0.5, took
    assert len(lat) >= 10, (took, lat)
    assert statistics.median(lat) < 0.1, (took, statistics.median(lat))


def _png():
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_compression_does_not_hold_up_the_worker(single):
    url = single.kore_urls[0]
    token = requests.post(url + "/login", headers={
        "Authorization": basic("Rex", "Rex siu super")}).json()["token"]

    # 20 megapixels of noise: seconds of WEBP encoding.
    img = Image.effect_noise((5472, 3648), 60).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    data = buf.getvalue()

    def upload():
        r = requests.post(url + "/upload", headers={
            "Authorization": "Bearer " + token},
            files={"data": ("big.jpg", data, "image/jpeg")}, timeout=120)
        assert r.status_code == 201, r.text

    took, lat = run_alongside(upload, url + "/healthz")
    assert took > 0.5, "the upload was too quick to tell anything"
    assert len(lat) >= 10, (took, lat)
    assert statistics.median(lat) < 0.05, lat
    assert max(lat) < took / 2, (took, max(lat))

    # A login on the same worker during another upload is served too.
    done = []
    t = threading.Thread(target=lambda: done.append(upload()))
    t.start()
    time.sleep(0.3)
    start = time.monotonic()
    r = requests.post(url + "/login", headers={
        "Authorization": basic("Rex", "Rex siu super")}, timeout=30)
    login_took = time.monotonic() - start
    t.join(timeout=120)
    assert r.status_code == 200
    assert login_took < 2, login_took


def noisy_jpeg(size):
    img = Image.effect_noise(size, 60).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def count_lines(path, needle):
    with open(path) as f:
        return sum(1 for line in f if needle in line)


def test_crash_between_original_and_copy_lists_nothing(single):
    """The worker is frozen right after the original's fs.files document
    is written (the copy not yet complete) and killed. The client gets no
    201, and the listing shows nothing of that upload: both files stay
    marked incomplete. If the upload finished before the freeze took hold
    (a lost race, told by the log), the scenario runs again."""
    url = single.kore_urls[0]
    commands = os.path.join(single.run_dir, "mongo", "commands.log")
    token = requests.post(url + "/login", headers={
        "Authorization": basic("Rex", "Rex siu super")}).json()["token"]
    auth = {"Authorization": "Bearer " + token}
    data = noisy_jpeg((4000, 3000))

    for attempt in range(3):
        before = requests.get(url + "/img_collection?limit=1000",
                              headers=auth).json()
        files_before = count_lines(commands, "cmd=insert coll=fs.files")
        marks_before = count_lines(commands, "cmd=update coll=fs.files")
        worker = single.kore_pids(0)["workers"][0]
        result = {}

        def upload():
            try:
                result["r"] = requests.post(url + "/upload", headers=auth,
                                            files={"data": ("big.jpg", data)},
                                            timeout=60)
            except requests.RequestException as exc:
                result["error"] = exc

        t = threading.Thread(target=upload)
        t.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and count_lines(
                commands, "cmd=insert coll=fs.files") == files_before:
            time.sleep(0.001)
        os.kill(worker, signal.SIGSTOP)
        lost_race = count_lines(commands, "cmd=update coll=fs.files") > \
            marks_before
        os.kill(worker, signal.SIGKILL)
        t.join(timeout=60)

        wait_healthy(url)
        after = requests.get(url + "/img_collection?limit=1000",
                             headers=auth).json()
        if lost_race:
            continue
        assert "r" not in result or result["r"].status_code != 201
        assert after == before
        return
    pytest.fail("the upload always finished before the worker froze")


def wait_healthy(url, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("Kore did not come back")


def _threads(pid):
    """{tid: (nice, "Cpus_allowed_list")} of every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        with open(base + "stat") as f:
            nice = int(f.read().rsplit(")", 1)[1].split()[16])
        with open(base + "status") as f:
            cpus = [l.split(":", 1)[1].strip() for l in f if l.startswith("Cpus_allowed_list:")]
        out[int(tid)] = (nice, cpus[0])
    return out


def test_job_threads_leave_the_workers_core(stack):
    """Kore pins each worker to one core and its threads inherit the pin:
    the image and login threads (nice 10 and 5) must take it off, or four
    uploads landing on one worker share one core while the other idles."""
    with open("/proc/%d/status" % stack.kore_pids(0)["parent"]) as f:
        every = [l.split(":", 1)[1].strip() for l in f if l.startswith("Cpus_allowed_list:")][0]
    workers = stack.kore_pids(0)["workers"]
    assert workers
    for pid in workers:
        threads = _threads(pid)
        loop_nice, loop_cpus = threads[pid]
        if (os.cpu_count() or 1) > 1:
            assert "," not in loop_cpus and "-" not in loop_cpus, \
                "worker %d's event loop is not on one core: %s" % (pid, loop_cpus)
        jobs = {tid: t for tid, t in threads.items() if t[0] in (5, 10)}
        assert sorted(n for n, _ in jobs.values()).count(10) >= 2, threads
        assert sorted(n for n, _ in jobs.values()).count(5) >= 1, threads
        for tid, (nice, cpus) in jobs.items():
            assert cpus == every, "worker %d thread %d (nice %d) on %s, not %s" % (
                pid, tid, nice, cpus, every)
