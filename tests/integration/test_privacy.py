"""The WEBP copy is a picture anyone may be shown (docs/API.md, "POST
/upload"): turned upright as the photo's EXIF orientation says, in sRGB,
and with no metadata at all, a phone's GPS position least of all. The
original stays byte for byte as uploaded.

The reference for "upright" is Pillow's own ImageOps.exif_transpose of the
uploaded photo; the reference for "sRGB" is a profile that swaps sRGB's
red and green primaries, so a pixel stored as pure red must come out
green once its profile is applied.
"""

import io

import pytest
import requests
from PIL import Image, ImageOps

from imagegen import (SRGB_BLUE, SRGB_GREEN, SRGB_RED, jpeg_with_metadata,
                      rgb_icc_profile, webp_chunks)


@pytest.fixture(scope="module")
def user(stack, login):
    headers = {"Authorization": "Bearer " + login("Rex", "Rex siu super")}

    def upload(data, name="phone.jpg"):
        r = requests.post(stack.nginx_url + "/upload", headers=headers,
                          files={"data": (name, data)}, timeout=60)
        assert r.status_code == 201, r.text
        return r.json()

    def download(fs_id, preview=False):
        if preview:     # the preview, shrunk from the copy's pixels
            r = requests.get(stack.nginx_url + "/img_collection/%s/preview"
                             % fs_id, headers=headers, timeout=60)
        else:
            r = requests.post(stack.nginx_url + "/download", headers=headers,
                              json={"fs_id": fs_id}, timeout=60)
        assert r.status_code == 200, r.text
        return r.content

    return upload, download


def quadrants(img):
    """The colour at the middle of each quarter of img, as 'r', 'g', 'b'
    or '?' for whichever channel dominates."""
    img = img.convert("RGB")
    w, h = img.size
    out = []
    for fx, fy in ((0.125, 0.125), (0.875, 0.125), (0.125, 0.875),
                   (0.875, 0.875)):
        px = img.getpixel((int(w * fx), int(h * fy)))
        top = max(px)
        out.append("rgb"[px.index(top)] if top > 150 and
                   sorted(px)[1] < 100 else "?")
    return out


@pytest.mark.parametrize("orientation", range(1, 9))
def test_copy_is_upright(user, orientation):
    upload, download = user
    photo = jpeg_with_metadata(orientation=orientation)
    r = upload(photo)
    copy = Image.open(io.BytesIO(download(r["compressed_id"])))
    want = ImageOps.exif_transpose(Image.open(io.BytesIO(photo)))
    assert copy.size == want.size
    assert quadrants(copy) == quadrants(want)
    assert quadrants(copy).count("r") == 1   # the marker is somewhere
    # The preview comes from the same upright pixels (never enlarged).
    preview = Image.open(io.BytesIO(download(r["fs_id"], preview=True)))
    assert preview.size == want.size
    assert quadrants(preview) == quadrants(want)
    assert "exif" not in preview.info and "icc_profile" not in preview.info


def test_copy_has_no_metadata_and_the_original_keeps_all(user):
    upload, download = user
    photo = jpeg_with_metadata(orientation=6, gps=True, xmp=True, iptc=True,
                               icc=rgb_icc_profile(SRGB_RED, SRGB_GREEN,
                                                   SRGB_BLUE))
    r = upload(photo)
    assert download(r["fs_id"]) == photo
    copy = download(r["compressed_id"])
    chunks = webp_chunks(copy)
    assert set(chunks) <= {"VP8 ", "VP8L", "VP8X", "ALPH"}, chunks
    img = Image.open(io.BytesIO(copy))
    assert "exif" not in img.info and "icc_profile" not in img.info
    assert "xmp" not in img.info
    assert b"http://ns.adobe.com/xap" not in copy and b"Paris" not in copy


def test_copy_is_converted_to_srgb(user):
    """Stored red under a profile whose red primary is sRGB's green."""
    upload, download = user
    swapped = rgb_icc_profile(SRGB_GREEN, SRGB_RED, SRGB_BLUE)
    photo = jpeg_with_metadata(icc=swapped, colour=(255, 0, 0),
                               marker=(0, 0, 255), gps=False, xmp=False,
                               iptc=False)
    r = upload(photo)
    copy = Image.open(io.BytesIO(download(r["compressed_id"])))
    assert quadrants(copy) == ["b", "g", "g", "g"]
    assert "icc_profile" not in copy.info
