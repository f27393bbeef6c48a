"""Worker overhead beside bare boto3 I/O and C2PA signing, side by side in one run.

The measurement itself is the runtime engineer's ``bench/worker_overhead.py`` (``measure(samples)``:
per image, worker time excluding model latency and C2PA signing; bare put_object + put_item +
DetectModerationLabels of the same bytes against the same endpoints; C2PA signing of one
1024×1024 PNG). This module adds the ratio the target is judged on.
"""

from __future__ import annotations

import importlib
from typing import Any


def measure(quick: bool) -> dict[str, Any]:
    worker_overhead = importlib.import_module("bench.worker_overhead")
    measured = dict(worker_overhead.measure(10 if quick else 30))
    overhead, baseline = measured["worker_overhead_ms_p50"], measured["baseline_io_ms_p50"]
    measured["worker_overhead_ratio"] = round(overhead / baseline, 2) if baseline else None
    return measured
