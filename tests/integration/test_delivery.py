"""Delivery against the real stack (docs/API.md: GET /img_collection/{fs_id},
its preview, POST .../link and GET /shared/...), through nginx.

A file's bytes with its ETag, 304, HEAD, single ranges and 416; the
preview decoded with Pillow and measured; share links that work without a
token, refuse any change to their path, and expire.
"""

import io
import time

import pytest
import requests
from PIL import Image

from imagegen import image_bytes


@pytest.fixture(scope="module")
def users(stack, login):
    return ({"Authorization": "Bearer " + login("Rex", "Rex siu super")},
            {"Authorization": "Bearer " + login("Mập", "Mập khùng")})


@pytest.fixture(scope="module")
def photo(stack, users):
    """An uploaded 1200 x 800 JPEG: (bytes, fs_id, compressed_id)."""
    data = image_bytes("JPEG", size=(1200, 800), noise=True, quality=85)
    r = requests.post(stack.nginx_url + "/upload", headers=users[0],
                      files={"data": ("Mập lake.jpg", data)}, timeout=60)
    assert r.status_code == 201, r.text
    return data, r.json()["fs_id"], r.json()["compressed_id"]


def get(stack, path, headers=None, method="GET"):
    return requests.request(method, stack.nginx_url + path, timeout=30,
                            headers=headers or {})


def test_a_files_bytes_and_headers(stack, users, photo):
    data, fs_id, _ = photo
    r = get(stack, "/img_collection/" + fs_id, users[0])
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.headers["ETag"] == '"%s"' % fs_id
    assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Disposition"].startswith("inline; filename=")
    assert "filename*=UTF-8''M%E1%BA%ADp%20lake.jpg" in \
        r.headers["Content-Disposition"]

    r = get(stack, "/img_collection/%s?download=1" % fs_id, users[0])
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Disposition"].startswith("attachment; ")

    r = get(stack, "/img_collection/" + fs_id, users[0], method="HEAD")
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["Content-Length"]) == len(data)

    r = get(stack, "/img_collection/" + fs_id,
            dict(users[0], **{"If-None-Match": '"%s"' % fs_id}))
    assert r.status_code == 304 and r.content == b""


@pytest.mark.parametrize("rng,first,last", [
    ("bytes=0-9", 0, 9), ("bytes=100-", 100, None), ("bytes=-5", None, None),
    ("bytes=10-999999999", 10, None)])
def test_single_ranges(stack, users, photo, rng, first, last):
    data, fs_id, _ = photo
    r = get(stack, "/img_collection/" + fs_id, dict(users[0], Range=rng))
    if rng == "bytes=-5":
        want, first = data[-5:], len(data) - 5
    else:
        want = data[first:None if last is None else last + 1]
    assert r.status_code == 206 and r.content == want
    assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (
        first, first + len(want) - 1, len(data))


def test_ranges_that_get_the_whole_file_or_416(stack, users, photo):
    data, fs_id, _ = photo
    for h in ({"Range": "bytes=0-1,5-9"}, {"Range": "pages=1"},
              {"Range": "bytes=0-9", "If-Range": '"other"'}):
        r = get(stack, "/img_collection/" + fs_id, dict(users[0], **h))
        assert r.status_code == 200 and r.content == data, h
    r = get(stack, "/img_collection/" + fs_id,
            dict(users[0], Range="bytes=%d-" % len(data)))
    assert r.status_code == 416
    assert r.headers["Content-Range"] == "bytes */%d" % len(data)
    assert r.json() == {"message": "the range is outside the file"}


def test_the_preview(stack, users, photo):
    _, fs_id, copy_id = photo
    r = get(stack, "/img_collection/%s/preview" % fs_id, users[0])
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/webp"
    assert r.headers["ETag"] == '"%s-p"' % fs_id
    img = Image.open(io.BytesIO(r.content))
    assert img.format == "WEBP" and img.size == (512, 341)
    assert "exif" not in img.info and "icc_profile" not in img.info
    r2 = get(stack, "/img_collection/%s/preview" % fs_id,
             dict(users[0], **{"If-None-Match": '"%s-p"' % fs_id}))
    assert r2.status_code == 304
    assert get(stack, "/img_collection/%s/preview" % copy_id,
               users[0]).status_code == 404


def test_another_users_file_is_not_there(stack, users, photo):
    _, fs_id, _ = photo
    for path in ("/img_collection/" + fs_id,
                 "/img_collection/%s/preview" % fs_id):
        r = get(stack, path, users[1])
        assert r.status_code == 404 and r.json() == {"message": "no such file"}
    r = requests.post(stack.nginx_url + "/img_collection/%s/link" % fs_id,
                      headers=users[1], json={}, timeout=30)
    assert r.status_code == 404
    for path in ("/img_collection/" + fs_id, "/img_collection/zz/preview"):
        assert get(stack, path).status_code == 401


