"""The local platform (embedded moto + emulator + the real handlers) for the fault and bad-input suites.

One platform per test module, with a stack name of its own (moto keeps one state per process).
The worker is not started by the platform: each test runs pollers (the stand-in for Lambda's SQS
event source mapping) with a 1-second visibility timeout, so failed messages come back quickly
and reach the DLQ after the stack's maxReceiveCount.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imagegen_local.embedded import EmulatorKnobs
from imagegen_local.serve import LocalOptions, LocalPlatform
from imagegen_platform.cli.local import local_platform as open_platform
from imagegen_service import config as cfg

ROOT = Path(__file__).resolve().parents[2]
LOCAL_STACK_FILE = ROOT / "stacks" / "Pulumi.local.yaml"


@contextmanager
def local_platform(name: str, state: Path) -> Iterator[LocalPlatform]:
    """The local stack's platform under the stack name ``name`` (its own tables and queues)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    stack = name.removeprefix("test_").replace("_", "-").lower()[:30].rstrip("-")
    saved = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", cfg.ENV_MODEL_RPM)}
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    options = LocalOptions(
        stack=stack,
        config_file=LOCAL_STACK_FILE,
        token="faults-token",
        knobs=EmulatorKnobs(rpm=[], faults="", latency_ms=0),
        worker=False,
        root=state,
    )
    try:
        with open_platform(options) as running:
            # No pacing: these tests are about faults, not quotas (the worker reads this per invocation).
            os.environ[cfg.ENV_MODEL_RPM] = json.dumps({})
            yield running
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


def emulator_stats(platform: LocalPlatform) -> dict[str, Any]:
    assert platform.aws is not None
    with urllib.request.urlopen(f"{platform.aws.emulator_url}/_emulator/stats", timeout=10) as answer:
        return dict(json.loads(answer.read()))


def emulator_reset(platform: LocalPlatform) -> None:
    assert platform.aws is not None
    request = urllib.request.Request(f"{platform.aws.emulator_url}/_emulator/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10):
        pass
