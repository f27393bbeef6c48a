"""The Bedrock image client: one InvokeModel call per request, our retry policy, typed errors.

botocore's own retries are switched off (``total_max_attempts=1``): ``RetryPolicy`` is the only one.
Why it is shaped as it is:

- Throttles (ThrottlingException, ModelNotReadyException, ServiceQuotaExceededException) are never
  billed, so they are retried with full-jitter exponential backoff within a bounded budget (attempts
  and seconds).
- Timeouts are NOT retried in-process by default. Bedrock has no idempotency token; after a read
  timeout the model may have run and billed, and a retry can bill twice (reference §1b). The job
  goes back to SQS instead, where the worker's idempotency record and the queue's maxReceiveCount
  bound how often it can happen.
- Model/internal errors are retried at most once: they are rare and usually transient.

Each model binding names its region (a model may live outside the stack region), so the client
keeps one boto3 client per region. The fleet's controller (``pacing.FleetPacer``) gives every call a
slot, learns from each throttle and answer, and refuses a slot the call could not use before its
deadline (``PacingDeferred``). ``RateLimiter`` is the older fixed per-process pace, kept for tools.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from imagegen_service import adapters, catalogue
from imagegen_service.adapters import ModelOutput
from imagegen_service.clock import today
from imagegen_service.errors import (
    AccessDenied,
    FieldProblem,
    ImagegenError,
    ModelFailed,
    ModelTimeout,
    ModelUnavailable,
    OutputBlocked,
    PacingDeferred,
    PromptBlocked,
    RequestInvalid,
    Throttled,
)
from imagegen_service.pacing import Deferred, FleetPacer, Grant
from imagegen_service.requests import GenerationRequest, image_count

READ_TIMEOUT_S = 5 * 60  # AWS's own Nova Canvas sample (reference §1): large images take minutes
CONNECT_TIMEOUT_S = 10
CONTENT_FILTER = "blocked by our content filters"
THROTTLE_CODES = frozenset({"ThrottlingException", "ModelNotReadyException", "ServiceQuotaExceededException"})
FAILURE_CODES = frozenset({"ModelErrorException", "InternalServerException", "ServiceUnavailableException"})
INPUT_FILTER_REASONS = ("Filter reason: prompt", "Filter reason: input image")
INFERENCE_ERROR = "Inference error"
UNIT_PIXELS = 1024 * 1024  # one pacing unit: one image at the default size (as the emulator counts capacity)
MAX_PACING_WAIT_S = 2.0
"""The longest a call waits in-process for its slot: a batch mixing models never blocks one model's
records behind another's slow pace for longer; a later slot is a deferral through the queue. At 10 s, a
fleet with a backlog of Titan (150/min) and Stable Image Core (30/min) spent its time waiting for Core's
slots and used 0.66 of Titan's capacity (bench, 2026-12-02)."""
FIRST_CALL_ESTIMATE_S = 2.0
"""What one model call is assumed to take before any has been timed (then an average of the real ones)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long one ``invoke`` may try. Defaults fit a worker with a 60–120 s timeout."""

    max_attempts: int = 5
    """Total calls for throttles (the first call included)."""
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_total_s: float = 30.0
    """Budget for sleeping between attempts; the next attempt is skipped if its sleep would exceed it."""
    failure_retries: int = 1
    """Extra calls after ModelErrorException / InternalServerException / ServiceUnavailableException."""
    retry_timeouts: bool = False
    """Off by default: a retry after a timeout can bill twice. SQS redelivery handles it instead."""

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Full jitter (AWS Architecture Blog): uniform(0, min(cap, base·2^retry))."""
        return rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**retry))


NO_RETRIES = RetryPolicy(max_attempts=1, failure_retries=0)


class RateLimiter:
    """Token bucket per model at its RPM quota: ``acquire`` blocks until the call may go out.

    Thread-safe; ``clock`` and ``sleep`` are injectable for tests. ``burst`` tokens may go at once
    (1 by default: evenly spaced calls never exceed a sliding-minute quota).
    """

    def __init__(
        self,
        rpm: Mapping[str, float],
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = {_model_key(model): count / 60.0 for model, count in rpm.items() if count > 0}
        self._burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._stamp: dict[str, float] = {}

    def _reserve(self, key: str) -> float:
        """Take a token (possibly going into debt) and return how long the caller must wait."""
        with self._lock:
            now = self._clock()
            rate = self._rate[key]
            tokens = self._tokens.get(key, float(self._burst))
            tokens = min(float(self._burst), tokens + (now - self._stamp.get(key, now)) * rate)
            self._stamp[key] = now
            self._tokens[key] = tokens - 1
            return 0.0 if tokens >= 1 else (1 - tokens) / rate

    def acquire(self, model: str) -> float:
        """Wait for the model's next slot; returns the seconds waited (0 for models without a quota)."""
        key = _model_key(model)
        if key not in self._rate:
            return 0.0
        wait = self._reserve(key)
        if wait > 0:
            self._sleep(wait)
        return wait


