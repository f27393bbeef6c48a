"""The ``worker`` Lambda: SQS batches of job messages, partial batch responses.

Per record (``handle_record``):

* poison (not JSON / no job_id / unknown job): reported as a batch item failure, so it reaches the
  DLQ after maxReceiveCount instead of vanishing; a job that exists but cannot be parsed is failed
  with the reason and acknowledged;
* already finished job (duplicate delivery): acknowledged, nothing runs again;
* otherwise claimed (queued|running → running) and processed by ``pipeline.process_job``;
* non-retryable failures (validation, content filters, end-of-life, moderation) finish the job as
  failed/blocked with the reason and are acknowledged — they would fail the same way every time;
* retryable failures (Throttled, ModelTimeout, ModelFailed, AWS errors, a concurrent duplicate)
  put the job back to ``queued`` with ``last_error`` and are reported, so SQS redelivers. On the last
  receive (ApproximateReceiveCount ≥ max_receive_count) the record also gets ``dead_lettered: true``
  and ``error``: the DLQ holds the message, the record says why; a redrive resumes it.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from imagegen_service.config import RuntimeConfig
from imagegen_service.errors import ImagegenError, OutputBlocked, PromptBlocked, Throttled
from imagegen_service.jobs import JobStatus
from imagegen_service.observability import JOBS_FAILED, THROTTLED, count, logger, metrics, traced
from imagegen_service.pipeline import Services, process_job, services_for

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

DEADLINE_MARGIN_S = 5.0  # time left to record the outcome after the model call's budget
BLOCKING = (PromptBlocked, OutputBlocked)

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class PoisonMessage(Exception):
    """A message no attempt can process: reported so the DLQ keeps it for an operator."""


def _message(record: SQSRecord) -> tuple[str, dict[str, Any] | None]:
    """The job id and, when the message carries it, the job as created (``api.message_body``)."""
    try:
        body = json.loads(record.body)
    except (TypeError, ValueError):
        raise PoisonMessage("message body is not JSON") from None
    job_id = body.get("job_id") if isinstance(body, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise PoisonMessage("message body has no job_id")
    snapshot = body.get("job")
    valid = isinstance(snapshot, dict) and snapshot.get("job_id") == job_id and "batch_id" in snapshot
    return job_id, snapshot if valid else None


def _receive_count(record: SQSRecord) -> int:
    try:
        return int(record.attributes.approximate_receive_count or 1)
    except (TypeError, ValueError):
        return 1


def _deadline(context: Any) -> float | None:
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return None
    return time.monotonic() + max(1.0, context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_S)


def handle_record(services: Services, record: SQSRecord, context: Any) -> None:
    logger.remove_keys(["job_id", "model"])  # keys of the previous record in this batch
    try:
        job_id, snapshot = _message(record)
    except PoisonMessage as poison:
        logger.error("poison message", extra={"message_id": record.message_id, "reason": str(poison)})
        raise
    receive_count = _receive_count(record)
    logger.append_keys(job_id=job_id)
    try:
        if snapshot is not None:
            claim = services.jobs.claim_snapshot(snapshot, receive_count=receive_count)
        else:
            claim = services.jobs.claim(job_id, receive_count=receive_count)
    except Exception as error:  # DynamoDB refused the claim: still record why (best effort), then retry via SQS
        _release(services, job_id, type(error).__name__, str(error)[:500], receive_count)
        raise
    if claim.missing:
        logger.error("message for an unknown job", extra={"message_id": record.message_id})
        raise PoisonMessage(f"job {job_id} does not exist")
    if claim.job is None:
        logger.info("job already finished; duplicate delivery acknowledged", extra={"status": claim.existing_status})
        return
    job = claim.job
    logger.append_keys(model=job.get("model_id"))
    try:
        process_job(services, job, deadline=_deadline(context))
    except ImagegenError as error:
        if error.retryable:
            _release(services, job_id, error.code, error.message, receive_count)
            if isinstance(error, Throttled):
                count(THROTTLED)
            raise
        status = JobStatus.BLOCKED if isinstance(error, BLOCKING) else JobStatus.FAILED
        services.jobs.fail(job_id, {"code": error.code, "message": error.message}, status)
        count(JOBS_FAILED)
        logger.info("job finished without images", extra={"status": str(status), "code": error.code})
    except Exception as error:
        # A concurrent duplicate (GenerationInProgress), S3/DynamoDB/Rekognition errors, misconfiguration:
        # retry via SQS.
        _release(services, job_id, type(error).__name__, str(error)[:500], receive_count)
        raise


def _release(services: Services, job_id: str, code: str, message: str, receive_count: int) -> None:
    last = receive_count >= services.config.max_receive_count
    services.jobs.release(
        job_id, {"code": code, "message": message, "receive_count": receive_count}, dead_lettered=last
    )
    logger.warning("job attempt failed; SQS will redeliver" if not last else "job dead-lettered", extra={"code": code})


@logger.inject_lambda_context(clear_state=True)
@traced
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    services = services_for(RuntimeConfig.from_env())

    def record_handler(record: SQSRecord) -> None:
        handle_record(services, record, context)

    response: dict[str, Any] = dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
    return response
