"""The guide's workflows as request expansions: presets, draft → final, seed sweeps, channel formats.

Each works on the raw request (decoded JSON) before ``requests.parse_request`` validates the result,
so every expanded request is checked against the model's limits exactly like a hand-written one.
The expansions drop the workflow fields; what they resolved is kept in ``Expanded.workflow`` and
recorded on the job.

* preset: ``prompt`` is the subject; the preset's template (subject → composition → lighting →
  medium → quality) becomes the prompt, and its negative prompt, cfg scale, style and quality fill
  the fields the caller left out (and the model takes).
* draft → final: ``source_image.image_id`` with task text-to-image re-runs that image's prompt,
  seed and parameters; whatever the caller sets (quality, width/height, aspect_ratio, model …) wins.
* seed_sweep ``{start, count}``: one request per seed start … start+count-1.
* channels: an approved image (``source_image.image_id``) is outpainted to each named channel's
  aspect ratio (``channel_formats``), keeping the subject in the middle and the source's prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imagegen_service import catalogue
from imagegen_service.errors import FieldProblem, NotFound, RequestInvalid

MAX_JOBS_PER_CALL = 100
WORKFLOW_FIELDS = ("preset", "seed_sweep", "channels")
# Fields a final inherits from its draft's request (everything the model saw).
_DRAFT_KEEP_OUT = ("source_image", "mask_image", "mask_prompt", "idempotency_key", "tags")
_PRESET_DEFAULTS = ("negative_prompt", "cfg_scale", "style", "quality")

ImageLookup = Callable[[str], dict[str, Any] | None]

if TYPE_CHECKING:
    from imagegen_service.requests import GenerationRequest


def planned_jobs(request: GenerationRequest) -> int:
    """How many jobs a shape-checked request expands to, counted without expanding it."""
    sweep = request.seed_sweep.count if request.seed_sweep is not None else 1
    formats = len(set(request.channels)) if request.channels is not None else 1
    return sweep * formats


@dataclass
class Expanded:
    raw: dict[str, Any]
    workflow: dict[str, Any] = field(default_factory=dict)
    reuse: dict[str, Any] | None = None
    """An existing image that already is the answer (a channel whose ratio the source already has)."""


def _invalid(field_name: str, message: str) -> RequestInvalid:
    return RequestInvalid.from_problems([FieldProblem(field_name, message)])


def _spec(raw: dict[str, Any]) -> catalogue.ModelSpec | None:
    model = raw.get("model")
    if not isinstance(model, str):
        return None
    try:
        return catalogue.lookup(model)
    except catalogue.UnknownModel:
        return None  # parse_request names the unknown model


def _task(raw: dict[str, Any], spec: catalogue.ModelSpec | None) -> str:
    task = raw.get("task")
    if isinstance(task, str):
        return task
    if spec is not None and not spec.supports(catalogue.Task.TEXT_TO_IMAGE) and len(spec.tasks) == 1:
        return spec.tasks[0].value
    return catalogue.Task.TEXT_TO_IMAGE.value


def _accepts(raw: dict[str, Any], name: str) -> bool:
    from imagegen_service.requests import fields_for

    spec = _spec(raw)
    if spec is None:
        return False
    try:
        task = catalogue.Task(_task(raw, spec))
        return name in fields_for(spec, task)
    except (ValueError, KeyError):
        return False


def _source_image(raw: dict[str, Any], lookup: ImageLookup, *, prefix: str) -> dict[str, Any]:
    ref = raw.get("source_image")
    image_id = ref.get("image_id") if isinstance(ref, dict) else None
    if not isinstance(image_id, str):
        raise _invalid(f"{prefix}source_image", 'needs {"image_id": ...} of an earlier image here')
    image = lookup(image_id)
    if image is None or image.get("quarantined"):
        raise NotFound(f"image {image_id} does not exist (or was withheld by moderation)")
    return image


# --------------------------------------------------------------------------- single-request expansions
def apply_preset(raw: dict[str, Any], presets: dict[str, dict[str, Any]], *, prefix: str = "") -> Expanded:
    name = raw.get("preset")
    if name is None:
        return Expanded(raw=raw)
    if not isinstance(name, str) or name not in presets:
        known = ", ".join(sorted(presets)) or "none configured"
        raise _invalid(f"{prefix}preset", f"unknown preset {name!r}; this stack has: {known}")
    subject = raw.get("prompt")
    if not isinstance(subject, str) or not subject.strip():
        raise _invalid(f"{prefix}prompt", "with a preset, the prompt is the subject and is required")
    preset = presets[name]
    expanded = {k: v for k, v in raw.items() if k != "preset"}
    # replace, not str.format: a subject may contain braces.
    expanded["prompt"] = str(preset["template"]).replace("{subject}", subject.strip())
    applied: dict[str, Any] = {}
    for key in _PRESET_DEFAULTS:
        value = preset.get(key)
        if value is not None and key not in raw and _accepts(expanded, key):
            expanded[key] = value
            applied[key] = value
    return Expanded(raw=expanded, workflow={"preset": name, "subject": subject.strip(), "preset_values": applied})


def is_draft_to_final(raw: dict[str, Any]) -> bool:
    """An earlier image as ``source_image`` of a text-to-image request (explicit, or the model's default task)."""
    ref = raw.get("source_image")
    return (
        isinstance(ref, dict)
        and isinstance(ref.get("image_id"), str)
        and _task(raw, _spec(raw)) == catalogue.Task.TEXT_TO_IMAGE.value
        and not raw.get("channels")
    )


def draft_to_final(raw: dict[str, Any], lookup: ImageLookup, *, prefix: str = "") -> Expanded:
    """Re-run a draft's prompt, seed and parameters; the caller's fields (quality, size …) win."""
    image = _source_image(raw, lookup, prefix=prefix)
    if not image.get("input"):
        raise _invalid(f"{prefix}source_image", "is not a generated image (no request to re-run)")
    # ``input`` is the draft's parseable request (``request`` is the normalised view, with digests).
    base = {k: v for k, v in dict(image["input"]).items() if k not in _DRAFT_KEEP_OUT}
    workflow: dict[str, Any] = {"final_of": image["image_id"], "draft_job_id": image.get("job_id")}
    if image.get("seed") is not None and _accepts(base, "seed"):
        # The seed Bedrock reported (Stability) or the one sent for a one-image call, and one image:
        # the final is the chosen draft, not the whole draft set again.
        base["seed"] = image["seed"]
        if "count" in base:
            base["count"] = 1
    elif image.get("call_seed") is not None and _accepts(base, "seed"):
        # Image i of a multi-image Amazon call: no source says which seed drew it, so never guess
        # (seed + i). Re-run the whole call (same seed, same count); the chosen image is at its position.
        base["seed"] = image["call_seed"]
        base["count"] = image.get("call_count", base.get("count"))
        workflow["final_position"] = image.get("call_position")
    elif _accepts(base, "seed"):
        raise _invalid(f"{prefix}source_image", "Bedrock reported no seed for this image: it cannot be re-run exactly")
    overlay = {k: v for k, v in raw.items() if k != "source_image"}
    final = {**base, **overlay}
    if "model" in overlay and overlay["model"] != base.get("model"):
        # A different model: keep only what the new model takes (its own limits apply).
        final = {k: v for k, v in final.items() if k in overlay or k in ("prompt", "negative_prompt", "seed", "task")}
        final = {k: v for k, v in final.items() if k in ("model", "task") or k in overlay or _accepts(final, k)}
    return Expanded(raw=final, workflow=workflow)


# --------------------------------------------------------------------------- fan-out
def seed_sweep(expanded: Expanded, *, prefix: str = "") -> list[Expanded]:
    sweep = expanded.raw.get("seed_sweep")
    if sweep is None:
        return [expanded]
    if (
        not isinstance(sweep, dict)
        or not isinstance(sweep.get("start"), int)
        or not isinstance(sweep.get("count"), int)
    ):
        raise _invalid(f"{prefix}seed_sweep", 'must be {"start": int, "count": int}')
    if "seed" in expanded.raw:
        raise _invalid(f"{prefix}seed", "give either seed or seed_sweep, not both")
    if not _accepts(expanded.raw, "seed"):
        raise _invalid(f"{prefix}seed_sweep", "this model and task take no seed")
    base = {k: v for k, v in expanded.raw.items() if k != "seed_sweep"}
    start, count = sweep["start"], sweep["count"]
    return [
        Expanded(raw={**base, "seed": start + i}, workflow={**expanded.workflow, "seed_sweep": {**sweep, "index": i}})
        for i in range(count)
    ]


def _outpaint_margins(width: int, height: int, ratio: str) -> dict[str, int]:
    w_part, h_part = (int(x) for x in ratio.split(":"))
    if width * h_part < height * w_part:  # too narrow: extend left and right
        extra = round(height * w_part / h_part) - width
        return {"left": extra // 2, "right": extra - extra // 2, "up": 0, "down": 0}
    extra = round(width * h_part / w_part) - height  # too wide (or equal): extend up and down
    return {"left": 0, "right": 0, "up": extra // 2, "down": extra - extra // 2}


def channels(expanded: Expanded, formats: dict[str, str], lookup: ImageLookup, *, prefix: str = "") -> list[Expanded]:
    names = expanded.raw.get("channels")
    if names is None:
        return [expanded]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _invalid(f"{prefix}channels", "must be a list of channel format names")
    unknown = [n for n in names if n not in formats]
    if unknown:
        known = ", ".join(f"{k} ({v})" for k, v in sorted(formats.items()))
        raise _invalid(f"{prefix}channels", f"unknown channel format(s) {', '.join(unknown)}; this stack has: {known}")
    raw = {k: v for k, v in expanded.raw.items() if k != "channels"}
    raw.setdefault("task", catalogue.Task.OUTPAINTING.value)
    if raw["task"] != catalogue.Task.OUTPAINTING.value or not _accepts(raw, "left"):
        raise _invalid(
            f"{prefix}model",
            "channel formats extend the canvas: use an outpainting model that takes left/right/up/down "
            "margins (stability-outpaint)",
        )
    image = _source_image(raw, lookup, prefix=prefix)
    source_request = dict(image.get("input") or {})
    limit = _spec(raw)
    max_margin = int(limit.limits.outpaint_pixels.high) if limit and limit.limits.outpaint_pixels else 2000
    out: list[Expanded] = []
    for name in dict.fromkeys(names):
        margins = _outpaint_margins(int(image["width"]), int(image["height"]), formats[name])
        too_big = [side for side, px in margins.items() if px > max_margin]
        if too_big:
            raise _invalid(
                f"{prefix}channels",
                f"{name} ({formats[name]}) needs {max(margins.values())} px on {too_big[0]}; the model extends at most {max_margin}",
            )
        workflow = {
            **expanded.workflow,
            "channel": name,
            "aspect_ratio": formats[name],
            "source_image_id": image["image_id"],
        }
        if not any(margins.values()):  # already in this format: the approved image is the answer, for free
            out.append(Expanded(raw=raw, workflow=workflow, reuse=image))
            continue
        request = {**raw, **{k: v for k, v in margins.items() if v}}
        if "prompt" not in request and source_request.get("prompt"):
            request["prompt"] = source_request["prompt"]  # keep the subject
        if (
            "negative_prompt" not in request
            and source_request.get("negative_prompt")
            and _accepts(request, "negative_prompt")
        ):
            request["negative_prompt"] = source_request["negative_prompt"]
        out.append(Expanded(raw=request, workflow=workflow))
    return out


def expand(
    raw: dict[str, Any],
    *,
    presets: dict[str, dict[str, Any]],
    channel_formats: dict[str, str],
    lookup: ImageLookup,
    allow_fan_out: bool,
    prefix: str = "",
) -> list[Expanded]:
    """Every model request one API request stands for, with what each workflow resolved."""
    if not allow_fan_out:
        for name in ("seed_sweep", "channels"):
            if raw.get(name) is not None:
                raise _invalid(f"{prefix}{name}", "fans out into several jobs: submit it to POST /v1/jobs")
    expanded = Expanded(raw=raw)
    if is_draft_to_final(raw):
        expanded = draft_to_final(raw, lookup, prefix=prefix)
    expanded = _merge(expanded, apply_preset(expanded.raw, presets, prefix=prefix))
    results: list[Expanded] = []
    for swept in seed_sweep(expanded, prefix=prefix):
        results.extend(channels(swept, channel_formats, lookup, prefix=prefix))
    return results


def _merge(before: Expanded, after: Expanded) -> Expanded:
    return Expanded(raw=after.raw, workflow={**before.workflow, **after.workflow})
