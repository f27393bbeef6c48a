"""The emulator on an ephemeral 127.0.0.1 port, and boto3 clients pointed at it (no env mutation)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from botocore.config import Config
from imagegen_emulator.server import RunningEmulator, start
from imagegen_service.bedrock import BedrockImageClient, RetryPolicy
from PIL import Image

BEFORE_EOL = date(2026, 6, 1)  # every catalogue model is still served (Titan v2 EOL 2026-06-30)
REGION = "us-east-1"


def session() -> boto3.session.Session:
    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)


def runtime_client(url: str) -> Any:
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    return session().client("bedrock-runtime", endpoint_url=url, config=config)


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    with start(seed=1234, today=BEFORE_EOL, use_env=False) as running:
        yield running


@pytest.fixture(scope="session")
def bedrock(emulator: RunningEmulator) -> Any:
    return runtime_client(emulator.url)


@pytest.fixture(scope="session")
def rekognition(emulator: RunningEmulator) -> Any:
    return session().client("rekognition", endpoint_url=emulator.url)


@pytest.fixture(scope="session")
def image_client(emulator: RunningEmulator) -> BedrockImageClient:
    return BedrockImageClient(session=session(), endpoint_url=emulator.url, retry=RetryPolicy(max_attempts=1))


@pytest.fixture
def fresh_emulator() -> Iterator[Callable[..., RunningEmulator]]:
    """Start emulators with particular knobs; all are stopped after the test."""
    started: list[RunningEmulator] = []

    def make(**knobs: Any) -> RunningEmulator:
        knobs.setdefault("today", BEFORE_EOL)
        knobs.setdefault("use_env", False)
        running = start(**knobs)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


def invoke(client: Any, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.invoke_model(modelId=model_id, body=json.dumps(body), contentType="application/json")
    payload: dict[str, Any] = json.loads(response["body"].read())
    return payload


def decode(text: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(text)))
    image.load()
    return image


def png_b64(
    size: tuple[int, int], colour: tuple[int, ...] = (90, 120, 200), mode: str = "RGB", fmt: str = "PNG"
) -> str:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return base64.b64encode(out.getvalue()).decode()


def image_b64(image: Image.Image, fmt: str = "PNG") -> str:
    out = io.BytesIO()
    image.save(out, fmt)
    return base64.b64encode(out.getvalue()).decode()
