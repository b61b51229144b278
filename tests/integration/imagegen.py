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
