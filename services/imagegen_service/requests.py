"""GenerationRequest: the API's request schema, validated against the model catalogue.

Two passes. Pydantic checks shape and types (unknown fields, strict numbers); then
``catalogue_problems`` checks what depends on the model and task: which fields apply, ranges, sizes,
masks and input images, every limit read from ``catalogue.Limits``. ``parse_request`` reports every
offending field at once as one ``RequestInvalid`` and raises nothing else, whatever the input.

Lifecycle (legacy/end-of-life) is deliberately not checked here: the service and the Bedrock client
turn that into ``ModelUnavailable``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, Literal

from imagegen_service import catalogue
from imagegen_service.catalogue import Family, ModelSpec, Quality, Range, Task
from imagegen_service.errors import FieldProblem, RequestInvalid
from imagegen_service.images import DecodedImage, ImageProblem, check_mask, decode_base64, encode_base64, inspect
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# Our API's own limits (not Bedrock's): kept here, named.
MAX_TAGS = 10
MAX_TAG_KEY = 64
MAX_TAG_VALUE = 256
MAX_IDEMPOTENCY_KEY = 128
MAX_CHANNELS = 10
SEED_SWEEP_COUNT = Range(1, 50)
MAX_REQUESTS_PER_CALL = 100  # POST /v1/jobs {"requests": [...]}: 1–100 (CONTRACT.md §3)
# The longest colour list any catalogue model takes: the schema caps the list before the model's own rule runs.
MAX_COLORS = max((int(spec.limits.colors.high) for spec in catalogue.MODELS.values() if spec.limits.colors), default=1)
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
_SKIP_CATALOGUE = "skip_catalogue"


class Need(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"


def _image_shorthand(value: object) -> object:
    """A bare string is base64 (``"mask_image": "iVBOR…"``); objects are ``{"image_id"}``/``{"base64"}``."""
    return {"base64": value} if isinstance(value, str) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageRef(_Strict):
    """An input image: an earlier image by id (resolved by the service) or inline base64 PNG/JPEG."""

    image_id: StrictStr | None = Field(default=None, pattern=_NAME.replace("{0,63}", "{0,127}"))
    base64: StrictStr | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ImageRef:
        if (self.image_id is None) == (self.base64 is None):
            raise ValueError("give exactly one of image_id or base64")
        return self


ImageInput = Annotated[ImageRef, BeforeValidator(_image_shorthand)]
Fraction = Annotated[StrictFloat, Field(allow_inf_nan=False)]


class Control(_Strict):
    """Conditioning: layout from a reference image (Amazon) or the sketch/structure (Stability control)."""

    image: ImageInput
    mode: Literal["canny-edge", "segmentation"] | None = None
    strength: Fraction | None = None


class SeedSweep(_Strict):
    start: StrictInt = Field(ge=0)
    count: StrictInt = Field(ge=int(SEED_SWEEP_COUNT.low), le=int(SEED_SWEEP_COUNT.high))


class GenerationRequest(_Strict):
    """One image-generation request (CONTRACT.md §3). ``model`` is normalised to the catalogue key."""

    model: StrictStr
    task: Task = Task.TEXT_TO_IMAGE
    prompt: StrictStr | None = None
    negative_prompt: StrictStr | None = None
    seed: StrictInt | None = None
    cfg_scale: Fraction | None = None
    width: StrictInt | None = None
    height: StrictInt | None = None
    aspect_ratio: StrictStr | None = None
    quality: Quality | None = None
    count: StrictInt | None = None
    style: StrictStr | None = None
    source_image: ImageInput | None = None
    mask_prompt: StrictStr | None = None
    mask_image: ImageInput | None = None
    colors: list[Annotated[StrictStr, Field(pattern=r"^#[0-9A-Fa-f]{6}$")]] | None = Field(
        default=None, min_length=1, max_length=MAX_COLORS
    )
    similarity_strength: Fraction | None = None
    control: Control | None = None
    outpainting_mode: Literal["DEFAULT", "PRECISE"] | None = None
    output_format: StrictStr | None = None
    # Stability Image Services (section 3b)
    search_prompt: StrictStr | None = None
    select_prompt: StrictStr | None = None
    left: StrictInt | None = None
    right: StrictInt | None = None
    up: StrictInt | None = None
    down: StrictInt | None = None
    creativity: Fraction | None = None
    fidelity: Fraction | None = None
    style_strength: Fraction | None = None
    change_strength: Fraction | None = None
    style_image: ImageInput | None = None
    grow_mask: StrictInt | None = None
    # Workflow fields: the service resolves them before the model is called; only typed here.
    preset: StrictStr | None = Field(default=None, pattern=_NAME)
    seed_sweep: SeedSweep | None = None
    channels: list[Annotated[StrictStr, Field(pattern=_NAME)]] | None = Field(
        default=None, min_length=1, max_length=MAX_CHANNELS
    )
    idempotency_key: StrictStr | None = Field(default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY)
    tags: dict[Annotated[StrictStr, Field(min_length=1, max_length=MAX_TAG_KEY)], Annotated[StrictStr, Field(max_length=MAX_TAG_VALUE)]] | None = Field(default=None, max_length=MAX_TAGS)  # fmt: skip

    _decoded: dict[str, DecodedImage] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _default_task(cls, data: Any) -> Any:
        # A single-task model (most Stability Image Services) needs no "task": text-to-image would be wrong.
        if isinstance(data, dict) and "task" not in data and isinstance(data.get("model"), str):
            try:
                spec = catalogue.lookup(data["model"])
            except catalogue.UnknownModel:
                return data
            if not spec.supports(Task.TEXT_TO_IMAGE) and len(spec.tasks) == 1:
                return {**data, "task": spec.tasks[0].value}
        return data

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        return catalogue.model_key(value)

    @model_validator(mode="after")
    def _against_catalogue(self, info: ValidationInfo) -> GenerationRequest:
        if not (info.context or {}).get(_SKIP_CATALOGUE):
            problems = catalogue_problems(self)
            if problems:
                raise ValueError("; ".join(f"{p.field}: {p.message}" for p in problems))
        return self

    @property
    def spec(self) -> ModelSpec:
        return catalogue.MODELS[self.model]

    def image(self, path: str) -> DecodedImage | None:
        """The decoded inline image at ``path`` (``source_image``, ``mask_image``, ``control.image``, ``style_image``)."""
        return self._decoded.get(path)

    def image_ref(self, path: str) -> ImageRef | None:
        if path == "control.image":
            return self.control.image if self.control is not None else None
        ref = getattr(self, path)
        return ref if isinstance(ref, ImageRef) else None

    def with_images(self, fetch: Callable[[str], bytes]) -> GenerationRequest:
        """A copy whose ``image_id`` references are replaced by their bytes, then checked like inline images.

        Raises ``RequestInvalid`` when a fetched image breaks the model's input rules.
        """
        raw = self.model_dump(mode="json", exclude_none=True)
        changed = False
        for path in IMAGE_FIELDS:
            ref = self.image_ref(path)
            if ref is not None and ref.image_id is not None:
                inline = {"base64": encode_base64(fetch(ref.image_id))}
                if path == "control.image":
                    raw["control"]["image"] = inline
                else:
                    raw[path] = inline
                changed = True
        return parse_request(raw) if changed else self


# --------------------------------------------------------------------------- parsing


@functools.cache
def _container_limits() -> dict[str, tuple[int, int]]:
    """{field: (min, max) entries} of the list and dict fields, read from the schema's own lengths."""
    from annotated_types import MaxLen, MinLen

    limits: dict[str, tuple[int, int]] = {}
    for name, info in GenerationRequest.model_fields.items():
        if name in _TEXT_WITH_MAX_LENGTH:
            continue
        low = next((rule.min_length for rule in info.metadata if isinstance(rule, MinLen)), 0)
        high = next((rule.max_length for rule in info.metadata if isinstance(rule, MaxLen)), None)
        if high is not None:
            limits[name] = (low, high)
    return limits


