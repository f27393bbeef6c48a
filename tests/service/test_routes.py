"""Jobs, not model keys: ``"job": "hero"`` through the real API picks the stack's route."""

from __future__ import annotations

from tests.service.conftest import PRESETS, ROUTES, Stack
from tests.service.harness import call_api, drain


def test_a_job_picks_its_routes_model_task_and_preset(stack: Stack) -> None:
    # GIVEN routes thumbnail → stable-image-core and hero → sd3-5-large with the product-shot preset
    # WHEN a caller names the job instead of a model
    status, body = call_api("POST", "/v1/images", {"job": "hero", "prompt": "a matte-white mug", "seed": 7})
    # THEN the route's model ran, its preset shaped the prompt, and the job record says which route
    assert status == 200, body
    job = body["job"]
    assert job["model_id"] == "stability.sd3-5-large-v1:0"
    template = str(PRESETS["product-shot"]["template"])
    assert job["request"]["prompt"] == template.replace("{subject}", "a matte-white mug")
    assert job["workflow"]["job"] == "hero" and job["workflow"]["route"] == ROUTES["hero"]
    assert job["status"] == "succeeded" and len(job["images"]) == 1


def test_a_routes_tier_fills_quality_only_when_the_caller_left_it_out(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/images", {"job": "draft", "prompt": "a lamp", "width": 512, "height": 512})
    assert status == 200, body
    assert body["job"]["request"]["quality"] == "standard"
    status, body = call_api(
        "POST", "/v1/images", {"job": "draft", "prompt": "a lamp", "width": 512, "height": 512, "quality": "premium"}
    )
    assert status == 200, body
    assert body["job"]["request"]["quality"] == "premium"


def test_jobs_in_a_batch_each_resolve(stack: Stack) -> None:
    status, queued = call_api(
        "POST", "/v1/jobs", {"requests": [{"job": "thumbnail", "prompt": "a kite"}, {"job": "hero", "prompt": "a cup"}]}
    )
    assert status == 202, queued
    drain(stack.client("sqs"), stack.plane.queue_url, stack.plane.queue_arn)
    status, batch = call_api("GET", f"/v1/batches/{queued['batch_id']}")
    assert status == 200
    assert [job["model_id"] for job in batch["jobs"]] == [
        "stability.stable-image-core-v1:1",
        "stability.sd3-5-large-v1:0",
    ]


def test_unknown_job_or_job_with_model_is_a_400_naming_the_field(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/images", {"job": "banner", "prompt": "x"})
    assert status == 400
    (detail,) = body["error"]["details"]
    assert detail["field"] == "job" and "this stack routes: draft, hero, thumbnail" in detail["message"]
    status, body = call_api("POST", "/v1/images", {"job": "hero", "model": "stable-image-core", "prompt": "x"})
    assert status == 400 and body["error"]["details"][0]["field"] == "model"
    status, body = call_api(
        "POST", "/v1/jobs", {"requests": [{"job": "hero", "prompt": "x"}, {"job": 3, "prompt": "x"}]}
    )
    assert status == 400 and [d["field"] for d in body["error"]["details"]] == ["requests[1].job"]
