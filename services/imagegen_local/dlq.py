"""The jobs dead-letter queue: look at what landed there, and send it back to the jobs queue.

Deployed, redrive is SQS ``StartMessageMoveTask`` (the DLQ's messages go back to their source
queue). moto 5 does not implement that action, so against the local platform the same move is done
by hand: receive, send to the jobs queue with the same body and attributes, then delete from the DLQ
(a message is deleted only after its copy was sent, so a crash can duplicate but never lose a job).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SQS_MAX_BATCH = 10
PEEK_VISIBILITY_SECONDS = 5
MOVE_RATE_PER_SECOND = 50  # StartMessageMoveTask's MaxNumberOfMessagesPerSecond (SQS allows ≤ 500)


@dataclass(frozen=True)
class RedriveResult:
    method: str  # "StartMessageMoveTask" | "receive-send-delete"
    moved: int | None  # None: the move task runs asynchronously in SQS
    task_handle: str | None = None
    note: str = ""


def _summary(message: dict[str, Any]) -> dict[str, Any]:
    body = message.get("Body", "")
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    attributes = message.get("Attributes", {})
    return {
        "message_id": message["MessageId"],
        "job_id": parsed.get("job_id") if isinstance(parsed, dict) else None,
        "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
        "sent_at_ms": int(attributes.get("SentTimestamp", 0)),
        "body": parsed if parsed is not None else body,
    }


def peek(sqs: Any, dlq_url: str, limit: int = 100) -> list[dict[str, Any]]:
    """Up to ``limit`` messages, left on the queue (made visible again straight away)."""
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    while len(seen) < limit:
        batch = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(SQS_MAX_BATCH, limit - len(seen)),
            VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen[message["MessageId"]] = _summary(message)
            handles.append(message["ReceiptHandle"])
    for start in range(0, len(handles), SQS_MAX_BATCH):
        chunk = handles[start : start + SQS_MAX_BATCH]
        sqs.change_message_visibility_batch(
            QueueUrl=dlq_url,
            Entries=[{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(chunk)],
        )
    return list(seen.values())


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def start_move_task(sqs: Any, dlq_url: str) -> RedriveResult:
    """Deployed redrive: SQS moves the DLQ's messages back to their source queue itself."""
    answer = sqs.start_message_move_task(
        SourceArn=_queue_arn(sqs, dlq_url), MaxNumberOfMessagesPerSecond=MOVE_RATE_PER_SECOND
    )
    return RedriveResult("StartMessageMoveTask", None, task_handle=answer.get("TaskHandle"))


def move_by_hand(sqs: Any, dlq_url: str, queue_url: str) -> RedriveResult:
    """Local redrive (moto has no StartMessageMoveTask): receive → send → delete, batch by batch."""
    moved = 0
    while True:
        batch = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=SQS_MAX_BATCH,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            request: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                request["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**request)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return RedriveResult(
        "receive-send-delete",
        moved,
        note="moto does not implement StartMessageMoveTask; messages were moved by receive, send and delete",
    )