def _refuse_long_containers(raw: dict[Any, Any]) -> None:
    """Lists and objects over their schema length are refused before pydantic walks every entry of them."""
    too_long = []
    for name, (low, high) in _container_limits().items():
        value = raw.get(name)
        if isinstance(value, (list, dict)) and len(value) > high:
            span = f"{low}–{high}" if low else f"at most {high}"
            too_long.append(FieldProblem(name, f"must have {span} entries (got {len(value):,})"))
    if too_long:
        raise RequestInvalid.from_problems(too_long)


_TEXT_WITH_MAX_LENGTH = ("idempotency_key",)  # a string's length, not a container's


def parse_shape(raw: object) -> GenerationRequest:
    """Types, unknown fields and the API's own limits (fan-out, list lengths); no catalogue, no image decoding.

    Costs time proportional to the body only, whatever its numbers say: the service runs it on every raw
    request before a workflow expands anything (``seed_sweep.count`` of 10^9 is a 400 here, not a loop).
    """
    if not isinstance(raw, dict):
        raise RequestInvalid.from_problems([FieldProblem("body", "must be a JSON object (a GenerationRequest)")])
    _refuse_long_containers(raw)
    try:
        return GenerationRequest.model_validate(raw, context={_SKIP_CATALOGUE: True})
    except ValidationError as error:
        problems = _pydantic_problems(error)
        source = raw.get("source_image")
        if "preset" not in raw and not (isinstance(source, dict) and "image_id" in source):
            # No workflow rewrites this request: its catalogue problems are real, name them in the same answer.
            problems = _with_catalogue_problems(raw, problems)
        raise RequestInvalid.from_problems(problems) from None
    except (RecursionError, TypeError, ValueError) as error:  # pathological input pydantic cannot even walk
        raise RequestInvalid.from_problems([FieldProblem("body", f"cannot be read ({type(error).__name__})")]) from None


