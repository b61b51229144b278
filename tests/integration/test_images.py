"""Images against the real stack (docs/API.md, "Images").

Everything goes through nginx, as clients' requests do. MongoDB here is the
test stand-in (tests/standin) unless MONGO_URI names a real server; libvips,
Kore and nginx are the real ones. Test images are generated here with
Pillow, never downloaded.
"""

import datetime
import io
import re
import time

import gridfs
import os

import pytest
import requests
from bson import ObjectId
from PIL import Image
from pymongo import MongoClient

from imagegen import image_bytes, png_claiming

GRIDFS_CHUNK = 255 * 1024  # the GridFS spec's default chunk size


@pytest.fixture(scope="module")
def api(stack, login):
    """Two users' sessions against nginx."""
    class Api:
        def __init__(self, token):
            self.headers = {"Authorization": "Bearer " + token}

        def upload(self, data, name="photo.jpg", field="data", **kw):
            return requests.post(stack.nginx_url + "/upload",
                                 headers=self.headers,
                                 files={field: (name, data)}, timeout=60,
                                 **kw)

        def download(self, fs_id=None, raw=None):
            if raw is None:
                return requests.post(stack.nginx_url + "/download",
                                     headers=self.headers,
                                     json={"fs_id": fs_id}, timeout=60)
            return requests.post(stack.nginx_url + "/download",
                                 headers=dict(self.headers, **{
                                     "Content-Type": "application/json"}),
                                 data=raw, timeout=60)

        def list(self, query=""):
            return requests.get(stack.nginx_url + "/img_collection" + query,
                                headers=self.headers, timeout=60)

        def delete(self, fs_id):
            return requests.delete(stack.nginx_url + "/img_collection/" +
                                   fs_id, headers=self.headers, timeout=60)

        def ids(self):
            r = self.list("?limit=1000")
            assert r.status_code == 200, r.text
            return sorted(f["id"] for f in r.json())

    return Api(login("Rex", "Rex siu super")), Api(login("Mập", "Mập khùng"))


ROUND_TRIPS = [
    ("photo.jpg", "image/jpeg", lambda: image_bytes("JPEG", noise=True,
                                                    quality=90)),
    ("drawing.png", "image/png", lambda: image_bytes("PNG")),
    ("anim.gif", "image/gif", lambda: image_bytes("GIF")),
    ("already.webp", "image/webp", lambda: image_bytes("WEBP", quality=80)),
    ("scan.tiff", "image/tiff", lambda: image_bytes("TIFF")),
]


@pytest.mark.parametrize("name,ctype,make", ROUND_TRIPS,
                         ids=[c[0] for c in ROUND_TRIPS])
def test_round_trip_byte_for_byte(api, name, ctype, make):
    rex, _ = api
    data = make()
    r = rex.upload(data, name=name)
    assert r.status_code == 201, r.text
    body = r.json()
    assert re.fullmatch(r"[0-9a-f]{24}", body["fs_id"])
    assert re.fullmatch(r"[0-9a-f]{24}", body["compressed_id"])
    assert body["message"]

    d = rex.download(body["fs_id"])
    assert d.status_code == 200
    assert d.content == data
    assert d.headers["Content-Type"] == ctype
    assert d.headers["Content-Length"] == str(len(data))
    assert d.headers["ETag"] == '"%s"' % body["fs_id"]
    assert d.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in d.headers["Content-Disposition"]

    c = rex.download(body["compressed_id"])
    assert c.status_code == 200
    assert c.headers["Content-Type"] == "image/webp"
    copy = Image.open(io.BytesIO(c.content))
    assert copy.format == "WEBP"
    assert copy.size == Image.open(io.BytesIO(data)).size


