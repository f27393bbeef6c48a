"""Structured logs with job id and model, EMF metrics, and no secrets or image bytes in the output."""

from __future__ import annotations

import base64
import io
import json
import logging

import pytest
from imagegen_service.observability import logger

from tests.service.conftest import Stack
from tests.service.harness import call_api, drain


def test_worker_logs_and_metrics_are_structured_and_carry_no_secrets(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # The Logger's handler holds the stdout of import time; point it at a buffer for this test.
    buffer = io.StringIO()
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(buffer) for h in handlers]
    prompt = "a secret-looking prompt about a walnut desk"
    status, queued = call_api("POST", "/v1/jobs", {"requests": [
        {"model": "sd3-5-large", "prompt": prompt, "seed": 8},
        {"model": "stable-image-core", "prompt": "EMULATOR_UNSAFE scene", "seed": 9},
    ]})  # fmt: skip
    assert status == 202
    try:
        drain(stack.client("sqs"), stack.plane.queue_url, stack.plane.queue_arn)
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)
    output = buffer.getvalue() + capsys.readouterr().out  # logs + EMF (printed by Metrics)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    finished = [line for line in lines if line.get("message") == "job finished"]
    assert {line["job_id"] for line in finished} == {job["job_id"] for job in queued["jobs"]}
    assert {line["model"] for line in finished} == {"stability.sd3-5-large-v1:0", "stability.stable-image-core-v1:1"}
    metrics = [line for line in lines if "_aws" in line]
    names = {m["Name"] for blob in metrics for group in blob["_aws"]["CloudWatchMetrics"] for m in group["Metrics"]}
    assert {"ImagesGenerated", "ImagesBlocked", "CostUSD"} <= names
    assert all(blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "imagegen" for blob in metrics)
    # never the prompt, key material or image bytes
    assert prompt not in output
    assert "PRIVATE KEY" not in output
    job = call_api("GET", f"/v1/jobs/{queued['jobs'][0]['job_id']}")[1]["job"]
    data = stack.client("s3").get_object(Bucket=stack.bucket, Key=job["images"][0]["key"])["Body"].read()
    assert base64.b64encode(data[:48]).decode()[:40] not in output
