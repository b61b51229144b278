"""The bad-input matrix: every route against malformed methods, headers,
bodies, tokens and image payloads, each with the status docs/API.md gives it.

One table, read top to bottom. Each row is sent as written, through nginx
(as clients do) or straight to one Kore instance (to see the app's own
answer). After the whole matrix, the stored data is exactly what it was:
the same users in MariaDB and the same documents in GridFS, once the few
uploads the matrix expects to succeed are deleted again.
"""

import base64
import hashlib
import hmac
import http.client
import json
import subprocess
import time

import pytest
import requests
from pymongo import MongoClient

import imagegen as img

ID = "0123456789abcdef01234567"
GOOD = "good"           # placeholders replaced by real tokens at run time
GOOD2 = "good2"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(secret, claims, header=None, sign=True):
    head = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"})
                  .encode())
    body = b64url(json.dumps(claims).encode())
    if not sign:
        return head + "." + body + "."
    mac = hmac.new(secret.encode(), (head + "." + body).encode(),
                   hashlib.sha256).digest()
    return head + "." + body + "." + b64url(mac)


def multipart(data, name="data", filename="x.png", boundary="MGB"):
    return (("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
             "filename=\"%s\"\r\nContent-Type: image/png\r\n\r\n"
             % (boundary, name, filename)).encode() + data +
            ("\r\n--%s--\r\n" % boundary).encode())


MP = "multipart/form-data; boundary=MGB"
PNG = img.image_bytes("PNG", size=(8, 8))

# (name, via, method, path, headers, body, status)
#   via: "nginx" or "kore" (the first instance, directly). Header values
#   may be GOOD/GOOD2 (a valid token of Rex/Mập), a callable of the
#   stack's secret, or a list (the header repeated). UPLOAD sends body as
#   the data part of a multipart form with a valid token.
ROUTES = [("POST", "/login"), ("GET", "/me"), ("POST", "/upload"),
          ("POST", "/download"), ("GET", "/img_collection"),
          ("DELETE", "/img_collection/" + ID),
          ("GET", "/img_collection/" + ID + "/preview"),
          ("POST", "/img_collection/" + ID + "/link"), ("GET", "/healthz"),
          ("GET", "/readyz"), ("GET", "/openapi.yaml")]
# Paths that answer more than the one method above.
ALSO = {"/img_collection/" + ID: {"GET"}}
PROTECTED = [r for r in ROUTES
             if r[1] not in ("/login", "/healthz", "/readyz")]


def wrong_methods():
    rows = []
    for method, path in ROUTES:
        for wrong in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if wrong != method and wrong not in ALSO.get(path, ()):
                rows.append(("%s %s" % (wrong, path), "kore", wrong, path,
                             {"Authorization": GOOD}, b"", 405))
    return rows


def missing_auth():
    return [("%s %s without a token" % r, "nginx", r[0], r[1], {}, b"", 401)
            for r in PROTECTED]


def now():
    return int(time.time())


