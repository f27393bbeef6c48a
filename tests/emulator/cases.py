"""A valid GenerationRequest for every model × task in the catalogue, with real input images."""

from __future__ import annotations

import base64
import io
from typing import Any

from imagegen_service import catalogue
from imagegen_service.catalogue import Family, ModelSpec, Task
from PIL import Image, ImageDraw

SIDE = 512
SQUARE = (160, 160, 352, 352)  # the subject / masked area in every test image


def _b64(image: Image.Image, fmt: str = "PNG") -> str:
    out = io.BytesIO()
    image.save(out, fmt)
    return base64.b64encode(out.getvalue()).decode()


def subject_image() -> Image.Image:
    """A flat grey-blue background with an orange square: the subject."""
    image = Image.new("RGB", (SIDE, SIDE), (70, 90, 140))
    ImageDraw.Draw(image).rectangle(SQUARE, fill=(230, 140, 30))
    return image


def mask_image(inside: str) -> Image.Image:
    """Pure black/white; ``inside`` is the colour of the square (Amazon: black, Stability: white)."""
    outside = "white" if inside == "black" else "black"
    image = Image.new("RGB", (SIDE, SIDE), outside)
    ImageDraw.Draw(image).rectangle(SQUARE, fill=inside)
    return image


SOURCE = _b64(subject_image())
AMAZON_MASK = _b64(mask_image("black"))
STABILITY_MASK = _b64(mask_image("white"))


def valid_request(spec: ModelSpec, task: Task, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"model": spec.key, "task": task.value, "seed": 7}
    amazon = spec.family in (Family.NOVA, Family.TITAN)
    source = {"base64": SOURCE}
    if amazon:
        by_task: dict[Task, dict[str, Any]] = {
            Task.TEXT_TO_IMAGE: {"prompt": "a lighthouse at dusk", "width": 512, "height": 512},
            Task.COLOR_GUIDED: {"prompt": "a poster", "colors": ["#FF9800", "#1E88E5"], "width": 512, "height": 512},
            Task.IMAGE_VARIATION: {"prompt": "the same, in winter", "source_image": source, "similarity_strength": 0.8},
            Task.INPAINTING: {"prompt": "a blue vase", "source_image": source, "mask_image": AMAZON_MASK},
            Task.OUTPAINTING: {"prompt": "a kitchen", "source_image": source, "mask_image": AMAZON_MASK},
            Task.BACKGROUND_REMOVAL: {"source_image": source},
        }
        raw |= by_task[task]
        if task is Task.BACKGROUND_REMOVAL:
            raw.pop("seed")
    elif spec.family is Family.STABILITY:
        raw |= {"prompt": "a lighthouse at dusk"}
        if task is Task.IMAGE_VARIATION:
            raw |= {"source_image": source, "similarity_strength": 0.6}
        else:
            raw |= {"aspect_ratio": "3:2"}
    else:
        services: dict[Task, dict[str, Any]] = {
            Task.INPAINTING: {"prompt": "a blue vase", "source_image": source, "mask_image": STABILITY_MASK},
            Task.OUTPAINTING: {"prompt": "a kitchen", "source_image": source, "left": 64, "down": 32},
            Task.SEARCH_REPLACE: {"prompt": "a cat", "search_prompt": "the box", "source_image": source},
            Task.SEARCH_RECOLOR: {"prompt": "bright green", "select_prompt": "the box", "source_image": source},
            Task.ERASE_OBJECT: {"source_image": source, "mask_image": STABILITY_MASK},
            Task.BACKGROUND_REMOVAL: {"source_image": source},
            Task.CONTROL_SKETCH: {"prompt": "a castle", "control": {"image": SOURCE, "strength": 0.6}},
            Task.CONTROL_STRUCTURE: {"prompt": "a castle", "control": {"image": SOURCE}},
            Task.STYLE_GUIDE: {"prompt": "a castle", "source_image": source, "aspect_ratio": "16:9", "fidelity": 0.4},
            Task.STYLE_TRANSFER: {"prompt": "oil painting", "source_image": source, "style_image": {"base64": SOURCE}},
            Task.UPSCALE_FAST: {"source_image": {"base64": _b64(subject_image().resize((128, 96)))}},
            Task.UPSCALE_CONSERVATIVE: {"prompt": "sharp", "source_image": {"base64": _b64(subject_image().resize((256, 256)))}},
            Task.UPSCALE_CREATIVE: {"prompt": "sharp", "source_image": {"base64": _b64(subject_image().resize((256, 256)))}, "creativity": 0.3},
        }  # fmt: skip
        raw |= services[task]
        if task in (Task.BACKGROUND_REMOVAL, Task.UPSCALE_FAST):
            raw.pop("seed")
    return raw | extra


ALL_CASES = [(spec, task) for spec in catalogue.all_models() for task in spec.tasks]
CASE_IDS = [f"{spec.key}:{task.value}" for spec, task in ALL_CASES]
