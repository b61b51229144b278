"""Test images, made here with Pillow and by hand, never downloaded.

The *_claiming functions make small valid files whose headers claim
enormous dimensions: a decompression bomb's header without its bulk, to
prove the service refuses by the header before decoding anything.
"""

import io
import struct
import zlib

from PIL import Image


def image_bytes(fmt, size=(64, 48), noise=False, mode="RGB", **save):
    if noise:
        img = Image.effect_noise(size, 64).convert(mode)
    else:
        img = Image.new(mode, size, (200, 40, 90) if mode == "RGB" else None)
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def png_claiming(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + \
        chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def gif_claiming(width, height):
    data = bytearray(image_bytes("GIF", size=(2, 2)))
    struct.pack_into("<HH", data, 6, width, height)
    desc = data.index(b"\x2c", 13)
    struct.pack_into("<HH", data, desc + 5, width, height)
    return bytes(data)


def jpeg_claiming(width, height):
    data = bytearray(image_bytes("JPEG", size=(8, 8)))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def webp_claiming(width, height):
    data = bytearray(image_bytes("WEBP", size=(8, 8), quality=50))
    start = data.index(b"\x9d\x01\x2a")
    struct.pack_into("<HH", data, start + 3, width & 0x3fff, height & 0x3fff)
    return bytes(data)


def tiff_bomb(width=20000, height=20000):
    """A real one: 400 megapixels of CCITT G4 in about 12 KB."""
    buf = io.BytesIO()
    Image.new("1", (width, height)).save(buf, "TIFF", compression="group4")
    return buf.getvalue()


def animated_gif(size=(40, 30), frames=3):
    imgs = [Image.new("RGB", size, (60 * i, 100, 200 - 50 * i))
            for i in range(frames)]
    buf = io.BytesIO()
    imgs[0].save(buf, "GIF", save_all=True, append_images=imgs[1:],
                 duration=100, loop=0)
    return buf.getvalue()


def cmyk_jpeg(size=(48, 32)):
    return image_bytes("JPEG", size=size, noise=True, mode="CMYK",
                       quality=90)


def png16(size=(32, 24)):
    img = Image.new("I;16", size)
    img.putdata([(x * 2000) % 65536 for x in range(size[0] * size[1])])
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def png_with_html_tail():
    """A valid PNG followed by an HTML page: a polyglot that must be
    stored as the PNG it is and never served as anything else."""
    return image_bytes("PNG", size=(4, 4)) + \
        b"<html><script>alert(document.cookie)</script></html>"


def gif_js_polyglot():
    """GIF89a/*...*/ JavaScript: a script that starts like a GIF."""
    return b"GIF89a/*\x00\x00\x00\x00*/=1;alert(document.cookie);//" + \
        b"\x00" * 32


# ---- metadata a phone or a camera puts in a photo

def _s15f16(v):
    return struct.pack(">i", int(round(v * 65536)))


def rgb_icc_profile(red, green, blue, gamma=2.2):
    """A minimal ICC v2 display profile (matrix/TRC) whose three primaries
    are the D50 XYZ colorants given: swap two of sRGB's to make a profile
    no viewer could mistake for sRGB."""
    def xyz(v):
        return b"XYZ \x00\x00\x00\x00" + b"".join(_s15f16(c) for c in v)

    def text(s):
        return b"text\x00\x00\x00\x00" + s.encode() + b"\x00"

    curve = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, int(gamma * 256))
    desc = (b"desc\x00\x00\x00\x00" + struct.pack(">I", 12) + b"test primes\x00"
            + b"\x00" * 8 + b"\x00" * 3 + b"\x00" * 67)
    tags = [(b"desc", desc), (b"wtpt", xyz((0.9642, 1.0, 0.8249))),
            (b"rXYZ", xyz(red)), (b"gXYZ", xyz(green)), (b"bXYZ", xyz(blue)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
            (b"cprt", text("none"))]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\x00"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"\x00" * 4 + b"\x02\x10\x00\x00"
              + b"mntrRGB XYZ " + b"\x00" * 12 + b"acsp" + b"\x00" * 24
              + b"\x00" * 4 + b"".join(_s15f16(c) for c in (0.9642, 1.0, 0.8249))
              + b"\x00" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


# sRGB's colorants, D50-adapted, as ICC profiles hold them.
SRGB_RED = (0.4361, 0.2225, 0.0139)
SRGB_GREEN = (0.3851, 0.7169, 0.0971)
SRGB_BLUE = (0.1431, 0.0606, 0.7141)


def _segment(marker, payload):
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_metadata(size=(400, 200), orientation=1, gps=True, xmp=True,
                       iptc=True, icc=None, colour=(0, 0, 255),
                       marker=(255, 0, 0)):
    """A photo as a phone leaves it: a marker block in the top-left
    corner of the stored pixels, and EXIF (an Orientation, a GPS
    position), XMP, IPTC and an ICC profile if given."""
    img = Image.new("RGB", size, colour)
    img.paste(marker, (0, 0, size[0] // 4, size[1] // 4))
    exif = Image.Exif()
    exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E",
                        4: (2.0, 17.0, 40.0)}
    buf = io.BytesIO()
    save = dict(quality=95, exif=exif.tobytes())
    if icc is not None:
        save["icc_profile"] = icc
    img.save(buf, "JPEG", **save)
    data = buf.getvalue()
    extra = b""
    if xmp:
        extra += _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00"
                          b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
                          b"xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
                          b"<rdf:Description xmlns:exif='http://ns.adobe.com/exif/1.0/'"
                          b" exif:GPSLatitude='48,51.48N'/></rdf:RDF></x:xmpmeta>")
    if iptc:
        record = b"\x1c\x02\x5a" + struct.pack(">H", 5) + b"Paris"   # City
        extra += _segment(0xED, b"Photoshop 3.0\x00" + b"8BIM\x04\x04\x00\x00"
                          + struct.pack(">I", len(record)) + record)
    return data[:2] + extra + data[2:]


def webp_chunks(data):
    """The RIFF chunk names of a WEBP file, in order."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP", data[:16]
    names, pos = [], 12
    while pos + 8 <= len(data):
        name = data[pos:pos + 4].decode("latin-1")
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        names.append(name)
        pos += 8 + size + (size & 1)
    return names
