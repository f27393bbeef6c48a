"""The fleet under a hidden capacity (issue 12; CONTRACT §4's fleet keys), scaled to this machine.

Two kinds of run, each with four worker containers (separate processes):

1. **Controller fleet** (``bench.fleet_worker``): four processes call the emulator through the real
   model client and the real fleet controller, sharing one DynamoDB item per model (moto server),
   against ``IMAGEGEN_EMULATOR_CAPACITY``. Only the model-call path runs; the capacity, 150 images a
   minute, is what four processes sustain with room to spare on a shared two-core machine (each call
   is an HTTP round trip to the emulator plus DynamoDB reads and writes to moto), and a run is a
   minute, not an hour:
   - steady: ``fleet_utilisation`` (answered per minute ÷ capacity over the second half) and
     ``fleet_throttled_ratio`` (throttled ÷ all calls over the whole run, start-up included);
   - step: the capacity halves at 40 s and doubles back at 80 s: ``capacity_step_recovery_s`` is the
     longer of the two times until a 5-second window is back at ≥ 90 % of the new capacity;
   - mixed: Titan at 150 a minute and Stable Image Core at 30, one backlog, for twice as long (Core starts
     from the catalogue's 10/min): the lower utilisation over the second half.
   The step run's rate over time is drawn to ``bench/results/fleet-rate.png``.
2. **Pipeline drains** (``imagegen local serve``'s fleet: the real API, worker handler, moderation,
   storage and signing, four worker processes): a Titan backlog at 120 a minute without faults and
   with 20 % throttles, 5 % timeouts, 5 % internal errors: ``fault_drain_ratio``, and over both,
   ``invocation_timeouts`` and ``dead_lettered``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.stats import ROOT

CONTAINERS = 4
TITAN = "titan-image-v1"
CORE = "stable-image-core"
CAPACITY = 150.0  # per minute: 2.5 images a second, what four processes sustain on a shared 2-core machine
CORE_CAPACITY = 30.0
DRAIN_CAPACITY = 120.0
DRAIN_FAULTS = "throttle=0.2,timeout=0.05,internal=0.05"
PLOT = ROOT / "bench" / "results" / "fleet-rate.png"
SAMPLE_S = 0.5


def _stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_emulator/stats", timeout=10) as answer:
        return dict(json.loads(answer.read()))


def controller_run(
    *, capacity: dict[str, float], seconds: float, schedule: str = "", models: tuple[str, ...] = (TITAN,)
) -> list[tuple[float, dict[str, dict[str, Any]]]]:
    """Run the controller fleet for ``seconds``; returns samples (t, per-model counters)."""
    import boto3
    from imagegen_emulator import server
    from imagegen_service import catalogue
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    table = f"pace-{int(time.time() * 1000)}"
    boto3.client(
        "dynamodb", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="b", aws_secret_access_key="b"
    ).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    emulator = server.start(capacity=capacity, schedule=schedule, use_env=False, seed=1)
    samples: list[tuple[float, dict[str, dict[str, Any]]]] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        emulator.reset()  # the schedule counts from here
        started = time.time()
        config = {
            "emulator_url": emulator.url,
            "dynamodb_url": moto_url,
            "table": table,
            # the catalogue's figure is only where the controller starts
            "start_rpm": {m: catalogue.lookup(m).quota.default_rpm for m in models},
            "models": list(models),
            "stop_at": started + seconds,
            "deadline_s": 30.0,
        }
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
        for worker in range(CONTAINERS):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bench.fleet_worker", json.dumps({**config, "worker": worker})],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        while time.time() < started + seconds:
            samples.append((time.time() - started, _stats(emulator.url)["models"]))
            time.sleep(SAMPLE_S)
        samples.append((time.time() - started, _stats(emulator.url)["models"]))
    finally:
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        emulator.stop()
        moto.stop()
    return samples


def _count(sample: dict[str, dict[str, Any]], model: str, outcome: str) -> int:
    return int(sample.get(model, {}).get(outcome, 0))


def rate_per_min(samples: list[tuple[float, dict[str, Any]]], model: str, start: float, end: float) -> float:
    """Answered calls per minute between the samples nearest ``start`` and ``end``."""
    first = min(samples, key=lambda s: abs(s[0] - start))
    last = min(samples, key=lambda s: abs(s[0] - end))
    span = last[0] - first[0]
    return (_count(last[1], model, "answered") - _count(first[1], model, "answered")) * 60 / span if span > 0 else 0.0


def recovery_s(samples: list[tuple[float, dict[str, Any]]], model: str, step_at: float, capacity: float) -> float:
    """Seconds after ``step_at`` until a 5-second window answers ≥ 90 % of ``capacity``; when it never
    does within the run, the seconds to the run's end (a lower bound, and ``*_recovered`` says false)."""
    for t, _ in samples:
        if t >= step_at and t + 5 <= samples[-1][0] and rate_per_min(samples, model, t, t + 5) >= 0.9 * capacity:
            return round(t - step_at, 1)
    return round(samples[-1][0] - step_at, 1)