MATRIX = wrong_methods() + missing_auth() + [
    # -- headers
    ("unknown route", "kore", "GET", "/no/such/thing", {}, None, 404),
    ("unknown route via nginx", "nginx", "GET", "/etc/passwd", {}, None,
     404),
    ("path above the root", "nginx", "GET", "/../../etc/passwd", {}, None,
     400),
    ("two Authorization headers (nginx)", "nginx", "GET", "/me",
     {"Authorization": [GOOD, "Bearer x"]}, None, 400),
    ("two Authorization headers (Kore)", "kore", "GET", "/me",
     {"Authorization": [GOOD, "Bearer x"]}, None, 401),
    ("10 KB Authorization (nginx)", "nginx", "GET", "/me",
     {"Authorization": "Bearer " + "a" * 10000}, None, 400),
    ("10 KB Authorization (Kore)", "kore", "GET", "/me",
     {"Authorization": "Bearer " + "a" * 10000}, None, 401),
    ("Basic credentials on a Bearer route", "nginx", "GET", "/me",
     {"Authorization": "Basic " + base64.b64encode(
         "Rex:Rex siu super".encode()).decode()}, None, 401),
    ("Bearer token to /login", "nginx", "POST", "/login",
     {"Authorization": GOOD}, b"", 401),
    ("login password with a NUL byte", "nginx", "POST", "/login",
     {"Authorization": "Basic " + base64.b64encode(
         b"Rex:Rex siu super\x00").decode()}, b"", 401),
    ("upload as JSON", "nginx", "POST", "/upload",
     {"Authorization": GOOD, "Content-Type": "application/json"},
     b'{"data": "x"}', 400),
    ("upload as form-urlencoded", "nginx", "POST", "/upload",
     {"Authorization": GOOD,
      "Content-Type": "application/x-www-form-urlencoded"}, b"data=x", 400),
    ("download as multipart", "nginx", "POST", "/download",
     {"Authorization": GOOD, "Content-Type": MP},
     multipart(b'{"fs_id": "%s"}' % ID.encode()), 400),

    # -- bodies
    ("upload, empty body", "nginx", "POST", "/upload",
     {"Authorization": GOOD, "Content-Type": MP}, b"", 400),
    ("upload, truncated multipart", "nginx", "POST", "/upload",
     {"Authorization": GOOD, "Content-Type": MP}, multipart(PNG)[:-40], 400),
    ("upload, wrong boundary", "nginx", "POST", "/upload",
     {"Authorization": GOOD,
      "Content-Type": "multipart/form-data; boundary=OTHER"},
     multipart(PNG), 400),
    ("upload, no boundary", "nginx", "POST", "/upload",
     {"Authorization": GOOD, "Content-Type": "multipart/form-data"},
     multipart(PNG), 400),
    ("upload, part named file", "nginx", "POST", "/upload",
     {"Authorization": GOOD, "Content-Type": MP},
     multipart(PNG, name="file"), 400),
    ("upload, 1 MB part header", "nginx", "POST", "/upload",
     {"Authorization": GOOD, "Content-Type": MP},
     multipart(PNG, filename="a" * 1000000), 400),
    ("download, empty body", "nginx", "POST", "/download",
     {"Authorization": GOOD, "Content-Type": "application/json"}, b"", 400),
    ("download, JSON nested 100000 deep", "nginx", "POST", "/download",
     {"Authorization": GOOD, "Content-Type": "application/json"},
     b"[" * 100000 + b"]" * 100000, 413),
    ("download, JSON nested 1000 deep", "nginx", "POST", "/download",
     {"Authorization": GOOD, "Content-Type": "application/json"},
     b"[" * 1000 + b"]" * 1000, 400),
    ("download, 1 MB fs_id", "nginx", "POST", "/download",
     {"Authorization": GOOD, "Content-Type": "application/json"},
     b'{"fs_id": "' + b"a" * 1000000 + b'"}', 413),
    ("download, raw NUL byte", "nginx", "POST", "/download",
     {"Authorization": GOOD, "Content-Type": "application/json"},
     b'{"fs_id": "0123456789ab\x00cdef01234567"}', 400),
    ("download, escaped NUL", "nginx", "POST", "/download",
     {"Authorization": GOOD, "Content-Type": "application/json"},
     b'{"fs_id": "0123456789abcdef0123456\\u0000"}', 400),
    ("download, duplicate keys", "nginx", "POST", "/download",
     {"Authorization": GOOD, "Content-Type": "application/json"},
     b'{"fs_id": "%s", "fs_id": "%s"}' % (ID.encode(), ID.encode()), 400),
    ("download, invalid UTF-8", "nginx", "POST", "/download",
     {"Authorization": GOOD, "Content-Type": "application/json"},
     b'{"fs_id": "\xff\xfe"}', 400),
    ("list, limit with a NUL", "nginx", "GET", "/img_collection?limit=1%00",
     {"Authorization": GOOD}, None, 400),
    ("list, huge offset", "nginx", "GET",
     "/img_collection?offset=99999999999999999999", {"Authorization": GOOD},
     None, 400),
    ("delete, id with ../", "nginx", "DELETE", "/img_collection/..%2f..%2fx",
     {"Authorization": GOOD}, None, 400),

    # -- tokens
    ("token expired", "kore", "GET", "/img_collection", {"Authorization":
     lambda s: token(s, {"sub": "2", "username": "Rex", "iat": now() - 90,
                         "exp": now() - 30})}, None, 401),
    ("token issued a day ahead", "kore", "GET", "/img_collection",
     {"Authorization": lambda s: token(s, {
         "sub": "2", "username": "Rex", "iat": now() + 86400,
         "exp": now() + 90000})}, None, 401),
    ("token alg none", "kore", "GET", "/img_collection", {"Authorization":
     lambda s: token(s, {"sub": "2", "username": "Rex", "iat": now(),
                         "exp": now() + 60}, header={"alg": "none"},
                     sign=False)}, None, 401),
    ("token signed with another key", "kore", "GET", "/img_collection",
     {"Authorization": lambda s: token(s + "!", {
         "sub": "2", "username": "Rex", "iat": now(),
         "exp": now() + 60})}, None, 401),
    ("token claims tampered", "kore", "GET", "/img_collection",
     {"Authorization": lambda s: ".".join(
         [token(s, {"sub": "2", "username": "Rex", "iat": now(),
                    "exp": now() + 60}).split(".")[0],
          b64url(b'{"sub":"1","username":"x","iat":1,"exp":9999999999}'),
          token(s, {"sub": "2", "username": "Rex", "iat": now(),
                    "exp": now() + 60}).split(".")[2]])}, None, 401),
    # Tokens are stateless (docs/API.md: /me answers "from the token alone"):
    # a deleted user's unexpired token still reads that user's (now
    # empty) data until it expires after JWT_TTL.
    ("token of a user that does not exist", "kore", "GET", "/me",
     {"Authorization": lambda s: token(s, {
         "sub": "999", "username": "ghost", "iat": now(),
         "exp": now() + 60})}, None, 200),

    # -- images: bombs are refused from the header, odd ones accepted
    ("PNG bomb 40000x40000", "nginx", "UPLOAD", "/upload", {},
     img.png_claiming(40000,
     40000), 413),
    ("GIF bomb 65535x65535", "nginx", "UPLOAD", "/upload", {},
     img.gif_claiming(65535,
     65535), 413),
    ("JPEG bomb 60000x60000", "nginx", "UPLOAD", "/upload", {},
     img.jpeg_claiming(60000,
     60000), 413),
    ("WEBP bomb 16383x16383", "nginx", "UPLOAD", "/upload", {},
     img.webp_claiming(16383,
     16383), 413),
    ("TIFF bomb, 400 MP of G4 in 12 KB", "nginx", "UPLOAD", "/upload", {},
     img.tiff_bomb(), 413),
    ("GIF/JavaScript polyglot", "nginx", "UPLOAD", "/upload", {},
     img.gif_js_polyglot(), 415),
    ("1x1 PNG", "nginx", "UPLOAD", "/upload", {},
     img.image_bytes("PNG", size=(1, 1)), 201),
    ("animated GIF", "nginx", "UPLOAD", "/upload", {},
     img.animated_gif(), 201),
    ("CMYK JPEG", "nginx", "UPLOAD", "/upload", {},
     img.cmyk_jpeg(), 201),
    ("16-bit PNG", "nginx", "UPLOAD", "/upload", {},
     img.png16(), 201),
    ("PNG with an HTML tail", "nginx", "UPLOAD", "/upload", {},
     img.png_with_html_tail(), 201),
]