def parse_request(raw: object) -> GenerationRequest:
    """Validate ``raw`` (decoded JSON) into a GenerationRequest, or raise ``RequestInvalid`` naming every field."""
    if not isinstance(raw, dict):
        raise RequestInvalid.from_problems([FieldProblem("body", "must be a JSON object (a GenerationRequest)")])
    _refuse_long_containers(raw)
    try:
        request = GenerationRequest.model_validate(raw, context={_SKIP_CATALOGUE: True})
    except ValidationError as error:
        raise RequestInvalid.from_problems(_with_catalogue_problems(raw, _pydantic_problems(error))) from None
    except (RecursionError, TypeError, ValueError) as error:  # pathological input pydantic cannot even walk
        raise RequestInvalid.from_problems([FieldProblem("body", f"cannot be read ({type(error).__name__})")]) from None
    problems = catalogue_problems(request)
    if problems:
        raise RequestInvalid.from_problems(problems)
    return request


def _with_catalogue_problems(raw: dict[Any, Any], problems: list[FieldProblem]) -> list[FieldProblem]:
    """Also report the catalogue problems of the fields that did parse, so one answer names every field."""
    bad = {p.field.split(".")[0].split("[")[0] for p in problems}
    if "model" in bad or "task" in bad or "body" in bad:
        return problems
    rest = {key: value for key, value in raw.items() if key not in bad}
    try:
        partial = GenerationRequest.model_validate(rest, context={_SKIP_CATALOGUE: True})
    except (ValidationError, RecursionError, TypeError, ValueError):
        return problems
    more = [p for p in catalogue_problems(partial) if p.field.split(".")[0] not in bad]
    return problems + more


def _pydantic_problems(error: ValidationError) -> list[FieldProblem]:
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (not part of GenerationRequest)"
        problems.append(FieldProblem(path or "body", message))
    return problems


# --------------------------------------------------------------------------- what applies where

_AMAZON_CONFIG = {"seed": Need.OPTIONAL, "cfg_scale": Need.OPTIONAL, "quality": Need.OPTIONAL, "count": Need.OPTIONAL}
_OPT = Need.OPTIONAL
_REQ = Need.REQUIRED


