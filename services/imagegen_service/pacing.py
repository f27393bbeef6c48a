"""The fleet's model-call controller: one adaptive, deadline-aware pace per model, shared by every worker.

Since 2026-05-27 Bedrock throttles image models on token quotas whose burn per image AWS does not
publish (reference: AWS Bedrock user guide, "Quotas for the bedrock-runtime endpoint"), so no static
requests-per-minute figure can be trusted. The controller discovers the usable rate from throttling
signals instead; the catalogue's figure is only where it starts.

How it holds across N Lambda containers: the state of each model is ONE item in DynamoDB (the
idempotency table, key ``imagegen.pace#MODEL``) holding the fleet-wide rate and the next free call
slot. A container takes a slot with a conditional write (optimistic concurrency on ``version``), so
calls from the whole fleet are spaced ``cost / rate`` apart however many containers run, and a fresh
container starts no burst: it queues behind the fleet's slots.

The rate (units per second, fleet-wide; a unit is one image at the model's default size, as the
emulator's capacity counts it, so a call of four images takes four units of the schedule):

- a floor at ``FLOOR_SHARE`` of the starting pace: a background of throttles that come at any pace
  (indistinguishable from a spent capacity, call by call) cannot drive the rate to nothing;
- **decrease** (multiplicative, ×``BETA``, and never above the rate the fleet actually got answered
  since the last decrease) on a throttle of a call granted after the last decrease; throttles of
  calls granted at the old rate (in flight) are not counted twice. The rate before it becomes the
  ``ceiling``;
- only a call that had to wait for its slot raises the rate (when demand is the limit, an answer
  says nothing about a higher pace; as RFC 7661 keeps an unused TCP window from growing);
- **slow start**: until the first decrease, answered calls raise the rate by ``SLOW_START`` per
  ``SLOW_START_S`` (not per call: a fast fleet compounds); its end is bounded by the rate answered over
  its last few seconds;
- **approach**: below ``APPROACH × ceiling`` each answered call closes a fraction of the gap;
- **climb**: above it, each answered call raises the rate by ``GROWTH × 2^(climb / DOUBLING)``
  (at most ``MAX_STEP``): slow right after a throttle, then faster the longer no throttle comes,
  so a capacity increase is found within a few dozen calls.

Deadline-aware: ``reserve`` takes a slot only if the call can start by ``latest_start``; otherwise it
answers ``Deferred`` with the wait, and the worker puts the job back on the queue with that delay.
Deferred callers are told to come back in a line (``DEFER_AHEAD`` × the pace, at most ``DEFER_SPREAD_S``
long), so a backlog is not received again all at once for each free slot.

Cost per image (on-demand DynamoDB, us-east-1 list price since 2024-11: $0.625 per million write
request units, $0.125 per million read request units; item < 1 KB): one strongly consistent read and
one conditional write to take a slot, one read and one write to record the outcome: 2 RRU + 2 WRU ≈
$0.0000015 per image (plus retries under contention).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

BETA = 0.85
"""Multiplicative decrease on a throttle."""
APPROACH = 0.95
"""Below this share of the last throttled rate, answered calls close the gap quickly."""
APPROACH_GAIN = 0.1
"""Share of the gap to the approach target closed by each answered call."""
GROWTH = 0.0005
"""Climbing: the first answered call after the approach raises the rate by 0.05 %…"""
DOUBLING = 25
"""…and the step doubles every this many answered calls without a throttle (or every ``DOUBLING_S``)…"""
DOUBLING_S = 4.0
MAX_STEP = 0.1
"""…up to 10 % per call, and never faster than slow start grows (×1.5 per 2 s of calls): at 150/min,
10 % a call compounds to ×1.6 per 2 s. In tests/unit/test_pacing.py's step run (the bench's: 150/min,
halved at 40 s, restored at 80 s) the pace then climbed to 4.0 × the restored capacity behind its burst
allowance, and 24 calls were throttled after the step up; with the bound, 2.4 × and 12, and the
utilisation after it is unchanged."""
SLOW_START = 0.5
"""Until the first throttle (no ceiling known), the rate grows by half…"""
SLOW_START_S = 2.0
"""…per answered call that waited for its slot, but at most once per this many seconds' worth of calls. A
fast fleet compounded per call: from the catalogue's 60/min the bench's fleet reached 23 × a 150/min
capacity before the emulator's 2-second burst reserve let the first throttle through, and 17 % of the
run's calls were throttled walking it back down (bench, 2026-12-02)."""
MIN_RATE = 1 / 600
"""Never slower than one call per ten minutes (a job is deferred, never dropped)."""
SLOW_START_WINDOW_S = 4.0
"""In slow start the answered rate is measured over about the last this many seconds (2–4)."""
MEASURE_MIN_S = 2.0
"""The answered rate since the last decrease bounds a decrease when measured over at least this long…"""
MEASURE_MIN_CALLS = 5
"""…and over at least this many answered calls (fewer say too little to act on)…"""
MEASURE_MAX_S = 10.0
"""…and over at most this long: the bound is for a burst reserve spent soon after a decrease. Over a
longer window the answered rate averages in stretches at an older, lower capacity, and after a capacity
increase the first throttle cut the pace below even the old capacity (bench step run, 2026-12-01)…"""
MEASURE_MAX_CALLS = 40
"""…or over at most this many answered calls, whichever allows more (at a slow pace, 10 s hold too few
calls to tell a spent reserve from noise: in tests/unit/test_pacing.py's simulation 40 keeps every
steady state as it was and lifts the utilisation after a capacity step up from 0.77–0.85 to ≥ 0.98)."""
FLOOR_SHARE = 0.25
"""The pace never drops below this share of where it started (the stack's planned RPM: a quota AWS
documents or the operator requested). ASSUMPTION, the safe side for the jobs: throttles that come at
any pace (Bedrock's own busy periods; the emulator's injected kind) look exactly like a spent capacity
to a caller, and without a floor a steady background of them drives AIMD to nothing. Below the floor
throttled calls are retried after seconds from the queue, never dead-lettered for it. AWS's own SDK makes
the same choice: botocore's adaptive retry mode cuts its rate on every throttle (CUBIC) and never below a
fixed floor (``botocore/retries/bucket.py``, ``TokenBucket._MIN_RATE = 0.5`` requests a second per
client, botocore 1.44)."""
TURNED_AWAY_S = 5.0
"""A call that did not wait for its slot still counts as paced (its answer may raise the rate) when a
caller was deferred within this long (or two intervals at the pace): deferred jobs come back through the
queue at their slot, so they never wait in-process, and a slow model fed only by them would otherwise
never grow past its starting pace (bench mixed run: Stable Image Core stuck at its catalogue 10/min
against a capacity of 30)."""
DEFER_AHEAD = 1.5
"""The line moves this much faster than the pace, as the pace may grow by then (slow start: ×1.5 per
2 s); a job that comes back to no free slot is deferred again."""
DEFER_SPREAD_S = 10.0
"""Deferred callers are told to come back in a line (see ``reserve``), at most this far beyond the next
free slot: a line longer than that is stale (jobs that never came back, a pace that grew since) or a
backlog deep enough that coming back every few seconds costs little. Told all to come back at the next
free slot, a backlog of 60 Titan jobs at 30/min was received 1,114 times; with a line one slot apart and
30 s long, 219 times, but a 40-job drain at 120/min took 35 s instead of 24 (jobs told to come back at
the pace of slow start's beginning, while it grew): hence ``DEFER_AHEAD`` and 10 s (bench, 2026-12-02)."""
SAVE_ATTEMPTS = 8
KEY_PREFIX = "imagegen.pace#"


