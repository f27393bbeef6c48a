"""The emulator's knobs (CONTRACT.md §2): per-model RPM quotas, hidden capacity, injected faults, latency.

Each has an environment variable and a text form shared by the CLI flags. A bad value raises
``KnobInvalid`` naming the knob and the expected form.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from imagegen_service import catalogue

ENV_RPM = "IMAGEGEN_EMULATOR_RPM"
ENV_FAULTS = "IMAGEGEN_EMULATOR_FAULTS"
ENV_LATENCY_MS = "IMAGEGEN_EMULATOR_LATENCY_MS"
ENV_CAPACITY = "IMAGEGEN_EMULATOR_CAPACITY"
ENV_CAPACITY_SCHEDULE = "IMAGEGEN_EMULATOR_CAPACITY_SCHEDULE"
FAULT_KINDS = ("throttle", "timeout", "internal")


class KnobInvalid(ValueError):
    """A knob value the emulator cannot use; the message names the knob."""


@dataclass(frozen=True)
class Knobs:
    rpm: Mapping[str, int] = field(default_factory=dict)  # catalogue key → requests per minute
    faults: Mapping[str, float] = field(default_factory=dict)  # kind → probability per call
    latency_ms: float = 0.0  # per image
    capacity: Mapping[str, float] = field(default_factory=dict)  # catalogue key → units per minute
    schedule: tuple[CapacityStep, ...] = ()  # capacity changes at offsets from the emulator's start


@dataclass(frozen=True)
class CapacityStep:
    at_s: float  # seconds after the emulator started
    model: str  # catalogue key
    per_minute: float


def _pairs(entries: str | Iterable[str] | Mapping[str, int] | Mapping[str, float]) -> list[str]:
    """``MODEL=N`` strings from a comma-separated string, a list of them, or a mapping."""
    if isinstance(entries, Mapping):
        return [f"{model}={value}" for model, value in entries.items()]
    if isinstance(entries, str):
        return [part for part in entries.split(",") if part.strip()]
    return [part for entry in entries for part in entry.split(",") if part.strip()]


def parse_rpm(entries: str | Iterable[str] | Mapping[str, int], *, knob: str = ENV_RPM) -> dict[str, int]:
    """``MODEL=N`` entries (comma-separated or a list); MODEL is a catalogue key or Bedrock model ID."""
    pairs = _pairs(entries)
    out: dict[str, int] = {}
    for pair in pairs:
        model, sep, value = pair.strip().rpartition("=")
        if not sep or not model:
            raise KnobInvalid(f"{knob}: {pair!r} is not MODEL=N (e.g. amazon.titan-image-generator-v1=600)")
        try:
            key = catalogue.lookup(model.strip()).key
        except catalogue.UnknownModel:
            raise KnobInvalid(
                f"{knob}: unknown model {model.strip()!r} (use a catalogue key or Bedrock model ID)"
            ) from None
        try:
            rpm = int(value.strip())
        except ValueError:
            rpm = -1
        if rpm <= 0:
            raise KnobInvalid(f"{knob}: {pair!r}: the quota must be a whole number of requests per minute above 0")
        out[key] = rpm
    return out


def _model_key(model: str, knob: str) -> str:
    try:
        return catalogue.lookup(model.strip()).key
    except catalogue.UnknownModel:
        raise KnobInvalid(
            f"{knob}: unknown model {model.strip()!r} (use a catalogue key or Bedrock model ID)"
        ) from None


def _per_minute(pair: str, value: str, knob: str) -> float:
    try:
        amount = float(value.strip())
    except ValueError:
        amount = -1.0
    if not 0 < amount < float("inf"):
        raise KnobInvalid(f"{knob}: {pair!r}: the capacity must be a number of units per minute above 0")
    return amount


def parse_capacity(entries: str | Iterable[str] | Mapping[str, float], *, knob: str = ENV_CAPACITY) -> dict[str, float]:
    """``MODEL=N`` entries: hidden capacity in units per minute (one unit = one default-size image)."""
    pairs = _pairs(entries)
    out: dict[str, float] = {}
    for pair in pairs:
        model, sep, value = pair.strip().rpartition("=")
        if not sep or not model.strip():
            raise KnobInvalid(f"{knob}: {pair!r} is not MODEL=N (e.g. titan-image-v1=30)")
        out[_model_key(model, knob)] = _per_minute(pair, value, knob)
    return out


def parse_schedule(
    spec: str | Iterable[CapacityStep], *, knob: str = ENV_CAPACITY_SCHEDULE
) -> tuple[CapacityStep, ...]:
    """``SECONDS:MODEL=N;SECONDS:MODEL=N``: from SECONDS after start, MODEL's capacity is N per minute."""
    if not isinstance(spec, str):
        return tuple(sorted(spec, key=lambda step: step.at_s))
    steps: list[CapacityStep] = []
    for entry in (part.strip() for part in spec.split(";")):
        if not entry:
            continue
        offset, colon, rest = entry.partition(":")
        model, sep, value = rest.rpartition("=")
        if not colon or not sep or not model.strip():
            raise KnobInvalid(f"{knob}: {entry!r} is not SECONDS:MODEL=N (e.g. 60:titan-image-v1=15)")
        try:
            at_s = float(offset)
        except ValueError:
            at_s = -1.0
        if not 0 <= at_s < float("inf"):
            raise KnobInvalid(f"{knob}: {entry!r}: SECONDS must be a number of seconds from start, 0 or more")
        steps.append(CapacityStep(at_s, _model_key(model, knob), _per_minute(entry, value, knob)))
    return tuple(sorted(steps, key=lambda step: step.at_s))


