"""Input images: inline base64 is guardrailed and stored under inputs/ (never served); image_id loads bytes."""

from __future__ import annotations

import base64
import io

from PIL import Image, PngImagePlugin

from tests.service.conftest import Stack
from tests.service.harness import call_api


def _png(colour: tuple[int, int, int], *, unsafe: bool = False) -> str:
    info = PngImagePlugin.PngInfo()
    if unsafe:
        info.add_text("imagegen-emulator", "imagegen-emulator:unsafe")
    out = io.BytesIO()
    Image.new("RGB", (512, 512), colour).save(out, "PNG", pnginfo=info)
    return base64.b64encode(out.getvalue()).decode()


def test_an_inline_source_image_is_stored_as_an_input_and_edited(stack: Stack) -> None:
    source = _png((90, 140, 200))
    status, body = call_api(
        "POST", "/v1/images",
        {"model": "titan-image-v1", "task": "inpainting", "source_image": {"base64": source}, "mask_prompt": "the sky",
         "prompt": "a clear blue sky", "seed": 3},
    )  # fmt: skip
    assert status == 200, body
    job = body["job"]
    assert job["status"] == "succeeded"
    assert "base64" not in str(job["request"])  # digests, never the bytes
    digest = job["request"]["source_image"]["sha256"]
    s3 = stack.client("s3")
    inputs = [o["Key"] for o in s3.list_objects_v2(Bucket=stack.bucket, Prefix="inputs/")["Contents"]]
    assert inputs == [f"inputs/{digest}.png"]
    # AND an output can be the next edit's source by id: its bytes are loaded from S3
    status, again = call_api(
        "POST", "/v1/images",
        {"model": "titan-image-v1", "task": "image-variation", "source_image": {"image_id": job["images"][0]["image_id"]},
         "prompt": "a clear blue sky, watercolour", "seed": 4},
    )  # fmt: skip
    assert status == 200, again
    assert again["job"]["request"]["source_image"]["sha256"] == job["images"][0]["sha256"]


def test_an_unsafe_inline_image_is_blocked_by_the_guardrail_before_any_model_call(stack: Stack) -> None:
    status, body = call_api(
        "POST", "/v1/jobs",
        {"model": "titan-image-v1", "task": "inpainting", "source_image": {"base64": _png((250, 5, 5), unsafe=True)},
         "mask_prompt": "the wall", "prompt": "a poster", "seed": 3},
    )  # fmt: skip
    assert status == 422, body
    assert "source_image" in {d["field"] for d in body["error"]["details"]}
    assert stack.stats()["invocations_total"] == 0
    assert stack.client("s3").list_objects_v2(Bucket=stack.bucket).get("KeyCount", 0) == 0  # nothing stored
