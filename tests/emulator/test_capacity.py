"""The hidden per-model capacity (CONTRACT §2): IMAGEGEN_EMULATOR_CAPACITY, _CAPACITY_SCHEDULE, /_emulator/stats.

Time is scaled by the capacity itself: 6000 units per minute is 100 a second, so each test runs in
well under a second of wall time; the schedule test drives the backend's clock directly.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from imagegen_emulator import exceptions as exc
from imagegen_emulator.knobs import CapacityStep, KnobInvalid, from_env, parse_capacity, parse_schedule
from imagegen_emulator.models import CAPACITY_BURST_S, EmulatorBackend
from imagegen_emulator.server import RunningEmulator
from imagegen_service import catalogue

from tests.emulator.conftest import runtime_client

TITAN = "amazon.titan-image-generator-v1"


def titan_body(width: int = 512, height: int = 512) -> str:
    return json.dumps(
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": "a lighthouse"},
            "imageGenerationConfig": {"numberOfImages": 1, "width": width, "height": height},
        }
    )


def stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_emulator/stats", timeout=10) as answer:
        return dict(json.loads(answer.read()))


def outcome(client: Any, body: str) -> str:
    try:
        client.invoke_model(modelId=TITAN, body=body)
    except ClientError as error:
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        return str(error.response["Error"]["Code"])
    return "ok"


def test_capacity_knobs_parse_keys_ids_and_schedules() -> None:
    assert parse_capacity("titan-image-v1=30, amazon.nova-canvas-v1:0=12.5") == {
        "titan-image-v1": 30.0,
        "nova-canvas": 12.5,
    }
    assert parse_schedule("120:titan-image-v1=30; 60:titan-image-v1=15") == (
        CapacityStep(60.0, "titan-image-v1", 15.0),
        CapacityStep(120.0, "titan-image-v1", 30.0),
    )
    knobs = from_env({"IMAGEGEN_EMULATOR_CAPACITY": "titan-image-v1=30",
                      "IMAGEGEN_EMULATOR_CAPACITY_SCHEDULE": "60:titan-image-v1=15"})  # fmt: skip
    assert dict(knobs.capacity) == {"titan-image-v1": 30.0} and knobs.schedule[0].per_minute == 15.0


@pytest.mark.parametrize(
    ("env", "value", "names"),
    [
        ("IMAGEGEN_EMULATOR_CAPACITY", "titan-image-v1", "is not MODEL=N"),
        ("IMAGEGEN_EMULATOR_CAPACITY", "titan-image-v1=0", "above 0"),
        ("IMAGEGEN_EMULATOR_CAPACITY", "dall-e=5", "unknown model"),
        ("IMAGEGEN_EMULATOR_CAPACITY_SCHEDULE", "titan-image-v1=5", "is not SECONDS:MODEL=N"),
        ("IMAGEGEN_EMULATOR_CAPACITY_SCHEDULE", "-5:titan-image-v1=5", "SECONDS must be"),
        ("IMAGEGEN_EMULATOR_CAPACITY_SCHEDULE", "soon:titan-image-v1=5", "SECONDS must be"),
    ],
)
def test_bad_capacity_knobs_name_the_knob_and_the_rule(env: str, value: str, names: str) -> None:
    with pytest.raises(KnobInvalid, match=names) as caught:
        from_env({env: value})
    assert str(caught.value).startswith(env + ":")


def test_calls_beyond_the_capacity_are_throttled_and_counted_per_model(
    fresh_emulator: Callable[..., RunningEmulator],
) -> None:
    # GIVEN 6000 units a minute: 100 a second, a bucket of CAPACITY_BURST_S seconds' worth
    running = fresh_emulator(capacity={"titan-image-v1": 600})
    client = runtime_client(running.url)
    # WHEN far more calls than that arrive back to back
    results = [outcome(client, titan_body()) for _ in range(80)]
    elapsed = stats(running.url)["elapsed_s"]
    answered = results.count("ok")
    # THEN no more than the capacity over the elapsed time plus the burst allowance was answered,
    assert answered <= 10 * elapsed + 10 * CAPACITY_BURST_S + 1
    # the rest got Bedrock's ThrottlingException (HTTP 429),
    assert set(results) == {"ok", "ThrottlingException"} and results.count("ThrottlingException") > 0
    # AND the stats say so per model
    model = stats(running.url)["models"]["titan-image-v1"]
    assert (model["answered"], model["throttled"], model["faulted"]) == (answered, 80 - answered, 0)
    assert model["capacity_per_minute"] == 600


def test_larger_images_cost_their_pixels(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    # A bucket of one unit (60 a minute, CAPACITY_BURST_S of it rounds to ≥ 1): a 1024×1024 image fits,
    running = fresh_emulator(capacity={"titan-image-v1": 30})
    client = runtime_client(running.url)
    assert outcome(client, titan_body(1024, 1024)) == "ok"
    # and the units spent are the pixels' share of 1024×1024 (smaller images: one unit)
    assert stats(running.url)["models"]["titan-image-v1"]["units"] == 1.0
    backend = EmulatorBackend(from_env({"IMAGEGEN_EMULATOR_CAPACITY": "titan-image-v1=600"}), clock=lambda: 0.0)
    spec = catalogue.lookup("titan-image-v1")
    backend.admit(spec, 4.0)  # 2048×2048 costs four units; the bucket (20 units) holds it
    assert backend.stats.snapshot()["models"]["titan-image-v1"]["units"] == 4.0


def test_the_schedule_changes_capacity_during_the_run() -> None:
    now = [0.0]
    knobs = from_env({"IMAGEGEN_EMULATOR_CAPACITY": "titan-image-v1=600",
                      "IMAGEGEN_EMULATOR_CAPACITY_SCHEDULE": "60:titan-image-v1=300;120:titan-image-v1=1200"})  # fmt: skip
    backend = EmulatorBackend(knobs, clock=lambda: now[0])
    spec = catalogue.lookup("titan-image-v1")

    def answered_in(seconds: int, tries_per_second: int = 50) -> int:
        count = 0
        for _ in range(seconds * tries_per_second):
            now[0] += 1 / tries_per_second
            try:
                backend.admit(spec, 1.0)
                count += 1
            except exc.ThrottlingException:
                pass
        return count

    first = answered_in(60)
    halved = answered_in(60)
    doubled = answered_in(60)
    burst = 600 / 60 * CAPACITY_BURST_S  # the first minute starts with a full bucket
    assert first == pytest.approx(600 + burst, abs=2)
    assert halved == pytest.approx(300, abs=2)
    assert doubled == pytest.approx(1200, abs=2)
    assert backend.capacity_per_minute("titan-image-v1") == 1200


def test_faults_and_throttles_are_told_apart_in_the_stats(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    running = fresh_emulator(faults="internal=1")
    client = runtime_client(running.url)
    with pytest.raises(ClientError):
        client.invoke_model(modelId=TITAN, body=titan_body())
    model = stats(running.url)["models"]["titan-image-v1"]
    assert (model["answered"], model["throttled"], model["faulted"]) == (0, 0, 1)