def call_units(request: GenerationRequest) -> float:
    """Pacing units of a call: per image its pixels ÷ 1024×1024, at least one (the emulator's capacity unit)."""
    count = image_count(request)
    if request.width and request.height:
        return count * max(1.0, request.width * request.height / UNIT_PIXELS)
    return float(count)


def _model_key(model: str) -> str:
    try:
        return catalogue.lookup(model).key
    except catalogue.UnknownModel:
        return model


@dataclass
class _Attempts:
    calls: int = 0
    throttled: int = 0
    timeouts: int = 0
    failures: int = 0


class BedrockImageClient:
    """``invoke(request, region=...)`` → ``ModelOutput``, or a typed ``ImagegenError``."""

    def __init__(
        self,
        *,
        retry: RetryPolicy = RetryPolicy(),
        rate_limiter: RateLimiter | None = None,
        pacer: FleetPacer | None = None,
        session: Any = None,
        endpoint_url: str | None = None,
        read_timeout_s: float = READ_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.retry = retry
        self.rate_limiter = rate_limiter
        self.pacer = pacer
        self._call_s: dict[str, float] = {}  # per model: moving average of answered calls' seconds
        self._session = session
        self._endpoint_url = endpoint_url
        self._read_timeout_s = read_timeout_s
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.attempts: Counter[str] = Counter()
        """Calls made per model key (each retry counts): what tests assert the budget against."""
        self.outcomes: Counter[str] = Counter()
        """Per outcome: ok, throttled, timeout, failed, rejected."""

    # ------------------------------------------------------------------ boto3
    def client_for(self, region: str) -> Any:
        """The cached ``bedrock-runtime`` client of ``region`` (boto3 honours AWS_ENDPOINT_URL_BEDROCK_RUNTIME)."""
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                import boto3
                from botocore.config import Config

                session = self._session or boto3.session.Session()
                config = Config(
                    region_name=region,
                    retries={"total_max_attempts": 1, "mode": "standard"},
                    read_timeout=self._read_timeout_s,
                    connect_timeout=CONNECT_TIMEOUT_S,
                    max_pool_connections=32,
                )
                client = session.client("bedrock-runtime", config=config, endpoint_url=self._endpoint_url)
                self._clients[region] = client
            return client

    # ------------------------------------------------------------------ calls
    def invoke(self, request: GenerationRequest, *, region: str, deadline_s: float | None = None) -> ModelOutput:
        """Generate. ``deadline_s`` bounds the whole call including retries (e.g. the sync API's timeout)."""
        spec = request.spec
        body = json.dumps(adapters.build_body(request)).encode()
        started = self._clock()
        budget = self.retry.max_total_s if deadline_s is None else min(self.retry.max_total_s, deadline_s)
        state = _Attempts()
        while True:
            grant = self._slot(request, deadline_s=deadline_s, started=started)
            state.calls += 1
            self.attempts[spec.key] += 1
            call_started = self._clock()
            try:
                payload = self._call(spec, body, region)
            except ImagegenError as error:
                self.outcomes[_outcome(error)] += 1
                if grant is not None and self.pacer is not None and isinstance(error, Throttled):
                    self.pacer.throttled(grant)
                delay = self._retry_delay(error, state)
                elapsed = self._clock() - started
                if delay is None or elapsed + delay > budget:
                    raise
                self._sleep(delay)
                continue
            self._timed(spec.key, self._clock() - call_started)
            if grant is not None and self.pacer is not None:
                self.pacer.answered(grant)
            self.outcomes["ok"] += 1
            return require_images(adapters.parse_response(request, payload))

    def call_estimate_s(self, model: str) -> float:
        """Seconds to keep free for one call after its slot: twice the average answered call, plus one."""
        return 2 * self._call_s.get(model, FIRST_CALL_ESTIMATE_S) + 1.0

    def _timed(self, model: str, seconds: float) -> None:
        with self._lock:
            previous = self._call_s.get(model)
            self._call_s[model] = seconds if previous is None else 0.7 * previous + 0.3 * seconds

    def _slot(self, request: GenerationRequest, *, deadline_s: float | None, started: float) -> Grant | None:
        """Wait for the call's slot from the fleet's controller (or the fixed limiter), never past the deadline."""
        spec = request.spec
        if self.pacer is None:
            if self.rate_limiter is not None:
                self.rate_limiter.acquire(spec.key)
            return None
        window = MAX_PACING_WAIT_S
        if deadline_s is not None:
            left = deadline_s - (self._clock() - started)
            # keep the call's own time free (at most half of what is left: a first call must be possible)
            window = min(window, left - min(self.call_estimate_s(spec.key), left / 2))
        ticket = self.pacer.reserve(spec.key, latest_start=time.time() + window, cost=call_units(request))
        if isinstance(ticket, Deferred):
            raise PacingDeferred(
                f"{spec.name}: the fleet's next call slot is {ticket.wait_s:.1f} s away, later than this call can wait",
                wait_s=ticket.wait_s,
            )
        self.pacer.wait(ticket)
        return ticket

    def _retry_delay(self, error: ImagegenError, state: _Attempts) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        policy = self.retry
        if isinstance(error, Throttled):
            state.throttled += 1
            if state.calls >= policy.max_attempts:
                return None
            return policy.backoff(state.throttled - 1, self._rng)
        if isinstance(error, ModelTimeout):
            state.timeouts += 1
            return 0.0 if policy.retry_timeouts and state.timeouts <= 1 else None
        if isinstance(error, ModelFailed):
            state.failures += 1
            return policy.backoff(0, self._rng) if state.failures <= policy.failure_retries else None
        return None

    def _call(self, spec: catalogue.ModelSpec, body: bytes, region: str) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

        try:
            response = self.client_for(region).invoke_model(
                modelId=spec.model_id, body=body, contentType="application/json", accept="application/json"
            )
            raw = response["body"].read()
        except ClientError as error:
            info = error.response.get("Error", {})
            raise map_client_error(spec, str(info.get("Code", "")), str(info.get("Message", ""))) from None
        except ReadTimeoutError:
            raise ModelTimeout(f"{spec.name} did not answer within {self._read_timeout_s:g} s") from None
        except ConnectTimeoutError as error:
            raise ModelFailed(f"cannot reach Bedrock in {region}: {error}") from None
        except BotoCoreError as error:  # connection reset, endpoint unreachable …: not billed
            raise ModelFailed(f"calling {spec.name} failed: {error}") from None
        try:
            payload = json.loads(raw)
        except ValueError:
            raise ModelFailed(f"{spec.name} returned a body that is not JSON") from None
        if not isinstance(payload, dict):
            raise ModelFailed(f"{spec.name} returned JSON that is not an object")
        return payload


def _outcome(error: ImagegenError) -> str:
    if isinstance(error, Throttled):
        return "throttled"
    if isinstance(error, ModelTimeout):
        return "timeout"
    if isinstance(error, ModelFailed):
        return "failed"
    return "rejected"


def require_images(output: ModelOutput) -> ModelOutput:
    """A 200 with no image is still a failure: say whose (input filter, output filter, or the model)."""
    if output.images:
        return output
    if any(reason.startswith(INPUT_FILTER_REASONS) for reason in output.filtered):
        raise PromptBlocked("the model's input filter blocked the request: " + "; ".join(output.filtered))
    if output.filtered and all(reason == INFERENCE_ERROR for reason in output.filtered):
        raise ModelFailed(f"{output.model_id} reported an inference error")
    if output.filtered:
        raise OutputBlocked("the model's output filter withheld every image: " + "; ".join(output.filtered))
    raise ModelFailed(f"{output.model_id} returned no image")


def map_client_error(spec: catalogue.ModelSpec, code: str, message: str) -> ImagegenError:
    """Bedrock's exception types (reference §1b) → our error hierarchy."""
    if code in THROTTLE_CODES:
        return Throttled(f"{spec.name} is throttled ({code}): {message}")
    if code == "ModelTimeoutException":
        return ModelTimeout(f"{spec.name} timed out: {message}")
    if code == "ValidationException":
        if CONTENT_FILTER in message:
            return PromptBlocked(message)
        return RequestInvalid(
            f"Bedrock rejected the request for {spec.name}: {message}",
            details=[FieldProblem("request", message)],
        )
    if code == "ResourceNotFoundException":
        status = spec.lifecycle.status_on(today()).value
        return ModelUnavailable(
            f"{spec.name} ({spec.model_id}) is not available: {message} "
            f"(catalogue lifecycle: {status}; end of life {spec.lifecycle.end_of_life or 'not announced'})"
        )
    if code == "AccessDeniedException":
        lowered = message.lower()
        if "access to the model" in lowered or "model access" in lowered:  # not granted, vs our IAM policy
            return ModelUnavailable(
                f"model access to {spec.name} ({spec.model_id}) is not granted in this account/region: {message}. "
                "Request access in the Bedrock console (Model access)."
            )
        return AccessDenied(f"calling {spec.name} was denied (check the function's IAM policy): {message}")
    if code in FAILURE_CODES:
        return ModelFailed(f"{spec.name} failed ({code}): {message}")
    return ModelFailed(f"{spec.name} failed with an unexpected error {code or 'without a code'}: {message}")
