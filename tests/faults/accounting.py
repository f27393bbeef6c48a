"""Where every job ended: the jobs table, the queues, the DLQ; and a drain loop for the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imagegen_local import dlq, queues
from imagegen_local.client import BearerAuth, ImagegenClient
from imagegen_local.serve import LocalPlatform
from imagegen_service import config as cfg

FINISHED = frozenset({"succeeded", "failed", "blocked"})
VISIBILITY_S = 1


@dataclass(frozen=True)
class Ledger:
    """Every job of a test, by where it ended."""

    records: dict[str, dict[str, Any]]
    in_dlq: set[str]

    def status(self, job_id: str) -> str:
        return str(self.records[job_id]["status"])

    @property
    def finished(self) -> set[str]:
        return {j for j, r in self.records.items() if r["status"] in FINISHED}

    @property
    def dead_lettered_with_reason(self) -> set[str]:
        return {j for j, r in self.records.items() if r.get("dead_lettered") and r.get("error") and j in self.in_dlq}

    def lost(self, job_ids: set[str]) -> set[str]:
        """Jobs neither finished nor in the DLQ with a recorded reason."""
        return job_ids - self.finished - self.dead_lettered_with_reason

    def failed_without_reason(self) -> set[str]:
        return {j for j, r in self.records.items() if r["status"] in ("failed", "blocked") and not r.get("error")}


def client(platform: LocalPlatform) -> ImagegenClient:
    return ImagegenClient(platform.url, BearerAuth(platform.token), timeout=60)


def submit(platform: LocalPlatform, prompts: list[str], **fields: Any) -> list[str]:
    requests = [{"model": "titan-image-v1", "prompt": p, "width": 512, "height": 512, **fields} for p in prompts]
    return [job["job_id"] for job in client(platform).submit(requests)["jobs"]]


def job_records(platform: LocalPlatform, job_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The job records straight from the jobs table (deserialised)."""
    from boto3.dynamodb.types import TypeDeserializer

    assert platform.aws is not None
    ddb = platform.aws.client("dynamodb")
    plain = TypeDeserializer()
    found: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": platform.environment[cfg.ENV_JOBS_TABLE]}
    while True:
        page = ddb.scan(**kwargs)
        for item in page.get("Items", []):
            record = {k: plain.deserialize(v) for k, v in item.items()}
            if record.get("job_id") in job_ids and record.get("sk") == "JOB":
                found[str(record["job_id"])] = record
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def dlq_messages(platform: LocalPlatform) -> list[dict[str, Any]]:
    assert platform.aws is not None and platform.aws.data_plane is not None
    return dlq.peek(platform.aws.client("sqs"), platform.aws.data_plane.dlq_url, limit=100)


def ledger(platform: LocalPlatform, job_ids: set[str]) -> Ledger:
    in_dlq = {m["job_id"] for m in dlq_messages(platform) if m.get("job_id")}
    return Ledger(job_records(platform, job_ids), in_dlq)


def queue_empty(platform: LocalPlatform) -> bool:
    assert platform.aws is not None and platform.aws.data_plane is not None
    return queues.is_empty(platform.aws.client("sqs"), platform.aws.data_plane.queue_url)


def drain(platform: LocalPlatform, done: Callable[[], bool], *, timeout: float = 40.0) -> bool:
    """Poll the jobs queue with the real worker until ``done()`` (checked between batches)."""
    poller = platform.new_worker(visibility_timeout=VISIBILITY_S)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if poller.poll_once() == 0 and done():
            return True
    return done()


def redrive(platform: LocalPlatform) -> int:
    assert platform.aws is not None and platform.aws.data_plane is not None
    plane = platform.aws.data_plane
    return dlq.move_by_hand(platform.aws.client("sqs"), plane.dlq_url, plane.queue_url).moved or 0
