"""The emulator performs edits for real on the source pixels."""

from __future__ import annotations

import io

from imagegen_service import catalogue
from imagegen_service.bedrock import BedrockImageClient
from imagegen_service.catalogue import Task
from imagegen_service.requests import parse_request
from PIL import Image, ImageChops

from tests.emulator.cases import SIDE, SQUARE, subject_image, valid_request

REGION = "us-east-1"


def run(client: BedrockImageClient, model: str, task: Task, **extra: object) -> Image.Image:
    req = parse_request(valid_request(catalogue.MODELS[model], task, **extra))
    output = client.invoke(req, region=REGION)
    image = Image.open(io.BytesIO(output.images[0].data))
    image.load()
    return image


def changed_box(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int] | None:
    return ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox()


def inside_square(box: tuple[int, int, int, int] | None) -> bool:
    x0, y0, x1, y1 = SQUARE
    return box is not None and box[0] >= x0 and box[1] >= y0 and box[2] <= x1 + 1 and box[3] <= y1 + 1


def test_amazon_inpainting_changes_only_the_black_area_of_the_mask(image_client: BedrockImageClient) -> None:
    for model in ("nova-canvas", "titan-image-v1"):
        after = run(image_client, model, Task.INPAINTING)
        assert after.size == (SIDE, SIDE)
        assert inside_square(changed_box(subject_image(), after))


def test_amazon_outpainting_keeps_the_masked_source_pixels(image_client: BedrockImageClient) -> None:
    before = subject_image()
    after = run(image_client, "nova-canvas", Task.OUTPAINTING, outpainting_mode="PRECISE").convert("RGB")
    assert after.crop(SQUARE).tobytes() == before.crop(SQUARE).tobytes()
    assert changed_box(before, after) is not None  # … and changes the rest


def test_amazon_mask_prompt_changes_a_region_not_everything(image_client: BedrockImageClient) -> None:
    req = valid_request(catalogue.MODELS["nova-canvas"], Task.INPAINTING, mask_prompt="the orange box")
    req.pop("mask_image")
    output = image_client.invoke(parse_request(req), region=REGION)
    after = Image.open(io.BytesIO(output.images[0].data)).convert("RGB")
    box = changed_box(subject_image(), after)
    assert box is not None and box != (0, 0, SIDE, SIDE)


def test_background_removal_returns_rgba_with_a_transparent_background(image_client: BedrockImageClient) -> None:
    for model in ("nova-canvas", "titan-image-v2", "stability-remove-background"):
        after = run(image_client, model, Task.BACKGROUND_REMOVAL)
        assert after.mode == "RGBA"
        alpha = after.getchannel("A")
        assert alpha.getpixel((5, 5)) == 0  # background
        assert alpha.getpixel((256, 256)) == 255  # the subject


def test_variation_keeps_the_source_size(image_client: BedrockImageClient) -> None:
    assert run(image_client, "nova-canvas", Task.IMAGE_VARIATION).size == (SIDE, SIDE)
    assert run(image_client, "sd3-5-large", Task.IMAGE_VARIATION).size == (SIDE, SIDE)


def test_stability_inpaint_changes_only_the_white_area(image_client: BedrockImageClient) -> None:
    after = run(image_client, "stability-inpaint", Task.INPAINTING)
    assert inside_square(changed_box(subject_image(), after))


def test_stability_outpaint_extends_the_canvas_around_the_source(image_client: BedrockImageClient) -> None:
    after = run(image_client, "stability-outpaint", Task.OUTPAINTING, left=64, up=16, right=0, down=32).convert("RGB")
    assert after.size == (SIDE + 64, SIDE + 16 + 32)
    assert after.crop((64, 16, 64 + SIDE, 16 + SIDE)).tobytes() == subject_image().tobytes()


def test_jpeg_output_when_asked(image_client: BedrockImageClient) -> None:
    image = run(image_client, "stable-image-core", Task.TEXT_TO_IMAGE, output_format="jpeg")
    assert image.format == "JPEG"
    assert image.size == catalogue.STABILITY_SIZES_BY_RATIO["3:2"]
