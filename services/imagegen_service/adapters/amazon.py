"""Nova Canvas and Titan Image Generator: camelCase ``taskType`` + ``…Params`` + ``imageGenerationConfig``.

Sections 1 and 2 of the reference. Every body carries explicit seed, cfg scale and size (the
catalogue defaults when the request left them out). Bedrock does not echo seeds, and no AWS source
states which seed image ``i > 0`` of a multi-image call used, so only a one-image call's image gets a
seed (the one sent); images of a multi-image call get none, and draft → final re-runs the whole call.
"""

from __future__ import annotations

from typing import Any

from imagegen_service.adapters.output import ModelOutput, decode_image
from imagegen_service.adapters.wire import WireProblem, as_image, inline_image, obj, take
from imagegen_service.catalogue import AMAZON_TASK_TYPES, ModelSpec, Quality, Task
from imagegen_service.requests import GenerationRequest, effective_seed, image_count, output_size

PARAMS_KEY = {
    Task.TEXT_TO_IMAGE: "textToImageParams",
    Task.COLOR_GUIDED: "colorGuidedGenerationParams",
    Task.IMAGE_VARIATION: "imageVariationParams",
    Task.INPAINTING: "inPaintingParams",
    Task.OUTPAINTING: "outPaintingParams",
    Task.BACKGROUND_REMOVAL: "backgroundRemovalParams",
}
CONTROL_MODES = {"canny-edge": "CANNY_EDGE", "segmentation": "SEGMENTATION"}
_TEXT = {"text": "prompt", "negativeText": "negative_prompt"}
PARAM_FIELDS: dict[Task, dict[str, str]] = {
    Task.TEXT_TO_IMAGE: {**_TEXT, "style": "style", "conditionImage": "control.image", "controlMode": "control.mode",
                         "controlStrength": "control.strength"},
    Task.COLOR_GUIDED: {**_TEXT, "colors": "colors", "referenceImage": "source_image"},
    Task.IMAGE_VARIATION: {**_TEXT, "images": "images", "similarityStrength": "similarity_strength"},
    Task.INPAINTING: {**_TEXT, "image": "source_image", "maskPrompt": "mask_prompt", "maskImage": "mask_image"},
    Task.OUTPAINTING: {**_TEXT, "image": "source_image", "maskPrompt": "mask_prompt", "maskImage": "mask_image",
                       "outPaintingMode": "outpainting_mode"},
    Task.BACKGROUND_REMOVAL: {"image": "source_image"},
}  # fmt: skip
CONFIG_FIELDS = {
    "numberOfImages": "count",
    "quality": "quality",
    "cfgScale": "cfg_scale",
    "seed": "seed",
    "width": "width",
    "height": "height",
}
_SIZED = (Task.TEXT_TO_IMAGE, Task.COLOR_GUIDED, Task.IMAGE_VARIATION)


def build_body(req: GenerationRequest) -> dict[str, Any]:
    task, limits = req.task, req.spec.limits
    body: dict[str, Any] = {"taskType": AMAZON_TASK_TYPES[task]}
    if task is Task.BACKGROUND_REMOVAL:  # no imageGenerationConfig at all (section 1)
        body[PARAMS_KEY[task]] = {"image": inline_image(req, "source_image")}
        return body
    params: dict[str, Any] = {}
    if req.prompt is not None:
        params["text"] = req.prompt
    if req.negative_prompt is not None:
        params["negativeText"] = req.negative_prompt
    if task is Task.TEXT_TO_IMAGE:
        if req.style is not None:
            params["style"] = req.style
        if req.control is not None:
            strength = req.control.strength if req.control.strength is not None else limits.default_control_strength
            params["conditionImage"] = inline_image(req, "control.image")
            params["controlMode"] = CONTROL_MODES[req.control.mode or "canny-edge"]
            params["controlStrength"] = strength
    elif task is Task.COLOR_GUIDED:
        params["colors"] = list(req.colors or ())
        if req.source_image is not None:
            params["referenceImage"] = inline_image(req, "source_image")
    elif task is Task.IMAGE_VARIATION:
        params["images"] = [inline_image(req, "source_image")]
        if req.similarity_strength is not None:
            params["similarityStrength"] = req.similarity_strength
    else:  # inpainting, outpainting
        params["image"] = inline_image(req, "source_image")
        if req.mask_prompt is not None:
            params["maskPrompt"] = req.mask_prompt
        else:
            params["maskImage"] = inline_image(req, "mask_image")
        if task is Task.OUTPAINTING:
            params["outPaintingMode"] = req.outpainting_mode or "DEFAULT"
    config: dict[str, Any] = {
        "numberOfImages": image_count(req),
        "quality": (req.quality or Quality.STANDARD).value,
        "cfgScale": req.cfg_scale if req.cfg_scale is not None else limits.default_cfg_scale,
        "seed": effective_seed(req),
    }
    if task in _SIZED:
        config["width"], config["height"] = output_size(req)
    body[PARAMS_KEY[task]] = params
    body["imageGenerationConfig"] = config
    return body