def parse_faults(spec: str | Mapping[str, float], *, knob: str = ENV_FAULTS) -> dict[str, float]:
    """``throttle=0.2,timeout=0.05,internal=0.05``: probabilities per call, summing to at most 1."""
    items = spec.items() if isinstance(spec, Mapping) else (
        part.strip().partition("=")[::2] for part in spec.split(",") if part.strip()
    )  # fmt: skip
    out: dict[str, float] = {}
    for name, raw in items:
        kind = str(name).strip()
        if kind not in FAULT_KINDS:
            raise KnobInvalid(f"{knob}: unknown fault {kind!r}; use {', '.join(FAULT_KINDS)} (e.g. throttle=0.2)")
        try:
            rate = float(raw)
        except (TypeError, ValueError):
            raise KnobInvalid(f"{knob}: {kind}={raw!r} is not a probability between 0 and 1") from None
        if not 0 <= rate <= 1:
            raise KnobInvalid(f"{knob}: {kind}={raw!r} is not a probability between 0 and 1")
        out[kind] = rate
    if sum(out.values()) > 1:
        raise KnobInvalid(f"{knob}: the fault probabilities add up to more than 1")
    return out


def parse_latency(value: str | float, *, knob: str = ENV_LATENCY_MS) -> float:
    try:
        latency = float(value)
    except (TypeError, ValueError):
        raise KnobInvalid(f"{knob}: {value!r} is not a number of milliseconds") from None
    if not 0 <= latency <= 600_000:
        raise KnobInvalid(f"{knob}: {value!r} must be between 0 and 600000 ms")
    return latency


def from_env(environ: Mapping[str, str] | None = None) -> Knobs:
    env = os.environ if environ is None else environ
    return Knobs(
        rpm=parse_rpm(env.get(ENV_RPM, "")),
        faults=parse_faults(env.get(ENV_FAULTS, "")),
        latency_ms=parse_latency(env.get(ENV_LATENCY_MS, "0") or "0"),
        capacity=parse_capacity(env.get(ENV_CAPACITY, "")),
        schedule=parse_schedule(env.get(ENV_CAPACITY_SCHEDULE, "")),
    )