def test_stored_as_standard_gridfs(api, stack):
    """microgo writes GridFS files itself (gridfs.c says why): another
    driver's GridFS reader (pymongo's) reads them byte for byte, and the
    layout is the spec's: 255 KiB chunks numbered from 0, the files
    document's fields and types, and the indexes a GridFS writer creates.
    The file spans several insert commands (16 chunks each)."""
    rex, _ = api
    data = image_bytes("PNG", size=(1600, 1200), noise=True)
    assert len(data) > 16 * GRIDFS_CHUNK
    r = rex.upload(data, name="big.png")
    assert r.status_code == 201, r.text
    oid = ObjectId(r.json()["fs_id"])

    with MongoClient(stack.mongo_uri, serverSelectionTimeoutMS=5000) as c:
        db = c["image_records"]
        assert gridfs.GridFSBucket(db).open_download_stream(oid).read() == data
        doc = db["fs.files"].find_one({"_id": oid})
        chunks = list(db["fs.chunks"].find({"files_id": oid}).sort("n", 1))
        chunk_indexes = db["fs.chunks"].index_information()
        file_indexes = db["fs.files"].index_information()

    assert doc["length"] == len(data) and isinstance(doc["length"], int)
    assert doc["chunkSize"] == GRIDFS_CHUNK
    assert doc["filename"] == "big.png"
    assert isinstance(doc["uploadDate"], datetime.datetime)
    assert doc["metadata"]["complete"] is True
    assert doc["metadata"]["tag"] == "original"
    assert [ch["n"] for ch in chunks] == list(range(-(-len(data) // GRIDFS_CHUNK)))
    assert all(len(ch["data"]) == GRIDFS_CHUNK for ch in chunks[:-1])
    assert chunk_indexes["files_id_1_n_1"]["unique"] is True
    assert chunk_indexes["files_id_1_n_1"]["key"] == [("files_id", 1), ("n", 1)]
    assert file_indexes["filename_1_uploadDate_1"]["key"] == [
        ("filename", 1), ("uploadDate", 1)]
    assert file_indexes["metadata.owner_1_uploadDate_-1"]["key"] == [
        ("metadata.owner", 1), ("uploadDate", -1)]


def test_copy_is_smaller_than_a_noisy_photo(api):
    rex, _ = api
    data = image_bytes("JPEG", size=(1024, 768), noise=True, quality=92)
    r = rex.upload(data, name="noisy.jpg")
    assert r.status_code == 201
    copy = rex.download(r.json()["compressed_id"]).content
    assert Image.open(io.BytesIO(copy)).size == (1024, 768)
    assert len(copy) < len(data)


def test_listing_fields_and_order(api):
    rex, _ = api
    r = rex.upload(image_bytes("PNG"), name="Mập khùng.png")
    assert r.status_code == 201
    ids = r.json()

    files = rex.list().json()
    by_id = {f["id"]: f for f in files}
    orig, copy = by_id[ids["fs_id"]], by_id[ids["compressed_id"]]

    assert set(orig) == {"id", "filename", "tag", "original", "uploadDate",
                         "uploadedAt", "length", "contentType", "url",
                         "preview"}
    assert orig["url"] == "/img_collection/" + ids["fs_id"]
    assert orig["preview"] == "/img_collection/%s/preview" % ids["fs_id"]
    assert copy["url"] == "/img_collection/" + ids["compressed_id"]
    assert copy["preview"] is None
    assert orig["filename"] == "Mập khùng.png"
    assert orig["tag"] == "original" and orig["original"] is None
    assert orig["contentType"] == "image/png"
    assert copy["filename"] == "Mập khùng.webp"
    assert copy["tag"] == "compressed"
    assert copy["original"] == ids["fs_id"]
    assert copy["contentType"] == "image/webp"
    assert re.fullmatch(r"\d\d:\d\d on \d\d/\d\d/\d{4}", orig["uploadDate"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                        orig["uploadedAt"])
    when = time.strptime(orig["uploadedAt"][:19], "%Y-%m-%dT%H:%M:%S")
    assert orig["uploadDate"] == time.strftime("%H:%M on %d/%m/%Y", when)

    stamps = [f["uploadedAt"] for f in files]
    assert stamps == sorted(stamps, reverse=True)


def test_listing_pages(api):
    rex, _ = api
    for i in range(3):
        assert rex.upload(image_bytes("PNG"), name="p%d.png" % i
                          ).status_code == 201
    everything = [f["id"] for f in rex.list("?limit=1000").json()]
    assert [f["id"] for f in rex.list("?limit=2").json()] == everything[:2]
    assert [f["id"] for f in rex.list("?limit=2&offset=2").json()] == \
        everything[2:4]
    assert rex.list("?offset=100000").json() == []


@pytest.mark.parametrize("query", ["?limit=abc", "?limit=0", "?limit=1001",
                                   "?limit=-1", "?offset=x", "?limit=5&limit=6",
                                   "?limit=", "?offset=1.5"])
def test_listing_bad_paging(api, query):
    rex, _ = api
    r = rex.list(query)
    assert r.status_code == 400
    assert "message" in r.json()


def test_users_cannot_reach_each_others_files(api):
    rex, map_ = api
    r = rex.upload(image_bytes("PNG"), name="rex-only.png")
    fs_id, copy_id = r.json()["fs_id"], r.json()["compressed_id"]
    missing = "0123456789abcdef01234567"

    assert fs_id not in map_.ids() and copy_id not in map_.ids()
    for target in (fs_id, copy_id):
        d = map_.download(target)
        assert d.status_code == 404
        assert d.json() == map_.download(missing).json()
        assert map_.delete(target).status_code == 404
    assert rex.download(fs_id).status_code == 200


def test_delete_removes_the_copies(api):
    rex, _ = api
    r = rex.upload(image_bytes("PNG"), name="gone.png").json()
    assert rex.delete(r["fs_id"]).status_code == 204
    assert r["fs_id"] not in rex.ids()
    assert r["compressed_id"] not in rex.ids()
    assert rex.download(r["fs_id"]).status_code == 404
    assert rex.download(r["compressed_id"]).status_code == 404
    assert rex.delete(r["fs_id"]).status_code == 404


def test_delete_that_fails_on_a_copy_keeps_the_original(api, stack):
    """The first delete MongoDB refuses (the copy's) ends the delete: a
    503, the original still listed with its copy, and trying again works.
    No copy is left behind without its original."""
    rex, _ = api
    r = rex.upload(image_bytes("PNG"), name="stubborn.png").json()
    with open(stack.mongo_fail_file, "w") as f:
        f.write("delete once 8\n")
    try:
        answer = rex.delete(r["fs_id"])
        assert not os.path.exists(stack.mongo_fail_file), "no delete was sent"
    finally:
        if os.path.exists(stack.mongo_fail_file):
            os.unlink(stack.mongo_fail_file)
    assert answer.status_code == 503, answer.text
    assert answer.json()["message"] == "the image store (MongoDB) is unavailable"
    ids = rex.ids()
    assert r["fs_id"] in ids and r["compressed_id"] in ids
    assert rex.delete(r["fs_id"]).status_code == 204
    ids = rex.ids()
    assert r["fs_id"] not in ids and r["compressed_id"] not in ids


def test_delete_a_copy_keeps_the_original(api):
    rex, _ = api
    r = rex.upload(image_bytes("PNG"), name="keep.png").json()
    assert rex.delete(r["compressed_id"]).status_code == 204
    assert r["fs_id"] in rex.ids()
    assert r["compressed_id"] not in rex.ids()


# ---- the bad-input matrix: each answer as docs/API.md says, nothing stored

def jpeg_truncated():
    data = image_bytes("JPEG", size=(256, 256), noise=True, quality=90)
    return data[:len(data) // 2]


UPLOAD_BAD = [
    # (name, how to send it, status)
    ("not an image", dict(data=b"hello, I am text\n" * 50,
                          name="notes.txt"), 415),
    ("text renamed .jpg", dict(data=b"GIF89a? no: plain text" * 20,
                               name="cat.jpg"), 415),
    ("truncated JPEG", dict(data=jpeg_truncated(), name="half.jpg"), 415),
    ("empty file", dict(data=b"", name="empty.jpg"), 415),
    ("SVG is not accepted", dict(
        data=b'<svg xmlns="http://www.w3.org/2000/svg" width="10" '
             b'height="10"><rect width="10" height="10"/></svg>',
        name="x.svg"), 415),
    ("PNG claiming 40000x40000", dict(data=png_claiming(40000, 40000),
                                      name="bomb.png"), 413),
    ("no data part", dict(data=image_bytes("PNG"), name="a.png",
                          field="file"), 400),
]


@pytest.mark.parametrize("name,send,status", UPLOAD_BAD,
                         ids=[c[0] for c in UPLOAD_BAD])
def test_upload_bad_input(api, name, send, status):
    rex, _ = api
    before = rex.ids()
    r = rex.upload(**send)
    assert r.status_code == status, (name, r.text)
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["message"]
    assert rex.ids() == before


def test_upload_not_multipart(api, stack):
    rex, _ = api
    before = rex.ids()
    for headers, body in [
        ({"Content-Type": "application/json"}, b'{"data": "x"}'),
        ({"Content-Type": "image/png"}, image_bytes("PNG")),
        ({"Content-Type": "multipart/form-data"}, b"--x\r\n"),
        ({}, b""),
    ]:
        r = requests.post(stack.nginx_url + "/upload",
                          headers=dict(rex.headers, **headers), data=body)
        assert r.status_code == 400, (headers, r.text)
        assert r.json()["message"]
    assert rex.ids() == before


def test_upload_over_the_size_limit(api):
    rex, _ = api
    before = rex.ids()
    r = rex.upload(b"\xff" * (33 * 1024 * 1024), name="huge.jpg")
    assert r.status_code == 413
    assert rex.ids() == before


# What clients send (requests, like browsers, escapes " CR LF as %22 %0D
# %0A in the part header) and what microgo must store.
HOSTILE_NAMES = [
    ('quote".png', "quote%22.png"),
    ("crlf\r\nSet-Cookie: x=1.png", "crlf%0D%0ASet-Cookie: x=1.png"),
    ("lunch at 12:30; with Rex.png", "lunch at 12:30; with Rex.png"),
    ("../../../etc/passwd.png", "passwd.png"),
    ("..\\..\\windows.png", "windows.png"),
    ("Mập khùng 🐶.png", "Mập khùng 🐶.png"),
    ("....png", "png"),
]


def assert_safe_download(api_user, fs_id):
    d = api_user.download(fs_id)
    assert d.status_code == 200
    disp = d.headers["Content-Disposition"]
    assert "\r" not in disp and "\n" not in disp
    ascii_name = re.search(r'filename="([^"]*)"', disp).group(1)
    assert all(32 <= ord(c) < 127 and c not in '"\\' for c in ascii_name)
    assert re.search(r"filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]+$", disp)
    assert "Set-Cookie" not in d.headers


@pytest.mark.parametrize("sent,stored", HOSTILE_NAMES,
                         ids=[n[1] for n in HOSTILE_NAMES])
def test_hostile_filenames(api, sent, stored):
    rex, _ = api
    r = rex.upload(image_bytes("PNG"), name=sent)
    assert r.status_code == 201, r.text
    fs_id = r.json()["fs_id"]
    assert {f["id"]: f for f in rex.list().json()}[fs_id]["filename"] == \
        stored
    assert_safe_download(rex, fs_id)


RAW_NAMES = [b'raw"quote.png', b"raw\rcr.png", b"nul\x00byte.png",
             b"bad\xff\xfeutf8.png", b"tab\there.png"]


@pytest.mark.parametrize("raw", RAW_NAMES, ids=[repr(n) for n in RAW_NAMES])
def test_raw_hostile_part_headers(api, stack, raw):
    """Bytes a hostile client writes straight into the part header: the
    answer is 201 with a cleaned name or a 400, never a broken header."""
    rex, _ = api
    before = rex.ids()
    boundary = b"microgo-test-boundary"
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; '
            b'name="data"; filename="' + raw + b'"\r\n'
            b"Content-Type: image/png\r\n\r\n" + image_bytes("PNG") +
            b"\r\n--" + boundary + b"--\r\n")
    r = requests.post(stack.nginx_url + "/upload", data=body, headers=dict(
        rex.headers, **{"Content-Type": "multipart/form-data; boundary=" +
                        boundary.decode()}))
    assert r.status_code in (201, 400), r.text
    if r.status_code == 400:
        assert rex.ids() == before
        return
    fs_id = r.json()["fs_id"]
    name = {f["id"]: f for f in rex.list().json()}[fs_id]["filename"]
    assert name and all(ord(c) >= 32 and c not in "/\\" for c in name)
    assert_safe_download(rex, fs_id)


DOWNLOAD_BAD = [
    ("not JSON", b"fs_id=abc", 400),
    ("JSON but an array", b'["0123456789abcdef01234567"]', 400),
    ("no fs_id", b'{"id": "0123456789abcdef01234567"}', 400),
    ("fs_id not a string", b'{"fs_id": 12345}', 400),
    ("fs_id null", b'{"fs_id": null}', 400),
    ("fs_id too short", b'{"fs_id": "0123456789abcdef"}', 400),
    ("fs_id not hex", b'{"fs_id": "0123456789abcdef0123456z"}', 400),
    ("fs_id with a NUL", b'{"fs_id": "0123456789abcdef01234567\\u0000"}',
     400),
    ("empty body", b"", 400),
    ("unknown id", b'{"fs_id": "0123456789abcdef01234567"}', 404),
]


@pytest.mark.parametrize("name,raw,status", DOWNLOAD_BAD,
                         ids=[c[0] for c in DOWNLOAD_BAD])
def test_download_bad_input(api, name, raw, status):
    rex, _ = api
    before = rex.ids()
    r = rex.download(raw=raw)
    assert r.status_code == status, (name, r.text)
    assert r.headers["Content-Type"] == "application/json"
    assert r.json()["message"]
    assert rex.ids() == before


@pytest.mark.parametrize("fs_id,status", [
    ("0123456789abcdef01234567", 404),
    ("not-an-id", 400),
    ("0123456789abcdef0123456", 400),
])
def test_delete_bad_ids(api, fs_id, status):
    rex, _ = api
    before = rex.ids()
    r = rex.delete(fs_id)
    assert r.status_code == status
    assert r.json()["message"]
    assert rex.ids() == before


@pytest.mark.parametrize("method,path", [
    ("POST", "/upload"), ("POST", "/download"), ("GET", "/img_collection"),
    ("DELETE", "/img_collection/0123456789abcdef01234567"),
])
def test_image_routes_need_a_token(stack, method, path):
    r = requests.request(method, stack.nginx_url + path)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
