"""The generation pipeline: one function processes one job, for the worker and the synchronous API.

``process_job`` takes a claimed job record and ends it: request → model (once per fingerprint) →
outbound moderation → provenance → content-addressed storage → metadata + job completion. Errors
leave as exceptions; the caller decides what they mean for its transport (``handlers.worker.handle_record``
for SQS, ``handlers.api.post_images`` for HTTP).

Never pay twice. Model call, moderation, signing and storage run once per
``requests.fingerprint(request)`` (the normalised request with its input images' digests), guarded
by the fingerprint ledger (``ledger.py``) in the idempotency table. A second job with the same
fingerprint — or the same job redelivered — replays the stored result (image keys, digests,
moderation) without calling the model; a concurrent duplicate gets ``GenerationInProgress`` and is
retried later. A failure before the result exists deletes the lease, so the retry calls the model
again; a failure after it keeps the result, so the retry replays it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imagegen_service import catalogue, clock, costs, moderation, provenance
from imagegen_service.config import RuntimeConfig
from imagegen_service.errors import (
    ModelUnavailable,
    NotFound,
    OutputBlocked,
)
from imagegen_service.imagefiles import ImageFile
from imagegen_service.jobs import JobStatus, JobStore, now_iso
from imagegen_service.ledger import FingerprintLedger
from imagegen_service.observability import IMAGES_BLOCKED, IMAGES_GENERATED, MODEL_CALLS_SAVED, StepTimer, count, logger
from imagegen_service.storage import ImageStore

if TYPE_CHECKING:
    from imagegen_service.delivery import UrlSigner
    from imagegen_service.requests import GenerationRequest

DEFAULT_BUDGET_S = 15 * 60  # Lambda's maximum timeout: the lease when a caller gives no deadline


# --------------------------------------------------------------------------- clients per configuration
@dataclass
class Services:
    """Everything the pipeline talks to, built once per container and configuration."""

    config: RuntimeConfig
    clients: dict[str, Any] = field(default_factory=dict)
    _models: dict[float | None, Any] = field(default_factory=dict)

    def client(self, name: str, region: str | None = None) -> Any:
        key = f"{name}@{region or ''}"
        if key not in self.clients:
            import boto3
            from botocore.config import Config

            # Standard retry mode retries throttles and 5xx of S3/DynamoDB/SQS with backoff.
            boto_config = Config(
                retries={"mode": "standard", "max_attempts": 4},
                connect_timeout=5,
                read_timeout=30,
            )
            self.clients[key] = boto3.client(name, region_name=region, config=boto_config)
        return self.clients[key]

    @functools.cached_property
    def images(self) -> ImageStore:
        return ImageStore(self.client("s3"), self.config.bucket)

    @functools.cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.client("dynamodb"), self.config.jobs_table)

    @functools.cached_property
    def ledger(self) -> FingerprintLedger:
        return FingerprintLedger(self.client("dynamodb"), self.config.idempotency_table)

    @functools.cached_property
    def pacer(self) -> Any:
        """The fleet's model-call controller: its state lives in the idempotency table, shared by every
        container; it starts from the stack's planned RPM per model (``IMAGEGEN_MODEL_RPM``), then learns."""
        from imagegen_service.pacing import DynamoPaceStore, FleetPacer, MemoryPaceStore, PaceStore

        store: PaceStore = (
            DynamoPaceStore(self.client("dynamodb"), self.config.idempotency_table)
            if self.config.idempotency_table
            else MemoryPaceStore()
        )
        return FleetPacer(store, self.config.model_rpm)

    @functools.cached_property
    def urls(self) -> UrlSigner:
        from imagegen_service.delivery import UrlSigner

        return UrlSigner(self.config, lambda: self.client("secretsmanager"))

    def secrets(self) -> Any:
        return self.client("secretsmanager")


_SERVICES: dict[str, Services] = {}


