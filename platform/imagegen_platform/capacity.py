"""Capacity derived from the model quotas: worker concurrency and API throttling.

Pure functions of the stack settings and the catalogue's quotas, so the program, the cost tooling
and the tests compute the same numbers. A model's RPM is the stack's ``pace_start_rpm`` when set,
else the increase it requests (``quota_request_rpm``), else the catalogue's default quota. Since 2026-05-27
Bedrock enforces token quotas, not RPM (``catalogue.QUOTA_MODEL``): these figures are the plan the
worker's fleet controller starts from, and the fleet's size; the controller finds the real rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from imagegen_platform.settings import EnabledModel, StackSettings

# Lambda's SQS event source mapping accepts MaximumConcurrency 2–1000 (API_ScalingConfig).
MIN_WORKER_CONCURRENCY = 2
MAX_WORKER_CONCURRENCY = 1000

EXPECTED_CALL_SECONDS = 10.0
"""Typical wall time of one image InvokeModel call plus moderation and storage. Concurrency beyond
``rpm / 60 × call seconds`` only produces throttles; the worker's own pacing absorbs the rest."""

API_HEADROOM = 2.0
"""Requests the API may accept per model call per second: async submissions only enqueue."""
MIN_API_RATE = 1.0
MIN_API_BURST = 5


@dataclass(frozen=True)
class ApiThrottle:
    rate_per_second: float
    burst: int


def model_rpm(enabled: EnabledModel) -> int:
    """Requests per minute the stack plans for this model (where the fleet's pace starts)."""
    return enabled.pace_start_rpm or enabled.quota_request_rpm or enabled.spec.quota.default_rpm


def models_rpm(settings: StackSettings) -> dict[str, int]:
    return {enabled.model: model_rpm(enabled) for enabled in settings.models}


def total_rpm(settings: StackSettings) -> int:
    return sum(models_rpm(settings).values())


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def worker_max_concurrency(settings: StackSettings) -> int:
    """Worker invocations in flight: enough to use every model's RPM, never more than AWS allows."""
    if settings.worker.max_concurrency is not None:
        return settings.worker.max_concurrency
    calls_per_second = total_rpm(settings) / 60.0
    wanted = math.ceil(calls_per_second * EXPECTED_CALL_SECONDS)
    return _clamp(wanted, MIN_WORKER_CONCURRENCY, MAX_WORKER_CONCURRENCY)


WORKER_DEADLINE_MARGIN_S = 5.0  # the worker keeps this much of an invocation to record outcomes (worker.py)


def worker_batch_size(settings: StackSettings) -> int:
    """Records per invocation: the stack's batch size, but no more than one container can finish in one
    invocation at its share of the pace (one call per ``EXPECTED_CALL_SECONDS``, the same figure the
    concurrency is derived from). Records beyond what the time allows would be re-sent by the worker's
    controller anyway; a coherent batch size keeps them off the invocation."""
    usable = settings.worker.timeout_seconds - WORKER_DEADLINE_MARGIN_S
    return max(1, min(settings.worker.batch_size, math.floor(usable / EXPECTED_CALL_SECONDS)))


def api_throttle(settings: StackSettings) -> ApiThrottle:
    """Default route throttling of the HTTP API stage (settings win where given)."""
    derived_rate = max(MIN_API_RATE, math.ceil(total_rpm(settings) / 60.0 * API_HEADROOM))
    rate = settings.api.throttle_rate_per_second or derived_rate
    burst = settings.api.throttle_burst or max(MIN_API_BURST, math.ceil(rate * 2))
    return ApiThrottle(rate_per_second=float(rate), burst=int(burst))
