"""The API side of a job: from raw request bodies to stored job records, before anything is queued.

Order matters and is the contract: validate everything (400) → model enabled and alive (503) →
inbound moderation (422) → only then write. Nothing is stored for a request that fails a check, and
no model is ever called for one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imagegen_service import moderation, routes, workflows
from imagegen_service.errors import FieldProblem, ImagegenError, RequestInvalid
from imagegen_service.imagefiles import describe
from imagegen_service.jobs import JobStatus, now_iso
from imagegen_service.pipeline import Services, check_model_available
from imagegen_service.storage import sha256_hex

if TYPE_CHECKING:
    from imagegen_service.requests import GenerationRequest

INPUT_PREFIX = "inputs/"  # caller-supplied images: never served (CloudFront reads only images/*)
# Text the guardrail screens. Not ``negative_prompt``: it names what the image must NOT show ("gore,
# nudity, text"), so content filters would block exactly the requests that steer away from harm. It
# still reaches the model, whose own input filter screens it, and its output is still moderated.
_TEXT_FIELDS = ("prompt", "mask_prompt", "search_prompt", "select_prompt")
_INLINE_IMAGES = ("source_image", "mask_image", "control.image", "style_image")


@dataclass
class Prepared:
    request: GenerationRequest | None  # None: ``reuse`` answers it without a model call
    workflow: dict[str, Any]
    origin: int  # index of the API request it came from
    reuse: dict[str, Any] | None = None  # the image record that already is the result


def _prefixed(error: RequestInvalid, prefix: str) -> list[FieldProblem]:
    return [FieldProblem(f"{prefix}{p.field}", p.message) for p in error.details] or [
        FieldProblem(prefix.rstrip(".") or "body", error.message)
    ]


def _resolve_jobs(
    raws: list[Any], job_routes: dict[str, dict[str, str]], *, batch: bool, problems: list[FieldProblem]
) -> tuple[list[Any], list[dict[str, Any]], set[int]]:
    """``"job": "hero"`` → the stack's route (model, task, preset, tier), per request; problems collected."""
    out: list[Any] = []
    resolved: list[dict[str, Any]] = []
    unresolved: set[int] = set()
    for index, raw in enumerate(raws):
        prefix = f"requests[{index}]." if batch else ""
        if not isinstance(raw, dict):
            out.append(raw)
            resolved.append({})
            continue
        try:
            routed, what = routes.resolve(raw, job_routes, prefix=prefix)
        except RequestInvalid as error:
            problems.extend(error.details)
            routed, what = raw, {}
            unresolved.add(index)  # named already: not shape-checked again
        out.append(routed)
        resolved.append(what)
    return out, resolved, unresolved


def prepare(services: Services, raws: list[Any], *, allow_fan_out: bool, batch: bool) -> list[Prepared]:
    """Expand and validate every request; raise one RequestInvalid naming every bad field of every request.

    The schema's own limits (fan-out counts, list lengths) are checked on every raw request first, and
    the jobs they would expand to are counted, before any workflow expands anything: a request's
    numbers never decide how much is allocated.
    """
    from imagegen_service.requests import parse_request, parse_shape

    config = services.config
    problems: list[FieldProblem] = []
    raws, resolved, unresolved = _resolve_jobs(raws, config.routes, batch=batch, problems=problems)
    planned = 0
    for index, raw in enumerate(raws):
        prefix = f"requests[{index}]." if batch else ""
        if index in unresolved:
            continue  # its job did not resolve (reported above)
        if not isinstance(raw, dict):
            problems.append(FieldProblem(prefix.rstrip(".") or "body", "must be a JSON object (a GenerationRequest)"))
            continue
        try:
            planned += workflows.planned_jobs(parse_shape(raw))
        except RequestInvalid as error:
            problems.extend(_prefixed(error, prefix) if prefix else error.details)
    if problems:
        raise RequestInvalid.from_problems(problems)
    if planned > workflows.MAX_JOBS_PER_CALL:
        where = "requests" if batch else "body"
        raise RequestInvalid.from_problems(
            [FieldProblem(where, f"expands to {planned} jobs; at most {workflows.MAX_JOBS_PER_CALL} per call")]
        )
    prepared: list[Prepared] = []
    for index, raw in enumerate(raws):
        prefix = f"requests[{index}]." if batch else ""
        try:
            expanded = workflows.expand(
                raw,
                presets=config.presets,
                channel_formats=config.channel_formats,
                lookup=services.jobs.image,
                allow_fan_out=allow_fan_out,
                prefix=prefix,
            )
            for item in expanded:
                workflow = {**resolved[index], **item.workflow}
                if item.reuse is not None:
                    prepared.append(Prepared(None, workflow, index, reuse=item.reuse))
                else:
                    prepared.append(Prepared(parse_request(item.raw), workflow, index))
        except RequestInvalid as error:
            problems.extend(
                _prefixed(error, prefix) if prefix else error.details or [FieldProblem("body", error.message)]
            )
    if problems:
        raise RequestInvalid.from_problems(problems)
    for model in dict.fromkeys(p.request.model for p in prepared if p.request is not None):
        check_model_available(config, model)
    return prepared


