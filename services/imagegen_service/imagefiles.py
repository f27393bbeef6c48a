"""Format and pixel size of PNG and JPEG bytes, read from their headers (no Pillow at runtime)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from imagegen_service.errors import ModelFailed

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8"
# JPEG start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


@dataclass(frozen=True)
class ImageFile:
    format: str  # "png" | "jpeg"
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "jpeg" else self.format


class NotAnImage(ValueError):
    """The bytes are neither a PNG nor a JPEG we can read."""


def _png(data: bytes) -> ImageFile:
    # The IHDR chunk always comes first: length(4) "IHDR"(4) width(4) height(4).
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise NotAnImage("PNG without an IHDR chunk")
    width, height = struct.unpack(">II", data[16:24])
    return ImageFile("png", width, height)


def _jpeg(data: bytes) -> ImageFile:
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            raise NotAnImage("JPEG segment does not start with 0xFF")
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            index += 2
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if marker in _SOF_MARKERS:
            if index + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return ImageFile("jpeg", width, height)
        index += 2 + length
    raise NotAnImage("JPEG without a start-of-frame segment")


def describe(data: bytes) -> ImageFile:
    """Format and size of PNG/JPEG bytes; raises NotAnImage for anything else."""
    if data.startswith(PNG_SIGNATURE):
        return _png(data)
    if data.startswith(JPEG_SOI):
        return _jpeg(data)
    raise NotAnImage("neither PNG nor JPEG")


def describe_model_output(data: bytes) -> ImageFile:
    """``describe`` for bytes a model returned: an unreadable image is the model's failure."""
    try:
        return describe(data)
    except NotAnImage as error:
        raise ModelFailed(f"the model returned an unreadable image: {error}") from None
