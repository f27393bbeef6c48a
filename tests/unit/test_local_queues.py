"""Queue depth and emptiness as SQS documents them, against moto server's SQS on a controlled clock.

The oracle is moto's own bookkeeping: each test reads the message's real ``visible_at`` /
``delayed_until`` from moto's backend and sets moto's clock around it. Nothing here is derived from
``imagegen_local.queues``.
"""

from __future__ import annotations

from typing import Any

import boto3
import moto.sqs.models as moto_sqs
import pytest
from imagegen_local import queues
from moto.core import DEFAULT_ACCOUNT_ID

REGION = "eu-west-2"


@pytest.fixture(scope="module")
def sqs(moto_url: str) -> Any:
    return boto3.client(
        "sqs", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


class SteppingClock:
    """moto's ``unix_time_millis``: ``now`` ms, one more on every look (moto reads it per message)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 1
        return self.now - 1


def _queue(sqs: Any, name: str) -> tuple[str, Any]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, moto_sqs.sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues[name]


def _raw_depth(sqs: Any, url: str) -> int:
    """The reading the harnesses used to take: available + in flight, once."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_delayed_message_is_in_the_queue(sqs: Any) -> None:
    # GIVEN a job message sent with a delay, as the worker defers a paced job (SendMessage DelaySeconds)
    url, _ = _queue(sqs, "depth-delayed")
    sqs.send_message(QueueUrl=url, MessageBody="deferred", DelaySeconds=60)
    # THEN SQS counts it as delayed, and the queue is not empty
    assert _raw_depth(sqs, url) == 0  # what the old reading said
    assert queues.depth(sqs, url) == 1
    assert not queues.is_empty(sqs, url, interval_s=0)


@pytest.mark.parametrize("boundary", ["visibility", "delay"])
def test_one_zero_reading_while_a_message_becomes_available_is_not_an_empty_queue(
    sqs: Any, monkeypatch: pytest.MonkeyPatch, boundary: str
) -> None:
    # GIVEN a queue holding one message whose visibility timeout (or delay) ends while the queue is read
    url, backend_queue = _queue(sqs, f"depth-crossing-{boundary}")
    if boundary == "visibility":
        sqs.send_message(QueueUrl=url, MessageBody="in flight")
        sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)
        ends_at = backend_queue._messages[0].visible_at
    else:
        sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=30)
        ends_at = backend_queue._messages[0].delayed_until
    clock = SteppingClock(ends_at)
    monkeypatch.setattr(moto_sqs, "unix_time_millis", clock)
    # readings starting up to 64 looks before the boundary (moto 5.2 looks at its clock ~23 times per read)
    starts = [ends_at - offset for offset in range(64)]

    def single(start: float) -> int:
        clock.now = start
        return _raw_depth(sqs, url) if boundary == "visibility" else queues.depth(sqs, url)

    def empty(start: float) -> bool:
        clock.now = start
        return queues.is_empty(sqs, url, interval_s=0)

    # THEN one reading of moto's counts can miss the message (the race the harness drains fell into) ...
    assert 0 in [single(start) for start in starts]
    # ... and is_empty never calls that queue empty, wherever the boundary falls
    assert not any(empty(start) for start in starts)
    # AND past the boundary the message is counted as available
    clock.now = ends_at + 1000
    assert queues.depth(sqs, url) == 1


def test_an_empty_queue_is_empty(sqs: Any) -> None:
    url, _ = _queue(sqs, "depth-empty")
    sqs.send_message(QueueUrl=url, MessageBody="done")
    received = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    assert queues.depth(sqs, url) == 0
    assert queues.is_empty(sqs, url, interval_s=0)
