"""Operating microgo: each instance's Prometheus metrics, scraped by a real
Prometheus, and the app log reopened on SIGHUP for logrotate.

A stack of its own (2 Kore instances of 2 workers each), so stopping
MariaDB or moving the log does not disturb the session's stack:

- GET /metrics on an instance is Prometheus' text format (parsed with
  prometheus_client's parser, not by hand), and its counters are the sum
  over the instance's workers: N requests add exactly N;
- an upload adds one stored upload and its bytes; a refused one its
  reason; a database that stops answering shows as dependency_up 0, and 1
  again once it is back;
- nginx does not pass /metrics on (404 JSON);
- Debian's prometheus, scraping both instances every second, agrees with
  what the instances say;
- `mv app_logs.log app_logs.log.1; kill -HUP <kore parent>`: every worker
  reopens the file by its name, keeps serving on the same pid, and no line
  is lost or written twice across the two files while a load runs.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import basic_auth
from imagegen import image_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from stack import Stack  # noqa: E402


@pytest.fixture(scope="module")
def ops():
    s = Stack(kore_instances=2, kore_workers=2, settings={"DEP_TIMEOUT": "2"})
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def token(ops):
    r = requests.post(ops.kore_urls[0] + "/login", timeout=10,
                      headers=basic_auth("Rex", "Rex siu super"))
    assert r.status_code == 200, r.text
    return r.json()["token"]


def bearer(token):
    return {"Authorization": "Bearer " + token}


def scrape(url):
    """{(name, frozenset(labels)): value} of one instance's /metrics."""
    r = requests.get(url + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" %
                                 (timeout, what))
        time.sleep(0.2)


# ---- /metrics on an instance

def test_metrics_count_every_request_of_every_worker(ops, token):
    url = ops.kore_urls[1]
    key = dict(route="/me", method="GET", status="200")
    before, other = scrape(url), scrape(ops.kore_urls[0])
    n = 40      # on fresh connections, so both workers take some
    for _ in range(n):
        r = requests.get(url + "/me", headers=dict(bearer(token),
                         Connection="close"), timeout=10)
        assert r.status_code == 200
    after = scrape(url)
    assert value(after, "microgo_http_requests_total", **key) - \
        value(before, "microgo_http_requests_total", **key) == n
    assert value(after, "microgo_http_request_duration_seconds_count",
                 route="/me") - value(
        before, "microgo_http_request_duration_seconds_count",
        route="/me") == n
    assert value(after, "microgo_workers") == 2
    assert value(after, "microgo_process_resident_memory_bytes") > 1 << 20
    # The other instance counts its own requests only.
    assert value(scrape(ops.kore_urls[0]), "microgo_http_requests_total",
                 **key) == value(other, "microgo_http_requests_total", **key)


def test_metrics_count_uploads_and_refusals(ops, token):
    url = ops.kore_urls[0]
    before = scrape(url)
    img = image_bytes("JPEG", size=(320, 240), noise=True)
    r = requests.post(url + "/upload", headers=bearer(token), timeout=30,
                      files={"data": ("m.jpg", img, "image/jpeg")})
    assert r.status_code == 201, r.text
    listing = requests.get(url + "/img_collection", headers=bearer(token),
                           timeout=10).json()
    stored = sum(f["length"] for f in listing
                 if r.json()["fs_id"] in (f["id"], f["original"]))
    r = requests.post(url + "/upload", headers=bearer(token), timeout=30,
                      files={"data": ("m.txt", b"not an image", "text/plain")})
    assert r.status_code == 415
    after = scrape(url)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)
    assert delta("microgo_uploads_total") == 1
    # The original, its copy and its preview (not listed: no record).
    assert delta("microgo_upload_stored_bytes_total") > stored
    assert delta("microgo_uploads_refused_total", reason="not_image") == 1
    assert delta("microgo_image_encode_seconds_count") == 1
    assert delta("microgo_http_requests_total", route="/upload",
                 method="POST", status="415") == 1


def test_a_stopped_database_shows_and_recovers(ops):
    url = ops.kore_urls[0]
    assert value(scrape(url), "microgo_dependency_up",
                 dependency="mariadb") == 1
    ops.stop_mariadb()
    try:
        r = requests.post(url + "/login", timeout=30,
                          headers=basic_auth("Rex", "Rex siu super"))
        assert r.status_code == 503
        assert value(scrape(url), "microgo_dependency_up",
                     dependency="mariadb") == 0
    finally:
        ops.start_mariadb()

    def back():
        r = requests.post(url + "/login", timeout=30,
                          headers=basic_auth("Rex", "Rex siu super"))
        return r.status_code == 200
    wait_for(back, 30, "logins to work again")
    assert value(scrape(url), "microgo_dependency_up",
                 dependency="mariadb") == 1


def test_nginx_does_not_pass_metrics_on(ops):
    for method in ("GET", "HEAD", "POST"):
        r = requests.request(method, ops.nginx_url + "/metrics", timeout=10,
                             headers={"Content-Length": "0"})
        assert r.status_code == 404
        if method != "HEAD":
            assert r.json() == {"message": "no such route"}
    assert "microgo_" not in requests.get(ops.nginx_url + "/metrics",
                                          timeout=10).text


