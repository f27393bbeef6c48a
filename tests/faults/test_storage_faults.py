"""S3 and DynamoDB errors inside the worker: jobs retry, dead-letter with a reason, and a redrive
finishes them. Errors are injected with botocore ``before-call`` hooks on the service's own clients
(the clients ``pipeline.services_for`` built for this configuration), so the service code runs as is.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from imagegen_local.serve import LocalPlatform
from imagegen_service.config import RuntimeConfig
from imagegen_service.pipeline import services_for

from tests.faults.accounting import drain, ledger, queue_empty, redrive, submit
from tests.faults.local import emulator_reset, emulator_stats

pytestmark = pytest.mark.faults


@contextmanager
def failing_calls(operations: dict[tuple[str, str], int]) -> Iterator[dict[str, int]]:
    """Fail every n-th call of each (service, operation) with a 500 after botocore's own retries.

    A ``before-call`` handler that returns a response short-circuits the call: the client raises
    the ClientError a persistent AWS fault would end in. ``n = 1`` fails every call.
    """
    services = services_for(RuntimeConfig.from_env())
    counters = {key: itertools.count(1) for key in operations}
    injected = dict.fromkeys((f"{s}.{o}" for s, o in operations), 0)
    registered: list[tuple[Any, str, Any]] = []
    for (service, operation), every in operations.items():

        def fail(service: str = service, operation: str = operation, every: int = every, **_: Any) -> Any:
            if next(counters[(service, operation)]) % every:
                return None
            injected[f"{service}.{operation}"] += 1
            response = AWSResponse("https://injected.invalid", 500, {}, None)
            body = {"Error": {"Code": "InternalError", "Message": f"injected {service} {operation} fault"}}
            return response, {**body, "ResponseMetadata": {"HTTPStatusCode": 500}}

        events = services.client(service).meta.events
        name = f"before-call.{service}.{operation}"
        events.register(name, fail)
        registered.append((events, name, fail))
    try:
        yield injected
    finally:
        for events, name, handler in registered:
            events.unregister(name, handler)


def test_s3_and_dynamodb_errors_lose_no_job(platform: LocalPlatform) -> None:
    # GIVEN jobs and a worker whose S3 writes and DynamoDB job updates fail now and then
    emulator_reset(platform)
    job_ids = set(submit(platform, [f"storage faults {uuid.uuid4().hex} #{i}: a tin robot" for i in range(6)]))
    faults = {("s3", "PutObject"): 2, ("dynamodb", "TransactWriteItems"): 3, ("dynamodb", "UpdateItem"): 4}
    with failing_calls(faults) as injected:
        # WHEN the worker drains the queue
        assert drain(platform, lambda: queue_empty(platform), timeout=90)
    # THEN faults really happened, and every job is finished or dead-lettered with a reason
    assert sum(injected.values()) >= 3, injected
    book = ledger(platform, job_ids)
    assert book.lost(job_ids) == set(), {j: book.records.get(j) for j in book.lost(job_ids)}
    assert book.failed_without_reason() == set()
    # AND once the faults are gone a redrive finishes whatever was dead-lettered
    if book.in_dlq & job_ids:
        assert redrive(platform) >= len(book.in_dlq & job_ids)
        assert drain(platform, lambda: queue_empty(platform))
    final = ledger(platform, job_ids)
    assert {final.status(j) for j in job_ids} == {"succeeded"}
    # AND no job that succeeded was generated twice after it succeeded
    assert emulator_stats(platform)["invocations_total"] >= len(job_ids)


def test_jobs_that_always_fail_are_dead_lettered_with_a_reason_and_a_redrive_completes_them(
    platform: LocalPlatform,
) -> None:
    # GIVEN S3 refuses every write while two jobs are processed
    job_ids = set(submit(platform, [f"dlq {uuid.uuid4().hex} #{i}: a paper boat" for i in range(2)]))
    with failing_calls({("s3", "PutObject"): 1}) as injected:
        # WHEN the worker has received each message maxReceiveCount times
        assert drain(platform, lambda: queue_empty(platform), timeout=60)
    # THEN both are in the DLQ and their records say why
    assert injected["s3.PutObject"] >= 2
    book = ledger(platform, job_ids)
    assert book.dead_lettered_with_reason == job_ids, book.records
    assert all("injected s3 PutObject fault" in str(book.records[j]["error"]) for j in job_ids)
    # AND a redrive (receive → send → delete, moto has no StartMessageMoveTask) completes them
    assert redrive(platform) >= 2
    assert drain(platform, lambda: queue_empty(platform))
    assert {ledger(platform, job_ids).status(j) for j in job_ids} == {"succeeded"}