def plot(samples: list[tuple[float, dict[str, Any]]], model: str, capacity_at: Any, path: Path) -> None:
    """Answered and throttled calls per minute (5-second windows) against the hidden capacity."""
    from PIL import Image, ImageDraw

    width, height, left, bottom, top = 900, 360, 60, 40, 20
    end = samples[-1][0]
    peak = max(capacity_at(t) for t, _ in samples) * 1.4
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)

    def xy(t: float, value: float) -> tuple[float, float]:
        return left + (width - left - 20) * t / end, height - bottom - (height - bottom - top) * min(value, peak) / peak

    draw.line([xy(0, 0), xy(end, 0)], fill="black")
    draw.line([xy(0, 0), xy(0, peak)], fill="black")
    for tick in range(0, int(peak) + 1, max(1, int(peak / 5 / 100) * 100 or 100)):
        draw.text((5, xy(0, tick)[1] - 6), str(tick), fill="black")
    for tick in range(0, int(end) + 1, 20):
        draw.text((xy(tick, 0)[0] - 6, height - bottom + 5), f"{tick}s", fill="black")
    draw.line([xy(t, capacity_at(t)) for t, _ in samples], fill=(120, 120, 120), width=2)
    answered, throttled = [], []
    for t, _ in samples:
        if t + 5 <= end:
            answered.append(xy(t + 2.5, rate_per_min(samples, model, t, t + 5)))
            first = min(samples, key=lambda s: abs(s[0] - t))
            last = min(samples, key=lambda s: abs(s[0] - t - 5))
            refused = (_count(last[1], model, "throttled") - _count(first[1], model, "throttled")) * 12
            throttled.append(xy(t + 2.5, refused))
    draw.line(answered, fill=(30, 90, 200), width=2)
    draw.line(throttled, fill=(210, 40, 40), width=1)
    draw.text((left + 10, top), "answered/min (blue), throttled/min (red), hidden capacity (grey)", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def controller_keys(quick: bool) -> dict[str, Any]:
    seconds = 40.0 if quick else 60.0
    steady = controller_run(capacity={TITAN: CAPACITY}, seconds=seconds)
    last = steady[-1][1]
    calls = _count(last, TITAN, "answered") + _count(last, TITAN, "throttled")
    step_len = 30.0 if quick else 40.0
    schedule = f"{step_len:g}:{TITAN}={CAPACITY / 2:g};{2 * step_len:g}:{TITAN}={CAPACITY:g}"
    step = controller_run(capacity={TITAN: CAPACITY}, seconds=3 * step_len, schedule=schedule)
    plot(
        step,
        TITAN,
        lambda t: CAPACITY / 2 if step_len <= t < 2 * step_len else CAPACITY,
        PLOT,
    )
    # Stable Image Core starts from the catalogue's 10/min, a third of its capacity here: the mixed run is
    # twice as long, so its second half is a steady state for both models rather than Core's start-up
    mixed_s = 2 * seconds
    mixed = controller_run(capacity={TITAN: CAPACITY, CORE: CORE_CAPACITY}, seconds=mixed_s, models=(TITAN, CORE))
    half = seconds / 2
    mixed_by_model = {
        TITAN: round(rate_per_min(mixed, TITAN, mixed_s / 2, mixed_s) / CAPACITY, 3),
        CORE: round(rate_per_min(mixed, CORE, mixed_s / 2, mixed_s) / CORE_CAPACITY, 3),
    }
    halved = recovery_s(step, TITAN, step_len, CAPACITY / 2)
    doubled = recovery_s(step, TITAN, 2 * step_len, CAPACITY)
    return {
        "fleet_utilisation": round(rate_per_min(steady, TITAN, half, seconds) / CAPACITY, 3),
        "fleet_throttled_ratio": round(_count(last, TITAN, "throttled") / calls, 4) if calls else None,
        "capacity_step_recovery_s": max(halved, doubled),
        "capacity_step_recovered": max(halved, doubled) < step_len - 5,
        "capacity_halved_recovery_s": halved,
        "capacity_doubled_recovery_s": doubled,
        "mixed_backlog_min_utilisation": min(mixed_by_model.values()),
        "mixed_backlog_utilisation": mixed_by_model,
        "fleet_containers": CONTAINERS,
        "fleet_capacity_per_min": CAPACITY,
        "fleet_steady_calls": calls,
        "fleet_plot": str(PLOT.relative_to(ROOT)),
    }


@contextlib.contextmanager
def _children_log_to_stdout() -> Iterator[None]:
    """The worker containers' logs (Powertools' JSON and EMF lines, on their stderr as on Lambda) go where
    this process's stdout goes: the run log under ``python -m bench`` (``runner.stdout_to_log``), not the
    console, where they buried the results (about 50 lines a run)."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(1, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def pipeline_drain(jobs: int, faults: str) -> dict[str, Any]:
    """A Titan backlog through the local platform's worker fleet; seconds until every job settled."""
    from imagegen_local.client import BearerAuth, ImagegenClient
    from imagegen_local.embedded import EmulatorKnobs
    from imagegen_local.serve import LocalOptions
    from imagegen_platform.cli.local import local_platform

    from bench.harness import BENCH_STACK_FILE, jobs_by_status, pinned_env

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="imagegen-bench-fleet-") as state:
        options = LocalOptions(
            stack="bench-fleet",
            config_file=BENCH_STACK_FILE,
            token="bench-token",
            knobs=EmulatorKnobs(rpm=[], faults=faults, latency_ms=0, capacity=[f"{TITAN}={DRAIN_CAPACITY:g}"]),
            root=Path(state),
            fleet=CONTAINERS,
        )
        with (
            pinned_env({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}),
            _children_log_to_stdout(),
            local_platform(options) as platform,
        ):
            client = ImagegenClient(platform.url, BearerAuth(platform.token), timeout=120)
            requests = [
                {
                    "model": TITAN,
                    "prompt": f"fleet drain {faults or 'clean'} {i}",
                    "seed": i + 1,
                    "width": 512,
                    "height": 512,
                }
                for i in range(jobs)
            ]
            started = time.monotonic()
            job_ids = {job["job_id"] for job in client.submit(requests)["jobs"]}
            records: dict[str, dict[str, Any]] = {}
            while time.monotonic() - started < 600:
                records = jobs_by_status(platform, job_ids)
                if len(records) == jobs and all(
                    r["status"] in ("succeeded", "failed", "blocked") or r["dead_lettered"] for r in records.values()
                ):
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            assert platform.fleet is not None
            fleet = platform.fleet.stats.as_dict()
    return {
        "drain_s": round(elapsed, 2),
        "succeeded": sum(1 for r in records.values() if r["status"] == "succeeded"),
        "dead_lettered": sum(1 for r in records.values() if r["dead_lettered"]),
        "invocation_timeouts": fleet["invocation_timeouts"],
        "longest_invocation_s": fleet["longest_invocation_s"],
    }


def measure(quick: bool) -> dict[str, Any]:
    results = controller_keys(quick)
    jobs = 20 if quick else 40
    clean = pipeline_drain(jobs, "")
    faulty = pipeline_drain(jobs, DRAIN_FAULTS)
    results |= {
        "fault_drain_ratio": round(faulty["drain_s"] / clean["drain_s"], 3),
        "invocation_timeouts": clean["invocation_timeouts"] + faulty["invocation_timeouts"],
        "dead_lettered": clean["dead_lettered"] + faulty["dead_lettered"],
        "fleet_drain_jobs": jobs,
        "fleet_drain_capacity_per_min": DRAIN_CAPACITY,
        "fleet_drain_clean": clean,
        "fleet_drain_faults": faulty,
    }
    return results


if __name__ == "__main__":
    print(json.dumps(controller_keys(quick="--quick" in sys.argv), indent=2))