def moderate_inputs(services: Services, prepared: list[Prepared], *, batch: bool) -> None:
    """ApplyGuardrail (source INPUT) on every distinct prompt set and inline image; 422 on the first block."""
    config = services.config
    if not config.moderation_enabled or not config.guardrail_id:
        return
    client = services.client("bedrock-runtime")
    seen: set[str] = set()
    for item in prepared:
        if item.request is None:
            continue
        prefix = f"requests[{item.origin}]." if batch else ""
        texts = [(f"{prefix}{name}", getattr(item.request, name)) for name in _TEXT_FIELDS]
        texts = [(name, text) for name, text in texts if isinstance(text, str) and text]
        images = []
        for path in _INLINE_IMAGES:
            decoded = item.request.image(path)
            if decoded is not None:
                images.append((f"{prefix}{path}", decoded.data, decoded.format))
        key = repr([t for _, t in texts]) + "".join(sha256_hex(data) for _, data, _ in images)
        if key in seen:
            continue
        seen.add(key)
        moderation.check_input(
            client,
            config.guardrail_id,
            config.guardrail_version or "DRAFT",
            moderation.GuardrailInput(texts=texts, images=images),
        )


def offload_images(services: Services, request: GenerationRequest) -> dict[str, Any]:
    """The request as stored on the job: inline images moved to S3 (``inputs/``) and referenced by id.

    DynamoDB items stop at 400 KB and SQS messages at 256 KB; an image id is a few dozen bytes.
    """
    raw = request.model_dump(mode="json", exclude_none=True)
    for path in _INLINE_IMAGES:
        decoded = request.image(path)
        if decoded is None:
            continue
        image_id = _store_input(services, decoded.data)
        if path == "control.image":
            raw["control"]["image"] = {"image_id": image_id}
        else:
            raw[path] = {"image_id": image_id}
    return raw


def _store_input(services: Services, data: bytes) -> str:
    file = describe(data)
    digest = sha256_hex(data)
    key = f"{INPUT_PREFIX}{digest}.{file.extension}"
    services.images.put_key(key, data, file)
    services.jobs.put_input_image(
        {
            "image_id": digest,
            "key": key,
            "kind": "input",
            "sha256": digest,
            "bytes": len(data),
            "format": file.format,
            "width": file.width,
            "height": file.height,
            "created_at": now_iso(),
        }
    )
    return digest


def new_job(
    services: Services, item: Prepared, *, batch_id: str, status: JobStatus, seq: int, created_at: str
) -> dict[str, Any]:
    from imagegen_service.requests import normalised

    if item.request is None:
        assert item.reuse is not None
        return _reused_job(item, batch_id=batch_id, seq=seq, created_at=created_at)
    spec = item.request.spec
    config = services.config
    return {
        "job_id": uuid.uuid4().hex,
        "batch_id": batch_id,
        "seq": seq,
        "status": str(status),
        "model_key": spec.key,
        "model_id": spec.model_id,
        "request": normalised(item.request),
        "input": offload_images(services, item.request),
        "workflow": item.workflow or None,
        "idempotency_key": item.request.idempotency_key,
        "tags": item.request.tags,
        "license_record_id": config.models[spec.key].licence_record_id,
        "cost_usd": 0.0,
        "images": [],
        "attempts": 0,
        "created_at": created_at,
        "updated_at": created_at,
    }


_IMAGE_FIELDS = ("image_id", "key", "sha256", "bytes", "format", "width", "height", "seed", "c2pa", "watermark")


def _reused_job(item: Prepared, *, batch_id: str, seq: int, created_at: str) -> dict[str, Any]:
    """A finished job whose result is an existing image: nothing to generate, nothing billed."""
    image = item.reuse or {}
    return {
        "job_id": uuid.uuid4().hex,
        "batch_id": batch_id,
        "seq": seq,
        "status": str(JobStatus.SUCCEEDED),
        "model_key": image.get("model_key"),
        "model_id": image.get("model_id"),
        "request": image.get("request"),
        "input": image.get("input"),
        "workflow": {**item.workflow, "already_in_format": True},
        "license_record_id": image.get("license_record_id"),
        "cost_usd": 0.0,
        "images": [{name: image.get(name) for name in _IMAGE_FIELDS}],
        "moderation": {"checked": True, "flagged": 0, "labels": [], "reused": True},
        "attempts": 0,
        "created_at": created_at,
        "updated_at": created_at,
        "completed_at": created_at,
    }


def error_record(error: ImagegenError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message}
