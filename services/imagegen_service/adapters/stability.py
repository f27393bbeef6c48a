"""Stability AI text-to-image (Ultra, Core, SD3.5 Large): snake_case bodies, one image per call.

Section 3a. SD3.5 Large also runs ``mode: image-to-image``: our ``image-variation`` task, where the
request's ``similarity_strength`` (1 = keep the source) becomes Stability's ``strength`` (1 = ignore it).
The response (``seeds``, ``finish_reasons``, ``images``) is the same for the Image Services.
"""

from __future__ import annotations

from typing import Any

from imagegen_service.adapters.output import ModelOutput, decode_image
from imagegen_service.adapters.wire import WireProblem, as_image, inline_image, take
from imagegen_service.catalogue import ModelSpec, Task
from imagegen_service.requests import GenerationRequest, image_count

TEXT_FIELDS = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "seed": "seed",
    "output_format": "output_format",
}
IMAGE_TO_IMAGE = "image-to-image"
_SD35_ONLY = {"mode": "mode", "image": "source_image", "strength": "strength"}


def _image_to_image(spec: ModelSpec) -> bool:
    return spec.supports(Task.IMAGE_VARIATION)


def build_body(req: GenerationRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": req.prompt}
    if req.negative_prompt is not None:
        body["negative_prompt"] = req.negative_prompt
    if req.seed is not None:
        body["seed"] = req.seed  # absent: Stability picks one and reports it in "seeds"
    if req.output_format is not None:
        body["output_format"] = req.output_format
    if req.task is Task.IMAGE_VARIATION:
        body["mode"] = IMAGE_TO_IMAGE
        body["image"] = inline_image(req, "source_image")
        if req.similarity_strength is not None:
            body["strength"] = round(1 - req.similarity_strength, 6)
    elif req.aspect_ratio is not None:
        body["aspect_ratio"] = req.aspect_ratio
    return body


def parse_response(req: GenerationRequest, payload: dict[str, Any]) -> ModelOutput:
    """Image ``i`` counts only when ``finish_reasons[i]`` is null; other reasons say why it was withheld."""
    raw_images = payload.get("images") or []
    reasons = payload.get("finish_reasons") or []
    seeds = payload.get("seeds") or []
    images = []
    filtered = []
    for index in range(max(len(raw_images), len(reasons))):
        reason = reasons[index] if index < len(reasons) else None
        if reason is not None:
            filtered.append(str(reason))
            continue
        if index < len(raw_images):
            seed = seeds[index] if index < len(seeds) and isinstance(seeds[index], int) else req.seed
            images.append(decode_image(raw_images[index], seed=seed))
    return ModelOutput(
        model_key=req.model,
        model_id=req.spec.model_id,
        images=tuple(images),
        requested=image_count(req),
        filtered=tuple(filtered),
    )


def request_from_body(spec: ModelSpec, body: dict[str, Any]) -> dict[str, Any]:
    allowed = {**TEXT_FIELDS, "aspect_ratio": "aspect_ratio"}
    if _image_to_image(spec):
        allowed |= _SD35_ONLY
    raw: dict[str, Any] = {"model": spec.key, **take(body, "#", allowed)}
    mode = raw.pop("mode", "text-to-image")
    if mode not in ("text-to-image", IMAGE_TO_IMAGE):
        raise WireProblem("#/mode", f"{mode!r} is not a valid enum value")
    if mode == IMAGE_TO_IMAGE:
        raw["task"] = Task.IMAGE_VARIATION.value
        if "source_image" not in raw:
            raise WireProblem("#", "required key [image] not found")
        raw["source_image"] = as_image(raw["source_image"])
        if "strength" in raw:
            strength = raw.pop("strength")
            allowed_strength = spec.limits.similarity_strength
            if allowed_strength is not None and strength not in allowed_strength:
                raise WireProblem("#/strength", f"must be within {allowed_strength.describe()} (got {strength!r})")
            raw["similarity_strength"] = 1 - strength
    else:
        for key in ("source_image", "strength"):
            if key in raw:
                raise WireProblem("#", f"extraneous key [{'image' if key == 'source_image' else key}] is not permitted")
    return raw


WIRE_NAMES = {field: wire for wire, field in {**TEXT_FIELDS, "aspect_ratio": "aspect_ratio", **_SD35_ONLY}.items()} | {
    "similarity_strength": "strength"
}
