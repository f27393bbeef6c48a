"""Backlog drains against the emulator's RPM quota: pacing (no faults), then faults.

A backlog of Titan G1 jobs goes in through the real API (``POST /v1/jobs``), then pollers standing
in for Lambda's SQS event source mapping hand batches (the stack's batch size) to the real worker
handler, which paces model calls with the model client's ``RateLimiter`` at the worker's
``IMAGEGEN_MODEL_RPM``. The emulator enforces the same RPM as a sliding 60-second window and
counts every call, throttle and answered request fingerprint.

The quota is scaled to this machine: everything (moto, emulator, API, worker) runs in one Python
process, which sustains about 2.6 jobs/s on 2 cores, so the quota is 120 RPM (2 calls/s) rather than
Bedrock's; pacing is what is measured, and it is independent of the absolute rate.

- pacing: ``quota_utilisation`` = images per minute achieved (first poll → last job finished) ÷ RPM;
  ``throttled_calls`` = calls the emulator refused over the quota.
- faults: the same drain with injected throttles (20 %) and model timeouts (5 %); ``lost_jobs`` =
  jobs neither finished (succeeded/failed/blocked) nor in the DLQ with a recorded reason;
  ``duplicate_invocations`` = answered model calls beyond the first per request fingerprint (every
  job's prompt is unique, so a second answered call is a job paid twice). Jobs that reach the DLQ
  are redriven and must then finish.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from imagegen_local import dlq, queues
from imagegen_service import config as cfg

from bench.harness import api_client, bench_platform, emulator_stats, jobs_by_status, wait_for

MODEL = "titan-image-v1"
RPM = 120
POLLERS = 1
"""One invocation at a time, as in one Lambda container: the worker's module-level Powertools
BatchProcessor keeps per-invocation state, so two concurrent invocations in one process would mix up
their batch item failures (a failed message deleted = a lost job). Lambda never does that."""
VISIBILITY_TIMEOUT_S = 10  # short stand-in for the queue's 6 × function timeout, so retries come back soon
FAULTS = "throttle=0.2,timeout=0.05"
FINISHED = ("succeeded", "failed", "blocked")


def _submit(platform: Any, count: int, tag: str) -> set[str]:
    client = api_client(platform)
    job_ids: set[str] = set()
    for start in range(0, count, 100):
        requests = [
            {
                "model": MODEL,
                "prompt": f"{tag} backlog job {i}: a lighthouse at dusk",
                "seed": i,
                "width": 512,
                "height": 512,
            }
            for i in range(start, min(count, start + 100))
        ]
        job_ids |= {job["job_id"] for job in client.submit(requests)["jobs"]}
    return job_ids


def _drain(platform: Any, job_ids: set[str], *, timeout: float) -> tuple[float, float, dict[str, dict[str, Any]]]:
    """Run the pollers until every job is finished or dead-lettered.

    Returns (seconds from the first answered model call to the last, seconds until every job
    settled, job records). The emulator's counters are cheap to poll; the jobs table is scanned only once the
    model has answered once per job, so the watcher does not compete with the worker meanwhile.
    """
    pollers = [platform.new_worker(visibility_timeout=VISIBILITY_TIMEOUT_S) for _ in range(POLLERS)]
    started = time.monotonic()
    for poller in pollers:
        poller.start()
    records: dict[str, dict[str, Any]] = {}

    def settled() -> bool:
        nonlocal records
        records = jobs_by_status(platform, job_ids)
        return len(records) == len(job_ids) and all(
            r["status"] in FINISHED or r["dead_lettered"] for r in records.values()
        )

    try:
        wait_for(lambda: emulator_stats(platform)["invocations_total"] >= 1, timeout=timeout, interval=0.02)
        first = time.monotonic() - started
        wait_for(lambda: emulator_stats(platform)["invocations_total"] >= len(job_ids), timeout=timeout, interval=0.02)
        answered = time.monotonic() - started - first
        wait_for(settled, timeout=timeout, interval=0.5)
        elapsed = time.monotonic() - started
    finally:
        for poller in pollers:
            poller.stop()
    return answered, elapsed, jobs_by_status(platform, job_ids)


def _configure_worker_rpm() -> None:
    # The worker reads IMAGEGEN_MODEL_RPM per invocation (RuntimeConfig.from_env): scale it with the emulator.
    os.environ[cfg.ENV_MODEL_RPM] = json.dumps({MODEL: RPM})


def pacing(jobs: int) -> dict[str, Any]:
    with bench_platform("bench-pace", rpm={MODEL: RPM}) as platform:
        _configure_worker_rpm()
        job_ids = _submit(platform, jobs, "pace")
        answered, elapsed, records = _drain(platform, job_ids, timeout=jobs * 60 / RPM * 3 + 30)
        stats = emulator_stats(platform)
    succeeded = sum(1 for r in records.values() if r["status"] == "succeeded")
    calls = sum(stats["requests"].values())
    throttled = int(stats["throttled_total"])
    return {
        # N calls evenly paced span N − 1 intervals: images/minute = (N − 1) / span
        "quota_utilisation": round((stats["images_returned"] - 1) / (answered / 60) / RPM, 3),
        "throttled_calls": throttled,
        "throttled_share": round(throttled / calls, 4) if calls else 0.0,
        "pacing_jobs": jobs,
        "pacing_succeeded": succeeded,
        "pacing_model_calls": calls,
        "pacing_images_s": round(answered, 2),
        "pacing_drain_s": round(elapsed, 2),
        "pacing_rpm": RPM,
    }


def faults(jobs: int) -> dict[str, Any]:
    with bench_platform("bench-faults", rpm={MODEL: RPM}, faults=FAULTS) as platform:
        _configure_worker_rpm()
        job_ids = _submit(platform, jobs, "faults")
        _, elapsed, records = _drain(platform, job_ids, timeout=jobs * 60 / RPM * 4 + 90)
        assert platform.aws is not None and platform.aws.data_plane is not None
        plane = platform.aws.data_plane
        sqs = platform.aws.client("sqs")
        in_dlq = {m["job_id"] for m in dlq.peek(sqs, plane.dlq_url, limit=jobs) if m.get("job_id")}
        dead = {job_id for job_id, r in records.items() if r["dead_lettered"] and r["status"] not in FINISHED}
        redriven = 0
        if dead:
            # Redrive the DLQ, then drain again: dead-lettered jobs must finish after a redrive.
            redriven = dlq.move_by_hand(sqs, plane.dlq_url, plane.queue_url).moved or 0
            _, _, records = _drain(platform, job_ids, timeout=len(dead) * 60 / RPM * 4 + 90)
        stats = emulator_stats(platform)
        leftover = queues.depth(sqs, plane.queue_url)
    finished = {job_id for job_id, r in records.items() if r["status"] in FINISHED}
    accounted = finished | (in_dlq & {j for j, r in records.items() if r["error"] not in (None, {"NULL": True})})
    return {
        "lost_jobs": len(job_ids - accounted),
        "duplicate_invocations": int(stats["duplicate_invocations"]),
        "faults_jobs": jobs,
        "faults_succeeded": sum(1 for r in records.values() if r["status"] == "succeeded"),
        "faults_failed_or_blocked": sum(1 for r in records.values() if r["status"] in ("failed", "blocked")),
        "faults_dead_lettered": len(dead),
        "faults_redriven": redriven,
        "faults_injected": stats["faults"],
        "faults_model_calls": sum(stats["requests"].values()),
        "faults_answered_calls": stats["invocations_total"],
        # cross-check from the job records: answered calls beyond one per succeeded job
        "faults_answered_beyond_succeeded": stats["invocations_total"]
        - sum(1 for r in records.values() if r["status"] == "succeeded"),
        "faults_queue_leftover": leftover,
        "faults_drain_s": round(elapsed, 2),
        "faults_spec": FAULTS,
    }


def measure(quick: bool) -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    saved = os.environ.get(cfg.ENV_MODEL_RPM)
    try:
        return {**pacing(20 if quick else 240), **faults(16 if quick else 120)}
    finally:
        if saved is None:
            os.environ.pop(cfg.ENV_MODEL_RPM, None)
        else:
            os.environ[cfg.ENV_MODEL_RPM] = saved
