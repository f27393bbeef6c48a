"""Logger, Metrics and Tracer shared by the handlers (Powertools; service name and namespace from env).

Never log secrets, private keys, bearer tokens or image bytes: log keys, sizes, digests and ids.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = "imagegen"
NAMESPACE = "imagegen"

# A GET or a batch with nothing to count is normal here, not a misconfiguration worth a warning per call.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


@functools.cache
def tracer() -> Tracer:
    """The X-Ray tracer, built on first use: the X-Ray SDK costs ~1 s to import, which would otherwise be
    paid by every cold import of the handler modules (the first traced invocation pays it instead)."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def traced(handler: Handler) -> Handler:
    """``Tracer.capture_lambda_handler(capture_response=False)``, applied lazily.

    Responses are never put on the trace: they can exceed X-Ray's 64 KB and may hold personal data.
    """
    wrapped: list[Handler] = []

    @functools.wraps(handler)
    def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if not wrapped:
            wrapped.append(tracer().capture_lambda_handler(handler, capture_response=False))
        return wrapped[0](event, context)

    return invoke


IMAGES_GENERATED = "ImagesGenerated"
IMAGES_BLOCKED = "ImagesBlocked"
THROTTLED = "Throttled"
COST_USD = "CostUSD"
JOBS_FAILED = "JobsFailed"
MODEL_CALLS_SAVED = "ModelCallsSaved"


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


def cost(usd: float) -> None:
    # EMF has no currency unit: "None" with the name saying USD.
    metrics.add_metric(name=COST_USD, unit=MetricUnit.NoUnit, value=usd)


@dataclass
class StepTimer:
    """Wall time per pipeline step (ms); the worker bench subtracts model and C2PA time from the total."""

    steps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + (time.perf_counter() - start) * 1000

    def ms(self, name: str) -> float:
        return self.steps.get(name, 0.0)