@dataclass(frozen=True)
class PaceState:
    rate: float  # fleet-wide calls per second
    next_slot: float  # epoch seconds: the earliest start of the next call
    ceiling: float = 0.0  # the rate at the last counted throttle (0: none yet)
    decreased_at: float = 0.0  # epoch seconds of the last decrease
    climb: int = 0  # answered calls since the approach ended
    window_start: float = 0.0  # epoch seconds: since when ``window_answered`` counts (the last decrease)
    window_answered: int = 0  # calls the fleet got answered since ``window_start``
    window_units: float = 0.0  # the units of those calls (the rate is in units)
    last_cost: float = 1.0  # units of the last call granted a slot
    turned_away: float = 0.0  # epoch seconds: when a caller last got ``Deferred``
    deferred_line: float = 0.0  # epoch seconds: when the next deferred caller is told to come back
    version: int = 0


FIELDS = {name: kind for name, kind in PaceState.__annotations__.items()}


class PaceStore(Protocol):
    def load(self, model: str) -> PaceState | None: ...

    def save(self, model: str, state: PaceState, *, expected_version: int | None) -> bool:
        """Write ``state`` if the stored version is ``expected_version`` (None: no item yet)."""
        ...


class MemoryPaceStore:
    """The store of one process (tests, the sync API's single call): same semantics as DynamoDB's."""

    def __init__(self) -> None:
        self._items: dict[str, PaceState] = {}
        self._lock = threading.Lock()

    def load(self, model: str) -> PaceState | None:
        with self._lock:
            return self._items.get(model)

    def save(self, model: str, state: PaceState, *, expected_version: int | None) -> bool:
        with self._lock:
            current = self._items.get(model)
            if (current.version if current is not None else None) != expected_version:
                return False
            self._items[model] = state
            return True


