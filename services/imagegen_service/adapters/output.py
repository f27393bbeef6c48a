"""What a model call returns, whatever the family: images as bytes, their seeds, and filter reasons."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from imagegen_service.errors import ModelFailed
from imagegen_service.images import image_size, sniff_format


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    format: str  # "png" | "jpeg"
    seed: int | None
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class ModelOutput:
    """One InvokeModel answer. ``filtered`` holds what the model said it withheld (HTTP 200, not an error):
    Nova/Titan's ``error`` string, Stability's non-null ``finish_reasons``."""

    model_key: str
    model_id: str
    images: tuple[GeneratedImage, ...]
    requested: int
    filtered: tuple[str, ...] = ()

    @property
    def all_filtered(self) -> bool:
        return not self.images and bool(self.filtered)

    @property
    def some_filtered(self) -> bool:
        return bool(self.filtered) and bool(self.images)


def decode_image(text: object, *, seed: int | None) -> GeneratedImage:
    """A base64 image from a model response; anything unreadable is the model's failure, not ours."""
    try:
        if not isinstance(text, str):
            raise ValueError("not a string")
        data = base64.b64decode(text, validate=True)
        fmt = sniff_format(data)
        if fmt is None:
            raise ValueError("neither PNG nor JPEG")
        width, height = image_size(data)
    except (binascii.Error, ValueError, OSError) as error:
        raise ModelFailed(f"the model returned an unreadable image ({error})") from None
    return GeneratedImage(data=data, format=fmt, seed=seed, width=width, height=height)