def services_for(config: RuntimeConfig) -> Services:
    """One Services (clients, caches) per configuration and set of AWS endpoints, reused across invocations."""
    endpoints = sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL"))
    key = repr((config, endpoints))
    services = _SERVICES.get(key)
    if services is None:
        services = _SERVICES[key] = Services(config)
    return services


# --------------------------------------------------------------------------- checks before any model call
def check_model_available(config: RuntimeConfig, model_key: str) -> catalogue.ModelSpec:
    """503 unless the model is enabled in this stack and not past its end-of-life date."""
    spec = catalogue.MODELS[model_key]
    # Lifecycle first: a retired model is unavailable everywhere, and saying so beats "not enabled".
    status = spec.lifecycle.status_on(clock.today())
    if status is catalogue.Status.END_OF_LIFE:
        raise ModelUnavailable(
            f"model {model_key} ({spec.model_id}) reached its end of life on {spec.lifecycle.end_of_life}; "
            "choose another model"
        )
    if model_key not in config.models:
        enabled = ", ".join(sorted(config.models)) or "none"
        raise ModelUnavailable(f"model {model_key} is not enabled in stack {config.stack!r} (enabled: {enabled})")
    return spec


def resolve_images(services: Services, request: GenerationRequest) -> GenerationRequest:
    """Replace ``image_id`` references by the referenced objects' bytes (inputs and earlier outputs)."""

    def fetch(image_id: str) -> bytes:
        record = services.jobs.image(image_id)
        if record is None or record.get("quarantined"):
            raise NotFound(f"image {image_id} does not exist (or was withheld by moderation)")
        return services.images.get(record["key"])

    return request.with_images(fetch)


# --------------------------------------------------------------------------- the idempotent unit
def _generate_images(
    work: dict[str, Any],
    *,
    services: Services,
    request: GenerationRequest,
    timer: StepTimer,
    deadline: float | None,
    read_timeout_s: float | None,
) -> dict[str, Any]:  # the ledger's unit: everything that must happen at most once per fingerprint
    """Model call + moderation + provenance + storage for one fingerprint. Returns a JSON-able summary."""
    from imagegen_service.requests import output_size, price_per_image

    config = services.config
    spec = request.spec
    with timer.step("model"):
        output = invoke_model(services, request, deadline=deadline, read_timeout_s=read_timeout_s)
    if output.all_filtered:
        raise OutputBlocked("the model's output filter withheld every image: " + "; ".join(output.filtered))
    width, height = output_size(request)
    price = price_per_image(request)
    images: list[dict[str, Any]] = []
    from imagegen_service.requests import effective_seed, image_count

    for position, generated in enumerate(output.images):
        data = generated.data
        file = ImageFile(generated.format, generated.width, generated.height)
        with timer.step("moderation"):
            verdict = (
                moderation.detect_labels(services.client("rekognition"), data, config.min_confidence)
                if config.moderation_enabled
                else moderation.unchecked(config.min_confidence)
            )
        signed = False
        if config.c2pa_enabled and not spec.watermark and not verdict.flagged:
            with timer.step("c2pa"):
                data = _sign(services, request, data, seed=generated.seed, file=file, fingerprint=work["fingerprint"])
            signed = True
        with timer.step("storage"):
            stored = services.images.put(
                data,
                file,
                quarantine=verdict.flagged,
                metadata={"model-id": spec.model_id, "fingerprint": work["fingerprint"]},
            )
        images.append(
            {
                "image_id": stored.sha256,
                "key": stored.key,
                "sha256": stored.sha256,
                "bytes": stored.bytes,
                "format": file.format,
                "width": file.width,
                "height": file.height,
                "seed": generated.seed,
                # Where Bedrock reported no seed for this image (a multi-image Amazon call): the call's
                # seed, size and this image's position, so draft → final can re-run the call exactly.
                **(
                    {
                        "call_seed": effective_seed(request),
                        "call_count": image_count(request),
                        "call_position": position,
                    }
                    if generated.seed is None
                    else {}
                ),
                "quarantined": verdict.flagged,
                "moderation": verdict.as_dict(),
                "c2pa": signed,
                "watermark": spec.watermark,
            }
        )
    return {
        "fingerprint": work["fingerprint"],
        "origin_job_id": work["job_id"],
        "generated_at": now_iso(),
        "requested_size": [width, height],
        "price_per_image": price,
        "model_cost_usd": costs.call_cost(price, len(output.images)),
        "filtered": list(output.filtered),
        "images": images,
    }


