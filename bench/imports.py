"""Cold import of the worker handler beside cold ``import boto3``, each in a fresh interpreter.

Runs alternate (boto3, worker, api, boto3, worker, api …) so both see the same machine state; the
target is ``handler_import_ms ≤ 2 × boto3_import_ms`` (the handler imports boto3 itself, so this
says: everything else the worker needs at import costs at most one more boto3).
"""

from __future__ import annotations

import sys
from typing import Any

from bench.lambda_env import lambda_like_env
from bench.stats import median, run_child

WORKER_MODULE = "imagegen_service.handlers.worker"
API_MODULE = "imagegen_service.handlers.api"

_TIMED_IMPORT = "import time\nt = time.perf_counter()\nimport {module}\nprint((time.perf_counter() - t) * 1000)\n"


def import_ms(module: str) -> float:
    _, stdout = run_child([sys.executable, "-c", _TIMED_IMPORT.format(module=module)], env=lambda_like_env())
    return float(stdout.strip().splitlines()[-1])


def measure(quick: bool) -> dict[str, Any]:
    repeats = 5 if quick else 15
    samples: dict[str, list[float]] = {"boto3": [], WORKER_MODULE: [], API_MODULE: []}
    for _ in range(repeats):
        for module, timings in samples.items():
            timings.append(import_ms(module))
    boto3_ms = median(samples["boto3"])
    handler_ms = median(samples[WORKER_MODULE])
    return {
        "handler_import_ms": round(handler_ms, 1),
        "boto3_import_ms": round(boto3_ms, 1),
        "api_handler_import_ms": round(median(samples[API_MODULE]), 1),
        "handler_import_ratio": round(handler_ms / boto3_ms, 2),
        "import_repeats": repeats,
    }
