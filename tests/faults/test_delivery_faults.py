"""Duplicate deliveries and poison messages: no job runs twice, nothing vanishes."""

from __future__ import annotations

import json
import uuid

import pytest
from imagegen_local.serve import LocalPlatform

from tests.faults.accounting import dlq_messages, drain, ledger, queue_empty, submit
from tests.faults.local import emulator_reset, emulator_stats

pytestmark = pytest.mark.faults


def test_a_message_delivered_twice_runs_the_model_once(platform: LocalPlatform) -> None:
    # GIVEN a queued job whose SQS message is delivered a second time (SQS is at-least-once)
    assert platform.aws is not None and platform.aws.data_plane is not None
    emulator_reset(platform)
    sqs, queue = platform.aws.client("sqs"), platform.aws.data_plane.queue_url
    [job_id] = submit(platform, [f"duplicate delivery {uuid.uuid4().hex}: a red kite"])
    original = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0, WaitTimeSeconds=1)["Messages"][0]
    assert json.loads(original["Body"])["job_id"] == job_id
    sqs.send_message(QueueUrl=queue, MessageBody=original["Body"])
    # WHEN the worker drains both deliveries
    assert drain(platform, lambda: queue_empty(platform))
    # THEN the job succeeded once, with one image, from one model call
    book = ledger(platform, {job_id})
    assert book.status(job_id) == "succeeded"
    assert len(book.records[job_id]["images"]) == 1
    stats = emulator_stats(platform)
    assert stats["invocations_total"] == 1
    assert stats["duplicate_invocations"] == 0


def test_poison_messages_reach_the_dlq_and_say_why(platform: LocalPlatform, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN messages no worker can process: not JSON, the wrong schema, a job that does not exist
    assert platform.aws is not None and platform.aws.data_plane is not None
    sqs, queue = platform.aws.client("sqs"), platform.aws.data_plane.queue_url
    marker = uuid.uuid4().hex
    bodies = [f"not json {marker}", json.dumps({"jobid": marker}), json.dumps({"job_id": f"missing-{marker}"})]
    sent = {sqs.send_message(QueueUrl=queue, MessageBody=body)["MessageId"] for body in bodies}
    # WHEN the worker polls until the queue is empty (maxReceiveCount receives each)
    assert drain(platform, lambda: queue_empty(platform), timeout=60)
    # THEN all three are in the DLQ, and the worker logged each one's reason
    in_dlq = {json.dumps(m["body"]) if isinstance(m["body"], dict) else m["body"] for m in dlq_messages(platform)}
    assert set(bodies) <= in_dlq
    reasons = {
        (getattr(r, "message_id", None), getattr(r, "reason", None) or r.getMessage())
        for r in caplog.records
        if getattr(r, "message_id", None) in sent
    }
    assert {reason for _, reason in reasons} >= {
        "message body is not JSON",
        "message body has no job_id",
        "message for an unknown job",
    }
    assert {message_id for message_id, _ in reasons} == sent