def _sign(
    services: Services, request: GenerationRequest, data: bytes, *, seed: int | None, file: ImageFile, fingerprint: str
) -> bytes:
    config = services.config
    chain = provenance.load_chain(config.c2pa_secret_arn, config.c2pa_cert_file, config.c2pa_key_file, services.secrets)
    spec = request.spec
    facts = provenance.GenerationFacts(
        model_id=spec.model_id,
        model_name=spec.name,
        provider=spec.provider,
        seed=seed,
        job_id=fingerprint,
        licence_record_id=config.models[spec.key].licence_record_id if spec.key in config.models else None,
        prompt_sha256=hashlib.sha256((request.prompt or "").encode()).hexdigest(),
        parameters={
            k: v
            for k, v in request.model_dump(mode="json", exclude_none=True).items()
            if k not in ("prompt", "negative_prompt", "source_image", "mask_image", "control", "style_image", "tags")
        },
    )
    return provenance.sign(data, file.content_type, facts, chain, title=f"{fingerprint[:16]}.{file.extension}")


def invoke_model(
    services: Services, request: GenerationRequest, *, deadline: float | None, read_timeout_s: float | None = None
) -> Any:
    """One paced, retried model call through the model layer's client (its RetryPolicy is the budget).

    ``read_timeout_s`` caps a single call (the sync API cannot wait the worker's five minutes);
    ``deadline`` bounds the retries and the wait for a slot. One client per read timeout, one fleet
    pacer (``Services.pacer``) for all of them.
    """
    from imagegen_service.bedrock import BedrockImageClient

    client = services._models.get(read_timeout_s)
    if client is None:
        options: dict[str, Any] = {"pacer": services.pacer}
        if read_timeout_s is not None:
            options["read_timeout_s"] = read_timeout_s
        client = services._models[read_timeout_s] = BedrockImageClient(**options)
    region = services.config.models[request.model].region
    budget = None if deadline is None else max(0.0, deadline - time.monotonic())
    return client.invoke(request, region=region, deadline_s=budget)


# --------------------------------------------------------------------------- one job, end to end
@dataclass(frozen=True)
class JobResult:
    job: dict[str, Any]
    reused: bool
    timer: StepTimer


def process_job(
    services: Services, job: dict[str, Any], *, deadline: float | None = None, read_timeout_s: float | None = None
) -> JobResult:
    """Run a claimed job (status running) to succeeded or blocked; raises on failure (caller classifies)."""
    from imagegen_service.requests import fingerprint, parse_request

    timer = StepTimer()
    with timer.step("prepare"):
        request = parse_request(job["input"])
        spec = check_model_available(services.config, request.model)
        resolved = resolve_images(services, request)
        key = fingerprint(resolved)
    with timer.step("ledger"):
        lease_s = (deadline - time.monotonic()) if deadline is not None else DEFAULT_BUDGET_S
        summary = services.ledger.begin(key, job["job_id"], lease_s=max(1.0, lease_s))
    generated = summary is None
    if summary is None:
        try:
            summary = _generate_images(
                {"fingerprint": key, "job_id": job["job_id"]},
                services=services,
                request=resolved,
                timer=timer,
                deadline=deadline,
                read_timeout_s=read_timeout_s,
            )
        except BaseException:
            services.ledger.abandon(key, job["job_id"])
            raise
    reused = summary["origin_job_id"] != job["job_id"]
    with timer.step("metadata"):
        try:
            finished = _complete(
                services, job, request, spec, summary, reused=reused, record_result=generated, resolved=resolved
            )
        except Exception:
            if generated:  # the model was paid: keep its result for the retry, which then replays it
                _keep_result(services, key, summary)
            raise
    if reused:
        count(MODEL_CALLS_SAVED)
    return JobResult(job=finished, reused=reused, timer=timer)


