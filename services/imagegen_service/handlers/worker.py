"""The ``worker`` Lambda: SQS batches of job messages, partial batch responses.

Per record (``handle_record``):

* poison (not JSON / no job_id / unknown job): reported as a batch item failure, so it reaches the
  DLQ after maxReceiveCount instead of vanishing; a job that exists but cannot be parsed is failed
  with the reason and acknowledged;
* already finished job (duplicate delivery): acknowledged, nothing runs again;
* otherwise claimed (queued|running → running) and processed by ``pipeline.process_job``;
* non-retryable failures (validation, content filters, end-of-life, moderation) finish the job as
  failed/blocked with the reason and are acknowledged — they would fail the same way every time;
* pacing (the fleet's controller has no slot before the invocation's deadline, ``PacingDeferred``) and
  throttles that outlived the call's retry budget are not failures of the job: it goes back to
  ``queued`` and its message is sent again as a NEW message with a delay the controller chose
  (``DelaySeconds``), and the received one is acknowledged. SQS counts every receive towards
  ``maxReceiveCount``, so only a fresh message keeps pacing from pushing a job towards the DLQ. After
  ``MAX_DEFERRALS`` deferrals of one job (a model refusing every call for hours) it is treated as below;
* other retryable failures (ModelTimeout, ModelFailed, AWS errors, a concurrent duplicate) put the job
  back to ``queued`` with ``last_error`` and are reported, so SQS redelivers — after a few seconds of
  jittered backoff (``ChangeMessageVisibility``), not the queue's visibility timeout. On the last
  receive (ApproximateReceiveCount ≥ max_receive_count) the record also gets ``dead_lettered: true``
  and ``error``: the DLQ holds the message, the record says why; a redrive resumes it.
"""

from __future__ import annotations

import json
import math
import random
import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from imagegen_service.config import RuntimeConfig
from imagegen_service.errors import ImagegenError, OutputBlocked, PacingDeferred, PromptBlocked, Throttled
from imagegen_service.jobs import JobStatus
from imagegen_service.observability import JOBS_FAILED, THROTTLED, count, logger, metrics, traced
from imagegen_service.pacing import backoff_s
from imagegen_service.pipeline import Services, process_job, services_for

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

DEADLINE_MARGIN_S = 5.0  # time left to record the outcome after the model call's budget
BLOCKING = (PromptBlocked, OutputBlocked)
FIRST_RECORD_ESTIMATE_S = 2.0  # before this container has timed one
MAX_DEFERRALS = 200  # per job; beyond, a throttle counts as a failed attempt (the DLQ then bounds it)
MAX_DELAY_S = 900  # SQS DelaySeconds ceiling
THROTTLE_RETRY_S = (1.0, 5.0)  # a throttled job's new message waits this many seconds (uniform)

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


def _remaining_s(context: Any) -> float | None:
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return None
    return float(context.get_remaining_time_in_millis()) / 1000


def _deadline(context: Any) -> float | None:
    remaining = _remaining_s(context)
    if remaining is None:
        return None
    return time.monotonic() + remaining - DEADLINE_MARGIN_S


class _RecordTimes:
    """This container's moving average of one record's wall time (model call, moderation, storage)."""

    def __init__(self) -> None:
        self.average_s = FIRST_RECORD_ESTIMATE_S

    def add(self, seconds: float) -> None:
        self.average_s = 0.7 * self.average_s + 0.3 * seconds

    def needed_s(self) -> float:
        """Time a record needs left in the invocation before it may start: the margin plus 1.5 × the average."""
        return DEADLINE_MARGIN_S + 1.5 * self.average_s


record_times = _RecordTimes()


def handle_record(services: Services, record: SQSRecord, context: Any, *, first: bool = True) -> None:
    """One record. ``first``: the invocation's first record always starts (it has the whole timeout)."""
    logger.remove_keys(["job_id", "model"])  # keys of the previous record in this batch
    try:
        job_id, snapshot = _message(record)
    except PoisonMessage as poison:
        logger.error("poison message", extra={"message_id": record.message_id, "reason": str(poison)})
        raise
    receive_count = _receive_count(record)
    logger.append_keys(job_id=job_id)
    remaining = _remaining_s(context)
    if not first and remaining is not None and remaining < record_times.needed_s():
        # Not enough of the invocation left to finish this record: back to the queue at once, as a fresh
        # message (the batch's other records took the time; this is not the job's failure).
        _resend(services, record, delay_s=0, deferrals=_deferrals(record) + 1)
        logger.info("record deferred: the invocation has too little time left", extra={"remaining_s": remaining})
        return
    started = time.monotonic()
    try:
        _handle_claimed(services, record, context, job_id=job_id, snapshot=snapshot, receive_count=receive_count)
    finally:
        record_times.add(time.monotonic() - started)


