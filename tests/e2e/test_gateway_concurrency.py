"""`imagegen local serve`'s gateway runs api invocations concurrently, each in a container of its own (issue 11).

Before: one slow synchronous generation held a lock every other request waited on, ``GET /v1/models``
included (measured 6.7 s behind a 6 s generation). API Gateway invokes as many api containers as
there are requests in flight; so does the local gateway now.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imagegen_local.embedded import EmulatorKnobs
from imagegen_local.serve import LocalOptions, LocalPlatform
from imagegen_platform.cli.local import local_platform as open_platform

ROOT = Path(__file__).resolve().parents[2]
LATENCY_MS = 3000


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    options = LocalOptions(
        stack="gwconc",
        config_file=ROOT / "stacks" / "Pulumi.local.yaml",
        token="conc-token",
        knobs=EmulatorKnobs(rpm=[], faults="", latency_ms=LATENCY_MS),
        worker=False,
        root=tmp_path_factory.mktemp("state"),
    )
    try:
        with open_platform(options) as running:
            yield running
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def call(platform: LocalPlatform, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{platform.url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": "Bearer conc-token", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_models_answer_while_a_slow_generation_runs(platform: LocalPlatform) -> None:
    # GIVEN two warm containers (the first calls pay the cold start, as on Lambda)
    warmers = [threading.Thread(target=call, args=(platform, "GET", "/v1/models")) for _ in range(2)]
    for thread in warmers:
        thread.start()
    for thread in warmers:
        thread.join(60)
    # WHEN a synchronous generation that takes 3 s is in flight
    out: dict[str, Any] = {}
    generation = threading.Thread(
        target=lambda: out.update(
            answer=call(platform, "POST", "/v1/images", {"model": "stable-image-core", "prompt": "a snail", "seed": 4})
        )
    )
    started = time.monotonic()
    generation.start()
    # THEN the models list answers at once, many times over, before the generation is done
    latencies = []
    for _ in range(5):
        begun = time.monotonic()
        status, _ = call(platform, "GET", "/v1/models")
        latencies.append(time.monotonic() - begun)
        assert status == 200
    assert time.monotonic() - started < LATENCY_MS / 1000, latencies
    assert max(latencies) < 1.0, latencies
    generation.join(60)
    status, body = out["answer"]
    assert status == 200 and body["job"]["status"] == "succeeded", body
