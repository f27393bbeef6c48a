"""Knob parsing (flags and environment) and the lifecycle date the emulator serves by."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError
from imagegen_emulator.knobs import KnobInvalid, from_env, parse_faults, parse_rpm
from imagegen_emulator.server import RunningEmulator

from tests.emulator.conftest import runtime_client


def test_rpm_accepts_model_ids_and_catalogue_keys() -> None:
    assert parse_rpm("amazon.titan-image-generator-v1=600, sd3-5-large=10") == {
        "titan-image-v1": 600,
        "sd3-5-large": 10,
    }
    assert parse_rpm(["nova-canvas=100", "stable-image-core=5"]) == {"nova-canvas": 100, "stable-image-core": 5}


def test_environment_knobs_are_read_and_named_in_errors() -> None:
    knobs = from_env({"IMAGEGEN_EMULATOR_RPM": "titan-image-v1=60", "IMAGEGEN_EMULATOR_FAULTS": "timeout=0.05",
                      "IMAGEGEN_EMULATOR_LATENCY_MS": "250"})  # fmt: skip
    assert (dict(knobs.rpm), dict(knobs.faults), knobs.latency_ms) == ({"titan-image-v1": 60}, {"timeout": 0.05}, 250.0)
    with pytest.raises(KnobInvalid, match="IMAGEGEN_EMULATOR_RPM"):
        from_env({"IMAGEGEN_EMULATOR_RPM": "titan-image-v1=lots"})


def test_fault_rates_must_add_up_to_at_most_one() -> None:
    with pytest.raises(KnobInvalid, match="more than 1"):
        parse_faults("throttle=0.6,internal=0.6")


def test_imagegen_today_pins_the_lifecycle_date(
    fresh_emulator: Callable[..., RunningEmulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an emulator that follows clock.today() (no pinned date of its own)
    client = runtime_client(fresh_emulator(today=None).url)
    body = json.dumps({"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x"}})
    # WHEN the date is before Nova Canvas's end of life, it answers
    monkeypatch.setenv("IMAGEGEN_TODAY", "2026-09-29")
    assert json.loads(client.invoke_model(modelId="amazon.nova-canvas-v1:0", body=body)["body"].read())["images"]
    # AND from its end-of-life date on, it answers as Bedrock does for retired models
    monkeypatch.setenv("IMAGEGEN_TODAY", "2026-09-30")
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId="amazon.nova-canvas-v1:0", body=body)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "reached the end of its life" in caught.value.response["Error"]["Message"]
