"""Per-user limits (docs/API.md, "POST /upload"): MAX_USER_FILES and
MAX_USER_BYTES, checked before anything is decoded, and MAX_USER_UPLOADS
in flight at once on one Kore instance, across its workers.

Stacks of their own (one Kore instance, two workers) with small limits,
so that they are reached in a few uploads.
"""

import base64
import io
import threading
import time

import pytest
import requests
from PIL import Image

from imagegen import image_bytes, tiff_bomb
from stack import Stack

FILES = 3
BYTES = 120 * 1024


@pytest.fixture(scope="module")
def limited():
    with Stack(kore_instances=1, login_rate="1000r/s", settings={
            "MAX_USER_FILES": str(FILES), "MAX_USER_BYTES": str(BYTES)}) as s:
        yield s


@pytest.fixture(scope="module")
def one_at_a_time():
    with Stack(kore_instances=1, login_rate="1000r/s", settings={
            "MAX_USER_UPLOADS": "1"}) as s:
        yield s


def session(stack, user, pw):
    auth = base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()
    r = requests.post(stack.kore_urls[0] + "/login",
                      headers={"Authorization": "Basic " + auth}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["token"]}


def upload(stack, headers, data, name="x.png"):
    return requests.post(stack.kore_urls[0] + "/upload", headers=headers,
                         files={"data": (name, data)}, timeout=120)


def listing(stack, headers):
    r = requests.get(stack.kore_urls[0] + "/img_collection?limit=1000",
                     headers=headers, timeout=30)
    assert r.status_code == 200
    return r.json()


def test_max_user_files(limited):
    rex = session(limited, "Rex", "Rex siu super")
    ids = []
    for i in range(FILES):
        r = upload(limited, rex, image_bytes("PNG", size=(16, 16)))
        assert r.status_code == 201, r.text
        ids.append(r.json()["fs_id"])
    before = listing(limited, rex)

    r = upload(limited, rex, image_bytes("PNG", size=(16, 16)))
    assert r.status_code == 403, r.text
    assert "MAX_USER_FILES" in r.json()["message"]
    assert r.headers["Content-Type"] == "application/json"
    # Decided before the bytes are even looked at: a decompression bomb
    # and a non-image get the quota's answer, not 413 or 415.
    assert upload(limited, rex, tiff_bomb()).status_code == 403
    assert upload(limited, rex, b"not an image").status_code == 403
    assert listing(limited, rex) == before

    # Room again once one is deleted.
    assert requests.delete(limited.kore_urls[0] + "/img_collection/" +
                           ids[0], headers=rex, timeout=30).status_code == 204
    assert upload(limited, rex, image_bytes("PNG", size=(16, 16))) \
        .status_code == 201


def test_max_user_bytes(limited):
    map_ = session(limited, "Mập", "Mập khùng")
    big = image_bytes("PNG", size=(160, 120), noise=True)
    assert 40 * 1024 < len(big) < BYTES / 2, len(big)
    r = upload(limited, map_, big)
    assert r.status_code == 201, r.text
    stored = sum(f["length"] for f in listing(limited, map_))

    r = upload(limited, map_, image_bytes("PNG", size=(170, 120), noise=True))
    if stored + len(big) <= BYTES:      # one more original fits: it lands
        assert r.status_code == 201, r.text
        r = upload(limited, map_, image_bytes("PNG", size=(180, 120),
                                              noise=True))
    assert r.status_code == 403, r.text
    assert "MAX_USER_BYTES" in r.json()["message"]
    assert sum(f["length"] for f in listing(limited, map_)) <= BYTES


def noisy_jpeg(size):
    buf = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_one_upload_in_flight_per_user(one_at_a_time):
    """With MAX_USER_UPLOADS=1, a second upload of the same user while the
    first is still encoding gets 429, whichever of the two workers takes
    it; another user is not held back; and the count returns to zero."""
    stack = one_at_a_time
    rex = session(stack, "Rex", "Rex siu super")
    map_ = session(stack, "Mập", "Mập khùng")
    slow = noisy_jpeg((6000, 4000))
    first, done = [], []

    def first_upload():
        first.append(upload(stack, rex, slow, "slow.jpg"))
        done.append(time.monotonic())

    t = threading.Thread(target=first_upload)
    t.start()
    # Its body is in well before its 24 MP of noise are encoded.
    time.sleep(0.3)
    asked = time.monotonic()
    refused = upload(stack, rex, image_bytes("PNG", size=(8, 8)))
    other = upload(stack, map_, image_bytes("PNG", size=(8, 8)))
    t.join(timeout=120)
    assert first and first[0].status_code == 201, first
    assert asked < done[0], "the first upload ended before the second began"
    assert refused.status_code == 429, refused.text
    assert "MAX_USER_UPLOADS" in refused.json()["message"]
    assert refused.headers.get("Retry-After") == "1"
    assert other.status_code == 201, other.text
    for _ in range(3):      # freed again, on both workers
        assert upload(stack, rex, image_bytes("PNG", size=(8, 8))) \
            .status_code == 201
