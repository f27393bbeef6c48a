"""What an attacker does to a signed PNG, done with pypng (chunks) and Pillow (pixels), not with our code.

C2PA embeds its manifest store in a PNG ``caBX`` chunk (C2PA 2.1, "Embedding manifests into PNG");
the hash binding covers every other byte of the file.
"""

from __future__ import annotations

import io

import png
from PIL import Image

C2PA_CHUNK = b"caBX"


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    return list(png.Reader(bytes=data).chunks())


def write(parts: list[tuple[bytes, bytes]]) -> bytes:
    out = io.BytesIO()
    png.write_chunks(out, parts)
    return out.getvalue()


def manifest_chunk(data: bytes) -> bytes:
    return next(body for kind, body in chunks(data) if kind == C2PA_CHUNK)


def strip_manifest(data: bytes) -> bytes:
    return write([(kind, body) for kind, body in chunks(data) if kind != C2PA_CHUNK])


def change_one_pixel(data: bytes) -> bytes:
    """The same file with pixel (0, 0) changed, re-encoded, and the original manifest chunk put back."""
    picture = Image.open(io.BytesIO(data))
    picture.load()
    pixel = picture.getpixel((0, 0))
    if isinstance(pixel, tuple):
        picture.putpixel((0, 0), ((pixel[0] + 1) % 256, *pixel[1:]))
    else:  # a palette (or grey) image: another index whose colour differs
        assert isinstance(pixel, int)
        rgb = picture.convert("RGB")
        original = rgb.getpixel((0, 0))
        other = next(i for i in range(256) if i != pixel and _colour(picture, i) != original)
        picture.putpixel((0, 0), other)
    encoded = io.BytesIO()
    picture.save(encoded, "PNG")
    return transplant_manifest(data, encoded.getvalue())


def _colour(picture: Image.Image, index: int) -> tuple[int, ...]:
    if picture.mode != "P":
        return (index, index, index)
    palette = picture.getpalette() or []
    return tuple(palette[3 * index : 3 * index + 3])


def transplant_manifest(donor: bytes, target: bytes) -> bytes:
    """``target``'s pixels carrying ``donor``'s manifest, where PNG puts it (right after IHDR)."""
    stolen = manifest_chunk(donor)
    parts = [(kind, body) for kind, body in chunks(target) if kind != C2PA_CHUNK]
    return write([parts[0], (C2PA_CHUNK, stolen), *parts[1:]])


def pixels(data: bytes) -> list[tuple[int, ...]]:
    picture = Image.open(io.BytesIO(data))
    return list(picture.convert("RGB").getdata())
