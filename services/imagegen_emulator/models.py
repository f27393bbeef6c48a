"""The emulator's behaviour and state (moto style): Bedrock InvokeModel and ApplyGuardrail, Rekognition
DetectModerationLabels, quotas, injected faults and the counters behind ``/_emulator/stats``.

Request bodies are validated by mapping them back to a GenerationRequest (``adapters.request_from_body``)
and running the API's own ``parse_request``: the emulator and the service enforce one set of catalogue
limits, and the emulator words the result as Bedrock does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import unquote

from imagegen_service import adapters, catalogue
from imagegen_service.bedrock import call_units
from imagegen_service.catalogue import Family, ModelSpec
from imagegen_service.clock import today as clock_today
from imagegen_service.errors import RequestInvalid
from imagegen_service.images import sniff_format
from imagegen_service.requests import GenerationRequest, effective_seed, image_count, parse_request

from imagegen_emulator import exceptions as exc
from imagegen_emulator import render, studio
from imagegen_emulator.control import ControlPlane
from imagegen_emulator.guardrail import Guardrail, GuardrailPolicy
from imagegen_emulator.knobs import Knobs

BLOCK_INPUT = "EMULATOR_BLOCK_INPUT"
BLOCK_OUTPUT = "EMULATOR_BLOCK_OUTPUT"
UNSAFE = "EMULATOR_UNSAFE"
AMAZON_ALL_BLOCKED = "All of the generated images have been blocked by our content filters."
STABILITY_OUTPUT_FILTERED = "Filter reason: output image"
THROTTLE_MESSAGE = "Too many requests, please wait before trying again."
TIMEOUT_MESSAGE = "Model has timed out in processing the request. Try your request again."
INTERNAL_MESSAGE = "The server encountered an internal error while processing the request."
QUOTA_WINDOW_S = 60.0
CAPACITY_BURST_S = 2.0
"""How much capacity may be spent at once: two seconds' worth, at least one unit. ASSUMPTION: AWS does
not publish how a per-minute token quota is enforced within the minute; an even refill with a small
burst is the strict side (a caller that copes with it copes with a whole-minute window too)."""
TEXT_FIELDS = ("prompt", "negative_prompt", "mask_prompt", "search_prompt", "select_prompt")

# Rekognition DetectModerationLabels (reference §5)
REKOGNITION_MAX_BYTES = 5 * 1024 * 1024
REKOGNITION_SIDES = (80, 10_000)
REKOGNITION_DEFAULT_MIN_CONFIDENCE = 50.0
UNSAFE_CONFIDENCE = 97.0
MODERATION_MODEL_VERSION = "7.0"


class Stats:
    """Counters behind ``GET /_emulator/stats``; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[str] = Counter()  # every InvokeModel call, per model id
            self.invocations: Counter[str] = Counter()  # calls the model answered (200): billed
            self.fingerprints: Counter[str] = Counter()  # sha256 of answered bodies: >1 = paid twice
            self.throttled: Counter[str] = Counter()  # over the RPM quota (not injected)
            self.faults: Counter[str] = Counter({kind: 0 for kind in ("throttle", "timeout", "internal")})
            self.counts: Counter[str] = Counter()  # images_returned, validation_errors, blocked …
            self.per_model: dict[str, dict[str, float]] = {}  # catalogue key → answered, throttled, faulted, units

    def model(self, key: str, outcome: str, amount: float = 1) -> None:
        with self._lock:
            counts = self.per_model.setdefault(key, {"answered": 0, "throttled": 0, "faulted": 0, "units": 0})
            counts[outcome] += amount

    def bump(self, counter: str, key: str, amount: int = 1) -> None:
        with self._lock:
            getattr(self, counter)[key] += amount

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "invocations": dict(self.invocations),
                "invocations_total": sum(self.invocations.values()),
                "fingerprints": dict(self.fingerprints),
                "duplicate_invocations": sum(n - 1 for n in self.fingerprints.values() if n > 1),
                "images_returned": self.counts["images_returned"],
                "throttled": dict(self.throttled),
                "throttled_total": sum(self.throttled.values()),
                "faults": dict(self.faults),
                "faults_total": sum(self.faults.values()),
                "validation_errors": self.counts["validation_errors"],
                "input_blocked": self.counts["input_blocked"],
                "output_blocked": self.counts["output_blocked"],
                "guardrail_calls": self.counts["guardrail_calls"],
                "guardrail_interventions": self.counts["guardrail_interventions"],
                "rekognition_calls": self.counts["rekognition_calls"],
                "models": {
                    key: {name: round(value, 3) if name == "units" else int(value) for name, value in counts.items()}
                    for key, counts in self.per_model.items()
                },
            }