def fields_for(spec: ModelSpec, task: Task) -> dict[str, Need]:
    """The model-facing fields a model and task take (anything else present is an error)."""
    common = {"output_format": _OPT, "count": _OPT}
    if spec.family in (Family.NOVA, Family.TITAN):
        if task is Task.BACKGROUND_REMOVAL:
            return {"output_format": _OPT, "source_image": _REQ}
        text = {"prompt": _REQ, "negative_prompt": _OPT}
        by_task: dict[Task, dict[str, Need]] = {
            Task.TEXT_TO_IMAGE: {**text, "width": _OPT, "height": _OPT}
            | ({"style": _OPT} if spec.limits.styles else {})
            | ({"control": _OPT} if spec.limits.control_strength else {}),
            Task.COLOR_GUIDED: {**text, "colors": _REQ, "source_image": _OPT, "width": _OPT, "height": _OPT},
            # Docs conflict on whether variation needs text (section 1): safe side, require it.
            Task.IMAGE_VARIATION: {**text, "source_image": _REQ, "similarity_strength": _OPT, "width": _OPT, "height": _OPT},
            # Inpainting without text removes the masked object; outpainting needs text (Titan docs).
            Task.INPAINTING: {"prompt": _OPT, "negative_prompt": _OPT, "source_image": _REQ, "mask_prompt": _OPT, "mask_image": _OPT},
            Task.OUTPAINTING: {**text, "source_image": _REQ, "mask_prompt": _OPT, "mask_image": _OPT, "outpainting_mode": _OPT},
        }  # fmt: skip
        return {**common, **_AMAZON_CONFIG, **by_task[task]}
    text = {"prompt": _REQ, "negative_prompt": _OPT, "seed": _OPT}
    if spec.family is Family.STABILITY:
        if task is Task.IMAGE_VARIATION:  # SD3.5 image-to-image mode
            return {**common, **text, "source_image": _REQ, "similarity_strength": _OPT}
        return {**common, **text, "aspect_ratio": _OPT}
    image = {"source_image": _REQ}
    services: dict[Task, dict[str, Need]] = {
        Task.INPAINTING: {**text, **image, "mask_image": _OPT, "grow_mask": _OPT},
        # Outpaint takes no negative_prompt (its parameter list on the Image Services page has none).
        Task.OUTPAINTING: {**image, "prompt": _OPT, "seed": _OPT, "creativity": _OPT,
                           "left": _OPT, "right": _OPT, "up": _OPT, "down": _OPT},
        Task.SEARCH_REPLACE: {**text, **image, "search_prompt": _REQ, "grow_mask": _OPT},
        Task.SEARCH_RECOLOR: {**text, **image, "select_prompt": _REQ, "grow_mask": _OPT},
        Task.ERASE_OBJECT: {**image, "seed": _OPT, "mask_image": _OPT, "grow_mask": _OPT},
        Task.BACKGROUND_REMOVAL: {**image},
        Task.CONTROL_SKETCH: {**text, "control": _REQ},
        Task.CONTROL_STRUCTURE: {**text, "control": _REQ},
        Task.STYLE_GUIDE: {**text, **image, "fidelity": _OPT, "aspect_ratio": _OPT},
        Task.STYLE_TRANSFER: {**image, "prompt": _OPT, "negative_prompt": _OPT, "seed": _OPT, "style_image": _REQ,
                              "fidelity": _OPT, "style_strength": _OPT, "change_strength": _OPT},
        Task.UPSCALE_FAST: {**image},
        Task.UPSCALE_CONSERVATIVE: {**text, **image, "creativity": _OPT},
        Task.UPSCALE_CREATIVE: {**text, **image, "creativity": _OPT},
    }  # fmt: skip
    return {**common, **services[task]}


MODEL_FIELDS = (
    "prompt", "negative_prompt", "seed", "cfg_scale", "width", "height", "aspect_ratio", "quality", "count", "style",
    "source_image", "mask_prompt", "mask_image", "colors", "similarity_strength", "control", "outpainting_mode",
    "output_format", "search_prompt", "select_prompt", "left", "right", "up", "down", "creativity", "fidelity",
    "style_strength", "change_strength", "style_image", "grow_mask",
)  # fmt: skip
"""Fields the model sees; the rest (model, task, workflow fields, idempotency_key, tags) apply everywhere."""

IMAGE_FIELDS = ("source_image", "mask_image", "control.image", "style_image")
_AMAZON = (Family.NOVA, Family.TITAN)


# --------------------------------------------------------------------------- catalogue checks


def catalogue_problems(req: GenerationRequest) -> list[FieldProblem]:
    """Every way ``req`` breaks its model's catalogue entry (empty when it fits)."""
    spec, task = req.spec, req.task
    if not spec.supports(task):
        tasks = ", ".join(t.value for t in spec.tasks)
        return [FieldProblem("task", f"{spec.name} does not do {task.value}; it does: {tasks}")]
    where = f"{task.value} on {spec.name}"
    applies = fields_for(spec, task)
    problems: list[FieldProblem] = []
    for name in MODEL_FIELDS:
        given = getattr(req, name) is not None
        if given and name not in applies:
            problems.append(FieldProblem(name, f"does not apply to {where}"))
        elif not given and applies.get(name) is Need.REQUIRED:
            problems.append(FieldProblem(name, f"is required for {where}"))
    problems += _workflow_problems(req, applies, where)
    present = {name for name in applies if getattr(req, name) is not None}
    problems += _value_problems(req, spec, present)
    problems += _mask_problems(req, spec, task, where)
    problems += _image_problems(req, spec, present)
    return problems


