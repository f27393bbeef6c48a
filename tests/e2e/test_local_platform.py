"""Killing the worker mid-batch loses no job: SQS redelivers after the visibility timeout.

The real API and worker handlers run on the embedded platform (moto server + emulator). The first
worker dies (SystemExit in its thread, as a crashed Lambda container) after receiving a batch —
once before processing it, once after processing but before deleting the messages. A fresh worker
then drains the queue: every job ends terminal, nothing is left on the queue or the DLQ, and no
model is called twice for the same job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from imagegen_local import dlq
from imagegen_local.client import BearerAuth, ImagegenClient
from imagegen_local.serve import LocalOptions, LocalPlatform

pytestmark = pytest.mark.e2e

VISIBILITY_S = 2  # the stack's queue says 360 s (6 × the worker timeout); tests cannot wait that long
JOBS = 6  # more than one batch (the graph's event source mapping says 5)


@pytest.fixture(scope="module")
def platform(
    stack_graph: Callable[[str], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPlatform]:
    options = LocalOptions(worker=False, root=tmp_path_factory.mktemp("root"))
    with LocalPlatform(options, graph=stack_graph("local")) as running:
        yield running


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("dies", ["before processing", "after processing, before deleting"])
def test_worker_killed_mid_batch_loses_no_job(platform: LocalPlatform, dies: str, tmp_path: Path) -> None:
    assert platform.aws is not None and platform.aws.data_plane is not None
    sqs = platform.aws.client("sqs")
    plane = platform.aws.data_plane
    client = ImagegenClient(platform.url, BearerAuth(platform.token))
    stats_before = platform.aws.emulator_stats()
    # GIVEN a batch of jobs on the queue
    start = 1000 if dies.startswith("before") else 2000
    answer = client.submit(
        [{"model": "titan-image-v1", "prompt": f"a paper kite ({dies})", "seed_sweep": {"start": start, "count": JOBS}}]
    )
    job_ids = [job["job_id"] for job in answer["jobs"]]
    assert len(job_ids) == JOBS
    real = platform.worker_handler

    def crashing(event: dict[str, Any], context: Any) -> Any:
        if dies.startswith("after"):
            real(event, context)
        raise SystemExit("worker killed")  # the thread dies: no delete, no partial response

    # WHEN the first worker dies holding one batch
    first = platform.new_worker(crashing, visibility_timeout=VISIBILITY_S)
    first.start()
    _wait(lambda: not first.running, 30, "the first worker to die")
    assert first.stats.received == platform.view.batch_size and first.stats.deleted == 0
    # AND a new worker starts
    second = platform.new_worker(visibility_timeout=VISIBILITY_S)
    second.start()
    try:
        _wait(
            lambda: all(client.job(j)["status"] in ("succeeded", "failed", "blocked") for j in job_ids),
            90,
            "every job to finish",
        )
        _wait(lambda: dlq.depth(sqs, plane.queue_url) == 0, 30, "the queue to drain")
    finally:
        second.stop()
    # THEN every job succeeded, nothing is lost or dead-lettered, and no model call was repeated
    assert {client.job(j)["status"] for j in job_ids} == {"succeeded"}
    assert dlq.depth(sqs, plane.dlq_url) == 0
    stats = platform.aws.emulator_stats()
    assert stats["invocations_total"] - stats_before["invocations_total"] == JOBS
    assert stats["duplicate_invocations"] == stats_before["duplicate_invocations"]