class DynamoPaceStore:
    """One item per model in a table keyed by ``id`` (the idempotency table)."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def load(self, model: str) -> PaceState | None:
        item = self._ddb.get_item(
            TableName=self._table, Key={"id": {"S": KEY_PREFIX + model}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        values: dict[str, Any] = {
            name: (int if kind == "int" else float)(item[name]["N"]) for name, kind in FIELDS.items() if name in item
        }
        return PaceState(**values)

    def save(self, model: str, state: PaceState, *, expected_version: int | None) -> bool:
        from botocore.exceptions import ClientError

        item: dict[str, Any] = {"id": {"S": KEY_PREFIX + model}}
        for name, kind in FIELDS.items():
            value = getattr(state, name)
            item[name] = {"N": str(value) if kind == "int" else repr(float(value))}
        condition: dict[str, Any]
        if expected_version is None:
            condition = {"ConditionExpression": "attribute_not_exists(id)"}
        else:
            condition = {
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
            }
        try:
            self._ddb.put_item(TableName=self._table, Item=item, **condition)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


@dataclass(frozen=True)
class Grant:
    """A slot taken: the call may start at ``slot`` (epoch seconds)."""

    model: str
    slot: float
    rate: float
    waited: bool = True  # the slot was later than asked: the pace, not demand, was the limit
    granted_at: float = 0.0  # epoch seconds: when the slot was taken (at the pace of then)
    cost: float = 1.0  # units of the call


@dataclass(frozen=True)
class Deferred:
    """No slot early enough: try again in ``wait_s`` seconds (from the queue, not by sleeping)."""

    model: str
    wait_s: float


class FleetPacer:
    """``reserve`` → ``wait`` → call → ``answered`` or ``throttled``. Thread-safe; the store is the truth."""

    def __init__(
        self,
        store: PaceStore,
        start_rpm: Mapping[str, float],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self._start = {model: max(MIN_RATE, rpm / 60.0) for model, rpm in start_rpm.items() if rpm > 0}
        self._clock = clock
        self._sleep = sleep

    def start_rate(self, model: str) -> float:
        """Calls per second to start from: the stack's plan, else the catalogue's default quota."""
        if model in self._start:
            return self._start[model]
        from imagegen_service import catalogue

        try:
            return max(MIN_RATE, catalogue.lookup(model).quota.default_rpm / 60.0)
        except catalogue.UnknownModel:
            return 1.0

    def _load(self, model: str) -> tuple[PaceState, int | None]:
        state = self.store.load(model)
        if state is None:
            return PaceState(rate=self.start_rate(model), next_slot=self._clock()), None
        return state, state.version

    def _update(self, model: str, change: Callable[[PaceState, float], PaceState | None]) -> PaceState | None:
        """Read-modify-write with optimistic concurrency; ``change`` returning None writes nothing."""
        for _ in range(SAVE_ATTEMPTS):
            state, version = self._load(model)
            new = change(state, self._clock())
            if new is None:
                return None
            new = replace(new, version=state.version + 1)
            if self.store.save(model, new, expected_version=version):
                return new
        return None

    def reserve(self, model: str, *, latest_start: float, cost: float = 1.0) -> Grant | Deferred:
        """Take the model's next slot if the call can start by ``latest_start`` (epoch seconds)."""
        for _ in range(SAVE_ATTEMPTS):
            state, version = self._load(model)
            now = self._clock()
            slot = max(now, state.next_slot)
            if slot > latest_start:
                # Deferred callers come back in a line (DEFER_AHEAD x the pace, at most DEFER_SPREAD_S beyond
                # the next free slot), not all at the next free slot, where one would get it and the rest be
                # deferred again. Not a booking: a job coming back takes whatever slot is free then.
                line = min(max(slot, state.deferred_line), slot + DEFER_SPREAD_S)
                step = cost / (state.rate * DEFER_AHEAD)
                new = replace(state, turned_away=now, deferred_line=line + step, version=state.version + 1)
                if self.store.save(model, new, expected_version=version):
                    return Deferred(model, wait_s=line - now)
                continue

            new = replace(state, next_slot=slot + cost / state.rate, last_cost=cost, version=state.version + 1)
            if self.store.save(model, new, expected_version=version):
                # the pace was the limit if this call waited for its slot, or if callers were turned away
                # lately (a job deferred through the queue comes back at its slot: it waited there)
                # (within two intervals of calls this dear: a 4-unit call at 10 units/min comes every 24 s)
                recent = max(TURNED_AWAY_S, 2 * max(cost, state.last_cost) / state.rate)
                return Grant(
                    model,
                    slot=slot,
                    rate=state.rate,
                    waited=slot > now or (state.turned_away > 0 and now - state.turned_away < recent),
                    granted_at=now,
                    cost=cost,
                )
        # Heavy contention on the item: many containers are taking slots, so there is no shortage of callers.
        return Deferred(model, wait_s=1.0 / self.start_rate(model))

    def floor(self, model: str) -> float:
        return max(MIN_RATE, FLOOR_SHARE * self.start_rate(model))

    def wait(self, grant: Grant) -> float:
        delay = grant.slot - self._clock()
        if delay > 0:
            self._sleep(delay)
        return max(0.0, delay)

    def answered(self, grant: Grant) -> None:
        """Slow start, then a quick approach back towards the last throttled rate, then accelerating climbs."""

        def grow(state: PaceState, now: float) -> PaceState:
            # answered since the last decrease, by slot: this measures a rate over time, so a call granted
            # before the decrease but sent after it counts here (unlike a throttle's evidence, in ``throttled``)
            if grant.slot >= state.decreased_at:
                state = replace(
                    state,
                    window_start=state.window_start or now,
                    window_answered=state.window_answered + 1,
                    window_units=_units(state) + grant.cost,
                )
            if not grant.waited:
                # demand, not the pace, was the limit: no evidence a higher pace works
                return state
            if not state.ceiling:
                step = _slow_start_step(state, grant)
                if now - state.window_start > SLOW_START_WINDOW_S:
                    # keep the measure recent (the end of slow start is bounded by it): about the last few
                    # seconds, counting the older half as if it were as fast as the whole (so, if anything, low)
                    state = replace(
                        state,
                        window_start=now - (now - state.window_start) / 2,
                        window_answered=state.window_answered // 2,
                        window_units=state.window_units / 2,
                    )
                return replace(state, rate=state.rate * step)
            target = APPROACH * state.ceiling
            if state.rate < target:
                rate = state.rate + (target - state.rate) * APPROACH_GAIN
                return replace(state, rate=target if rate > 0.99 * target else rate)
            # the step doubles every DOUBLING answered calls or every DOUBLING_S seconds since the last
            # decrease, whichever is further: a capacity that grew is found in seconds even at a slow pace
            quiet_s = now - state.decreased_at if state.decreased_at else 0.0
            step = min(MAX_STEP, GROWTH * 2 ** max(state.climb / DOUBLING, quiet_s / DOUBLING_S))
            step = min(step, _slow_start_step(state, grant) - 1)
            return replace(state, rate=state.rate * (1 + step), climb=state.climb + 1)

        self._update(grant.model, grow)

    def throttled(self, grant: Grant) -> None:
        """Multiplicative decrease, once per generation of calls sent at the current pace."""

        def shrink(state: PaceState, now: float) -> PaceState | None:
            if (grant.granted_at or grant.slot) < state.decreased_at:
                # sent, or granted, at the pace before the last decrease: already answered for. A slot is granted
                # up to the worker's 2 s ahead, so one granted before a decrease comes after it at the old
                # spacing; counted, one overshoot cut the pace several times
                return None
            if not state.ceiling:  # slow start overshoots by up to its last steps: halve, as TCP does
                rate = state.rate * 0.5
                recent = True
            else:
                rate = state.rate * BETA
                # Only a recent window says that: a long one averages in an older, lower capacity.
                recent = state.window_answered <= MEASURE_MAX_CALLS or now - state.window_start <= MEASURE_MAX_S
            # A capacity that allows bursts hides an overshoot for a while: the rate the fleet got answered
            # since the last decrease (when the capacity's reserve was spent) bounds the decrease, and at
            # the end of slow start the rate answered over its last few seconds does.
            window = now - state.window_start if state.window_start else 0.0
            if window >= MEASURE_MIN_S and state.window_answered >= MEASURE_MIN_CALLS and recent:
                rate = min(rate, _units(state) / window)
            rate = max(self.floor(grant.model), rate)
            return replace(
                state,
                rate=rate,
                # the calls already granted go out at the old spacing; the next one waits the last one's
                # units at the new pace after it. After ``now`` only, it came too soon after them for a
                # one-unit capacity, was throttled and cut the pace again: through the queue at 30/min, 0.71 of
                # the capacity in tests/unit/test_pacing.py's simulation, 0.89 now
                next_slot=max(state.next_slot + state.last_cost * (1 / rate - 1 / state.rate), now + 1 / rate),
                ceiling=min(state.rate, rate / BETA),
                decreased_at=now,
                climb=0,
                window_start=now,
                window_answered=0,
                window_units=0.0,
            )

        self._update(grant.model, shrink)

    def state(self, model: str) -> PaceState:
        return self._load(model)[0]


def backoff_s(attempt: int, *, base: float = 1.0, cap: float = 30.0, rng: Callable[[], float] | None = None) -> float:
    """Seconds before retrying a failed job: full jitter over ``min(cap, base · 2^attempt)`` (AWS
    Architecture Blog, "Exponential Backoff And Jitter"), at least one second."""
    import random

    roll = (rng or random.random)()
    return max(1.0, math.ceil(roll * min(cap, base * 2**attempt)))


def _units(state: PaceState) -> float:
    """Units answered in the window; an item written before units were counted has calls only (one unit each)."""
    return state.window_units or float(state.window_answered)


def _slow_start_step(state: PaceState, grant: Grant) -> float:
    """The factor slow start grows the rate by for this call: ×(1 + SLOW_START) per SLOW_START_S seconds'
    worth of the fleet's calls (the call's units at the rate), at most once per call."""
    return float((1 + SLOW_START) ** min(1.0, grant.cost / (state.rate * SLOW_START_S)))
