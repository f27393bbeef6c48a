"""End to end: API → SQS → worker → emulator → S3 + DynamoDB → signed URL, through the real handlers."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from imagegen_service.delivery import verify_signed_url
from imagegen_service.dynamo import from_item
from imagegen_service.provenance import TRAINED_ALGORITHMIC_MEDIA, read_manifest

from tests.service.conftest import SIGNING_KEY_ID, Stack
from tests.service.harness import call_api, drain

KEY = re.compile(r"^images/([0-9a-f]{2})/([0-9a-f]{64})\.(png|jpg)$")


def _object(stack: Stack, key: str) -> tuple[bytes, dict[str, Any]]:
    response = stack.client("s3").get_object(Bucket=stack.bucket, Key=key)
    return response["Body"].read(), response


def _image_record(stack: Stack, image_id: str) -> dict[str, Any]:
    item = stack.client("dynamodb").get_item(
        TableName=stack.jobs_table, Key={"pk": {"S": f"IMAGE#{image_id}"}, "sk": {"S": "META"}}
    )["Item"]
    return from_item(item)


def _batch_of_20() -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = []
    for i in range(6):
        requests.append(
            {
                "model": "titan-image-v1",
                "prompt": f"a ceramic mug, colourway {i}",
                "seed": i,
                "width": 512,
                "height": 512,
            }
        )
    for i in range(5):
        requests.append(
            {
                "model": "sd3-5-large",
                "prompt": f"a lighthouse at dusk, variant {i}",
                "seed": 100 + i,
                "aspect_ratio": "16:9",
            }
        )
    for i in range(5):
        requests.append({"model": "stable-image-core", "prompt": f"a fox in snow, take {i}", "seed": 200 + i})
    requests.append(
        {"model": "titan-image-v1", "prompt": "a ceramic mug, colourway 0", "seed": 0, "width": 512, "height": 512}
    )  # duplicate of #0
    requests.append({"model": "sd3-5-large", "prompt": "a battle scene EMULATOR_UNSAFE", "seed": 5})
    requests.append({"model": "stable-image-core", "prompt": "a portrait EMULATOR_BLOCK_OUTPUT", "seed": 6})
    requests.append(
        {"model": "titan-image-v1", "prompt": "three mugs", "seed": 9, "count": 3, "width": 512, "height": 512}
    )
    assert len(requests) == 20
    return requests


def test_a_batch_of_20_across_models_ends_with_every_job_accounted_for(stack: Stack) -> None:
    # GIVEN a batch of 20 requests across three models, one duplicate, one unsafe and one filtered output
    status, body = call_api("POST", "/v1/jobs", {"requests": _batch_of_20()})
    assert status == 202, body
    assert [job["status"] for job in body["jobs"]] == ["queued"] * 20

    # WHEN the worker drains the queue
    drain(stack.client("sqs"), stack.plane.queue_url, stack.plane.queue_arn)

    # THEN every job ended succeeded, blocked or failed with a reason — none lost
    status, batch = call_api("GET", f"/v1/batches/{body['batch_id']}")
    assert status == 200
    jobs = batch["jobs"]
    assert [job["job_id"] for job in jobs] == [job["job_id"] for job in body["jobs"]]
    assert {job["status"] for job in jobs} <= {"succeeded", "blocked", "failed"}
    for job in jobs:
        assert job["status"] == "succeeded" or job["error"]["code"], job
    by_prompt = {job["request"]["prompt"]: job for job in jobs}
    assert sum(job["status"] == "succeeded" for job in jobs) == 18, [
        (j["status"], j["request"]["prompt"]) for j in jobs
    ]
    unsafe = by_prompt["a battle scene EMULATOR_UNSAFE"]
    assert unsafe["status"] == "blocked" and unsafe["images"] == []
    assert unsafe["moderation"]["labels"][0]["name"] == "Violence"
    assert by_prompt["a portrait EMULATOR_BLOCK_OUTPUT"]["status"] == "blocked"
    assert by_prompt["a portrait EMULATOR_BLOCK_OUTPUT"]["error"]["code"] == "OutputBlocked"

    # AND the images are in S3 under content-addressed keys, immutable, with their metadata in DynamoDB
    stored = 0
    for job in jobs:
        for image in job["images"]:
            match = KEY.match(image["key"])
            assert match, image["key"]
            data, response = _object(stack, image["key"])
            digest = hashlib.sha256(data).hexdigest()
            assert digest == match[2] == image["sha256"] == image["image_id"]
            assert match[1] == digest[:2]
            assert response["CacheControl"] == "public, max-age=31536000, immutable"
            assert response["ContentType"] == f"image/{image['format']}"
            assert image["bytes"] == len(data)
            record = _image_record(stack, image["image_id"])
            assert record["model_id"] == job["model_id"]
            assert record["prompt"] == job["request"]["prompt"]
            # a multi-image Amazon call's images have no known seed (stored as absent, shown as null)
            assert (int(record["seed"]) if "seed" in record else None) == image["seed"]
            assert record["license_record_id"] == job["license_record_id"]
            assert record["sha256"] == digest
            assert record["moderation"]["checked"] is True
            stored += 1
    assert stored == 17 + 3  # 16 single images + the duplicate's (same object) + 3 from count=3
    assert by_prompt["three mugs"]["cost_usd"] == 3 * 0.008

    # AND the duplicate cost one model call, not two
    stats = stack.stats()
    assert stats["duplicate_invocations"] == 0
    assert stats["invocations_total"] == 19  # 20 requests − 1 duplicate (the filtered output was answered)
    first, second = (
        job for job in jobs if job["request"]["prompt"] == "a ceramic mug, colourway 0" and job["request"]["seed"] == 0
    )
    assert first["images"][0]["key"] == second["images"][0]["key"]
    assert sorted([first["cost_usd"], second["cost_usd"]]) == [0.0, 0.008]


def test_the_same_request_twice_costs_one_model_call(stack: Stack) -> None:
    request = {"model": "sd3-5-large", "prompt": "an origami crane", "seed": 77}
    status, first = call_api("POST", "/v1/images", request)
    assert status == 200, first
    status, second = call_api("POST", "/v1/images", request)
    assert status == 200, second
    status, queued = call_api("POST", "/v1/jobs", request)
    drain(stack.client("sqs"), stack.plane.queue_url, stack.plane.queue_arn)
    status, third = call_api("GET", f"/v1/jobs/{queued['jobs'][0]['job_id']}")
    keys = {job["images"][0]["key"] for job in (first["job"], second["job"], third["job"])}
    assert len(keys) == 1
    stats = stack.stats()
    assert stats["invocations_total"] == 1
    assert list(stats["fingerprints"].values()) == [1]
    assert first["job"]["cost_usd"] == 0.08 and second["job"]["cost_usd"] == 0.0
    assert second["job"]["reused_from_job"] == first["job"]["job_id"]


def test_a_flagged_image_is_quarantined_and_never_gets_a_url(stack: Stack) -> None:
    status, body = call_api(
        "POST", "/v1/images", {"model": "stable-image-core", "prompt": "EMULATOR_UNSAFE crowd", "seed": 3}
    )
    assert status == 200, body
    job = body["job"]
    assert job["status"] == "blocked"
    assert job["images"] == []
    assert "url" not in str(job)
    labels = job["moderation"]["labels"]
    assert labels and labels[0]["name"] == "Violence" and labels[0]["confidence"] >= 80
    s3 = stack.client("s3")
    served = s3.list_objects_v2(Bucket=stack.bucket, Prefix="images/").get("KeyCount", 0)
    quarantined = s3.list_objects_v2(Bucket=stack.bucket, Prefix="quarantine/")["Contents"]
    assert served == 0
    assert len(quarantined) == 1
    image_id = quarantined[0]["Key"].removeprefix("quarantine/").split(".")[0]
    record = _image_record(stack, image_id)
    assert record["quarantined"] is True
    assert record["moderation"]["labels"][0]["name"] == "Violence"
    status, again = call_api("GET", f"/v1/jobs/{job['job_id']}")
    assert again["job"]["images"] == []
    # a quarantined image cannot be used as a source either
    status, _ = call_api(
        "POST",
        "/v1/jobs",
        {"model": "stability-outpaint", "source_image": {"image_id": image_id}, "channels": ["wide"]},
    )
    assert status == 404


def test_c2pa_manifests_read_back_with_model_and_seed_only_where_no_watermark(stack: Stack) -> None:
    status, stability = call_api("POST", "/v1/images", {"model": "sd3-5-large", "prompt": "a red kite", "seed": 4242})
    assert status == 200, stability
    status, titan = call_api(
        "POST",
        "/v1/images",
        {"model": "titan-image-v1", "prompt": "a red kite", "seed": 4242, "width": 512, "height": 512},
    )
    assert status == 200, titan

    image = stability["job"]["images"][0]
    data, _ = _object(stack, image["key"])
    manifest_store = read_manifest(data, "image/png")
    failures = [s for s in manifest_store.get("validation_status", []) if s["code"] != "signingCredential.untrusted"]
    assert failures == []  # valid; only the (test) chain is untrusted
    manifest = manifest_store["manifests"][manifest_store["active_manifest"]]
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
    assert actions[0]["action"] == "c2pa.created"
    assert actions[0]["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    generation = next(a for a in manifest["assertions"] if a["label"] == "com.imagegen.generation")["data"]
    assert generation["model_id"] == "stability.sd3-5-large-v1:0"
    assert generation["seed"] == 4242 == image["seed"]
    assert image["c2pa"] is True

    titan_image = titan["job"]["images"][0]
    assert titan_image["c2pa"] is False  # Titan carries its own invisible watermark
    data, _ = _object(stack, titan_image["key"])
    try:
        read_manifest(data, "image/png")
    except Exception as error:  # c2pa raises when there is no manifest store
        assert (
            "ManifestNotFound" in type(error).__name__ or "not found" in str(error).lower() or "NotFound" in str(error)
        )
    else:
        raise AssertionError("a Titan image got a C2PA manifest")


def test_signed_urls_verify_against_the_public_key_and_expire(stack: Stack) -> None:
    status, body = call_api("POST", "/v1/images", {"model": "stable-image-core", "prompt": "a teapot", "seed": 11})
    assert status == 200, body
    url = body["job"]["images"][0]["url"]
    assert url.startswith("https://cdn.imagegen.test/images/")
    now = datetime.now(UTC)
    public = stack.keys.public_key_pem
    assert verify_signed_url(url, public, now, key_id=SIGNING_KEY_ID)
    assert not verify_signed_url(url, public, now + timedelta(seconds=301))  # TTL 300 s
    assert not verify_signed_url(url.replace("/images/", "/quarantine/"), public, now)
    assert not verify_signed_url(url, public, now, key_id="SOMEOTHERKEY")
    assert not verify_signed_url(url.split("?")[0], public, now)
    # GET returns a fresh URL each time, still for the same object
    status, again = call_api("GET", f"/v1/jobs/{body['job']['job_id']}")
    assert again["job"]["images"][0]["url"].split("?")[0] == url.split("?")[0]
    assert verify_signed_url(again["job"]["images"][0]["url"], public, now)


def test_unsigned_mode_gives_plain_urls(stack: Stack, monkeypatch) -> None:
    monkeypatch.setenv("IMAGEGEN_SIGNED_URLS", "false")
    status, body = call_api("POST", "/v1/images", {"model": "stable-image-core", "prompt": "a teapot", "seed": 12})
    assert status == 200, body
    url = body["job"]["images"][0]["url"]
    assert "Signature=" not in url and url.startswith("https://cdn.imagegen.test/images/")