class EmulatorBackend:
    def __init__(
        self,
        knobs: Knobs,
        *,
        guardrail: GuardrailPolicy | None = None,
        seed: int | None = None,
        today: date | Callable[[], date] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.knobs = knobs
        self.guardrail = Guardrail(guardrail or GuardrailPolicy())
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._today = today
        self._clock = clock
        self._sleep = sleep
        self._windows: dict[str, deque[float]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (units available, when)
        self._quota_lock = threading.Lock()
        self._started = clock()
        self.stats = Stats()
        self.control = ControlPlane(self._today_is, rpm=knobs.rpm)

    def reset(self) -> None:
        """Clear counters and quota state; the capacity schedule starts again from now."""
        with self._quota_lock:
            self._windows.clear()
            self._buckets.clear()
            self._started = self._clock()
        self.stats.reset()

    def capacity_per_minute(self, key: str, now: float | None = None) -> float | None:
        """The model's hidden capacity (units per minute) at ``now``: the base, then the schedule's steps."""
        at = (self._clock() if now is None else now) - self._started
        capacity = self.knobs.capacity.get(key)
        for step in self.knobs.schedule:
            if step.model == key and step.at_s <= at:
                capacity = step.per_minute
        return capacity

    # ------------------------------------------------------------------ InvokeModel
    def invoke_model(self, model_id: str, raw: bytes) -> dict[str, Any]:
        spec = _model(model_id)
        self.stats.bump("requests", spec.model_id)
        self._check_lifecycle(spec)
        self._check_quota(spec)
        req = self._validated(spec, raw)
        count = image_count(req)
        try:  # an injected fault stands for a failure outside the capacity model: it spends no capacity
            self._maybe_fault()
        except exc.EmulatorError:
            self.stats.model(spec.key, "faulted")
            raise
        # One unit = one image at the default size (1024×1024): larger images cost their pixels' share,
        # smaller ones one unit (CONTRACT §2 says at most one; one is the strict side).
        self.admit(spec, call_units(req))
        if any(BLOCK_INPUT in (getattr(req, name) or "") for name in TEXT_FIELDS):
            self.stats.bump("counts", "input_blocked")
            raise exc.ValidationException(exc.CONTENT_FILTER_MESSAGE)
        if self.knobs.latency_ms:
            self._sleep(self.knobs.latency_ms * count / 1000)
        payload = self._generate(req, count)
        self.stats.bump("invocations", spec.model_id)
        self.stats.bump("fingerprints", hashlib.sha256(raw).hexdigest())
        self.stats.bump("counts", "images_returned", len(payload.get("images", [])))
        self.stats.model(spec.key, "answered")
        return payload

    def _today_is(self) -> date:
        if self._today is None:
            return clock_today()
        return self._today() if callable(self._today) else self._today

    def _check_lifecycle(self, spec: ModelSpec) -> None:
        if spec.lifecycle.status_on(self._today_is()) is catalogue.Status.END_OF_LIFE:
            raise exc.ResourceNotFoundException(exc.END_OF_LIFE_MESSAGE)

    def _check_quota(self, spec: ModelSpec) -> None:
        """Sliding 60-second window per model: over the RPM quota is a ThrottlingException."""
        rpm = self.knobs.rpm.get(spec.key)
        if not rpm:
            return
        with self._quota_lock:
            now = self._clock()
            window = self._windows.setdefault(spec.key, deque())
            while window and window[0] <= now - QUOTA_WINDOW_S:
                window.popleft()
            if len(window) >= rpm:
                self.stats.bump("throttled", spec.model_id)
                self.stats.model(spec.key, "throttled")
                raise exc.ThrottlingException(THROTTLE_MESSAGE)
            window.append(now)

    def admit(self, spec: ModelSpec, cost: float) -> None:
        """The hidden capacity: a bucket refilled evenly at capacity/60 units per second, holding
        ``CAPACITY_BURST_S`` seconds' worth (at least one unit). A call is admitted when the bucket
        holds its cost (or is full, for a call dearer than the bucket), else ThrottlingException."""
        with self._quota_lock:
            now = self._clock()
            capacity = self.capacity_per_minute(spec.key, now)
            if not capacity:
                return
            rate = capacity / 60.0
            depth = max(1.0, rate * CAPACITY_BURST_S)
            available, since = self._buckets.get(spec.key, (depth, now))
            available = min(depth, available + (now - since) * rate)
            if available < min(cost, depth):
                self._buckets[spec.key] = (available, now)
                self.stats.bump("throttled", spec.model_id)
                self.stats.model(spec.key, "throttled")
                raise exc.ThrottlingException(THROTTLE_MESSAGE)
            self._buckets[spec.key] = (available - cost, now)
        self.stats.model(spec.key, "units", cost)

    def _maybe_fault(self) -> None:
        faults = self.knobs.faults
        if not faults:
            return
        with self._rng_lock:
            roll = self._rng.random()
        edge = 0.0
        for kind, error, message in (
            ("throttle", exc.ThrottlingException, THROTTLE_MESSAGE),
            ("timeout", exc.ModelTimeoutException, TIMEOUT_MESSAGE),
            ("internal", exc.InternalServerException, INTERNAL_MESSAGE),
        ):
            edge += faults.get(kind, 0.0)
            if roll < edge:
                self.stats.bump("faults", kind)
                raise error(message)

    def _validated(self, spec: ModelSpec, raw: bytes) -> GenerationRequest:
        try:
            request = adapters.request_from_body(spec, _json_object(raw))
        except adapters.WireProblem as problem:
            self.stats.bump("counts", "validation_errors")
            raise exc.ValidationException(_malformed(f"{problem.path}: {problem.message}")) from None
        except exc.ValidationException:
            self.stats.bump("counts", "validation_errors")
            raise
        try:
            return parse_request(request)
        except RequestInvalid as error:
            self.stats.bump("counts", "validation_errors")
            task = request.get("task")
            details = "; ".join(
                f"#/{adapters.wire_name(spec, d.field, task).replace('.', '/')}: {d.message}" for d in error.details
            )
            raise exc.ValidationException(_malformed(details)) from None

    def _generate(self, req: GenerationRequest, count: int) -> dict[str, Any]:
        texts = " ".join(getattr(req, name) or "" for name in TEXT_FIELDS)
        amazon = req.spec.family in (Family.NOVA, Family.TITAN)
        if BLOCK_OUTPUT in texts:
            self.stats.bump("counts", "output_blocked")
            if amazon:
                return {"images": [], "error": AMAZON_ALL_BLOCKED}
            return {"seeds": [req.seed or 0], "finish_reasons": [STABILITY_OUTPUT_FILTERED], "images": []}
        unsafe = UNSAFE in texts
        fmt = req.output_format or req.spec.limits.output_formats[0]
        if amazon:
            first = effective_seed(req) or 0
            seeds = [first + index for index in range(count)]
        else:  # Stability: seed 0 or absent = random, reported back in "seeds"
            with self._rng_lock:
                seeds = [req.seed or self._rng.randint(1, int(req.spec.limits.seed.high))]
        images = [
            base64.b64encode(render.encode(studio.paint(req, seed, unsafe=unsafe), fmt, unsafe=unsafe)).decode()
            for seed in seeds
        ]
        if amazon:
            return {"images": images}
        return {"seeds": seeds, "finish_reasons": [None] * len(images), "images": images}

    # ------------------------------------------------------------------ ApplyGuardrail
    def apply_guardrail(self, identifier: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
        self.stats.bump("counts", "guardrail_calls")
        result = self.guardrail.apply(identifier, version, body)
        if result["action"] == "GUARDRAIL_INTERVENED":
            self.stats.bump("counts", "guardrail_interventions")
        return result

    # ------------------------------------------------------------------ Rekognition
    def detect_moderation_labels(self, body: dict[str, Any]) -> dict[str, Any]:
        self.stats.bump("counts", "rekognition_calls")
        image = body.get("Image")
        if not isinstance(image, dict) or ("Bytes" not in image and "S3Object" not in image):
            raise exc.InvalidParameterException("Request has invalid parameters: Image.Bytes or Image.S3Object")
        if "S3Object" in image:
            raise exc.InvalidS3ObjectException("The emulator reads only Image.Bytes, not S3 objects.")
        try:
            data = base64.b64decode(str(image["Bytes"]), validate=True)
        except (binascii.Error, ValueError):
            raise exc.InvalidParameterException("Image.Bytes is not valid base64") from None
        if len(data) > REKOGNITION_MAX_BYTES:
            raise exc.ImageTooLargeException("Image size is too large.")
        if sniff_format(data) is None:
            raise exc.InvalidImageFormatException("Request has invalid image format")
        try:
            from imagegen_service.images import image_size

            width, height = image_size(data)
        except Exception:  # Pillow raises many types for broken bytes
            raise exc.InvalidImageFormatException("Request has invalid image format") from None
        low, high = REKOGNITION_SIDES
        if not (low <= width <= high and low <= height <= high):
            raise exc.InvalidParameterException(f"Image sides must be {low}–{high} px (got {width}×{height})")
        min_confidence = body.get("MinConfidence", REKOGNITION_DEFAULT_MIN_CONFIDENCE)
        if not isinstance(min_confidence, (int, float)) or not 0 <= min_confidence <= 100:
            raise exc.InvalidParameterException("MinConfidence must be between 0 and 100")
        labels = []
        if render.looks_unsafe(data) and min_confidence <= UNSAFE_CONFIDENCE:
            labels = [
                {"Confidence": UNSAFE_CONFIDENCE, "Name": "Violence", "ParentName": "", "TaxonomyLevel": 1},
                {"Confidence": UNSAFE_CONFIDENCE, "Name": "Graphic Violence", "ParentName": "Violence", "TaxonomyLevel": 2},
            ]  # fmt: skip
        return {"ModerationLabels": labels, "ModerationModelVersion": MODERATION_MODEL_VERSION, "ContentTypes": []}

    def stats_snapshot(self) -> dict[str, Any]:
        snapshot = self.stats.snapshot()
        snapshot["knobs"] = {
            "rpm": dict(self.knobs.rpm),
            "faults": dict(self.knobs.faults),
            "latency_ms": self.knobs.latency_ms,
            "capacity": dict(self.knobs.capacity),
            "schedule": [
                {"at_s": step.at_s, "model": step.model, "per_minute": step.per_minute} for step in self.knobs.schedule
            ],
        }
        now = self._clock()
        models = snapshot["models"]
        for key in {*self.knobs.capacity, *(step.model for step in self.knobs.schedule)}:
            models.setdefault(key, {"answered": 0, "throttled": 0, "faulted": 0, "units": 0})
        for key, counts in models.items():
            counts["capacity_per_minute"] = self.capacity_per_minute(key, now)
        snapshot["elapsed_s"] = round(now - self._started, 3)
        return snapshot


def _model(model_id: str) -> ModelSpec:
    """A model ID, inference-profile ID or foundation-model ARN → its catalogue entry."""
    identifier = unquote(model_id) if "%" in model_id else model_id
    if identifier.startswith("arn:"):
        identifier = identifier.rsplit("/", 1)[-1]
    try:
        return catalogue.lookup(identifier)
    except catalogue.UnknownModel:
        raise exc.ValidationException("The provided model identifier is invalid.") from None


def _json_object(raw: bytes) -> dict[str, Any]:
    import json

    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise exc.ValidationException(_malformed("#: expected a JSON object")) from None
    if not isinstance(body, dict):
        raise exc.ValidationException(_malformed(f"#: expected type: JSONObject, found: {type(body).__name__}"))
    return body


def _malformed(detail: str) -> str:
    return f"Malformed input request: {detail}, please reformat your input and try again."
