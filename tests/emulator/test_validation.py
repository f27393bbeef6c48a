"""Raw bodies sent with boto3: the emulator rejects what Bedrock rejects, as a ValidationException."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.cases import AMAZON_MASK, SOURCE
from tests.emulator.conftest import png_b64

NOVA = "amazon.nova-canvas-v1:0"
TITAN = "amazon.titan-image-generator-v1"
CORE = "stability.stable-image-core-v1:1"
SD35 = "stability.sd3-5-large-v1:0"
T2I: dict[str, Any] = {
    "taskType": "TEXT_IMAGE",
    "textToImageParams": {"text": "a lighthouse"},
    "imageGenerationConfig": {"width": 1024, "height": 1024, "seed": 1, "cfgScale": 6.5, "numberOfImages": 1, "quality": "standard"},
}  # fmt: skip
INPAINT: dict[str, Any] = {"taskType": "INPAINTING", "inPaintingParams": {"text": "a vase", "image": SOURCE, "maskImage": AMAZON_MASK},
           "imageGenerationConfig": {"seed": 1}}  # fmt: skip
GREY = png_b64((512, 512), (128, 128, 128))


def patch(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with ``a.b.c`` set (value ``...`` deletes it)."""
    body = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return body


CFG = "imageGenerationConfig"
TXT = "textToImageParams"
INVALID_BODIES: list[tuple[str, dict[str, Any], str]] = [
    (NOVA, patch(T2I, f"{CFG}.width", 1000), "width: must be divisible by 16"),
    (NOVA, patch(T2I, f"{CFG}.width", 304), "width: must be 320–4096"),
    (NOVA, patch(T2I, f"{CFG}.height", 4112), "height: must be 320–4096"),
    (NOVA, patch(patch(T2I, f"{CFG}.width", 4096), f"{CFG}.height", 512), "outside 1:4–4:1"),
    (NOVA, patch(patch(T2I, f"{CFG}.width", 4096), f"{CFG}.height", 2048), "exceeds 4,194,304 pixels"),
    (NOVA, patch(T2I, f"{CFG}.cfgScale", 10.5), "cfgScale: must be within 1.1–10"),
    (NOVA, patch(T2I, f"{CFG}.cfgScale", 1), "cfgScale: must be within 1.1–10"),
    (NOVA, patch(T2I, f"{CFG}.numberOfImages", 6), "numberOfImages: must be within 1–5"),
    (NOVA, patch(T2I, f"{CFG}.numberOfImages", 0), "numberOfImages"),
    (NOVA, patch(T2I, f"{CFG}.seed", 900_000_000), "seed: must be within 0–858,993,459"),
    (NOVA, patch(T2I, f"{CFG}.quality", "ultra"), "quality"),
    (NOVA, patch(T2I, f"{CFG}.width", "1024"), "width"),
    (NOVA, patch(T2I, f"{TXT}.style", "ANIME"), "style: must be one of"),
    (NOVA, patch(T2I, f"{TXT}.text", ""), "text: must be 1–1,024 characters"),
    (NOVA, patch(T2I, f"{TXT}.text", "x" * 1025), "text: must be 1–1,024 characters"),
    (NOVA, patch(T2I, f"{TXT}.negativeText", "x" * 1025), "negativeText"),
    (NOVA, patch(T2I, f"{TXT}.text", ...), "text: is required"),
    (NOVA, patch(T2I, f"{TXT}.foo", 1), "extraneous key [foo] is not permitted"),
    (NOVA, patch(T2I, "extra", 1), "extraneous key [extra] is not permitted"),
    (NOVA, patch(T2I, "taskType", "PAINT"), "taskType"),
    (NOVA, patch(T2I, TXT, ...), "required key [textToImageParams] not found"),
    (NOVA, patch(patch(T2I, f"{TXT}.conditionImage", SOURCE), f"{TXT}.controlStrength", 2), "controlStrength: must be within 0–1"),
    (NOVA, patch(patch(T2I, f"{TXT}.conditionImage", SOURCE), f"{TXT}.controlMode", "DEPTH"), "controlMode"),
    (NOVA, patch(T2I, f"{TXT}.conditionImage", "%%%"), "conditionImage: is not valid base64"),
    (NOVA, patch(INPAINT, "inPaintingParams.maskImage", ...), "maskPrompt: give exactly one"),
    (NOVA, patch(INPAINT, "inPaintingParams.maskPrompt", "the vase"), "maskPrompt: give exactly one"),
    (NOVA, patch(INPAINT, "inPaintingParams.maskImage", GREY), "maskImage: must contain only pure black"),
    (NOVA, patch(INPAINT, "inPaintingParams.image", png_b64((200, 200))), "image: is 200×200"),
    (NOVA, patch(patch(patch(INPAINT, "taskType", "OUTPAINTING"), "outPaintingParams", INPAINT["inPaintingParams"] | {"outPaintingMode": "FAST"}), "inPaintingParams", ...), "outPaintingMode"),
    (NOVA, {"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": SOURCE}, CFG: {"seed": 1}}, "extraneous key [imageGenerationConfig]"),
    (NOVA, {"taskType": "IMAGE_VARIATION", "imageVariationParams": {"text": "x", "images": [SOURCE], "similarityStrength": 0.1}}, "similarityStrength: must be within 0.2–1"),
    (NOVA, {"taskType": "IMAGE_VARIATION", "imageVariationParams": {"text": "x", "images": []}}, "images"),
    (NOVA, {"taskType": "COLOR_GUIDED_GENERATION", "colorGuidedGenerationParams": {"text": "x", "colors": ["#000000"] * 11}}, "colors: must have 1–10 entries"),
    (NOVA, {"taskType": "COLOR_GUIDED_GENERATION", "colorGuidedGenerationParams": {"text": "x", "colors": ["red"]}}, "colors"),
    (TITAN, patch(T2I, f"{TXT}.text", "x" * 513), "text: must be 1–512 characters"),
    (TITAN, patch(patch(T2I, f"{CFG}.width", 1000), f"{CFG}.height", 1000), "1000×1000 is not a size"),
    (TITAN, patch(T2I, f"{TXT}.style", "PHOTOREALISM"), "style: does not apply"),
    (TITAN, {"taskType": "COLOR_GUIDED_GENERATION", "colorGuidedGenerationParams": {"text": "x", "colors": ["#FF0000"]}}, "taskType: Amazon Titan Image Generator G1 does not do color-guided"),
    (TITAN, patch(patch(T2I, f"{CFG}.seed", 2_147_483_647), f"{CFG}.cfgScale", 8), "seed: must be within 0–2,147,483,646"),
    (CORE, {"prompt": "x", "cfg_scale": 7}, "extraneous key [cfg_scale]"),
    (CORE, {"prompt": "x", "width": 1024}, "extraneous key [width]"),
    (CORE, {"prompt": "x", "mode": "image-to-image"}, "extraneous key [mode]"),
    (CORE, {"prompt": "x", "aspect_ratio": "4:3"}, "aspect_ratio: must be one of"),
    (CORE, {"prompt": "x", "output_format": "webp"}, "output_format: must be one of png, jpeg"),
    (CORE, {"negative_prompt": "x"}, "prompt: is required"),
    (CORE, {"prompt": "x", "seed": 4_294_967_295}, "seed: must be within 0–4,294,967,294"),
    (SD35, {"prompt": "x", "mode": "image-to-image"}, "required key [image] not found"),
    (SD35, {"prompt": "x", "mode": "image-to-image", "image": SOURCE, "strength": 1.5}, "strength: must be within 0–1"),
    (SD35, {"prompt": "x", "mode": "sketch"}, "mode"),
    ("us.stability.stable-outpaint-v1:0", {"image": SOURCE, "left": 2500}, "left: must be within 0–2,000"),
    ("us.stability.stable-outpaint-v1:0", {"image": SOURCE}, "at least one of left/right/up/down"),
    ("us.stability.stable-image-search-replace-v1:0", {"image": SOURCE, "prompt": "x"}, "search_prompt: is required"),
    ("us.stability.stable-image-erase-object-v1:0", {"image": SOURCE, "prompt": "x"}, "extraneous key [prompt]"),
    ("us.stability.stable-image-remove-background-v1:0", {"image": SOURCE, "output_format": "webp"}, "output_format"),
    ("us.stability.stable-image-control-sketch-v1:0", {"image": SOURCE, "prompt": "x", "control_strength": 1.5}, "control_strength: must be within 0–1"),
    ("us.stability.stable-image-style-guide-v1:0", {"image": SOURCE, "prompt": "x", "fidelity": 2}, "fidelity: must be within 0–1"),
    ("us.stability.stable-creative-upscale-v1:0", {"image": SOURCE, "prompt": "x", "creativity": 0.9}, "creativity: must be within 0.1–0.5"),
    ("us.stability.stable-style-transfer-v1:0", {"init_image": SOURCE}, "style_image: is required"),
    # Image Services limits, from the Bedrock page "Stability AI Image Services" (each service's parameters):
    # Creative Upscale "Total pixel count must be between 4,096 and 1,048,576 pixels" (the 4 MP input)
    ("us.stability.stable-creative-upscale-v1:0", {"image": png_b64((2048, 2048)), "prompt": "x"}, "image: is 2048×2048; at most 1,048,576 pixels"),
    # Fast Upscale "Width must be between 32 and 1,536 pixels"
    ("us.stability.stable-fast-upscale-v1:0", {"image": png_b64((31, 40))}, "image: is 31×40; each side must be at least 32 px"),
    # Inpaint "Image aspect ratio must be between 1:2.5 and 2.5:1"
    ("us.stability.stable-image-inpaint-v1:0", {"image": png_b64((641, 256)), "prompt": "x"}, "aspect ratio must be within 1:2.5–2.5:1"),
    # Outpaint's parameters include no negative_prompt
    ("us.stability.stable-outpaint-v1:0", {"image": SOURCE, "left": 64, "negative_prompt": "x"}, "extraneous key [negative_prompt]"),
    # Search and Replace grow_mask "Range between 0 and 20"
    ("us.stability.stable-image-search-replace-v1:0", {"image": SOURCE, "prompt": "x", "search_prompt": "y", "grow_mask": 21}, "grow_mask: must be within 0–20"),
    # Style Transfer change_strength "Range between 0.1 and 1"
    ("us.stability.stable-style-transfer-v1:0", {"init_image": SOURCE, "style_image": SOURCE, "change_strength": 0.05}, "change_strength: must be within 0.1–1"),
    ("amazon.titan-image-generator-v9", {"prompt": "x"}, "The provided model identifier is invalid."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("model_id", "body", "fragment"), INVALID_BODIES, ids=[f"{i}-{c[2][:30]}" for i, c in enumerate(INVALID_BODIES)]
)
def test_invalid_body_is_a_validation_exception(
    bedrock: Any, model_id: str, body: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ClientError) as caught:
        bedrock.invoke_model(modelId=model_id, body=json.dumps(body))
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fragment in error["Error"]["Message"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""])
def test_malformed_json_is_a_validation_exception(bedrock: Any, body: bytes) -> None:
    with pytest.raises(ClientError) as caught:
        bedrock.invoke_model(modelId=NOVA, body=body)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Malformed input request" in caught.value.response["Error"]["Message"]


def test_model_arn_is_accepted(bedrock: Any) -> None:
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{TITAN}"
    body = patch(patch(T2I, f"{CFG}.cfgScale", 8), f"{CFG}.seed", 3)
    payload = json.loads(bedrock.invoke_model(modelId=arn, body=json.dumps(body))["body"].read())
    assert len(payload["images"]) == 1
