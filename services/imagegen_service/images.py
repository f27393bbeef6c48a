"""Image bytes in and out of the model layer: base64 decoding, format sniffing and input checks.

Every check reads its limit from ``catalogue.ImageInputRules``; a failure is an ``ImageProblem`` whose
message names the rule (the caller adds the field path). Pillow only reads headers unless a check
needs pixels (transparency, masks), so validating a large input stays cheap.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imagegen_service.catalogue import ImageInputRules

if TYPE_CHECKING:  # Pillow is imported lazily: handler cold starts do not pay for it
    from PIL import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
_PIL_FORMATS = {"PNG": "png", "JPEG": "jpeg"}
_EIGHT_BIT_MODES = frozenset({"1", "L", "LA", "P", "PA", "RGB", "RGBA"})
BLACK = (0, 0, 0)
WHITE = (255, 255, 255)


class ImageProblem(ValueError):
    """An input image broke a rule; the message says which."""


@dataclass(frozen=True)
class DecodedImage:
    data: bytes
    format: str  # "png" | "jpeg"
    width: int
    height: int
    mode: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def open(self) -> Image.Image:
        from PIL import Image

        return Image.open(io.BytesIO(self.data))


def sniff_format(data: bytes) -> str | None:
    """``png`` or ``jpeg`` from the magic bytes, else None."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header (no pixel decode)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


def max_base64_chars(max_bytes: int) -> int:
    return 4 * ((max_bytes + 2) // 3)


def decode_base64(text: str, *, max_bytes: int) -> bytes:
    if len(text) > max_base64_chars(max_bytes):
        raise ImageProblem(f"decodes to more than {max_bytes:,} bytes")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImageProblem("is not valid base64") from None
    if not data:
        raise ImageProblem("is empty")
    return data


def inspect(data: bytes, rules: ImageInputRules, *, opaque: bool = False) -> DecodedImage:
    """Check raw image bytes against ``rules``. ``opaque``: no transparent pixel allowed (Amazon models)."""
    if len(data) > rules.max_bytes:
        raise ImageProblem(f"is {len(data):,} bytes; the limit is {rules.max_bytes:,}")
    sniffed = sniff_format(data)
    if sniffed is None or sniffed not in rules.formats:
        raise ImageProblem(f"must be {' or '.join(f.upper() for f in rules.formats)}")
    from PIL import Image

    try:
        # Pillow raises many types for hostile bytes (OSError, SyntaxError, DecompressionBombError …).
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            mode = image.mode
            _check_size(width, height, rules)
            if mode not in _EIGHT_BIT_MODES:
                raise ImageProblem(f"must have 8 bits per channel (got mode {mode})")
            if opaque and _has_transparency(image):
                raise ImageProblem("must not contain transparent or translucent pixels")
    except ImageProblem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # The header declares more pixels than Pillow will decode (a decompression bomb, or a lying header):
        # name the rule the declared size breaks, not "unreadable".
        raise ImageProblem(
            f"declares over {Image.MAX_IMAGE_PIXELS or 0:,} pixels in its header; each side must be at most "
            f"{rules.max_side} px" + (f" and at most {rules.max_pixels:,} pixels" if rules.max_pixels else "")
        ) from None
    except Exception:
        raise ImageProblem(f"is not a readable {sniffed.upper()} image") from None
    return DecodedImage(data=data, format=sniffed, width=width, height=height, mode=mode)


def _check_size(width: int, height: int, rules: ImageInputRules) -> None:
    if rules.min_side and min(width, height) < rules.min_side:
        raise ImageProblem(f"is {width}×{height}; each side must be at least {rules.min_side} px")
    if max(width, height) > rules.max_side:
        raise ImageProblem(f"is {width}×{height}; each side must be at most {rules.max_side} px")
    if rules.max_pixels and width * height > rules.max_pixels:
        raise ImageProblem(f"is {width}×{height}; at most {rules.max_pixels:,} pixels")
    if rules.min_pixels and width * height < rules.min_pixels:
        raise ImageProblem(f"is {width}×{height}; at least {rules.min_pixels:,} pixels")
    if rules.max_ratio and not rules.min_ratio <= width / height <= rules.max_ratio:
        span = f"1:{1 / rules.min_ratio:g}–{rules.max_ratio:g}:1"
        raise ImageProblem(f"is {width}×{height}; its aspect ratio must be within {span}")


def _has_transparency(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA"):
        extrema = image.getchannel("A").getextrema()
        return isinstance(extrema[0], int) and extrema[0] < 255
    return image.mode == "P" and "transparency" in image.info


def check_mask(mask: DecodedImage) -> None:
    """Masks may hold only pure black and pure white pixels (section 1)."""
    try:
        with mask.open() as image:
            if _has_transparency(image):
                raise ImageProblem("must not contain transparent pixels")
            colours = image.convert("RGB").getcolors(maxcolors=2)
    except ImageProblem:
        raise
    except Exception:
        raise ImageProblem("is not a readable mask image") from None
    if colours is None or any(colour not in (BLACK, WHITE) for _, colour in colours):
        raise ImageProblem("must contain only pure black (0,0,0) and pure white (255,255,255) pixels")


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
