"""The API handler's HTTP contract: routes, error bodies and status codes (CONTRACT.md §3)."""

from __future__ import annotations

import json

from imagegen_service.handlers import api

from tests.service.conftest import Stack
from tests.service.harness import LambdaContext, api_event, call_api

TITAN = {"model": "titan-image-v1", "prompt": "a ceramic mug on a table", "seed": 7, "width": 512, "height": 512}


def _invocations(stack: Stack) -> int:
    return sum(stack.stats().get("invocations", {}).values())


def test_invalid_json_is_a_400_naming_the_body(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/jobs", raw_body="{not json")
    assert status == 400
    assert body["error"]["code"] == "ValidationError"
    assert body["error"]["details"][0]["field"] == "body"


def test_wrong_content_type_is_a_415(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/images", TITAN, headers={"content-type": "text/plain"})
    assert status == 415
    assert body["error"]["code"] == "UnsupportedMediaType"


def test_base64_bodies_are_decoded_and_bad_base64_is_a_400(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/jobs", TITAN, base64_body=True)
    assert status == 202, body
    status, body = call_api("POST", "/v1/jobs", raw_body="%%%not-base64", base64_body=False, headers={})
    assert status == 400
    event = api_event("POST", "/v1/jobs", raw_body="@@@@")
    event["isBase64Encoded"] = True
    response = api.handler(event, LambdaContext())
    assert response["statusCode"] == 400


def test_unknown_route_is_404_and_wrong_method_is_405(stack: Stack) -> None:
    assert call_api("GET", "/v2/nothing")[0] == 404
    status, body = call_api("DELETE", "/v1/jobs")
    assert status == 405
    assert body["error"]["code"] == "MethodNotAllowed"
    response = api.handler(api_event("PUT", "/v1/models"), LambdaContext())
    assert response["statusCode"] == 405
    assert response["headers"]["allow"] == "GET"


def test_body_over_the_limit_is_a_413(stack: Stack, monkeypatch) -> None:
    monkeypatch.setenv("IMAGEGEN_MAX_BODY_BYTES", "2048")
    status, body = call_api("POST", "/v1/jobs", {**TITAN, "prompt": "x" * 4000})
    assert status == 413
    assert body["error"]["code"] == "PayloadTooLarge"


def test_unknown_field_and_limits_name_each_field(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/images", {**TITAN, "colour": "red", "seed": -1})
    assert status == 400
    fields = {d["field"] for d in body["error"]["details"]}
    assert {"colour", "seed"} <= fields
    assert _invocations(stack) == 0


def test_batch_problems_name_the_request_index(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/jobs", {"requests": [TITAN, {**TITAN, "count": 9}]})
    assert status == 400
    assert [d["field"] for d in body["error"]["details"]] == ["requests[1].count"]
    status, body = call_api("POST", "/v1/jobs", {"requests": []})
    assert status == 400


def test_end_of_life_and_disabled_models_are_503_before_any_model_call(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/images", {**TITAN, "model": "titan-image-v2"})
    assert status == 503
    assert body["error"]["code"] == "ModelUnavailable"
    assert "end of life" in body["error"]["message"]
    status, body = call_api("POST", "/v1/jobs", {"model": "stable-image-ultra", "prompt": "a fox"})
    assert status == 503
    assert "not enabled" in body["error"]["message"]
    assert _invocations(stack) == 0


def test_guardrail_blocked_prompt_is_a_422_and_no_model_call(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/images", {**TITAN, "prompt": "a street scene EMULATOR_VIOLENCE"})
    assert status == 422
    assert body["error"]["code"] == "PromptBlocked"
    assert body["error"]["details"][0]["field"] == "prompt"
    status, body = call_api("POST", "/v1/jobs", {"requests": [TITAN, {**TITAN, "prompt": "EMULATOR_VIOLENCE"}]})
    assert status == 422
    assert body["error"]["details"][0]["field"] == "requests[1].prompt"
    stats = stack.stats()
    assert sum(stats.get("invocations", {}).values()) == 0
    assert stats["guardrail_interventions"] >= 2


def test_model_input_filter_is_a_422_too(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/images", {**TITAN, "prompt": "a mug EMULATOR_BLOCK_INPUT"})
    assert status == 422
    assert body["error"]["code"] == "PromptBlocked"


def test_get_unknown_job_and_batch_are_404(stack: Stack) -> None:
    assert call_api("GET", "/v1/jobs/doesnotexist")[0] == 404
    assert call_api("GET", "/v1/batches/doesnotexist")[0] == 404


def test_models_lists_the_catalogue_with_lifecycle_and_limits(stack: Stack) -> None:
    status, body = call_api("GET", "/v1/models")
    assert status == 200
    models = {m["key"]: m for m in body["models"]}
    assert models["titan-image-v2"]["lifecycle"]["status"] == "end-of-life"
    assert models["titan-image-v1"]["enabled"] is True
    assert models["stable-image-ultra"]["enabled"] is False
    assert models["titan-image-v1"]["limits"]["count"] == "1–5"
    assert json.dumps(body)  # serialisable end to end


def test_enqueue_failures_are_reported_per_job_never_dropped(stack: Stack, monkeypatch) -> None:
    # GIVEN a queue URL that does not exist (every SendMessageBatch entry fails, the retry too)
    monkeypatch.setenv("IMAGEGEN_QUEUE_URL", stack.plane.queue_url + "-missing")
    # WHEN a batch is submitted
    status, body = call_api("POST", "/v1/jobs", {"requests": [TITAN, {**TITAN, "seed": 8}]})
    # THEN every job is reported failed with the reason, and its record says so
    assert status == 202
    assert [job["status"] for job in body["jobs"]] == ["failed", "failed"]
    for job in body["jobs"]:
        assert job["error"]["code"] == "EnqueueFailed"
        status, record = call_api("GET", f"/v1/jobs/{job['job_id']}")
        assert record["job"]["status"] == "failed"
        assert record["job"]["error"]["code"] == "EnqueueFailed"


def test_a_retried_post_with_the_same_idempotency_key_returns_the_original_jobs(stack: Stack) -> None:
    request = {**TITAN, "idempotency_key": "order-1234-hero"}
    status, first = call_api("POST", "/v1/jobs", request)
    status, again = call_api("POST", "/v1/jobs", request)
    assert status == 202
    assert [j["job_id"] for j in again["jobs"]] == [j["job_id"] for j in first["jobs"]]
    status, mixed = call_api("POST", "/v1/jobs", {"requests": [request, {**TITAN, "seed": 99}]})
    assert mixed["jobs"][0]["job_id"] == first["jobs"][0]["job_id"]
    assert mixed["jobs"][1]["job_id"] != first["jobs"][0]["job_id"]
    queue = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.plane.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert queue["Attributes"]["ApproximateNumberOfMessages"] == "2"  # the retries enqueued nothing new
    status, sync_first = call_api("POST", "/v1/images", {**TITAN, "seed": 5, "idempotency_key": "k-sync"})
    status, sync_again = call_api("POST", "/v1/images", {**TITAN, "seed": 5, "idempotency_key": "k-sync"})
    assert status == 200 and sync_again["job"]["job_id"] == sync_first["job"]["job_id"]


def test_a_negative_prompt_naming_what_to_avoid_is_not_blocked(stack: Stack) -> None:
    # Issue 11, finding 7: the guardrail screens what is asked for, not what is asked to be left out.
    before = stack.stats()["guardrail_interventions"]
    status, body = call_api("POST", "/v1/jobs", {**TITAN, "negative_prompt": "EMULATOR_VIOLENCE, gore, blood"})
    assert status == 202, body
    assert stack.stats()["guardrail_interventions"] == before
    status, body = call_api("POST", "/v1/jobs", {**TITAN, "prompt": "a street scene EMULATOR_VIOLENCE"})
    assert status == 422 and body["error"]["code"] == "PromptBlocked"
