"""Adapters build Bedrock's exact bodies and read every response shape (no network)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from imagegen_service import adapters, catalogue
from imagegen_service.bedrock import require_images
from imagegen_service.errors import ModelFailed, OutputBlocked, PromptBlocked, RequestInvalid
from imagegen_service.requests import parse_request
from PIL import Image

from tests.emulator.cases import ALL_CASES, CASE_IDS, valid_request


def png(size: tuple[int, int] = (96, 64)) -> str:
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_nova_text_to_image_body_is_camel_case_with_explicit_defaults() -> None:
    req = parse_request({"model": "nova-canvas", "prompt": "a fox", "negative_prompt": "blur", "style": "PHOTOREALISM"})
    assert adapters.build_body(req) == {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": "a fox", "negativeText": "blur", "style": "PHOTOREALISM"},
        "imageGenerationConfig": {"numberOfImages": 1, "quality": "standard", "cfgScale": 6.5, "seed": 12,
                                  "width": 1024, "height": 1024},
    }  # fmt: skip


def test_conditioning_maps_mode_and_default_strength() -> None:
    req = parse_request(
        {"model": "titan-image-v2", "prompt": "x", "control": {"image": png((512, 512)), "mode": "segmentation"}}
    )
    params = adapters.build_body(req)["textToImageParams"]
    assert (params["controlMode"], params["controlStrength"]) == ("SEGMENTATION", 0.7)


def test_background_removal_has_no_generation_config() -> None:
    req = parse_request(
        {"model": "nova-canvas", "task": "background-removal", "source_image": {"base64": png((512, 512))}}
    )
    assert adapters.build_body(req) == {
        "taskType": "BACKGROUND_REMOVAL",
        "backgroundRemovalParams": {"image": png((512, 512))},
    }


def test_stability_bodies_are_snake_case_and_minimal() -> None:
    core = parse_request({"model": "stable-image-core", "prompt": "x", "aspect_ratio": "16:9", "output_format": "jpeg"})
    assert adapters.build_body(core) == {"prompt": "x", "aspect_ratio": "16:9", "output_format": "jpeg"}
    sd35 = parse_request({"model": "sd3-5-large", "task": "image-variation", "prompt": "x", "source_image": png(), "similarity_strength": 0.75})  # fmt: skip
    assert adapters.build_body(sd35) == {"prompt": "x", "mode": "image-to-image", "image": png(), "strength": 0.25}


def test_stability_services_rename_their_keys() -> None:
    transfer = parse_request({"model": "stability-style-transfer", "source_image": png(), "style_image": png(), "fidelity": 0.3})  # fmt: skip
    assert adapters.build_body(transfer) == {"init_image": png(), "style_image": png(), "composition_fidelity": 0.3}
    sketch = parse_request(
        {"model": "stability-control-sketch", "prompt": "x", "control": {"image": png(), "strength": 0.4}}
    )
    assert adapters.build_body(sketch) == {"prompt": "x", "image": png(), "control_strength": 0.4}


@pytest.mark.parametrize(("spec", "task"), ALL_CASES, ids=CASE_IDS)
def test_body_maps_back_to_the_same_request(spec: catalogue.ModelSpec, task: catalogue.Task) -> None:
    # The emulator validates wire bodies through request_from_body: it must be the adapter's inverse
    req = parse_request(valid_request(spec, task))
    again = parse_request(adapters.request_from_body(spec, adapters.build_body(req)))
    assert adapters.build_body(again) == adapters.build_body(req)


def test_unresolved_image_id_is_refused() -> None:
    req = parse_request({"model": "nova-canvas", "task": "background-removal", "source_image": {"image_id": "img-1"}})
    with pytest.raises(RequestInvalid):
        adapters.build_body(req)


NOVA = parse_request({"model": "nova-canvas", "prompt": "x", "count": 3, "seed": 5})
CORE = parse_request({"model": "stable-image-core", "prompt": "x"})


def test_nova_partial_filter_keeps_the_images_and_the_reason() -> None:
    payload = {
        "images": [png(), png()],
        "error": "Some of the generated images have been blocked by our content filters.",
    }
    output = adapters.parse_response(NOVA, payload)
    # seeds of a multi-image call are unknown (Bedrock echoes none; no source says seed + i): not invented
    assert [i.seed for i in output.images] == [None, None] and output.requested == 3
    assert output.some_filtered and not output.all_filtered
    assert require_images(output) is output


@pytest.mark.parametrize(
    ("req", "payload", "error"),
    [
        (
            NOVA,
            {"images": [], "error": "All of the generated images have been blocked by our content filters."},
            OutputBlocked,
        ),
        (CORE, {"seeds": [1], "finish_reasons": ["Filter reason: output image"], "images": []}, OutputBlocked),
        (CORE, {"seeds": [1], "finish_reasons": ["Filter reason: prompt"]}, PromptBlocked),
        (CORE, {"seeds": [1], "finish_reasons": ["Filter reason: input image"], "images": [png()]}, PromptBlocked),
        (CORE, {"seeds": [1], "finish_reasons": ["Inference error"]}, ModelFailed),
        (NOVA, {"images": []}, ModelFailed),
    ],
)
def test_responses_without_images_say_whose_failure(req: Any, payload: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        require_images(adapters.parse_response(req, payload))


def test_stability_seed_and_format_come_from_the_response() -> None:
    out = io.BytesIO()
    Image.new("RGB", (32, 16)).save(out, "JPEG")
    payload = {"seeds": [99], "finish_reasons": [None], "images": [base64.b64encode(out.getvalue()).decode()]}
    image = adapters.parse_response(CORE, payload).images[0]
    assert (image.seed, image.format, image.width, image.height) == (99, "jpeg", 32, 16)


def test_unreadable_model_image_is_a_model_failure() -> None:
    with pytest.raises(ModelFailed):
        adapters.parse_response(NOVA, {"images": ["bm90IGFuIGltYWdl"]})