def users_checksum(stack):
    out = subprocess.run(
        ["mariadb", "--no-defaults", "-S", stack.mariadb_socket, "-u",
         "root", "-N", "-e",
         "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS(0x1f, id, username, "
         "pwd))), 0) FROM authdb.users"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def gridfs_state(stack):
    with MongoClient(stack.mongo_uri, serverSelectionTimeoutMS=5000) as c:
        db = c["image_records"]
        files = sorted(str(d["_id"]) for d in db["fs.files"].find({}, {
            "_id": 1}))
        chunks = sorted((str(d["files_id"]), d["n"]) for d in
                        db["fs.chunks"].find({}, {"files_id": 1, "n": 1}))
    return files, chunks


@pytest.fixture(scope="module")
def tokens(login):
    return {GOOD: "Bearer " + login("Rex", "Rex siu super"),
            GOOD2: "Bearer " + login("Mập", "Mập khùng")}


def send(stack, tokens, via, method, path, headers, body):
    base = stack.nginx_url if via == "nginx" else stack.kore_urls[0]
    if method == "UPLOAD":
        return requests.post(base + path, headers={
            "Authorization": tokens[GOOD]}, files={
            "data": ("matrix.bin", body)}, timeout=60)

    pairs = []
    for k, v in headers.items():
        for one in (v if isinstance(v, list) else [v]):
            if callable(one):
                one = "Bearer " + one(stack.jwt_secret)
            pairs.append((k, tokens.get(one, one)))
    # http.client sends repeated headers as given; requests would merge.
    host, port = base.replace("http://", "").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in pairs:
            conn.putheader(k, v)
        data = body if body is not None else b""
        if method in ("POST", "PUT", "PATCH") or data:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data if data else None)
        r = conn.getresponse()
        return _Answer(r.status, dict(r.getheaders()), r.read())
    finally:
        conn.close()


class _Answer:
    def __init__(self, status, headers, content):
        self.status_code = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.content = content

    def json(self):
        return json.loads(self.content)


def test_matrix(stack, tokens, request):
    users_before = users_checksum(stack)
    store_before = gridfs_state(stack)
    created, wrong = [], []

    for name, via, method, path, headers, body, status in MATRIX:
        r = send(stack, tokens, via, method, path, headers, body)
        if r.status_code != status:
            wrong.append("%s: %d, want %d: %r" % (name, r.status_code,
                                                  status, r.content[:200]))
            continue
        ctype = r.headers.get("content-type", "")
        if status >= 400:
            if not ctype.startswith("application/json") or \
                    "message" not in r.json():
                wrong.append("%s: error body not JSON: %r" % (
                    name, r.content[:200]))
        if status == 201:
            created.append(r.json()["fs_id"])

    # What the matrix uploaded on purpose goes again; then nothing differs.
    for fs_id in created:
        d = requests.delete(stack.nginx_url + "/img_collection/" + fs_id,
                            headers={"Authorization": tokens[GOOD]})
        assert d.status_code == 204
    assert wrong == [], "\n".join(wrong)
    assert users_checksum(stack) == users_before
    assert gridfs_state(stack) == store_before
    # Shown in the terminal summary (tests/integration/conftest.py).
    request.config.microgo_matrix_cases = len(MATRIX)


def test_polyglot_is_served_only_as_its_image_type(stack, tokens):
    data = img.png_with_html_tail()
    r = requests.post(stack.nginx_url + "/upload",
                      headers={"Authorization": tokens[GOOD]},
                      files={"data": ("page.html", data, "text/html")})
    assert r.status_code == 201
    fs_id = r.json()["fs_id"]
    d = requests.post(stack.nginx_url + "/download",
                      headers={"Authorization": tokens[GOOD]},
                      json={"fs_id": fs_id})
    assert d.headers["Content-Type"] == "image/png"
    assert d.headers["X-Content-Type-Options"] == "nosniff"
    assert d.headers["Content-Disposition"].startswith("attachment;")
    assert d.content == data
    requests.delete(stack.nginx_url + "/img_collection/" + fs_id,
                    headers={"Authorization": tokens[GOOD]})
