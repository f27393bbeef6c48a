"""Fixtures for the service tests: moto server (real HTTP) + the Bedrock/Rekognition emulator.

The handlers reach AWS only through the standard endpoint variables (AWS_ENDPOINT_URL for moto,
AWS_ENDPOINT_URL_BEDROCK_RUNTIME / AWS_ENDPOINT_URL_REKOGNITION for the emulator); the service code
has no local special case. Each test gets its own stack (fresh tables, bucket, queue + DLQ).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from imagegen_local.dataplane import DataPlane, DataPlaneNames, create_data_plane
from imagegen_service import config as cfg
from imagegen_service.provenance_testcerts import write_test_chain

REGION = "us-west-2"
SIGNING_KEY_ID = "K2IMAGEGENTEST"
CDN = "https://cdn.imagegen.test"
MODELS = {
    "titan-image-v1": {"region": REGION, "licence_record_id": "test-titan-image-v1"},
    "sd3-5-large": {"region": REGION, "licence_record_id": "test-sd3-5-large"},
    "stable-image-core": {"region": REGION, "licence_record_id": "test-stable-image-core"},
    "stability-outpaint": {"region": REGION, "licence_record_id": "test-stability-outpaint"},
    "titan-image-v2": {"region": REGION, "licence_record_id": "test-titan-image-v2"},  # past end-of-life
}
PRESETS = {
    "product-shot": {
        "template": "{subject}, centred, three-quarter view, on a light oak table, soft diffused window light, product photography, sharp focus",
        "negative_prompt": "blurry, low quality, watermark, text",
        "cfg_scale": 7.5,
        "quality": "standard",
    }
}
CHANNELS = {"square": "1:1", "story": "9:16", "banner": "21:9", "wide": "16:9"}
ROUTES = {  # IMAGEGEN_ROUTES as the program writes it (settings.Route.as_runtime)
    "thumbnail": {"model": "stable-image-core", "task": "text-to-image"},
    "hero": {"model": "sd3-5-large", "task": "text-to-image", "preset": "product-shot"},
    "draft": {"model": "titan-image-v1", "task": "text-to-image", "quality": "standard"},
}
_stack_numbers = itertools.count(1)
AWS_TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@pytest.fixture(scope="session", autouse=True)
def _quiet_servers() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    from imagegen_emulator import server

    running = server.start(port=0, use_env=False)
    yield running
    running.stop()


@dataclass(frozen=True)
class Keys:
    signing_key_file: Path
    public_key_pem: str
    c2pa_cert_file: Path
    c2pa_key_file: Path


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    directory = tmp_path_factory.mktemp("keys")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signing_key_file = directory / "cloudfront.pem"
    signing_key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cert, key = write_test_chain(directory)
    return Keys(signing_key_file, public.decode(), cert, key)


def emulator_stats(emulator: Any) -> dict[str, Any]:
    with urllib.request.urlopen(f"{emulator.url}/_emulator/stats", timeout=10) as response:
        stats: dict[str, Any] = json.loads(response.read())
    return stats


def emulator_reset(emulator: Any) -> None:
    request = urllib.request.Request(f"{emulator.url}/_emulator/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10):
        pass


@dataclass
class Stack:
    name: str
    plane: DataPlane
    emulator: Any
    keys: Keys

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def stats(self) -> dict[str, Any]:
        return emulator_stats(self.emulator)

    @property
    def jobs_table(self) -> str:
        return self.plane.names.jobs_table

    @property
    def bucket(self) -> str:
        return self.plane.names.bucket


def stack_env(
    monkeypatch: pytest.MonkeyPatch, moto_url: str, emulator_url: str, keys: Keys, plane: DataPlane, name: str
) -> None:
    env = {
        **AWS_TEST_CREDENTIALS,
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator_url,
        "AWS_ENDPOINT_URL_REKOGNITION": emulator_url,
        "POWERTOOLS_SERVICE_NAME": "imagegen",
        "POWERTOOLS_METRICS_NAMESPACE": "imagegen",
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here; the Tracer code path still runs
        cfg.ENV_STACK: name,
        cfg.ENV_ENVIRONMENT: "local",
        cfg.ENV_MODELS: json.dumps(MODELS),
        cfg.ENV_MODERATION_ENABLED: "true",
        cfg.ENV_GUARDRAIL_ID: "imagegen-test",
        cfg.ENV_GUARDRAIL_VERSION: "1",
        cfg.ENV_MIN_CONFIDENCE: "80",
        cfg.ENV_CDN_DOMAIN: CDN,
        cfg.ENV_SIGNED_URLS: "true",
        cfg.ENV_URL_TTL: "300",
        cfg.ENV_SIGNING_KEY_ID: SIGNING_KEY_ID,
        cfg.ENV_SIGNING_KEY_FILE: str(keys.signing_key_file),
        cfg.ENV_C2PA_ENABLED: "true",
        cfg.ENV_C2PA_CERT_FILE: str(keys.c2pa_cert_file),
        cfg.ENV_C2PA_KEY_FILE: str(keys.c2pa_key_file),
        cfg.ENV_PRESETS: json.dumps(PRESETS),
        cfg.ENV_CHANNEL_FORMATS: json.dumps(CHANNELS),
        cfg.ENV_ROUTES: json.dumps(ROUTES),
        cfg.ENV_MAX_RECEIVE_COUNT: "3",
        cfg.ENV_MODEL_RPM: json.dumps({key: 60_000 for key in MODELS}),
        **plane.env(),
    }
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def make_stack(
    monkeypatch: pytest.MonkeyPatch, moto_url: str, emulator: Any, keys: Keys, *, visibility_timeout: int = 1
) -> Stack:
    name = f"t{os.getpid()}x{next(_stack_numbers)}"
    for key, value in AWS_TEST_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    names = DataPlaneNames.for_stack("imagegen", name)
    plane = create_data_plane(moto_url, name, REGION, names, visibility_timeout=visibility_timeout, max_receive_count=3)
    stack_env(monkeypatch, moto_url, emulator.url, keys, plane, name)
    emulator_reset(emulator)
    return Stack(name=name, plane=plane, emulator=emulator, keys=keys)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, moto_url: str, emulator: Any, keys: Keys) -> Stack:
    return make_stack(monkeypatch, moto_url, emulator, keys)
