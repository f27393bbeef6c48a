"""The local platform (embedded moto + emulator + real handlers) as the benchmarks use it.

Each drain gets its own stack name, so its tables, bucket and queues are its own even though moto
keeps one state per process. The worker is not started by the platform: the drain starts its own
pollers (the stand-in for Lambda's event source mapping) after the backlog is in the queue.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imagegen_local.client import BearerAuth, ImagegenClient
from imagegen_local.embedded import EmulatorKnobs
from imagegen_local.serve import LocalOptions, LocalPlatform
from imagegen_platform.cli.local import local_platform as open_platform

from bench.stats import ROOT

BENCH_STACK_FILE = ROOT / "bench" / "stacks" / "Pulumi.bench.yaml"
BEFORE_NOVA_EOL = "2026-03-01"  # Nova Canvas: legacy 2026-03-30, end-of-life 2026-09-30


@contextmanager
def pinned_env(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def bench_platform(
    stack: str,
    *,
    rpm: dict[str, int] | None = None,
    faults: str | None = None,
    latency_ms: int | None = None,
    visibility_timeout: int | None = None,
) -> Iterator[LocalPlatform]:
    with tempfile.TemporaryDirectory(prefix="imagegen-bench-") as state:
        options = LocalOptions(
            stack=stack,
            config_file=BENCH_STACK_FILE,
            token="bench-token",
            # explicit values: an IMAGEGEN_EMULATOR_* variable in the caller's shell must not leak in
            knobs=EmulatorKnobs(
                rpm=[f"{model}={value}" for model, value in (rpm or {}).items()],
                faults=faults or "",
                latency_ms=latency_ms or 0,
            ),
            worker=False,
            visibility_timeout=visibility_timeout,
            root=Path(state),
        )
        with (
            pinned_env({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}),
            open_platform(options) as platform,
        ):
            yield platform


def api_client(platform: LocalPlatform) -> ImagegenClient:
    return ImagegenClient(platform.url, BearerAuth(platform.token), timeout=120)


def emulator_stats(platform: LocalPlatform) -> dict[str, Any]:
    assert platform.aws is not None
    url = f"{platform.aws.emulator_url}/_emulator/stats"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return dict(json.loads(answer.read()))


def jobs_by_status(platform: LocalPlatform, job_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The job records of ``job_ids`` read straight from the jobs table (one scan)."""
    assert platform.aws is not None
    from imagegen_service import config as cfg

    ddb = platform.aws.client("dynamodb")
    table = platform.environment[cfg.ENV_JOBS_TABLE]
    found: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        for item in page.get("Items", []):
            job_id = (item.get("job_id") or {}).get("S")
            if job_id in job_ids and "status" in item:
                found[job_id] = {
                    "status": item["status"]["S"],
                    "dead_lettered": bool((item.get("dead_lettered") or {}).get("BOOL")),
                    "error": item.get("error"),
                }
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wait_for(predicate: Any, *, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
