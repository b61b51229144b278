"""Headers every answer carries (docs/API.md, "Headers"): through nginx,
nosniff on all of them, Referrer-Policy and one X-Request-ID, on the
app's answers and on the errors nginx makes itself, and
Strict-Transport-Security on TLS answers only; Cache-Control: no-store on
every answer of /login and of the listing, and on nginx's own errors.
Straight from Kore, nosniff on what is a file (a download, the spec),
where it matters when no nginx is in front."""

import pytest
import requests

from conftest import basic_auth


def answers(base, token, fs_id, http=requests):
    bearer = {"Authorization": "Bearer " + token}
    yield "login 200", http.post(base + "/login", headers=basic_auth(
        "Rex", "Rex siu super"), timeout=30)
    yield "login 401", http.post(base + "/login", headers=basic_auth(
        "Rex", "wrong"), timeout=30)
    yield "me", http.get(base + "/me", headers=bearer, timeout=30)
    yield "no token", http.get(base + "/me", timeout=30)
    yield "404", http.get(base + "/nowhere", timeout=30)
    yield "405", http.put(base + "/healthz", timeout=30)
    yield "healthz", http.get(base + "/healthz", timeout=30)
    yield "list", http.get(base + "/img_collection", headers=bearer,
                           timeout=30)
    yield "download", http.post(base + "/download", headers=bearer,
                                json={"fs_id": fs_id}, timeout=30)
    yield "openapi", http.get(base + "/openapi.yaml", headers=bearer,
                              timeout=30)


def nginx_errors(base, http=requests):
    """Answers nginx makes itself (docs/API.md, "What nginx answers
    itself"); the upload's 401 is the app's, fetched by nginx."""
    yield "413", http.post(base + "/login", data=b"x" * (65 * 1024),
                           timeout=30)
    yield "405 PROPFIND", http.request("PROPFIND", base + "/me", timeout=30)
    yield "405 TRACE", http.request("TRACE", base + "/me", timeout=30)
    yield "404 PROPFIND", http.request("PROPFIND", base + "/nowhere",
                                       timeout=30)
    yield "404 internal", http.get(base + "/__mg_400", timeout=30)
    yield "414", http.get(base + "/" + "a" * 2000, timeout=30)
    yield "414 line", http.get(base + "/" + "a" * 9000, timeout=30)
    yield "400", http.get(base + "/me", headers={"X-Big": "a" * 9000},
                          timeout=30)
    yield "401 upload", http.post(base + "/upload", data=b"x" * 100,
                                  timeout=30)


@pytest.fixture(scope="module")
def uploaded(stack, login):
    from imagegen import image_bytes
    token = login()
    r = requests.post(stack.nginx_url + "/upload", headers={
        "Authorization": "Bearer " + token}, files={
        "data": ("h.png", image_bytes("PNG"))}, timeout=60)
    assert r.status_code == 201
    return token, r.json()["fs_id"]


def values(r, name):
    return [v for k, v in r.raw.headers.items() if k.lower() == name.lower()]


@pytest.mark.parametrize("via", ["kore", "nginx", "nginx-errors"])
def test_nosniff_everywhere_and_no_store_on_json(stack, uploaded, via):
    base = stack.kore_urls[0] if via == "kore" else stack.nginx_url
    token, fs_id = uploaded
    seen = nginx_errors(base) if via == "nginx-errors" else \
        answers(base, token, fs_id)
    for name, r in seen:
        nosniff = values(r, "X-Content-Type-Options")
        if via != "kore" or name in ("download", "openapi"):
            assert nosniff == ["nosniff"], (name, r.status_code, nosniff)
        if name.startswith("login") or name == "list" or \
                via == "nginx-errors":
            assert values(r, "Cache-Control") == ["no-store"], \
                (name, r.status_code, r.headers)
        if via == "kore":
            continue
        assert values(r, "Referrer-Policy") == ["no-referrer"], \
            (name, r.status_code, r.headers)
        assert len(values(r, "X-Request-ID")) == 1, (name, r.headers)
        assert values(r, "Strict-Transport-Security") == [], \
            (name, r.status_code, r.headers)
        if via == "nginx-errors":
            assert r.status_code >= 400, (name, r.status_code)
            assert r.headers.get("Content-Type") == "application/json", \
                (name, r.status_code, r.text[:200])
            assert list(r.json()) == ["message"], (name, r.text)


def test_tls_answers_carry_hsts_once(stack, uploaded):
    """The same answers over TLS: HSTS exactly once on each, nginx's own
    errors included, with nosniff and Referrer-Policy once too."""
    token, fs_id = uploaded
    tls = Trusting(stack.tls_cert)
    seen = list(answers(stack.nginx_tls_url, token, fs_id, tls)) + \
        list(nginx_errors(stack.nginx_tls_url, tls))
    for name, r in seen:
        assert values(r, "Strict-Transport-Security") == [
            "max-age=31536000"], (name, r.status_code, r.headers)
        assert values(r, "X-Content-Type-Options") == ["nosniff"], name
        assert values(r, "Referrer-Policy") == ["no-referrer"], name


class Trusting:
    """requests' functions, trusting one certificate (a Session's verify
    yields to $REQUESTS_CA_BUNDLE; a verify= on each call does not)."""

    def __init__(self, cert):
        self.cert = cert

    def request(self, method, url, **kw):
        return requests.request(method, url, verify=self.cert, **kw)

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def post(self, url, **kw):
        return self.request("POST", url, **kw)

    def put(self, url, **kw):
        return self.request("PUT", url, **kw)