# ---- a real Prometheus

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prometheus(ops):
    if shutil.which("prometheus") is None:
        pytest.fail("Debian's prometheus is not installed (make deps-test)")
    work = tempfile.mkdtemp(prefix="microgo-prom-")
    port = free_port()
    targets = ", ".join("'%s'" % u.split("//", 1)[1] for u in ops.kore_urls)
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: microgo\n"
                "    static_configs:\n      - targets: [%s]\n" % targets)
    out = open(os.path.join(work, "prometheus.out"), "w")
    proc = subprocess.Popen([
        "prometheus", "--config.file=" + os.path.join(work, "prometheus.yml"),
        "--storage.tsdb.path=" + os.path.join(work, "data"),
        "--web.listen-address=127.0.0.1:%d" % port], stdout=out,
        stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % port
    try:
        def ready():
            try:
                return requests.get(base + "/-/ready", timeout=2).ok
            except requests.ConnectionError:
                return proc.poll() is not None and pytest.fail(
                    open(os.path.join(work, "prometheus.out")).read())
        wait_for(ready, 30, "prometheus to start")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        out.close()
        shutil.rmtree(work, ignore_errors=True)


def query(base, promql):
    r = requests.get(base + "/api/v1/query", params={"query": promql},
                     timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["data"]["result"]


def test_prometheus_scrapes_every_instance(ops, token, prometheus):
    def both_up():
        res = query(prometheus, 'up{job="microgo"}')
        return len(res) == 2 and all(x["value"][1] == "1" for x in res)
    wait_for(both_up, 30, "both instances up in Prometheus")

    for _ in range(25):
        r = requests.get(ops.nginx_url + "/me", headers=bearer(token),
                         timeout=10)
        assert r.status_code == 200
    key = dict(route="/me", method="GET", status="200")
    truth = sum(value(scrape(u), "microgo_http_requests_total", **key)
                for u in ops.kore_urls)
    promql = 'sum(microgo_http_requests_total{route="/me",method="GET",' \
             'status="200"})'

    def agrees():
        res = query(prometheus, promql)
        return res and float(res[0]["value"][1]) == truth
    wait_for(agrees, 20, "Prometheus to see %d requests to /me" % truth)
    # Both instances took some of nginx's requests.
    per = query(prometheus, 'microgo_http_requests_total{route="/me",'
                'method="GET",status="200"}')
    assert len(per) == 2 and all(float(x["value"][1]) > 0 for x in per)

    # The request rate over the last 30 s, as a dashboard asks for it:
    # more than nothing, and no more than what was sent in that window
    # (the 25 above, the scrapes themselves and this test's own).
    res = query(prometheus, "sum(rate(microgo_http_requests_total[30s]))")
    assert res and 0 < float(res[0]["value"][1]) < 100, res

    # Uploads: two sent through nginx, two more counted.
    uploads = 'sum(microgo_uploads_total)'
    before = float(query(prometheus, uploads)[0]["value"][1])
    for i in range(2):
        r = requests.post(ops.nginx_url + "/upload", headers=bearer(token),
                          files={"data": ("p%d.png" % i, image_bytes("PNG"))},
                          timeout=30)
        assert r.status_code == 201, r.text
    truth = sum(value(scrape(u), "microgo_uploads_total")
                for u in ops.kore_urls)
    assert truth >= before + 2
    wait_for(lambda: float(query(prometheus, uploads)[0]["value"][1]) ==
             truth, 20, "Prometheus to count %d uploads" % truth)


# ---- log rotation

def test_sighup_reopens_the_log_without_losing_a_line(ops, token):
    url = ops.kore_urls[0]
    log = ops.log_path
    pids = ops.kore_pids(0)
    assert len(pids["workers"]) == 2
    rids, stop, errors = [], threading.Event(), []

    def load(n):
        session = requests.Session()
        for i in range(2000):          # bounded; stopped well before
            if stop.is_set():
                return
            rid = "rotate-%d-%d" % (n, i)
            try:
                r = session.get(url + "/me", timeout=10, headers=dict(
                    bearer(token), **{"X-Request-ID": rid}))
            except requests.RequestException as e:
                errors.append(repr(e))
                return
            if r.status_code != 200:
                errors.append(r.status_code)
            rids.append(rid)

    threads = [threading.Thread(target=load, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        os.rename(log, log + ".1")
        os.kill(pids["parent"], signal.SIGHUP)

        def reopened():
            text = open(log).read() if os.path.exists(log) else ""
            return all('pid=%d level=info msg="log opened"' % w in text
                       for w in pids["workers"])
        wait_for(reopened, 15, "both workers to reopen the log")
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert errors == []
    assert len(rids) > 50

    old, new = open(log + ".1").read(), open(log).read()
    for rid in rids:
        tag = "rid=%s " % rid
        counts = (old.count(tag), new.count(tag))
        assert counts in ((1, 0), (0, 1)), (rid, counts)
    assert any("rid=rotate-" in line for line in new.splitlines())
    # Same workers, nothing died, and an upload (job threads, libvips,
    # MongoDB) still works after the reload.
    assert ops.kore_pids(0)["workers"] == pids["workers"]
    assert ops.kore_problems() == []
    r = requests.post(url + "/upload", headers=bearer(token), timeout=30,
                      files={"data": ("after.jpg", image_bytes("JPEG"),
                                      "image/jpeg")})
    assert r.status_code == 201, r.text
