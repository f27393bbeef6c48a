"""Idempotency keys as the IETF httpapi draft describes them (issue 11, finding 2).

draft-ietf-httpapi-idempotency-key-header, section 2.7 "Error Scenarios": a request whose key was
already used with a different payload is answered 422 (Unprocessable Content); a request whose first
attempt with the key is still being processed is answered 409 (Conflict). The header's value is an
RFC 8941 sf-string (``Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"``, the draft's example).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from imagegen_emulator import server
from imagegen_service import config as cfg
from imagegen_service.handlers import api

from tests.service.conftest import Keys, Stack, make_stack
from tests.service.harness import LambdaContext, api_event

TITAN = {"model": "titan-image-v1", "prompt": "a ceramic mug on a table", "seed": 7, "width": 512, "height": 512}


def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:  # fmt: skip
    response = api.handler(
        api_event(method, path, body, headers=headers), LambdaContext(function_name="t", timeout_s=30)
    )
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def queued_messages(stack: Stack) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.plane.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_the_header_replays_the_original_batch_and_queues_nothing_new(stack: Stack) -> None:
    key = {"idempotency-key": f'"{uuid.uuid4()}"'}  # the draft's sf-string form
    batch = {"requests": [TITAN, {**TITAN, "seed": 8}]}
    status, first, _ = call("POST", "/v1/jobs", batch, key)
    assert status == 202
    status, again, headers = call("POST", "/v1/jobs", batch, key)
    assert status == 202 and headers.get("idempotent-replayed") == "true"
    assert again["batch_id"] == first["batch_id"]
    assert [j["job_id"] for j in again["jobs"]] == [j["job_id"] for j in first["jobs"]]
    assert queued_messages(stack) == 2
    status, listed, _ = call("GET", f"/v1/batches/{again['batch_id']}")
    assert status == 200 and len(listed["jobs"]) == 2


def test_a_bare_header_value_is_taken_as_stripe_takes_it(stack: Stack) -> None:
    key = {"idempotency-key": "order-77"}
    first = call("POST", "/v1/jobs", TITAN, key)[1]
    again = call("POST", "/v1/jobs", TITAN, key)[1]
    assert again["batch_id"] == first["batch_id"]


def test_a_retried_single_request_with_the_body_key_gets_a_batch_that_exists(stack: Stack) -> None:
    request = {**TITAN, "idempotency_key": "body-key-1"}
    first = call("POST", "/v1/jobs", request)[1]
    status, again, _ = call("POST", "/v1/jobs", request)
    assert status == 202 and again["batch_id"] == first["batch_id"]
    assert call("GET", f"/v1/batches/{again['batch_id']}")[0] == 200


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/images"])
def test_the_same_key_with_a_different_payload_is_a_422(stack: Stack, path: str) -> None:
    key = {"idempotency-key": f"k-{path}"}
    assert call("POST", path, TITAN, key)[0] in (200, 202)
    before = queued_messages(stack)
    status, body, _ = call("POST", path, {**TITAN, "prompt": "a different mug"}, key)
    assert status == 422 and body["error"]["code"] == "IdempotencyKeyReused", body
    assert queued_messages(stack) == before


def test_a_key_reused_on_another_route_is_a_422(stack: Stack) -> None:
    key = {"idempotency-key": "cross-route"}
    assert call("POST", "/v1/jobs", TITAN, key)[0] == 202
    status, body, _ = call("POST", "/v1/images", TITAN, key)
    assert status == 422 and body["error"]["code"] == "IdempotencyKeyReused"


def test_header_and_body_keys_must_agree(stack: Stack) -> None:
    status, body, _ = call("POST", "/v1/jobs", {**TITAN, "idempotency_key": "a"}, {"idempotency-key": "b"})
    assert status == 400 and {d["field"] for d in body["error"]["details"]} == {"idempotency_key"}


@pytest.mark.parametrize("value", ['"unterminated', "", "x" * 129, '"tab\there"'])
def test_a_malformed_header_is_a_400_naming_it(stack: Stack, value: str) -> None:
    status, body, _ = call("POST", "/v1/jobs", TITAN, {"idempotency-key": value})
    assert status == 400 and {d["field"] for d in body["error"]["details"]} == {"Idempotency-Key"}, body


def test_a_refused_request_releases_its_key(stack: Stack) -> None:
    key = {"idempotency-key": "blocked-first"}
    status, body, _ = call("POST", "/v1/jobs", {**TITAN, "prompt": "a street scene EMULATOR_VIOLENCE"}, key)
    assert status == 422 and body["error"]["code"] == "PromptBlocked"
    # The first attempt created nothing: the same key may now carry a corrected request.
    assert call("POST", "/v1/jobs", TITAN, key)[0] == 202


@pytest.fixture
def slow_emulator() -> Iterator[Any]:
    running = server.start(port=0, latency_ms=3000, use_env=False)
    yield running
    running.stop()


def test_a_key_whose_first_request_is_still_running_is_a_409(
    monkeypatch: pytest.MonkeyPatch, moto_url: str, slow_emulator: Any, keys: Keys
) -> None:
    stack = make_stack(monkeypatch, moto_url, slow_emulator, keys)
    key = {"idempotency-key": "slow-one"}
    request = {"model": "stable-image-core", "prompt": "a slow snail", "seed": 1}
    first: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: first.update(answer=call("POST", "/v1/images", request, key)))
    runner.start()
    try:
        # Wait (bounded) until the first request holds the key, then retry while it generates.
        deadline = time.monotonic() + 10
        ddb = stack.client("dynamodb")
        while time.monotonic() < deadline:
            item = ddb.get_item(
                TableName=os.environ[cfg.ENV_JOBS_TABLE], Key={"pk": {"S": "IDEMKEY#slow-one"}, "sk": {"S": "KEY"}}
            ).get("Item")
            if item:
                break
            time.sleep(0.05)
        status, body, headers = call("POST", "/v1/images", request, key)
        assert status == 409 and body["error"]["code"] == "InProgress", body
        assert int(headers["retry-after"]) > 0
    finally:
        runner.join(30)
    status, done, _ = first["answer"]
    assert status == 200, done
    status, replay, headers = call("POST", "/v1/images", request, key)
    assert status == 200 and replay["job"]["job_id"] == done["job"]["job_id"]
    assert headers.get("idempotent-replayed") == "true"
