"""Hostile input images get the size rule they break, not "not a readable PNG image" (issue 11, finding 5).

A decompression bomb is a small file whose header declares an enormous canvas (Pillow refuses to
decode more than ``Image.MAX_IMAGE_PIXELS`` × 2); a lying header declares a size the data does not hold.
The files are built here byte by byte (PNG IHDR + CRC, RFC 2083 §4.1.1), as an attacker would.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from imagegen_service import catalogue
from PIL import Image

Answer = tuple[int, dict[str, Any]]
# The model's input-image rule, from the catalogue: what matters here is that the answer names it.
MAX_SIDE = catalogue.lookup("titan-image-v1").limits.image_input.max_side


def png_declaring(width: int, height: int) -> bytes:
    """A real 8×8 PNG whose IHDR chunk claims ``width``×``height`` (with a correct CRC)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    chunk = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[8:33] = struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return bytes(data)


@pytest.mark.parametrize(("width", "height"), [(20_000, 20_000), (65_535, 65_535), (12_000, 9_000)])
def test_a_bomb_or_a_lying_header_names_the_size_rule(
    call_api: Callable[..., Answer], model_calls: Callable[[], int], width: int, height: int
) -> None:
    before = model_calls()
    request = {
        "model": "titan-image-v1",
        "task": "image-variation",
        "prompt": "the same, in autumn",
        "source_image": {"base64": base64.b64encode(png_declaring(width, height)).decode()},
    }
    status, payload = call_api("POST", "/v1/images", json.dumps(request))
    assert status == 400, payload
    [detail] = [d for d in payload["error"]["details"] if d["field"] == "source_image"]
    assert f"at most {MAX_SIDE} px" in detail["message"], detail
    assert "not a readable" not in detail["message"]
    assert model_calls() == before
