"""Helpers shared by the adapters: inline images for bodies, and structural problems found on the wire."""

from __future__ import annotations

from typing import Any

from imagegen_service.errors import FieldProblem, RequestInvalid
from imagegen_service.requests import GenerationRequest


class WireProblem(ValueError):
    """A request body that Bedrock would reject before looking at values (unknown or missing key, wrong type)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def inline_image(req: GenerationRequest, path: str) -> str:
    """The base64 text of an input image; ``image_id`` references must have been resolved (``with_images``)."""
    ref = req.image_ref(path)
    if ref is None or ref.base64 is None:
        raise RequestInvalid.from_problems(
            [FieldProblem(path, "image_id is not resolved: the service must call with_images() before the model")]
        )
    return ref.base64


def take(body: dict[str, Any], path: str, allowed: dict[str, str]) -> dict[str, Any]:
    """Map wire keys to request fields; any other key is extraneous, as Bedrock says it."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key not in allowed:
            raise WireProblem(path, f"extraneous key [{key}] is not permitted")
        out[allowed[key]] = value
    return out


def obj(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireProblem(path, f"expected type: JSONObject, found: {type(value).__name__}")
    return value


def as_image(value: object) -> object:
    return {"base64": value} if isinstance(value, str) else value