def _handle_claimed(
    services: Services,
    record: SQSRecord,
    context: Any,
    *,
    job_id: str,
    snapshot: dict[str, Any] | None,
    receive_count: int,
) -> None:
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
    except Throttled as error:
        deferrals = _deferrals(record)
        if deferrals < MAX_DEFERRALS:
            wait = error.wait_s if isinstance(error, PacingDeferred) else random.uniform(*THROTTLE_RETRY_S)
            _defer(services, record, job_id, error, wait_s=wait, deferrals=deferrals + 1)
            return
        _release(services, job_id, error.code, error.message, receive_count)
        _retry_soon(services, record, receive_count)
        count(THROTTLED)
        raise
    except ImagegenError as error:
        if error.retryable:
            _release(services, job_id, error.code, error.message, receive_count)
            _retry_soon(services, record, receive_count)
            raise
        status = JobStatus.BLOCKED if isinstance(error, BLOCKING) else JobStatus.FAILED
        services.jobs.fail(job_id, {"code": error.code, "message": error.message}, status)
        count(JOBS_FAILED)
        logger.info("job finished without images", extra={"status": str(status), "code": error.code})
    except Exception as error:
        # A concurrent duplicate (GenerationInProgress), S3/DynamoDB/Rekognition errors, misconfiguration:
        # retry via SQS.
        _release(services, job_id, type(error).__name__, str(error)[:500], receive_count)
        _retry_soon(services, record, receive_count)
        raise


def _deferrals(record: SQSRecord) -> int:
    try:
        value = json.loads(record.body).get("deferrals", 0)
    except (TypeError, ValueError, AttributeError):
        return 0
    return value if isinstance(value, int) and value >= 0 else 0


def _defer(
    services: Services, record: SQSRecord, job_id: str, error: Throttled, *, wait_s: float, deferrals: int
) -> None:
    """The job back to queued, its message sent again with a delay; the received one is then acknowledged.

    Send first: if sending fails, the error propagates and the received message stays (redelivered as
    a plain retry). If the acknowledgement is lost after the send, two messages exist; the second finds
    the job finished (or the ledger's result) and is acknowledged without a second model call."""
    delay = max(0, min(MAX_DELAY_S, math.ceil(wait_s)))
    services.jobs.release(
        job_id,
        {"code": error.code, "message": error.message, "deferrals": deferrals, "delay_s": delay},
        dead_lettered=False,
    )
    _resend(services, record, delay_s=delay, deferrals=deferrals)
    logger.info(
        "job deferred by the fleet's pacing", extra={"code": error.code, "delay_s": delay, "deferrals": deferrals}
    )


def _resend(services: Services, record: SQSRecord, *, delay_s: int, deferrals: int) -> None:
    """The record's message again, as a new message (its receive count starts afresh) after ``delay_s``."""
    body = json.loads(record.body)
    body["deferrals"] = deferrals
    services.client("sqs").send_message(
        QueueUrl=services.config.queue_url, MessageBody=json.dumps(body, separators=(",", ":")), DelaySeconds=delay_s
    )


def _retry_soon(services: Services, record: SQSRecord, receive_count: int) -> None:
    """A failed attempt comes back after seconds of jittered backoff instead of the visibility timeout.
    Best effort: if the change fails, the queue's visibility timeout still brings it back."""
    try:
        services.client("sqs").change_message_visibility(
            QueueUrl=services.config.queue_url,
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=int(backoff_s(receive_count)),
        )
    except Exception:  # the receipt may have expired; the visibility timeout is the fallback
        logger.warning("could not shorten the retry delay; the visibility timeout applies")


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

    started: list[bool] = []

    def record_handler(record: SQSRecord) -> None:
        first = not started
        started.append(True)
        handle_record(services, record, context, first=first)

    response: dict[str, Any] = dict(
        process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    )
    return response
