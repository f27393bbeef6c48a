"""The ``api`` Lambda: CONTRACT.md §3 over API Gateway HTTP API (payload format 2.0).

Routes: POST /v1/images (synchronous), POST /v1/jobs (queued), GET /v1/jobs/{job_id},
GET /v1/batches/{batch_id}, GET /v1/models, GET /v1/images/{image_id}/provenance. Every error is the contract's body with its status; bad
input is never a 500. Authorisation happens before this function (IAM/JWT authoriser deployed, the
bearer token locally), so the handler trusts the caller it is given.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from typing import Any

from imagegen_service import clock, idempotency
from imagegen_service.config import RuntimeConfig
from imagegen_service.errors import (
    FieldProblem,
    ImagegenError,
    InProgress,
    MethodNotAllowed,
    ModelTimeout,
    NotFound,
    OutputBlocked,
    PayloadTooLarge,
    PromptBlocked,
    RequestInvalid,
    Throttled,
    UnsupportedMediaType,
)
from imagegen_service.jobs import JobStatus, now_iso
from imagegen_service.ledger import GenerationInProgress
from imagegen_service.observability import THROTTLED, count, logger, metrics, traced
from imagegen_service.pipeline import Services, process_job, services_for
from imagegen_service.requests import MAX_REQUESTS_PER_CALL
from imagegen_service.views import job_view, models_view

SQS_BATCH = 10  # SendMessageBatch limit
SYNC_MARGIN_S = 1.5
HANDOVER_RETRY_AFTER_S = 5  # a hint for polling the job a sync request was handed over as  # leave time to record the outcome and answer before API Gateway gives up
_JSON = "application/json"
# Idempotency fingerprints cover the route: one key on two routes is two different requests. A request
# inside a batch has the fingerprint it would have alone, so a retried request may come back in a batch.
IMAGES_SCOPE = "POST /v1/images"
JOBS_SCOPE = "POST /v1/jobs"


def _response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": _JSON, "cache-control": "no-store", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
    }


def _error(error: ImagegenError, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return _response(error.status, error.as_body(), headers)


# --------------------------------------------------------------------------- request decoding
def _body(event: dict[str, Any], config: RuntimeConfig) -> Any:
    raw = event.get("body")
    if raw is None or raw == "":
        raise RequestInvalid.from_problems([FieldProblem("body", "is empty; send a JSON object")])
    if not isinstance(raw, str):
        raise RequestInvalid.from_problems([FieldProblem("body", "must be a JSON text")])
    # Base64 is 4/3 of the bytes: anything this long is over the limit whatever it decodes to.
    if len(raw) > config.max_body_bytes * 4 // 3 + 4:
        raise PayloadTooLarge(f"the request body is larger than {config.max_body_bytes:,} bytes")
    data: bytes
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise RequestInvalid.from_problems(
                [FieldProblem("body", "is marked base64 but is not valid base64")]
            ) from None
    else:
        data = raw.encode("utf-8", errors="surrogatepass")
    if len(data) > config.max_body_bytes:
        raise PayloadTooLarge(f"the request body is {len(data):,} bytes; the limit is {config.max_body_bytes:,}")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", _JSON).split(";")[0].strip().lower()
    if content_type != _JSON and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as {_JSON} (got {content_type or 'no content type'})")
    try:
        document = json.loads(data)
        # "\ud800" escapes decode to lone surrogates: valid JSON, not valid text for any model.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
        return document
    except UnicodeEncodeError:
        raise RequestInvalid.from_problems(
            [FieldProblem("body", "contains an unpaired UTF-16 surrogate escape (not valid Unicode text)")]
        ) from None
    except UnicodeDecodeError:
        raise RequestInvalid.from_problems([FieldProblem("body", "is not UTF-8 text")]) from None
    except (ValueError, RecursionError) as error:
        where = f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        raise RequestInvalid.from_problems([FieldProblem("body", f"is not valid JSON{where}")]) from None


# --------------------------------------------------------------------------- routes
def post_images(services: Services, body: Any, context: Any, headers: dict[str, str]) -> dict[str, Any]:
    """Generate one request synchronously; the job is stored exactly as the worker would store it."""
    from imagegen_service import intake

    started = time.monotonic()
    [item] = intake.prepare(services, [body], allow_fan_out=False, batch=False)
    assert item.request is not None  # reuse comes only from fan-out (channels)
    key = idempotency.call_key(headers, body, IMAGES_SCOPE)
    if key is not None:
        bound = idempotency.claim(services.jobs, key)
        if bound is not None:
            return _replay_job(services, bound)
    try:
        intake.moderate_inputs(services, [item], batch=False)
    except BaseException:
        if key is not None:
            services.jobs.release_idempotency_key(key.value)
        raise
    created = now_iso()
    job_id = uuid.uuid4().hex
    job = intake.new_job(services, item, batch_id=job_id, status=JobStatus.RUNNING, seq=0, created_at=created)
    job["job_id"] = job_id
    job["started_at"] = created
    job["attempts"] = 1
    services.jobs.create([job])
    try:
        return _generate_now(services, job, context, started)
    finally:
        if key is not None:  # whatever the outcome, the job exists: a retry gets it back
            services.jobs.finish_idempotency_key(key.value, job_ids=[job_id], batch_id=job_id)


def _replay_job(services: Services, bound: dict[str, Any]) -> dict[str, Any]:
    job_ids = bound.get("job_ids") or []
    existing = services.jobs.get(job_ids[0]) if job_ids else None
    if existing is None:
        raise NotFound("the job this Idempotency-Key was bound to no longer exists")
    return _response(200, {"job": job_view(existing, services.urls)}, {idempotency.REPLAYED_HEADER: "true"})


def _generate_now(services: Services, job: dict[str, Any], context: Any, started: float) -> dict[str, Any]:
    config = services.config
    job_id = job["job_id"]
    remaining_s = config.sync_timeout_seconds
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        remaining_s = min(remaining_s, context.get_remaining_time_in_millis() / 1000)
    deadline = started + max(1.0, remaining_s - SYNC_MARGIN_S)
    try:
        # A fixed per-call read timeout (one cached client), the deadline bounds the retries.
        read_timeout_s = max(1.0, config.sync_timeout_seconds - SYNC_MARGIN_S)
        result = process_job(services, job, deadline=deadline, read_timeout_s=read_timeout_s)
    except ModelTimeout as timeout:
        return _hand_to_queue(services, job, timeout)
    except GenerationInProgress:
        busy = InProgress("an identical request is being generated right now; retry in a few seconds")
        services.jobs.fail(job_id, {"code": busy.code, "message": busy.message})
        raise busy from None
    except ImagegenError as error:
        if isinstance(error, Throttled):
            count(THROTTLED)
        blocked = isinstance(error, (PromptBlocked, OutputBlocked))
        services.jobs.fail(
            job_id, {"code": error.code, "message": error.message}, JobStatus.BLOCKED if blocked else JobStatus.FAILED
        )
        raise
    except Exception as unexpected:
        services.jobs.fail(job_id, {"code": "InternalError", "message": type(unexpected).__name__})
        raise
    return _response(200, {"job": job_view(result.job, services.urls)})


def _hand_to_queue(services: Services, job: dict[str, Any], timeout: ModelTimeout) -> dict[str, Any]:
    """The model did not answer inside the sync budget: the worker finishes the job; answer now with its id.

    202 + ``Location`` (rather than 503 + ``Retry-After``): the request was accepted and will complete
    without the caller sending it again, which a 503 would ask for. API Gateway gives up after its
    integration timeout (30 s at most for an HTTP API), so waiting longer is never an option.
    """
    job_id = job["job_id"]
    error = {"code": timeout.code, "message": f"{timeout.message}; handed to the queue"}
    services.jobs.release(job_id, error, dead_lettered=False)
    queued = {**job, "status": str(JobStatus.QUEUED)}
    failed = enqueue(services, [queued])
    if failed:  # not queued after all: the job is failed with the reason; answer with the timeout
        raise timeout
    current = services.jobs.get(job_id) or queued
    location = f"/v1/jobs/{job_id}"
    return _response(
        202,
        {"job": job_view(current, services.urls)},
        {"location": location, "retry-after": str(HANDOVER_RETRY_AFTER_S)},
    )


def post_jobs(services: Services, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    """Validate all, moderate all, write the records, then enqueue (all-or-reported)."""
    from imagegen_service import intake

    if isinstance(body, dict) and "requests" in body:
        extra = sorted(set(body) - {"requests"})
        raws = body["requests"]
        if extra:
            raise RequestInvalid.from_problems([FieldProblem(name, "unknown field next to requests") for name in extra])
        if not isinstance(raws, list) or not 1 <= len(raws) <= MAX_REQUESTS_PER_CALL:
            raise RequestInvalid.from_problems(
                [FieldProblem("requests", f"must be a list of 1–{MAX_REQUESTS_PER_CALL} GenerationRequests")]
            )
        batch = True
    else:
        raws, batch = [body], False
    prepared = intake.prepare(services, raws, allow_fan_out=True, batch=batch)
    key = idempotency.call_key(headers, body, JOBS_SCOPE)
    if key is not None:
        bound = idempotency.claim(services.jobs, key)
        if bound is not None:
            return _replay_batch(services, bound)
    claimed: list[str] = [key.value] if key is not None else []
    try:
        earlier = _claim_request_keys(services, raws, claimed) if batch else {}
        intake.moderate_inputs(services, [p for p in prepared if p.origin not in earlier], batch=batch)
    except BaseException:
        for value in claimed:
            services.jobs.release_idempotency_key(value)
        raise
    batch_id = uuid.uuid4().hex
    created = now_iso()
    jobs = [
        intake.new_job(services, item, batch_id=batch_id, status=JobStatus.QUEUED, seq=seq, created_at=created)
        for seq, item in enumerate(prepared)
        if item.origin not in earlier
    ]
    if jobs:
        services.jobs.create(jobs)
    failed = enqueue(services, [job for job in jobs if job["status"] == JobStatus.QUEUED])
    new_origins = [item.origin for item in prepared if item.origin not in earlier]
    for origin in dict.fromkeys(new_origins):
        request_key = idempotency.request_key(raws[origin], JOBS_SCOPE, "") if batch else None
        if request_key is not None:
            job_ids = [job["job_id"] for job, o in zip(jobs, new_origins, strict=True) if o == origin]
            services.jobs.finish_idempotency_key(request_key.value, job_ids=job_ids, batch_id=batch_id)
    if key is not None:
        services.jobs.finish_idempotency_key(key.value, job_ids=[job["job_id"] for job in jobs], batch_id=batch_id)
    listing: list[dict[str, Any]] = []
    for origin in dict.fromkeys(item.origin for item in prepared):
        if origin in earlier:  # a retried request: its original jobs, as they are now
            listing.extend(earlier[origin])
            continue
        for job, job_origin in zip(jobs, new_origins, strict=True):
            if job_origin != origin:
                continue
            if job["job_id"] in failed:
                listing.append({"job_id": job["job_id"], "status": "failed", "error": failed[job["job_id"]]})
            else:
                listing.append({"job_id": job["job_id"], "status": job["status"]})
    if not jobs:
        # Every request was a retry: answer with the batch they were first queued in (one, if they agree).
        originals = {job["batch_id"] for job in listing}
        batch_id = originals.pop() if len(originals) == 1 else batch_id
    logger.info("batch queued", extra={"batch_id": batch_id, "jobs": len(jobs), "enqueue_failed": len(failed)})
    return _response(202, {"batch_id": batch_id, "jobs": listing})


def _replay_batch(services: Services, bound: dict[str, Any]) -> dict[str, Any]:
    listing = []
    for job_id in bound.get("job_ids") or []:
        job = services.jobs.get(job_id)
        listing.append({"job_id": job_id, "status": job["status"] if job else "unknown"})
    body = {"batch_id": bound.get("batch_id"), "jobs": listing}
    return _response(202, body, {idempotency.REPLAYED_HEADER: "true"})


def _claim_request_keys(services: Services, raws: list[Any], claimed: list[str]) -> dict[int, list[dict[str, Any]]]:
    """{index: its earlier jobs} for the batch's requests whose idempotency_key was used before.

    Keys taken here are appended to ``claimed`` (released by the caller if the call is refused).
    """
    earlier: dict[int, list[dict[str, Any]]] = {}
    for index, raw in enumerate(raws):
        key = idempotency.request_key(raw, JOBS_SCOPE, f"requests[{index}].idempotency_key")
        if key is None:
            continue
        bound = idempotency.claim(services.jobs, key)
        if bound is None:
            claimed.append(key.value)
            continue
        listing = []
        for job_id in bound.get("job_ids") or []:
            job = services.jobs.get(job_id)
            listing.append(
                {"job_id": job_id, "status": job["status"] if job else "unknown", "batch_id": bound.get("batch_id")}
            )
        earlier[index] = listing
    return earlier


def message_body(job: dict[str, Any]) -> str:
    """The job as created travels with its message: the worker claims it without reading the record."""
    return json.dumps({"job_id": job["job_id"], "batch_id": job["batch_id"], "job": job}, separators=(",", ":"))


def enqueue(services: Services, jobs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """SendMessageBatch in tens; failed entries retried once, then their jobs are failed with the reason.

    Returns {job_id: error} for the jobs that could not be queued: never a silently dropped job.
    """
    sqs = services.client("sqs")
    queue_url = services.config.queue_url
    failures: dict[str, dict[str, str]] = {}
    for start in range(0, len(jobs), SQS_BATCH):
        chunk = {str(i): job for i, job in enumerate(jobs[start : start + SQS_BATCH])}
        pending = dict(chunk)
        reasons: dict[str, str] = {}
        for _attempt in range(2):
            entries = [{"Id": entry_id, "MessageBody": message_body(job)} for entry_id, job in pending.items()]
            try:
                response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
                failed_entries = response.get("Failed", [])
                reasons = {f["Id"]: f"{f.get('Code', 'Failed')}: {f.get('Message', '')}" for f in failed_entries}
            except Exception as call_error:  # the whole call failed: every entry is still pending
                reasons = {entry_id: f"SendMessageBatch failed: {type(call_error).__name__}" for entry_id in pending}
            pending = {entry_id: job for entry_id, job in pending.items() if entry_id in reasons}
            if not pending:
                break
        for entry_id, job in pending.items():
            error = {"code": "EnqueueFailed", "message": f"the job could not be queued ({reasons[entry_id]})"}
            services.jobs.fail(job["job_id"], error)
            failures[job["job_id"]] = error
            logger.error("job not queued", extra={"job_id": job["job_id"], "reason": reasons[entry_id]})
    return failures


def get_job(services: Services, job_id: str) -> dict[str, Any]:
    job = services.jobs.get(job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return _response(200, {"job": job_view(job, services.urls)})


def get_batch(services: Services, batch_id: str) -> dict[str, Any]:
    jobs = [job_view(job, services.urls) for job in services.jobs.batch(batch_id)]
    if not jobs:
        raise NotFound(f"no batch {batch_id}")
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job["status"]] = counts.get(job["status"], 0) + 1
    total_cost = round(sum(float(job.get("cost_usd") or 0) for job in jobs), 6)
    return _response(200, {"batch_id": batch_id, "counts": counts, "cost_usd": total_cost, "jobs": jobs})


def get_models(services: Services) -> dict[str, Any]:
    return _response(200, {"models": models_view(services.config, clock.today())})


# --------------------------------------------------------------------------- routing
_ROUTES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"/v1/images/?"), "POST", "images"),
    (re.compile(r"/v1/jobs/?"), "POST", "jobs"),
    (re.compile(r"/v1/jobs/(?P<id>[A-Za-z0-9_-]{1,128})/?"), "GET", "job"),
    (re.compile(r"/v1/batches/(?P<id>[A-Za-z0-9_-]{1,128})/?"), "GET", "batch"),
    (re.compile(r"/v1/models/?"), "GET", "models"),
    (re.compile(r"/v1/images/(?P<id>[^/]{1,128})/provenance/?"), "GET", "provenance"),
]


def _path(event: dict[str, Any]) -> str:
    path = str(event.get("rawPath") or event.get("requestContext", {}).get("http", {}).get("path") or "/")
    # A named stage prefixes the path (/prod/v1/...): route on what follows it.
    marker = path.find("/v1/")
    return path[marker:] if marker > 0 else path


def route(event: dict[str, Any], context: Any, config: RuntimeConfig) -> dict[str, Any]:
    method = str(event.get("requestContext", {}).get("http", {}).get("method") or "GET").upper()
    path = _path(event)
    allowed: list[str] = []
    for pattern, route_method, name in _ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if method != route_method:
            allowed.append(route_method)
            continue
        services = services_for(config)
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        if name == "images":
            return post_images(services, _body(event, config), context, headers)
        if name == "jobs":
            return post_jobs(services, _body(event, config), headers)
        if name == "job":
            return get_job(services, match["id"])
        if name == "batch":
            return get_batch(services, match["id"])
        if name == "provenance":
            from imagegen_service.provenance_view import image_provenance

            return _response(200, image_provenance(services, match["id"]))
        return get_models(services)
    if allowed:
        return _error(MethodNotAllowed(f"{method} is not allowed on {path}"), {"allow": ", ".join(allowed)})
    return _error(NotFound(f"no route {method} {path}"))


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        config = RuntimeConfig.from_env()
        return route(event, context, config)
    except ImagegenError as error:
        if error.status >= 500:
            logger.warning("request failed", extra={"code": error.code, "status": error.status})
        retry = {"retry-after": str(idempotency.RETRY_AFTER_S)} if isinstance(error, InProgress) else None
        return _error(error, retry)
    except Exception:
        # A bug or an AWS outage, never the caller's input: log it (no bodies), answer a plain 500.
        logger.exception("unhandled error")
        body = {"error": {"code": "InternalError", "message": "internal error", "details": []}}
        return _response(500, body)
