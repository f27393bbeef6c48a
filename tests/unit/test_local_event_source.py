"""The local SQS event source: Lambda's batch semantics against moto server's SQS."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from imagegen_local.event_source import QueueEventSource, failed_ids, to_sqs_event
from imagegen_local.queues import depth

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def sqs(moto_url: str) -> Any:
    return boto3.client(
        "sqs", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def queue(sqs: Any, request: pytest.FixtureRequest) -> tuple[str, str, str]:
    name = f"es-{request.node.name[:40].replace('_', '-')}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq_url


def source(sqs: Any, queue: tuple[str, str, str], handler: Any, **kw: Any) -> QueueEventSource:
    url, arn, _ = queue
    return QueueEventSource(
        sqs=sqs,
        queue_url=url,
        queue_arn=arn,
        region=REGION,
        handler=handler,
        function_name="worker",
        wait_seconds=0,
        **kw,
    )


def test_partial_batch_response_deletes_only_successes(sqs: Any, queue: tuple[str, str, str]) -> None:
    # GIVEN four jobs on the queue and a handler that fails the one with n == 2
    for n in range(4):
        sqs.send_message(QueueUrl=queue[0], MessageBody=json.dumps({"n": n}))
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.extend(event["Records"])
        assert context.get_remaining_time_in_millis() > 0
        failures = [r["messageId"] for r in event["Records"] if json.loads(r["body"])["n"] == 2]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}

    # WHEN one poll runs with batch size 10 and a 1-second visibility timeout
    es = source(sqs, queue, handler, batch_size=10, visibility_timeout=1)
    assert es.poll_once() == 4
    # THEN the event is Lambda's SQS event and only the failed message is left
    record = seen[0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == queue[1] and record["awsRegion"] == REGION
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert depth(sqs, queue[0]) == 1
    assert (es.stats.deleted, es.stats.failed) == (3, 1)
    # AND it is redelivered after the visibility timeout, then dead-lettered after maxReceiveCount (2)
    time.sleep(1.1)
    assert es.poll_once() == 1
    time.sleep(1.1)
    assert es.poll_once() == 0
    assert depth(sqs, queue[2]) == 1 and depth(sqs, queue[0]) == 0


def test_an_exception_fails_the_whole_batch(sqs: Any, queue: tuple[str, str, str]) -> None:
    for n in range(3):
        sqs.send_message(QueueUrl=queue[0], MessageBody=str(n))

    def handler(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("model down")

    es = source(sqs, queue, handler, batch_size=10)
    assert es.poll_once() == 3
    assert es.stats.handler_errors == 1 and es.stats.deleted == 0
    assert depth(sqs, queue[0]) == 3


def test_batch_size_comes_from_the_mapping(sqs: Any, queue: tuple[str, str, str]) -> None:
    for n in range(5):
        sqs.send_message(QueueUrl=queue[0], MessageBody=str(n))
    sizes: list[int] = []
    es = source(sqs, queue, lambda e, c: sizes.append(len(e["Records"])), batch_size=2)
    while es.poll_once():
        pass
    assert max(sizes) <= 2 and sum(sizes) == 5
    assert depth(sqs, queue[0]) == 0


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_worker_killed_mid_batch_loses_nothing(sqs: Any, queue: tuple[str, str, str]) -> None:
    # GIVEN a worker thread that dies (SystemExit) after receiving, before deleting
    for n in range(3):
        sqs.send_message(QueueUrl=queue[0], MessageBody=str(n))

    def dies(event: dict[str, Any], context: Any) -> None:
        raise SystemExit("killed")

    first = source(sqs, queue, dies, batch_size=10, visibility_timeout=1)
    first.start()
    deadline = time.monotonic() + 10
    while first.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not first.running and first.stats.received == 3 and first.stats.deleted == 0
    # WHEN a new worker starts
    done: list[str] = []
    second = source(sqs, queue, lambda e, c: done.extend(r["body"] for r in e["Records"]), batch_size=10)
    second.start()
    deadline = time.monotonic() + 10
    while len(done) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    second.stop()
    # THEN every message came back after the visibility timeout and was processed once
    assert sorted(done) == ["0", "1", "2"]
    assert depth(sqs, queue[0]) == 0


def test_malformed_partial_responses_fail_the_whole_batch() -> None:
    ids = ["a", "b"]
    assert failed_ids(None, ids) == set()
    assert failed_ids({"batchItemFailures": []}, ids) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "a"}]}, ids) == {"a"}
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == {"a", "b"}
    assert failed_ids({"batchItemFailures": [{"id": "a"}]}, ids) == {"a", "b"}
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, ids) == {"a", "b"}
    assert failed_ids("ok", ids) == {"a", "b"}


def test_message_attributes_take_lambdas_shape() -> None:
    event = to_sqs_event(
        [
            {
                "MessageId": "m",
                "ReceiptHandle": "r",
                "Body": "{}",
                "MessageAttributes": {"kind": {"StringValue": "job", "DataType": "String"}},
            }
        ],
        queue_arn="arn:aws:sqs:eu-west-1:123456789012:q",
        region=REGION,
    )
    assert event["Records"][0]["messageAttributes"]["kind"]["stringValue"] == "job"
    assert event["Records"][0]["messageAttributes"]["kind"]["dataType"] == "String"
