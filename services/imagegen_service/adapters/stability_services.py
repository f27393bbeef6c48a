"""Stability Image Services (edit, control, upscale): one endpoint per task, snake_case JSON bodies.

Section 3b. The wire keys are the request's field names except the few renamed below, so which
keys a body may carry is exactly ``requests.fields_for`` for the model's task: one table, no copy.
"""

from __future__ import annotations

from typing import Any

from imagegen_service.adapters import stability
from imagegen_service.adapters.output import ModelOutput
from imagegen_service.adapters.wire import as_image, inline_image, take
from imagegen_service.catalogue import ModelSpec, Task
from imagegen_service.requests import GenerationRequest, fields_for

_IMAGE_FIELDS = ("source_image", "mask_image", "style_image")
_NOT_ON_WIRE = ("count",)  # one image per call: "count" exists only in our schema


def _renames(task: Task) -> dict[str, str]:
    """Request field → wire key, where they differ."""
    renames = {"source_image": "image", "mask_image": "mask"}
    if task is Task.STYLE_TRANSFER:
        renames |= {"source_image": "init_image", "fidelity": "composition_fidelity"}
    return renames


def wire_fields(spec: ModelSpec, task: Task) -> dict[str, str]:
    """Wire key → request field for this endpoint (``control`` unfolds into ``image`` + ``control_strength``)."""
    renames = _renames(task)
    out: dict[str, str] = {}
    for field in fields_for(spec, task):
        if field in _NOT_ON_WIRE:
            continue
        if field == "control":
            out |= {"image": "control.image", "control_strength": "control.strength"}
        else:
            out[renames.get(field, field)] = field
    return out


def build_body(req: GenerationRequest) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for wire, field in wire_fields(req.spec, req.task).items():
        if field == "control.image":
            body[wire] = inline_image(req, "control.image")
        elif field == "control.strength":
            if req.control is not None and req.control.strength is not None:
                body[wire] = req.control.strength
        elif field in _IMAGE_FIELDS:
            if getattr(req, field) is not None:
                body[wire] = inline_image(req, field)
        elif getattr(req, field) is not None:
            body[wire] = getattr(req, field)
    return body


def parse_response(req: GenerationRequest, payload: dict[str, Any]) -> ModelOutput:
    return stability.parse_response(req, payload)


def request_from_body(spec: ModelSpec, body: dict[str, Any]) -> dict[str, Any]:
    task = spec.tasks[0]
    raw: dict[str, Any] = {"model": spec.key, "task": task.value}
    for field, value in take(body, "#", wire_fields(spec, task)).items():
        if field.startswith("control."):
            name = field.removeprefix("control.")
            raw.setdefault("control", {})[name] = as_image(value) if name == "image" else value
        else:
            raw[field] = as_image(value) if field in _IMAGE_FIELDS else value
    return raw


def wire_names(spec: ModelSpec) -> dict[str, str]:
    return {field: wire for wire, field in wire_fields(spec, spec.tasks[0]).items()}
