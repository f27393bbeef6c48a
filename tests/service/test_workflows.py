"""The guide's workflows through the API: presets, seed sweeps, draft → final, channel formats."""

from __future__ import annotations

from tests.service.conftest import PRESETS, Stack
from tests.service.harness import call_api, drain


def _run(stack: Stack, body: dict) -> list[dict]:
    status, queued = call_api("POST", "/v1/jobs", body)
    assert status == 202, queued
    drain(stack.client("sqs"), stack.plane.queue_url, stack.plane.queue_arn)
    status, batch = call_api("GET", f"/v1/batches/{queued['batch_id']}")
    assert status == 200
    return batch["jobs"]


def test_a_preset_turns_the_prompt_into_the_subject_and_records_what_it_resolved(stack: Stack) -> None:
    status, body = call_api(
        "POST",
        "/v1/images",
        {
            "model": "titan-image-v1",
            "preset": "product-shot",
            "prompt": "a matte-white mug",
            "width": 512,
            "height": 512,
        },
    )
    assert status == 200, body
    job = body["job"]
    template = str(PRESETS["product-shot"]["template"])
    assert job["request"]["prompt"] == template.replace("{subject}", "a matte-white mug")
    assert job["request"]["negative_prompt"] == PRESETS["product-shot"]["negative_prompt"]
    assert job["request"]["cfg_scale"] == 7.5
    assert job["workflow"]["preset"] == "product-shot"
    assert job["workflow"]["subject"] == "a matte-white mug"
    # Stability takes no cfg_scale/quality: the preset fills only what the model takes
    status, body = call_api(
        "POST", "/v1/images", {"model": "stable-image-core", "preset": "product-shot", "prompt": "a mug", "seed": 1}
    )
    assert status == 200, body
    assert "cfg_scale" not in body["job"]["request"]
    status, body = call_api("POST", "/v1/images", {"model": "stable-image-core", "preset": "nope", "prompt": "a mug"})
    assert status == 400 and body["error"]["details"][0]["field"] == "preset"


def test_a_seed_sweep_fans_out_into_one_job_per_seed_in_one_batch(stack: Stack) -> None:
    jobs = _run(
        stack, {"model": "stable-image-core", "prompt": "a paper boat", "seed_sweep": {"start": 40, "count": 4}}
    )
    assert [job["request"]["seed"] for job in jobs] == [40, 41, 42, 43]
    assert {job["status"] for job in jobs} == {"succeeded"}
    assert len({job["images"][0]["sha256"] for job in jobs}) == 4  # distinct images, on brief
    assert [job["workflow"]["seed_sweep"]["index"] for job in jobs] == [0, 1, 2, 3]
    status, body = call_api(
        "POST", "/v1/images", {"model": "stable-image-core", "prompt": "x", "seed_sweep": {"start": 1, "count": 2}}
    )
    assert status == 400 and body["error"]["details"][0]["field"] == "seed_sweep"


def test_draft_to_final_reruns_prompt_seed_and_parameters_at_premium(stack: Stack) -> None:
    # GIVEN a cheap one-image draft (standard quality): its seed is the one sent
    status, draft = call_api(
        "POST", "/v1/images", {"model": "titan-image-v1", "prompt": "a brass lamp", "negative_prompt": "text", "seed": 21,
                               "quality": "standard", "width": 512, "height": 512, "cfg_scale": 6.0}
    )  # fmt: skip
    assert status == 200, draft
    chosen = draft["job"]["images"][0]
    assert chosen["seed"] == 21
    # WHEN the winner is re-run as a final at premium quality
    status, final = call_api(
        "POST",
        "/v1/images",
        {"model": "titan-image-v1", "source_image": {"image_id": chosen["image_id"]}, "quality": "premium"},
    )
    assert status == 200, final
    request = final["job"]["request"]
    # THEN prompt, negative prompt, cfg scale and the chosen image's seed carry over; quality is premium
    assert request["prompt"] == "a brass lamp" and request["negative_prompt"] == "text"
    assert request["seed"] == 21 and request["count"] == 1
    assert request["cfg_scale"] == 6.0 and request["quality"] == "premium"
    assert final["job"]["workflow"]["final_of"] == chosen["image_id"]
    assert final["job"]["cost_usd"] == 0.010  # premium 512-class vs the draft's 0.008
    assert draft["job"]["cost_usd"] == 0.008


def test_a_multi_image_amazon_draft_finalises_without_guessing_seeds(stack: Stack) -> None:
    # GIVEN a three-image Amazon draft: Bedrock reports no seeds, and no AWS source says image i used seed + i
    status, draft = call_api(
        "POST", "/v1/images", {"model": "titan-image-v1", "prompt": "a brass lamp", "seed": 21, "count": 3,
                               "quality": "standard", "width": 512, "height": 512}
    )  # fmt: skip
    assert status == 200, draft
    images = draft["job"]["images"]
    assert [image["seed"] for image in images] == [None, None, None]  # not invented
    chosen = images[1]
    # WHEN image 1 is finalised at premium
    status, final = call_api(
        "POST", "/v1/images", {"model": "titan-image-v1", "source_image": {"image_id": chosen["image_id"]}, "quality": "premium"}
    )  # fmt: skip
    assert status == 200, final
    # THEN the whole call is re-run (same seed, same count) and the chosen picture is at its position
    request, workflow = final["job"]["request"], final["job"]["workflow"]
    assert request["seed"] == 21 and request["count"] == 3 and request["quality"] == "premium"
    assert workflow["final_of"] == chosen["image_id"] and workflow["final_position"] == 1
    assert final["job"]["cost_usd"] == 0.030  # three premium 512-class images: the price of not guessing


def test_channel_formats_outpaint_an_approved_image_to_each_aspect_ratio(stack: Stack) -> None:
    status, hero = call_api("POST", "/v1/images", {"model": "stable-image-core", "prompt": "a red bicycle", "seed": 5})
    assert status == 200, hero
    approved = hero["job"]["images"][0]
    assert (approved["width"], approved["height"]) == (1024, 1024)
    jobs = _run(
        stack,
        {
            "model": "stability-outpaint",
            "source_image": {"image_id": approved["image_id"]},
            "channels": ["story", "wide", "square"],
        },
    )
    assert [job["workflow"]["channel"] for job in jobs] == ["story", "wide", "square"]
    sizes = {job["workflow"]["channel"]: (job["images"][0]["width"], job["images"][0]["height"]) for job in jobs}
    for channel, (width, height) in sizes.items():
        ratio = {"story": 9 / 16, "wide": 16 / 9, "square": 1.0}[channel]
        assert abs(width / height - ratio) < 0.01, (channel, width, height)
    assert all(job["request"]["prompt"] == "a red bicycle" for job in jobs)  # the subject is kept
    square = jobs[2]  # the approved image already is 1:1: it is the answer, nothing generated or billed
    assert square["images"][0]["image_id"] == approved["image_id"] and square["cost_usd"] == 0.0
    assert square["workflow"]["already_in_format"] is True
    assert stack.stats()["invocations"]["us.stability.stable-outpaint-v1:0"] == 2
    status, body = call_api(
        "POST",
        "/v1/jobs",
        {"model": "stability-outpaint", "source_image": {"image_id": approved["image_id"]}, "channels": ["poster"]},
    )
    assert status == 400 and "poster" in body["error"]["message"]
