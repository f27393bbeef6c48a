"""A worker process killed mid-batch (SIGKILL: no cleanup, as when Lambda's sandbox dies).

The killed worker's in-flight messages come back after their visibility timeout and another worker
finishes every job; a job the model had already answered for is not paid for again unless it was
the one in flight at the moment of the kill.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest
from imagegen_local.serve import LocalPlatform

from tests.faults.accounting import drain, ledger, queue_empty, submit
from tests.faults.local import ROOT, emulator_reset, emulator_stats

pytestmark = pytest.mark.faults

CHILD_VISIBILITY_S = 2
CHILD_TIMEOUT_S = 8  # the function timeout the child reports: its fingerprint leases last ~3 s

WORKER = """
import os, sys
from imagegen_local.event_source import QueueEventSource
from imagegen_service.handlers import worker
import boto3
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
source = QueueEventSource(
    sqs=sqs, queue_url=sys.argv[1], queue_arn=sys.argv[2], region=os.environ["AWS_REGION"],
    handler=worker.handler, function_name="imagegen-killed-worker", batch_size=5,
    function_timeout_seconds=float(sys.argv[3]), visibility_timeout=int(sys.argv[4]),
)
print("worker ready", flush=True)
while True:
    source.poll_once()
"""


def test_a_worker_killed_mid_batch_loses_no_job(platform: LocalPlatform) -> None:
    # GIVEN ten queued jobs and a worker in its own process
    assert platform.aws is not None and platform.aws.data_plane is not None
    emulator_reset(platform)
    job_ids = set(submit(platform, [f"killed worker {uuid.uuid4().hex} #{i}: a glass fox" for i in range(10)]))
    plane = platform.aws.data_plane
    env = {**os.environ, **platform.environment, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", WORKER, plane.queue_url, plane.queue_arn, str(CHILD_TIMEOUT_S), str(CHILD_VISIBILITY_S)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # WHEN it is killed at a random point of its first batch of five (after 1–4 answered calls)
        kill_after = random.randint(1, 4)
        deadline = time.monotonic() + 60
        while emulator_stats(platform)["invocations_total"] < kill_after and time.monotonic() < deadline:
            assert child.poll() is None, "the worker process died on its own"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        answered_before_kill = emulator_stats(platform)["invocations_total"]
        assert kill_after <= answered_before_kill < len(job_ids), (
            f"the kill (after {kill_after}) did not land mid-drain"
        )
        # AND another worker drains the queue
        assert drain(platform, lambda: queue_empty(platform), timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    # THEN every job succeeded
    book = ledger(platform, job_ids)
    assert {book.status(j) for j in job_ids} == {"succeeded"}, json.dumps(book.records, default=str)[:2000]
    # AND at most the one call in flight at the kill was paid twice
    assert emulator_stats(platform)["duplicate_invocations"] <= 1
