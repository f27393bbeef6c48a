"""The request schema names every offending field and the catalogue limit it broke."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from imagegen_service import catalogue
from imagegen_service.errors import RequestInvalid
from imagegen_service.requests import fingerprint, normalised, output_size, parse_request, price_per_image
from PIL import Image, ImageDraw


def b64(size: tuple[int, int] = (512, 512), colour: Any = (90, 120, 200), mode: str = "RGB", fmt: str = "PNG") -> str:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return base64.b64encode(out.getvalue()).decode()


def mask(size: tuple[int, int] = (512, 512)) -> str:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).rectangle((100, 100, 300, 300), fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


NOVA = {"model": "nova-canvas", "prompt": "a lighthouse"}
TITAN = {"model": "titan-image-v1", "prompt": "a lighthouse"}
TITAN2 = {"model": "titan-image-v2", "prompt": "a lighthouse"}
CORE = {"model": "stable-image-core", "prompt": "a lighthouse"}
SD35 = {"model": "sd3-5-large", "prompt": "a lighthouse"}
SRC = {"base64": b64()}
NOVA_INPAINT = {**NOVA, "task": "inpainting", "source_image": SRC}
OUTPAINT = {"model": "stability-outpaint", "source_image": SRC}

# (request, field named, fragment of the rule) — across every family
INVALID: list[tuple[dict[str, Any], str, str]] = [
    ({**NOVA, "width": 1000, "height": 1024}, "width", "divisible by 16"),
    ({**NOVA, "width": 256, "height": 1024}, "width", "320–4096"),
    ({**NOVA, "width": 1024, "height": 4112}, "height", "320–4096"),
    ({**NOVA, "width": 4096, "height": 512}, "width", "outside 1:4–4:1"),
    ({**NOVA, "width": 4096, "height": 2048}, "width", "4,194,304 pixels"),
    ({**NOVA, "width": 1024}, "height", "together"),
    ({**NOVA, "cfg_scale": 11}, "cfg_scale", "1.1–10"),
    ({**NOVA, "cfg_scale": 1.0}, "cfg_scale", "1.1–10"),
    ({**NOVA, "count": 6}, "count", "1–5"),
    ({**NOVA, "count": 0}, "count", "1–5"),
    ({**NOVA, "seed": 900_000_000}, "seed", "0–858,993,459"),
    ({**NOVA, "seed": -1}, "seed", "0–858,993,459"),
    ({**NOVA, "quality": "ultra"}, "quality", "standard"),
    ({**NOVA, "style": "ANIME"}, "style", "PHOTOREALISM"),
    ({**NOVA, "prompt": ""}, "prompt", "1–1,024 characters"),
    ({**NOVA, "prompt": "x" * 1025}, "prompt", "1–1,024 characters"),
    ({**NOVA, "negative_prompt": "x" * 1025}, "negative_prompt", "1–1,024 characters"),
    ({**NOVA, "aspect_ratio": "16:9"}, "aspect_ratio", "does not apply"),
    ({**NOVA, "output_format": "jpeg"}, "output_format", "png"),
    ({**NOVA, "control": {"image": b64(), "strength": 1.5}}, "control.strength", "0–1"),
    ({**NOVA, "control": {"image": b64(), "mode": "depth"}}, "control.mode", "canny-edge"),
    ({**NOVA_INPAINT}, "mask_prompt", "exactly one of mask_prompt or mask_image"),
    ({**NOVA_INPAINT, "mask_prompt": "the vase", "mask_image": mask()}, "mask_prompt", "exactly one"),
    ({**NOVA_INPAINT, "mask_image": b64(colour=(128, 128, 128))}, "mask_image", "pure black"),
    ({**NOVA_INPAINT, "mask_image": mask((640, 640))}, "mask_image", "must match source_image"),
    ({**NOVA_INPAINT, "mask_prompt": "x", "width": 512, "height": 512}, "width", "does not apply"),
    ({**NOVA_INPAINT, "mask_prompt": "x" * 1025}, "mask_prompt", "1–1,024 characters"),
    ({"model": "stability-search-recolor", "prompt": "x", "select_prompt": "", "source_image": SRC}, "select_prompt", "1–10,000 characters"),
    ({**NOVA, "task": "outpainting", "source_image": SRC, "mask_prompt": "x", "outpainting_mode": "FAST"}, "outpainting_mode", "DEFAULT"),
    ({"model": "nova-canvas", "task": "background-removal", "source_image": SRC, "prompt": "x"}, "prompt", "does not apply"),
    ({"model": "nova-canvas", "task": "background-removal", "source_image": SRC, "cfg_scale": 5}, "cfg_scale", "does not apply"),
    ({**NOVA, "task": "image-variation"}, "source_image", "is required"),
    ({**NOVA, "task": "image-variation", "source_image": SRC, "similarity_strength": 0.1}, "similarity_strength", "0.2–1"),
    ({**NOVA, "task": "image-variation", "source_image": {"base64": b64((100, 100))}}, "source_image", "at least 320"),
    ({**NOVA, "task": "image-variation", "source_image": {"base64": "not base64!"}}, "source_image", "base64"),
    ({**NOVA, "task": "image-variation", "source_image": {"base64": b64(fmt="GIF")}}, "source_image", "PNG or JPEG"),
    ({**NOVA, "task": "image-variation", "source_image": {"base64": b64(mode="RGBA", colour=(1, 2, 3, 0))}}, "source_image", "transparent"),
    ({**NOVA, "task": "color-guided"}, "colors", "is required"),
    ({**NOVA, "task": "color-guided", "colors": ["#000000"] * 11}, "colors", "1–10"),
    ({**NOVA, "task": "color-guided", "colors": ["red"]}, "colors[0]", "pattern"),
    ({**TITAN, "prompt": "x" * 513}, "prompt", "1–512 characters"),
    ({**TITAN, "width": 1000, "height": 1000}, "width", "not a size"),
    ({**TITAN, "style": "PHOTOREALISM"}, "style", "does not apply"),
    ({**TITAN, "control": {"image": b64()}}, "control", "does not apply"),
    ({**TITAN, "task": "color-guided", "colors": ["#FF0000"]}, "task", "does not do color-guided"),
    ({**TITAN, "seed": 2_147_483_647}, "seed", "0–2,147,483,646"),
    ({**TITAN2, "task": "image-variation", "source_image": {"base64": b64((1600, 600))}}, "source_image", "at most 1408"),
    ({**CORE, "cfg_scale": 7}, "cfg_scale", "does not apply"),
    ({**CORE, "count": 2}, "count", "one image per call"),
    ({**CORE, "quality": "premium"}, "quality", "does not apply"),
    ({**CORE, "aspect_ratio": "4:3"}, "aspect_ratio", "16:9"),
    ({**CORE, "output_format": "webp"}, "output_format", "png, jpeg"),
    ({**CORE, "width": 1024, "height": 1024}, "width", "does not apply"),
    ({**CORE, "seed": 4_294_967_295}, "seed", "0–4,294,967,294"),
    ({**CORE, "prompt": "x" * 10_001}, "prompt", "1–10,000 characters"),
    ({**CORE, "task": "image-variation", "source_image": SRC}, "task", "does not do image-variation"),
    ({**SD35, "task": "image-variation", "source_image": SRC, "similarity_strength": 1.5}, "similarity_strength", "0–1"),
    ({**SD35, "task": "image-variation", "source_image": SRC, "aspect_ratio": "1:1"}, "aspect_ratio", "does not apply"),
    ({**OUTPAINT, "left": 2001}, "left", "0–2,000"),
    ({**OUTPAINT}, "left", "at least one"),
    ({**OUTPAINT, "left": 10, "creativity": 1.5}, "creativity", "0.1–1"),  # Outpaint: "Range between 0.1 and 1.0" (Image Services page)
    ({"model": "stability-search-replace", "prompt": "a cat", "source_image": SRC}, "search_prompt", "is required"),
    ({"model": "stability-inpaint", "prompt": "a cat", "source_image": SRC, "grow_mask": 30}, "grow_mask", "0–20"),
    ({"model": "stability-style-guide", "prompt": "a cat", "source_image": SRC, "fidelity": 2.0}, "fidelity", "0–1"),
    ({"model": "stability-control-sketch", "prompt": "a cat", "control": {"image": b64(), "mode": "segmentation"}}, "control.mode", "task sets the mode"),
    ({"model": "stability-style-transfer", "source_image": SRC}, "style_image", "is required"),
    ({"model": "stability-erase-object", "source_image": SRC, "prompt": "x"}, "prompt", "does not apply"),
    ({**NOVA, "foo": 1}, "foo", "unknown field"),
    ({"model": "dall-e-3", "prompt": "x"}, "model", "unknown model"),
    ({**NOVA, "task": "paint"}, "task", "Input should be"),
    ({**NOVA, "seed": "5"}, "seed", "valid integer"),
    ({**NOVA, "seed": True}, "seed", "valid integer"),
    ({**NOVA, "cfg_scale": float("nan")}, "cfg_scale", "finite"),
    ({**NOVA, "tags": {f"k{i}": "v" for i in range(11)}}, "tags", "at most 10"),
    ({**NOVA, "seed": 1, "seed_sweep": {"start": 1, "count": 3}}, "seed_sweep", "cannot be combined with seed"),
    ({**NOVA, "seed_sweep": {"start": 1, "count": 51}}, "seed_sweep.count", "50"),
    ({**NOVA, "seed_sweep": {"start": 858_993_459, "count": 2}}, "seed_sweep", "exceed"),
    ({**NOVA, "channels": []}, "channels", "at least 1"),
    ({**NOVA, "task": "image-variation", "source_image": {"image_id": "a", "base64": b64()}}, "source_image", "exactly one"),
    ({**NOVA, "idempotency_key": ""}, "idempotency_key", "at least 1"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "field", "rule"), INVALID, ids=[f"{i}-{c[1]}" for i, c in enumerate(INVALID)])
def test_invalid_request_names_the_field_and_the_rule(raw: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(RequestInvalid) as caught:
        parse_request(raw)
    messages = {p.field: p.message for p in caught.value.details}
    assert field in messages, messages
    assert rule in messages[field], messages[field]
    assert caught.value.status == 400


def test_every_offending_field_is_reported_at_once() -> None:
    # GIVEN a Stability request with a type error, an unknown field and two catalogue problems
    raw = {**CORE, "seed": "x", "foo": 1, "cfg_scale": 5, "aspect_ratio": "4:3"}
    with pytest.raises(RequestInvalid) as caught:
        parse_request(raw)
    assert {p.field for p in caught.value.details} == {"seed", "foo", "cfg_scale", "aspect_ratio"}


def test_non_object_bodies_are_a_validation_error() -> None:
    raw: object
    for raw in (None, [], "text", 5):
        with pytest.raises(RequestInvalid):
            parse_request(raw)


def test_model_id_normalises_to_the_catalogue_key_and_defaults_fill_in() -> None:
    req = parse_request({"model": "amazon.nova-canvas-v1:0", "prompt": "a fox"})
    assert req.model == "nova-canvas"
    assert req.spec is catalogue.MODELS["nova-canvas"]
    assert output_size(req) == (1024, 1024)
    assert normalised(req)["seed"] == catalogue.MODELS["nova-canvas"].limits.default_seed


def test_single_task_models_default_to_their_task() -> None:
    req = parse_request({"model": "stability-remove-background", "source_image": SRC})
    assert req.task is catalogue.Task.BACKGROUND_REMOVAL


def test_stability_size_follows_the_aspect_ratio() -> None:
    for ratio, size in catalogue.STABILITY_SIZES_BY_RATIO.items():
        assert output_size(parse_request({**CORE, "aspect_ratio": ratio})) == size


def test_price_uses_the_size_class_and_quality() -> None:
    assert price_per_image(parse_request({**NOVA, "quality": "premium"})) == 0.06
    assert price_per_image(parse_request({**NOVA, "width": 2048, "height": 2048})) == 0.06
    assert price_per_image(parse_request({**TITAN, "width": 512, "height": 512})) == 0.008
    assert price_per_image(parse_request(CORE)) == 0.04


def test_fingerprint_ignores_bookkeeping_but_not_parameters() -> None:
    base = fingerprint(parse_request(NOVA))
    assert fingerprint(parse_request({**NOVA, "idempotency_key": "abc", "tags": {"team": "x"}})) == base
    assert fingerprint(parse_request({**NOVA, "seed": 12})) == base  # 12 is Nova's default seed
    assert fingerprint(parse_request({**NOVA, "seed": 13})) != base
    assert fingerprint(parse_request({**NOVA, "prompt": "a lighthouse "})) != base


def test_stored_request_round_trips() -> None:
    req = parse_request({**NOVA_INPAINT, "mask_image": mask(), "tags": {"a": "b"}})
    again = parse_request(req.model_dump(mode="json", exclude_none=True))
    assert again == req
    assert fingerprint(again) == fingerprint(req)


def test_with_images_resolves_references_and_checks_them() -> None:
    req = parse_request({**NOVA, "task": "image-variation", "source_image": {"image_id": "img-1"}})
    assert req.image("source_image") is None
    resolved = req.with_images(lambda image_id: base64.b64decode(b64((640, 480))))
    assert output_size(resolved) == (640, 480)
    with pytest.raises(RequestInvalid) as caught:
        req.with_images(lambda image_id: base64.b64decode(b64((100, 100))))
    assert caught.value.details[0].field == "source_image"