def _in_range(field: str, value: float | None, allowed: Range | None, spec: ModelSpec) -> list[FieldProblem]:
    if value is None or allowed is None or value in allowed:
        return []
    return [FieldProblem(field, f"must be within {allowed.describe()} for {spec.name} (got {value})")]


def _one_of(field: str, value: str | None, allowed: tuple[str, ...], spec: ModelSpec) -> list[FieldProblem]:
    if value is None or value in allowed:
        return []
    return [FieldProblem(field, f"must be one of {', '.join(allowed)} for {spec.name} (got {value!r})")]


def _workflow_problems(req: GenerationRequest, applies: dict[str, Need], where: str) -> list[FieldProblem]:
    if req.seed_sweep is None:
        return []
    if "seed" not in applies:
        return [FieldProblem("seed_sweep", f"does not apply to {where} (it takes no seed)")]
    if req.seed is not None:
        return [FieldProblem("seed_sweep", "cannot be combined with seed (the sweep sets each seed)")]
    last = req.seed_sweep.start + req.seed_sweep.count - 1
    seeds = req.spec.limits.seed
    if last not in seeds:
        return [FieldProblem("seed_sweep", f"seeds up to {last} exceed {seeds.describe()} for {req.spec.name}")]
    return []


def _value_problems(req: GenerationRequest, spec: ModelSpec, present: set[str]) -> list[FieldProblem]:
    limits = spec.limits
    out: list[FieldProblem] = []
    texts = {"prompt": limits.prompt_chars, "negative_prompt": limits.negative_chars}
    texts |= dict.fromkeys(("mask_prompt", "search_prompt", "select_prompt"), limits.prompt_chars)  # same limit as text
    for field, chars in texts.items():
        text = getattr(req, field)
        if field in present and text and not text.strip():
            # Whitespace only: the model would be paid to draw nothing in particular.
            out.append(FieldProblem(field, "is blank (whitespace only); give text, or leave the field out"))
        elif field in present and chars is not None and len(text) not in chars:
            out.append(
                FieldProblem(field, f"must be {chars.describe()} characters for {spec.name} (got {len(text):,})")
            )
    out += _in_range("seed", req.seed, limits.seed, spec) if "seed" in present else []
    out += _in_range("cfg_scale", req.cfg_scale, limits.cfg_scale, spec) if "cfg_scale" in present else []
    if req.count is not None and req.count not in limits.count:
        per_call = " (one image per call)" if limits.count.high == 1 else ""
        out.append(FieldProblem("count", f"must be within {limits.count.describe()} for {spec.name}{per_call}"))
    if "quality" in present:
        out += _one_of("quality", req.quality, tuple(q.value for q in limits.qualities), spec)
    if "style" in present:
        out += _one_of("style", req.style, limits.styles, spec)
    if "aspect_ratio" in present:
        out += _one_of("aspect_ratio", req.aspect_ratio, limits.aspect_ratios, spec)
    out += _one_of("output_format", req.output_format, limits.output_formats, spec)
    if "width" in present or "height" in present:
        out += size_problems(req.width, req.height, spec)
    if "similarity_strength" in present:
        out += _in_range("similarity_strength", req.similarity_strength, limits.similarity_strength, spec)
    if (
        "colors" in present
        and req.colors is not None
        and limits.colors is not None
        and len(req.colors) not in limits.colors
    ):
        out.append(FieldProblem("colors", f"must hold {limits.colors.describe()} hex colours for {spec.name}"))
    if "control" in present and req.control is not None:
        out += _in_range("control.strength", req.control.strength, limits.control_strength, spec)
        if spec.family is Family.STABILITY_SERVICES and req.control.mode is not None:
            out.append(FieldProblem("control.mode", f"does not apply to {req.task.value}: the task sets the mode"))
    for side in ("left", "right", "up", "down"):
        if side in present:
            out += _in_range(side, getattr(req, side), limits.outpaint_pixels, spec)
    sides = ("left", "right", "up", "down")
    if (
        req.task is Task.OUTPAINTING
        and spec.family is Family.STABILITY_SERVICES
        and not any(getattr(req, s) for s in sides)
    ):
        out.append(FieldProblem("left", "give at least one of left/right/up/down greater than 0 to extend"))
    for field in ("fidelity", "style_strength"):
        if field in present:
            out += _in_range(field, getattr(req, field), limits.service_weight, spec)
    if "change_strength" in present:
        out += _in_range("change_strength", req.change_strength, limits.change_strength, spec)
    if "creativity" in present:
        out += _in_range("creativity", req.creativity, limits.creativity, spec)
    if "grow_mask" in present:
        out += _in_range("grow_mask", req.grow_mask, limits.grow_mask, spec)
    return out


