"""The fingerprint ledger and what the worker does with a concurrent duplicate."""

from __future__ import annotations

import json

import pytest
from imagegen_service.ledger import FingerprintLedger, GenerationInProgress

from tests.service.conftest import Stack
from tests.service.harness import call_api, drain


def _ledger(stack: Stack) -> FingerprintLedger:
    return FingerprintLedger(stack.client("dynamodb"), stack.plane.names.idempotency_table)


def test_a_fingerprint_is_leased_once_then_replayed(stack: Stack) -> None:
    ledger = _ledger(stack)
    assert ledger.begin("f1", "job-a", lease_s=60) is None  # job-a must generate
    with pytest.raises(GenerationInProgress):
        ledger.begin("f1", "job-b", lease_s=60)  # a concurrent duplicate waits
    assert ledger.begin("f1", "job-a", lease_s=60) is None  # the same job may retake its lease
    ledger.abandon("f1", "job-b")  # not the owner: no effect
    with pytest.raises(GenerationInProgress):
        ledger.begin("f1", "job-b", lease_s=60)
    stack.client("dynamodb").batch_write_item(
        RequestItems={stack.plane.names.idempotency_table: [ledger.completed_request("f1", {"images": [1]})]}
    )
    assert ledger.begin("f1", "job-b", lease_s=60) == {"images": [1]}  # replay, no generation


def test_an_abandoned_or_expired_lease_lets_the_next_attempt_generate(stack: Stack) -> None:
    ledger = _ledger(stack)
    assert ledger.begin("f2", "job-a", lease_s=60) is None
    ledger.abandon("f2", "job-a")
    assert ledger.begin("f2", "job-b", lease_s=0.001) is None
    import time

    time.sleep(0.01)
    assert ledger.begin("f2", "job-c", lease_s=60) is None  # job-b's lease ran out (it crashed)


def test_the_worker_gives_a_concurrent_duplicate_back_to_sqs(stack: Stack) -> None:
    # GIVEN a queued job whose exact request another attempt is generating right now
    request = {"model": "stable-image-core", "prompt": "a copper kettle", "seed": 31}
    status, first = call_api("POST", "/v1/images", request)
    assert status == 200
    fingerprint = first["job"]["fingerprint"]
    stack.client("dynamodb").delete_item(
        TableName=stack.plane.names.idempotency_table, Key={"id": {"S": f"imagegen.generate#{fingerprint}"}}
    )
    _ledger(stack).begin(fingerprint, "someone-else", lease_s=60)
    status, queued = call_api("POST", "/v1/jobs", request)
    job_id = queued["jobs"][0]["job_id"]
    sqs = stack.client("sqs")
    # WHEN the worker receives it
    from imagegen_service.handlers import worker

    from tests.service.harness import LambdaContext, sqs_event

    messages = sqs.receive_message(QueueUrl=stack.plane.queue_url, AttributeNames=["All"])["Messages"]
    response = worker.handler(sqs_event(messages, stack.plane.queue_arn), LambdaContext())
    # THEN it is reported for redelivery, the job says why, and nothing was generated
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [messages[0]["MessageId"]]
    job = call_api("GET", f"/v1/jobs/{job_id}")[1]["job"]
    assert job["status"] == "queued" and job["last_error"]["code"] == "GenerationInProgress"
    assert stack.stats()["invocations_total"] == 1
    # AND once the other attempt is gone, the redelivery generates it
    _ledger(stack).abandon(fingerprint, "someone-else")
    drain(sqs, stack.plane.queue_url, stack.plane.queue_arn)
    job = call_api("GET", f"/v1/jobs/{job_id}")[1]["job"]
    assert job["status"] == "succeeded" and "last_error" not in job
    assert json.dumps(job)


def test_a_failed_completion_keeps_the_paid_result_so_the_retry_replays_it(stack: Stack) -> None:
    # GIVEN a job whose final BatchWriteItem fails once, after the model was called
    from imagegen_service.config import RuntimeConfig
    from imagegen_service.handlers import worker
    from imagegen_service.pipeline import services_for

    from tests.service.harness import LambdaContext, sqs_event

    status, queued = call_api("POST", "/v1/jobs", {"model": "sd3-5-large", "prompt": "a glass swan", "seed": 12})
    assert status == 202
    job_id = queued["jobs"][0]["job_id"]
    services = services_for(RuntimeConfig.from_env())
    events = services.client("dynamodb").meta.events
    failures = iter([True])

    def fail_once(**_: object) -> object:
        if next(failures, False):
            from botocore.awsrequest import AWSResponse

            body = {
                "Error": {"Code": "InternalServerError", "Message": "injected"},
                "ResponseMetadata": {"HTTPStatusCode": 500},
            }
            return AWSResponse("https://injected.invalid", 500, {}, None), body
        return None

    events.register("before-call.dynamodb.BatchWriteItem", fail_once)
    try:
        sqs = stack.client("sqs")
        messages = sqs.receive_message(QueueUrl=stack.plane.queue_url, AttributeNames=["All"])["Messages"]
        response = worker.handler(sqs_event(messages, stack.plane.queue_arn), LambdaContext())
        assert len(response["batchItemFailures"]) == 1  # WHEN the attempt fails at the very end
        drain(sqs, stack.plane.queue_url, stack.plane.queue_arn)  # AND SQS redelivers it
    finally:
        events.unregister("before-call.dynamodb.BatchWriteItem", fail_once)
    # THEN the job succeeded from the first attempt's images: one model call in total
    job = call_api("GET", f"/v1/jobs/{job_id}")[1]["job"]
    assert job["status"] == "succeeded" and job["cost_usd"] == 0.08
    assert stack.stats()["invocations_total"] == 1
