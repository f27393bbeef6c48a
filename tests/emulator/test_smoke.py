"""Text-to-image for every family through an unmodified boto3 client, guardrail and Rekognition."""

from __future__ import annotations

from typing import Any

import pytest
from imagegen_service.requests import parse_request

from tests.emulator.conftest import decode, invoke


@pytest.mark.parametrize(
    ("model_id", "body", "size"),
    [
        ("amazon.nova-canvas-v1:0", {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a fox"},
                                     "imageGenerationConfig": {"width": 1280, "height": 720, "seed": 1}}, (1280, 720)),
        ("amazon.titan-image-generator-v1", {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a fox"},
                                             "imageGenerationConfig": {"width": 768, "height": 1152}}, (768, 1152)),
        ("stability.stable-image-core-v1:1", {"prompt": "a fox", "aspect_ratio": "16:9"}, (1344, 768)),
    ],
)  # fmt: skip
def test_text_to_image_returns_png_of_the_requested_size(
    bedrock: Any, model_id: str, body: dict[str, Any], size: tuple[int, int]
) -> None:
    # WHEN a raw body goes through boto3's invoke_model
    payload = invoke(bedrock, model_id, body)
    # THEN one PNG of the requested size comes back
    image = decode(payload["images"][0])
    assert (image.format, image.size) == ("PNG", size)


def test_client_maps_output_filter_to_output_blocked(image_client: Any) -> None:
    from imagegen_service.errors import OutputBlocked

    with pytest.raises(OutputBlocked):
        image_client.invoke(
            parse_request({"model": "titan-image-v1", "prompt": "EMULATOR_BLOCK_OUTPUT"}), region="us-east-1"
        )
