"""Helpers that drive the real handlers the way AWS would: API Gateway v2 events and SQS batches."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from imagegen_local import queues
from imagegen_service.handlers import api, worker


@dataclass
class LambdaContext:
    """The attributes Powertools reads from the real Lambda context."""

    function_name: str = "imagegen-test-worker"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = "arn:aws:lambda:us-west-2:123456789012:function:imagegen-test-worker"
    aws_request_id: str = ""
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or uuid.uuid4().hex
        self._started = time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self.timeout_s - (time.monotonic() - self._started)) * 1000)


def api_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    if text is not None and base64_body:
        text = base64.b64encode(text.encode()).decode()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "test",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": text,
        "isBase64Encoded": base64_body,
    }


def call_api(method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    response = api.handler(
        api_event(method, path, body, **kwargs), LambdaContext(function_name="imagegen-test-api", timeout_s=30)
    )
    return response["statusCode"], json.loads(response["body"])


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping builds from received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-west-2",
            }
            for m in messages
        ]
    }


@dataclass
class DrainReport:
    invocations: int = 0
    records: int = 0
    reported_failures: int = 0


def drain(sqs: Any, queue_url: str, queue_arn: str, *, timeout_s: float = 60.0, batch_size: int = 10) -> DrainReport:
    """Poll like the event source mapping: receive, invoke the worker, delete what it did not report.

    Reported failures stay invisible until the queue's visibility timeout ends, then come back with a
    higher ApproximateReceiveCount; after maxReceiveCount SQS moves them to the DLQ.
    """
    report = DrainReport()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=batch_size, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not received:
            if queues.is_empty(sqs, queue_url):  # not one reading: see imagegen_local.queues
                return report
            time.sleep(0.1)
            continue
        response = worker.handler(sqs_event(received, queue_arn), LambdaContext())
        report.invocations += 1
        report.records += len(received)
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        report.reported_failures += len(failed)
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
    raise AssertionError(f"the queue did not drain within {timeout_s} s ({report})")