def parse_response(req: GenerationRequest, payload: dict[str, Any]) -> ModelOutput:
    """``{"images": [...], "error": "..."}``: blocked outputs are a 200 with an ``error`` and fewer images."""
    raw_images = payload.get("images") or []
    # One image from one requested: it was drawn with the seed sent. Otherwise the seeds are unknown.
    seed = effective_seed(req) if image_count(req) == 1 and len(raw_images) == 1 else None
    images = tuple(decode_image(text, seed=seed) for text in raw_images)
    error = payload.get("error")
    filtered = (error,) if isinstance(error, str) and error else ()
    return ModelOutput(
        model_key=req.model, model_id=req.spec.model_id, images=images, requested=image_count(req), filtered=filtered
    )


def request_from_body(spec: ModelSpec, body: dict[str, Any]) -> dict[str, Any]:
    """The GenerationRequest a wire body stands for (the emulator validates bodies through it)."""
    tasks = {wire: task for task, wire in AMAZON_TASK_TYPES.items()}
    task = tasks.get(body.get("taskType"))  # type: ignore[arg-type]
    if task is None:
        raise WireProblem("#/taskType", f"{body.get('taskType')!r} is not a valid enum value")
    params_key = PARAMS_KEY[task]
    allowed_top = {"taskType", params_key} | (
        {"imageGenerationConfig"} if task is not Task.BACKGROUND_REMOVAL else set()
    )
    for key in body:
        if key not in allowed_top:
            raise WireProblem("#", f"extraneous key [{key}] is not permitted")
    if params_key not in body:
        raise WireProblem("#", f"required key [{params_key}] not found")
    raw: dict[str, Any] = {"model": spec.key, "task": task.value}
    for wire_key, value in take(
        obj(body[params_key], f"#/{params_key}"), f"#/{params_key}", PARAM_FIELDS[task]
    ).items():
        if wire_key.startswith("control."):
            control = raw.setdefault("control", {})
            name = wire_key.removeprefix("control.")
            modes = {v: k for k, v in CONTROL_MODES.items()}
            control[name] = as_image(value) if name == "image" else modes.get(value, value) if name == "mode" else value
        elif wire_key == "images":
            if not isinstance(value, list) or not value:
                raise WireProblem(f"#/{params_key}/images", "expected a non-empty array of base64 images")
            raw["source_image"] = as_image(value[0])
        elif wire_key in ("source_image", "mask_image"):
            raw[wire_key] = as_image(value)
        else:
            raw[wire_key] = value
    if "imageGenerationConfig" in body:
        config = obj(body["imageGenerationConfig"], "#/imageGenerationConfig")
        raw.update(take(config, "#/imageGenerationConfig", CONFIG_FIELDS))
    return raw


def wire_name(task: Task | None, field: str) -> str:
    """The wire path a request field travels as for ``task`` (for messages that name what was sent)."""
    names = {v: k for k, v in PARAM_FIELDS.get(task, {}).items()} if task is not None else {}
    if field in names:
        return f"{PARAMS_KEY[task]}.{names[field]}" if task is not None else field
    config = {v: k for k, v in CONFIG_FIELDS.items()}
    if field in config:
        return f"imageGenerationConfig.{config[field]}"
    if field == "source_image" and task is Task.IMAGE_VARIATION:
        return f"{PARAMS_KEY[task]}.images"
    return {"task": "taskType"}.get(field, field)