def _ratio(value: float) -> str:
    return f"1:{1 / value:g}" if value < 1 else f"{value:g}:1"


def size_problems(width: int | None, height: int | None, spec: ModelSpec) -> list[FieldProblem]:
    """Width×height against the model's SizeRules (Nova: bounds; Titan: a fixed list)."""
    rules = spec.limits.sizes
    if rules is None:
        return []
    if width is None or height is None:
        missing = "height" if height is None else "width"
        return [FieldProblem(missing, "give width and height together")]
    if rules.allowed:
        if (width, height) in rules.allowed:
            return []
        listed = ", ".join(f"{w}×{h}" for w, h in rules.allowed)
        return [FieldProblem("width", f"{width}×{height} is not a size {spec.name} accepts; allowed: {listed}")]
    out = []
    for field, value in (("width", width), ("height", height)):
        if not rules.min_side <= value <= rules.max_side:
            out.append(FieldProblem(field, f"must be {rules.min_side}–{rules.max_side} px ({spec.name})"))
        elif value % rules.multiple_of:
            out.append(FieldProblem(field, f"must be divisible by {rules.multiple_of} ({spec.name})"))
    if out:
        return out
    if not rules.min_ratio <= width / height <= rules.max_ratio:
        span = f"{_ratio(rules.min_ratio)}–{_ratio(rules.max_ratio)}"
        out.append(FieldProblem("width", f"aspect ratio {width}×{height} is outside {span} ({spec.name})"))
    if rules.max_pixels and width * height > rules.max_pixels:
        out.append(FieldProblem("width", f"{width}×{height} exceeds {rules.max_pixels:,} pixels ({spec.name})"))
    return out


def _mask_problems(req: GenerationRequest, spec: ModelSpec, task: Task, where: str) -> list[FieldProblem]:
    editing = spec.family in _AMAZON and task in (Task.INPAINTING, Task.OUTPAINTING)
    if editing and (req.mask_prompt is None) == (req.mask_image is None):
        return [FieldProblem("mask_prompt", f"give exactly one of mask_prompt or mask_image for {where}")]
    return []


def _image_problems(req: GenerationRequest, spec: ModelSpec, present: set[str]) -> list[FieldProblem]:
    rules = spec.limits.image_input
    amazon = spec.family in _AMAZON
    out: list[FieldProblem] = []
    for path in IMAGE_FIELDS:
        ref = req.image_ref(path)
        if path.split(".")[0] not in present or ref is None or ref.base64 is None:
            continue  # image_id references are resolved (and checked) by the service: with_images()
        try:
            image = inspect(decode_base64(ref.base64, max_bytes=rules.max_bytes), rules, opaque=amazon)
            if amazon and path == "mask_image":
                check_mask(image)
        except ImageProblem as problem:
            out.append(FieldProblem(path, str(problem)))
            continue
        req._decoded[path] = image
    source, mask = req.image("source_image"), req.image("mask_image")
    if amazon and source is not None and mask is not None and source.size != mask.size:
        out.append(FieldProblem("mask_image", f"is {mask.width}×{mask.height}; it must match source_image ({source.width}×{source.height})"))  # fmt: skip
    return out


# --------------------------------------------------------------------------- helpers for the service


def _fits(spec: ModelSpec, size: tuple[int, int]) -> bool:
    return not size_problems(size[0], size[1], spec)