def link(stack, headers, fs_id, body=None, raw=None):
    kw = {"json": body} if raw is None else {"data": raw}
    return requests.post(stack.nginx_url + "/img_collection/%s/link" % fs_id,
                         headers=headers, timeout=30, **kw)


def test_a_share_link_works_without_a_token(stack, users, photo):
    data, fs_id, _ = photo
    t0 = int(time.time())
    r = link(stack, users[0], fs_id, {"ttl": 3600})
    assert r.status_code == 201, r.text
    out = r.json()
    assert set(out) == {"url", "path", "expires_at"}
    # The URL as the client reached nginx, port included.
    assert out["url"] == stack.nginx_url + out["path"]
    parts = out["path"].split("/")
    assert parts[1:4] == ["shared", fs_id, "original"]
    assert t0 + 3600 <= int(parts[4]) <= int(time.time()) + 3600
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(parts[4]))) \
        == out["expires_at"]

    r = get(stack, out["path"])
    assert r.status_code == 200 and r.content == data
    age = int(r.headers["Cache-Control"].split("max-age=")[1])
    assert r.headers["Cache-Control"].startswith("private") and \
        3590 <= age <= 3600
    r = get(stack, out["path"], {"Range": "bytes=0-3"})
    assert r.status_code == 206 and r.content == data[:4]

    r = link(stack, users[0], fs_id, {"rendition": "preview"})
    assert r.status_code == 201
    r = get(stack, r.json()["path"])
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/webp"
    assert max(Image.open(io.BytesIO(r.content)).size) == 512


def test_a_changed_link_is_refused(stack, users, photo):
    _, fs_id, copy_id = photo
    path = link(stack, users[0], fs_id, {"ttl": 600}).json()["path"]
    _, _, fid, rendition, expires, sig = path.split("/")
    bad = [
        "/shared/%s/%s/%s/%s" % (copy_id, rendition, expires, sig),
        "/shared/%s/preview/%s/%s" % (fid, expires, sig),
        "/shared/%s/%s/%d/%s" % (fid, rendition, int(expires) + 1, sig),
        "/shared/%s/%s/%s/%s" % (fid, rendition, expires,
                                 sig[:-1] + ("A" if sig[-1] != "A" else "B")),
        "/shared/%s/thumbnail/%s/%s" % (fid, expires, sig),
        "/shared/%s/%s/-5/%s" % (fid, rendition, sig),
    ]
    for p in bad:
        r = get(stack, p)
        assert r.status_code == 403, p
        assert r.json() == {"message": "this link is not valid"}, p


def test_a_link_expires(stack, users, photo):
    _, fs_id, _ = photo
    path = link(stack, users[0], fs_id, {"ttl": 1}).json()["path"]
    assert get(stack, path).status_code == 200
    time.sleep(2.2)
    r = get(stack, path)
    assert r.status_code == 403 and r.json() == {
        "message": "this link has expired"}


@pytest.mark.parametrize("raw", [
    b'{"ttl": 0}', b'{"ttl": 604801}', b'{"ttl": "60"}', b'{"ttl": 1.5}',
    b'{"rendition": "thumbnail"}', b'{"rendition": 1}', b"[]", b"{",
    b'{"ttl": 60, "ttl": 60}'])
def test_link_bad_bodies(stack, users, photo, raw):
    _, fs_id, _ = photo
    r = link(stack, dict(users[0], **{"Content-Type": "application/json"}),
             fs_id, raw=raw)
    assert r.status_code == 400, raw
    assert r.json()["message"].startswith("the body must be empty or")


def test_link_limits(stack, users, photo):
    _, fs_id, _ = photo
    assert link(stack, users[0], fs_id, raw=b"").status_code == 201
    r = link(stack, users[0], fs_id, raw=b" " * 1025)
    assert r.status_code == 413
    r = link(stack, users[0], "0123456789abcdef0123456z", {})
    assert r.status_code == 400
    r = link(stack, users[0], "0123456789abcdef01234567", {})
    assert r.status_code == 404


def test_a_deleted_files_link_is_gone(stack, users):
    data = image_bytes("PNG")
    r = requests.post(stack.nginx_url + "/upload", headers=users[0],
                      files={"data": ("gone.png", data)}, timeout=60)
    fs_id = r.json()["fs_id"]
    path = link(stack, users[0], fs_id, {}).json()["path"]
    assert get(stack, path).content == data
    assert requests.delete(stack.nginx_url + "/img_collection/" + fs_id,
                           headers=users[0], timeout=30).status_code == 204
    r = get(stack, path)
    assert r.status_code == 404 and r.json() == {"message": "no such file"}
    assert get(stack, "/img_collection/" + fs_id, users[0]).status_code == 404