def _keep_result(services: Services, key: str, summary: dict[str, Any]) -> None:
    try:
        services.ledger.record(key, summary)
    except Exception:
        logger.exception("could not keep the generated result; the retry will call the model again")


def _complete(
    services: Services,
    job: dict[str, Any],
    request: GenerationRequest,
    spec: catalogue.ModelSpec,
    summary: dict[str, Any],
    *,
    reused: bool,
    record_result: bool,
    resolved: GenerationRequest,
) -> dict[str, Any]:
    from imagegen_service.requests import normalised

    config = services.config
    images = summary["images"]
    served = [image for image in images if not image["quarantined"]]
    flagged = [image for image in images if image["quarantined"]]
    status = JobStatus.SUCCEEDED if served else JobStatus.BLOCKED
    cost = 0.0 if reused else float(summary["model_cost_usd"])
    licence = config.models[spec.key].licence_record_id
    moderation_summary = {
        "checked": config.moderation_enabled,
        "flagged": len(flagged),
        "labels": [label for image in flagged for label in image["moderation"]["labels"]],
        "min_confidence": config.min_confidence,
        "model_filtered": summary["filtered"],
    }
    error = None
    if status is JobStatus.BLOCKED:
        names = ", ".join(sorted({label["name"] for label in moderation_summary["labels"]})) or "moderation"
        error = {"code": "ImageBlocked", "message": f"every generated image was flagged by moderation ({names})"}
    public_images = [{k: v for k, v in image.items() if k != "moderation"} for image in served]
    fields = {
        "images": public_images,
        "quarantined": [
            {"image_id": i["image_id"], "key": i["key"], "labels": i["moderation"]["labels"]} for i in flagged
        ],
        "moderation": moderation_summary,
        "cost_usd": cost,
        "license_record_id": licence,
        "fingerprint": summary["fingerprint"],
        "reused_from_job": summary["origin_job_id"] if reused else None,
        "error": error,
        # With the input images resolved: their digests and the true output size (an image_id
        # reference has no size until its bytes are loaded).
        "request": normalised(resolved),
    }
    parseable = request.model_dump(mode="json", exclude_none=True)
    metadata = [
        {
            **{k: v for k, v in image.items() if k != "moderation"},
            "moderation": image["moderation"],
            "job_id": job["job_id"],
            "model_key": spec.key,
            "model_id": spec.model_id,
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "request": fields["request"],
            "input": parseable,
            "workflow": job.get("workflow") or {},
            "license_record_id": licence,
            "cost_usd": 0.0 if reused else summary["price_per_image"],
            "created_at": now_iso(),
        }
        for image in images
    ]
    # One BatchWriteItem: the finished job, its image records (written once: a replay's already exist)
    # and, after a generation, the ledger's COMPLETED record.
    extra = {services.config.idempotency_table: [services.ledger.completed_request(summary["fingerprint"], summary)]}
    finished = services.jobs.finish(
        job, status, fields, [] if reused else metadata, also=extra if record_result else None
    )
    if not reused:
        count(IMAGES_GENERATED, len(served))
        if cost:
            from imagegen_service.observability import cost as record_cost

            record_cost(cost)
    if flagged:
        count(IMAGES_BLOCKED, len(flagged))
    logger.info(
        "job finished",
        extra={
            "job_id": job["job_id"],
            "model": spec.model_id,
            "status": str(status),
            "reused": reused,
            "cost_usd": cost,
        },
    )
    return finished