def output_size(req: GenerationRequest) -> tuple[int, int]:
    """Width×height of each image the model returns for ``req``.

    Stability sizes per aspect ratio are ``catalogue.STABILITY_SIZES_BY_RATIO`` (~1 MP; UNCONFIRMED on
    Bedrock). Edits follow the source image; with an unresolved ``image_id`` the size is not known
    yet and the model's default is returned (call ``with_images`` first for the true size).
    """
    spec, task = req.spec, req.task
    source = req.image("source_image") or req.image("control.image")
    if spec.family in _AMAZON:
        assert spec.limits.sizes is not None
        if task in (Task.TEXT_TO_IMAGE, Task.COLOR_GUIDED, Task.IMAGE_VARIATION):
            if req.width is not None and req.height is not None:
                return req.width, req.height
            if task is Task.IMAGE_VARIATION and source is not None and _fits(spec, source.size):
                return source.size  # a variation keeps the source size when the model allows it
            return spec.limits.sizes.default
        return source.size if source is not None else spec.limits.sizes.default
    ratio_size = catalogue.STABILITY_SIZES_BY_RATIO[req.aspect_ratio or "1:1"]
    if task in (Task.TEXT_TO_IMAGE, Task.STYLE_GUIDE) or source is None:
        return ratio_size
    width, height = source.size
    if task is Task.OUTPAINTING:
        return width + (req.left or 0) + (req.right or 0), height + (req.up or 0) + (req.down or 0)
    if task is Task.UPSCALE_FAST:
        return width * catalogue.STABILITY_FAST_UPSCALE_FACTOR, height * catalogue.STABILITY_FAST_UPSCALE_FACTOR
    if task in (Task.UPSCALE_CONSERVATIVE, Task.UPSCALE_CREATIVE):
        scale = (catalogue.STABILITY_UPSCALE_PIXELS / (width * height)) ** 0.5
        return max(width, round(width * scale)), max(height, round(height * scale))
    return width, height


def image_count(req: GenerationRequest) -> int:
    return req.count if req.count is not None else req.spec.limits.default_count


def price_per_image(req: GenerationRequest) -> float:
    width, height = output_size(req)
    return req.spec.pricing.per_image(width, height, req.quality or Quality.STANDARD)


def effective_seed(req: GenerationRequest) -> int | None:
    """The seed the model will use: the request's, else the catalogue default (Amazon); None = random."""
    if req.seed is not None:
        return req.seed
    if "seed" in fields_for(req.spec, req.task):
        return req.spec.limits.default_seed
    return None


def _image_summary(req: GenerationRequest, path: str) -> dict[str, Any] | None:
    ref = req.image_ref(path)
    if ref is None:
        return None
    image = req.image(path)
    if image is None:
        return {"image_id": ref.image_id}
    return {"sha256": image.sha256, "bytes": len(image.data), "format": image.format, "width": image.width, "height": image.height}  # fmt: skip


def normalised(req: GenerationRequest) -> dict[str, Any]:
    """The model-facing parameters with the model's defaults filled in; images as digests, never bytes.

    JSON-safe: suitable for the job record's ``request`` and for ``fingerprint``.
    """
    spec, limits = req.spec, req.spec.limits
    applies = fields_for(spec, req.task)
    out: dict[str, Any] = {"model": req.model, "model_id": spec.model_id, "task": req.task.value}
    for name in MODEL_FIELDS:
        if name in ("source_image", "mask_image", "style_image", "control"):
            continue
        value = getattr(req, name)
        if value is not None:
            out[name] = value.value if isinstance(value, StrEnum) else value
    defaults: dict[str, Any] = {
        "seed": effective_seed(req),
        "cfg_scale": limits.default_cfg_scale,
        "quality": Quality.STANDARD.value if limits.qualities else None,
        "count": limits.default_count,
        "output_format": limits.output_formats[0],
        "outpainting_mode": "DEFAULT",
        "aspect_ratio": "1:1",
    }
    for name, value in defaults.items():
        if name in applies and name not in out and value is not None:
            out[name] = value
    if "width" in applies:
        out["width"], out["height"] = output_size(req)
    for path in ("source_image", "mask_image", "style_image"):
        summary = _image_summary(req, path)
        if summary is not None:
            out[path] = summary
    if req.control is not None:
        mode = req.control.mode or ("canny-edge" if spec.family in _AMAZON else None)
        strength = req.control.strength if req.control.strength is not None else limits.default_control_strength
        out["control"] = {"image": _image_summary(req, "control.image"), "mode": mode, "strength": strength}
    if req.preset is not None:
        out["preset"] = req.preset
    if req.seed_sweep is not None:
        out["seed_sweep"] = req.seed_sweep.model_dump()
    if req.channels is not None:
        out["channels"] = list(req.channels)
    return out


def fingerprint(req: GenerationRequest) -> str:
    """sha256 of the normalised model-facing parameters (no idempotency_key, no tags): the dedupe key."""
    canonical = json.dumps(normalised(req), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
