"""Headers every answer carries (docs/API.md, "Headers"): nosniff on all
of them, and no-store on every JSON answer, the tokens of /login first.
Asked of one Kore instance directly and through nginx."""

import pytest
import requests

from conftest import basic_auth


def answers(base, token, fs_id):
    bearer = {"Authorization": "Bearer " + token}
    yield "login 200", requests.post(base + "/login", headers=basic_auth(
        "Rex", "Rex siu super"), timeout=30)
    yield "login 401", requests.post(base + "/login", headers=basic_auth(
        "Rex", "wrong"), timeout=30)
    yield "me", requests.get(base + "/me", headers=bearer, timeout=30)
    yield "no token", requests.get(base + "/me", timeout=30)
    yield "404", requests.get(base + "/nowhere", timeout=30)
    yield "405", requests.put(base + "/healthz", timeout=30)
    yield "healthz", requests.get(base + "/healthz", timeout=30)
    yield "list", requests.get(base + "/img_collection", headers=bearer,
                               timeout=30)
    yield "download", requests.post(base + "/download", headers=bearer,
                                    json={"fs_id": fs_id}, timeout=30)
    yield "openapi", requests.get(base + "/openapi.yaml", headers=bearer,
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


@pytest.mark.parametrize("via", ["kore", "nginx"])
def test_nosniff_everywhere_and_no_store_on_json(stack, uploaded, via):
    base = stack.kore_urls[0] if via == "kore" else stack.nginx_url
    token, fs_id = uploaded
    for name, r in answers(base, token, fs_id):
        nosniff = [v for k, v in r.raw.headers.items()
                   if k.lower() == "x-content-type-options"]
        assert nosniff == ["nosniff"], (name, r.status_code, nosniff)
        if r.headers.get("Content-Type") == "application/json":
            assert r.headers.get("Cache-Control") == "no-store", \
                (name, r.status_code, r.headers)
