"""The local stand-in for Lambda's SQS event source mapping.

It long-polls the jobs queue, hands the real worker handler the SQS event Lambda would build (batch
size from the stack's mapping), and deletes only what the handler did not report in
``batchItemFailures``. Failed or abandoned messages stay on the queue and come back after the
visibility timeout, so ``maxReceiveCount`` and the DLQ behave as deployed.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imagegen_local.lambda_context import LocalLambdaContext

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
SQS_MAX_BATCH = 10  # ReceiveMessage / DeleteMessageBatch ceiling


@dataclass
class DrainStats:
    batches: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0
    handler_errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    binary = value.get("BinaryValue")
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary,
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": value.get("BinaryListValues", []),
        "dataType": value.get("DataType", "String"),
    }


def to_sqs_event(messages: list[dict[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """Lambda's SQS event for messages from ReceiveMessage."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message.get("Body", ""),
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": {k: _attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def failed_ids(result: Any, batch_ids: list[str]) -> set[str]:
    """The message IDs to leave on the queue, read as Lambda reads a partial batch response.

    A malformed answer (missing or empty ``itemIdentifier``, an ID not in the batch) fails the
    whole batch; an empty or absent list means every message succeeded.
    """
    if result is None:
        return set()
    if not isinstance(result, dict):
        return set(batch_ids)
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    ids: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in batch_ids:
            return set(batch_ids)
        ids.add(identifier)
    return ids


class QueueEventSource:
    """Polls one SQS queue in a background thread and invokes ``handler`` with batches."""

    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        region: str,
        handler: Handler,
        function_name: str,
        batch_size: int = 10,
        function_timeout_seconds: float = 60.0,
        visibility_timeout: int | None = None,
        wait_seconds: int = 1,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._region = region
        self._handler = handler
        self._function_name = function_name
        self._batch_size = max(1, min(batch_size, SQS_MAX_BATCH))
        self._timeout = function_timeout_seconds
        # None: the queue's own visibility timeout, as Lambda uses it.
        self._visibility_timeout = visibility_timeout
        self._wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = DrainStats()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self._function_name}-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch in hand, then stop polling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                # The queue endpoint hiccuped: back off briefly, as the event source mapping does.
                log.exception("polling %s failed", self._queue_url)
                self._stop.wait(1.0)

    def poll_once(self) -> int:
        """Receive one batch, invoke the handler, delete the successes. Returns messages received."""
        request: dict[str, Any] = {
            "QueueUrl": self._queue_url,
            "MaxNumberOfMessages": self._batch_size,
            "WaitTimeSeconds": self._wait_seconds,
            "AttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if self._visibility_timeout is not None:
            request["VisibilityTimeout"] = self._visibility_timeout
        messages = self._sqs.receive_message(**request).get("Messages", [])
        if not messages:
            return 0
        self.stats.add(batches=1, received=len(messages))
        event = to_sqs_event(messages, queue_arn=self._queue_arn, region=self._region)
        batch_ids = [m["MessageId"] for m in messages]
        context = LocalLambdaContext(self._function_name, region=self._region, timeout_seconds=self._timeout)
        try:
            result = self._handler(event, context)
        except Exception:
            # An unhandled error fails the whole batch: every message returns after the visibility timeout.
            log.exception("worker handler raised; the batch of %d returns to the queue", len(messages))
            self.stats.add(handler_errors=1, failed=len(messages))
            return len(messages)
        failed = failed_ids(result, batch_ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_MAX_BATCH):
            chunk = done[start : start + SQS_MAX_BATCH]
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self.stats.add(deleted=len(done), failed=len(failed))
        return len(messages)
