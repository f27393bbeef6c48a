"""The targets each benchmark run is judged against (issue 7), checked from the measured keys."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True)
class Target:
    name: str
    key: str
    limit: float
    compare: Callable[[float, float], bool]
    symbol: str

    def check(self, results: Mapping[str, Any]) -> dict[str, Any]:
        value = results.get(self.key)
        met = None if not isinstance(value, (int, float)) else bool(self.compare(float(value), self.limit))
        limit = f"{int(self.limit):,}" if float(self.limit).is_integer() else f"{self.limit:g}"
        return {"key": self.key, "value": value, "target": f"{self.symbol} {limit}", "met": met}


TARGETS: tuple[Target, ...] = (
    Target("preview of prod", "preview_prod_s", 3.0, operator.lt, "<"),
    Target("preview grows linearly with stacks (r²)", "preview_linear_r2", 0.95, operator.ge, "≥"),
    Target("worker import vs boto3 import", "handler_import_ratio", 2.0, operator.le, "≤"),
    Target("worker overhead vs bare boto3 I/O", "worker_overhead_ratio", 2.0, operator.le, "≤"),
    Target("quota utilisation (no faults)", "quota_utilisation", 0.95, operator.ge, "≥"),
    Target("throttled share of calls (no faults)", "throttled_share", 0.01, operator.le, "≤"),
    Target("lost jobs (20% throttles, 5% timeouts)", "lost_jobs", 0, operator.eq, "="),
    Target("second model call after success", "duplicate_invocations", 0, operator.eq, "="),
    Target("worker package zipped (bytes)", "lambda_zip_bytes", 40 * MB, operator.le, "≤"),
    Target("worker package unzipped (bytes)", "lambda_unzipped_bytes", 250 * MB, operator.lt, "<"),
    Target("layer packages the worker never imports", "layer_unused_count", 0, operator.eq, "="),
    Target("worker peak RSS, 5 × 2048² (MB)", "worker_peak_rss_mb", 512, operator.le, "≤"),
    Target("emulator server-side 1024² text-to-image p50 (ms)", "emulator_server_ms_p50", 50, operator.lt, "<"),
    Target("fleet utilisation of a hidden capacity", "fleet_utilisation", 0.90, operator.ge, "≥"),
    Target("fleet throttled share of calls", "fleet_throttled_ratio", 0.05, operator.le, "≤"),
    Target("seconds back to 90 % after a capacity step", "capacity_step_recovery_s", 30, operator.le, "≤"),
    Target("invocation timeouts over the fleet drains", "invocation_timeouts", 0, operator.eq, "="),
    Target("dead-lettered jobs over the fleet drains", "dead_lettered", 0, operator.eq, "="),
    Target("drain time with faults ÷ without", "fault_drain_ratio", 1.5, operator.le, "≤"),
    Target("mixed backlog: lower model's utilisation", "mixed_backlog_min_utilisation", 0.90, operator.ge, "≥"),
)


def judge(results: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {target.name: target.check(results) for target in TARGETS}
