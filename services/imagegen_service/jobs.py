"""The job store: job records and image metadata in the jobs table (single-table design).

Items (AGENTS.md key schema ``pk``/``sk``, GSI ``gsi1`` on ``gsi1pk``/``gsi1sk``):

* job    ``pk=JOB#<job_id>``  ``sk=JOB``   ``gsi1pk=BATCH#<batch_id>`` ``gsi1sk=<created_at>#<seq>#<job_id>``
* image  ``pk=IMAGE#<image_id>`` ``sk=META`` (image_id = the image's sha256: content-addressed)

Status transitions are conditional writes, so a redelivered or duplicated message can never move a
finished job backwards: queued → running (claim) → succeeded | failed | blocked (complete);
running → queued (retryable failure, ``last_error`` set; ``dead_lettered`` once SQS gives up).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError
from imagegen_service.dynamo import from_item, to_item, to_value

BATCH_WRITE_CHUNK = 25  # DynamoDB BatchWriteItem limit
JOB_SK = "JOB"
IDEMPOTENCY_KEY_TTL_S = 24 * 3600
IDEMPOTENCY_IN_FLIGHT = "in-flight"
IDEMPOTENCY_DONE = "done"
IMAGE_SK = "META"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BLOCKED = "blocked"


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.BLOCKED})


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_key(job_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": JOB_SK}}


def image_key(image_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"IMAGE#{image_id}"}, "sk": {"S": IMAGE_SK}}


def job_item(job: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a job dict (which must carry job_id, batch_id, created_at)."""
    return {
        **to_item(job),
        **job_key(job["job_id"]),
        "gsi1pk": {"S": f"BATCH#{job['batch_id']}"},
        # seq keeps a batch in submission order (its jobs share created_at).
        "gsi1sk": {"S": f"{job['created_at']}#{int(job.get('seq', 0)):05d}#{job['job_id']}"},
    }


_INTERNAL = ("pk", "sk", "gsi1pk", "gsi1sk")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    values = from_item(item)
    for name in _INTERNAL:
        values.pop(name, None)
    return values


@dataclass(frozen=True)
class Claim:
    """Outcome of claiming a job for processing: ``job`` when claimed, else why not."""

    job: dict[str, Any] | None
    existing_status: str | None  # set when the job exists but is already finished
    missing: bool = False


class JobStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    # ------------------------------------------------------------------ writes
    def create(self, jobs: list[dict[str, Any]]) -> None:
        """Write new job records (BatchWriteItem in chunks of 25, unprocessed items retried)."""
        for start in range(0, len(jobs), BATCH_WRITE_CHUNK):
            chunk = jobs[start : start + BATCH_WRITE_CHUNK]
            self._batch_write({self._table: [{"PutRequest": {"Item": job_item(job)}} for job in chunk]})

    def claim(self, job_id: str, *, receive_count: int) -> Claim:
        """queued|running → running, counting the attempt; returns the claimed record."""
        try:
            response = self._ddb.update_item(
                TableName=self._table,
                Key=job_key(job_id),
                UpdateExpression=(
                    "SET #s = :running, started_at = if_not_exists(started_at, :now), updated_at = :now, "
                    "attempts = if_not_exists(attempts, :zero) + :one, receive_count = :rc REMOVE dead_lettered"
                ),
                ConditionExpression="attribute_exists(pk) AND #s IN (:queued, :running)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":running": {"S": JobStatus.RUNNING},
                    ":queued": {"S": JobStatus.QUEUED},
                    ":now": {"S": now_iso()},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":rc": {"N": str(receive_count)},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item")
            if not old:
                old = self._get_raw(job_id)
            if not old:
                return Claim(job=None, existing_status=None, missing=True)
            return Claim(job=None, existing_status=from_item(old).get("status"))
        return Claim(job=_public(response["Attributes"]), existing_status=None)

    def claim_snapshot(self, job: dict[str, Any], *, receive_count: int) -> Claim:
        """The same transition as ``claim`` for a message that carries the job as created.

        One conditional PutItem of the snapshot with status running: no read, no update expression
        (the job's request never changes after creation; only status fields do). ``attempts`` is the
        SQS receive count; ``last_error``/``dead_lettered`` of the previous attempt are cleared.
        """
        stamp = now_iso()
        running = {
            **{k: v for k, v in job.items() if k not in ("dead_lettered", "last_error", "error")},
            "status": str(JobStatus.RUNNING),
            "attempts": receive_count,
            "receive_count": receive_count,
            "started_at": stamp,
            "updated_at": stamp,
        }
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=job_item(running),
                ConditionExpression="attribute_exists(pk) AND #s IN (:queued, :running)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":running": {"S": JobStatus.RUNNING}, ":queued": {"S": JobStatus.QUEUED}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item") or self._get_raw(job["job_id"])
            if not old:
                return Claim(job=None, existing_status=None, missing=True)
            return Claim(job=None, existing_status=from_item(old).get("status"))
        return Claim(job=running, existing_status=None)

    def complete(
        self, job_id: str, status: JobStatus, fields: dict[str, Any], images: list[dict[str, Any]] | None = None
    ) -> bool:
        """running|queued → a terminal status with its fields, after writing the image metadata records.

        Returns False when the job was already finished (a duplicate delivery lost the race).
        """
        assert status in TERMINAL
        values = {**fields, "status": status, "completed_at": now_iso(), "updated_at": now_iso()}
        names = {f"#f{i}": name for i, name in enumerate(values)}
        update = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(values)))
        attribute_values = {f":v{i}": to_value(value) for i, value in enumerate(values.values())}
        attribute_values.update({":queued": {"S": JobStatus.QUEUED}, ":running": {"S": JobStatus.RUNNING}})
        names["#s"] = "status"
        job_update = {
            "Update": {
                "TableName": self._table,
                "Key": job_key(job_id),
                "UpdateExpression": update + " REMOVE dead_lettered, last_error",
                "ConditionExpression": "attribute_exists(pk) AND #s IN (:queued, :running)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": attribute_values,
            }
        }
        # Image records first, then the job: each write is idempotent (content-addressed keys, conditional
        # status), so a crash in between is repaired by the redelivery. Cheaper than a transaction, too.
        for image in images or []:
            self.put_image(image)
        try:
            self._ddb.update_item(**job_update["Update"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def finish(
        self,
        job: dict[str, Any],
        status: JobStatus,
        fields: dict[str, Any],
        images: list[dict[str, Any]],
        *,
        also: dict[str, list[dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """Write the finished job, its image records and ``also`` (other tables' requests) in one BatchWriteItem.

        Unconditional on purpose: only the attempt that claimed the job gets here, and a duplicate
        attempt replays the same ledger result, so both would write the same record. Returns the job.
        """
        assert status in TERMINAL
        stamp = now_iso()
        finished = {k: v for k, v in job.items() if k not in ("dead_lettered", "last_error")}
        finished.update(fields, status=str(status), completed_at=stamp, updated_at=stamp)
        requests: dict[str, list[dict[str, Any]]] = {
            self._table: [{"PutRequest": {"Item": job_item(finished)}}]
            + [{"PutRequest": {"Item": {**to_item(image), **image_key(image["image_id"])}}} for image in images]
        }
        for table, items in (also or {}).items():
            requests.setdefault(table, []).extend(items)
        self._batch_write(requests)
        return finished

    def _batch_write(self, requests: dict[str, list[dict[str, Any]]]) -> None:
        pending = requests
        for attempt in range(8):
            response = self._ddb.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(min(1.0, 0.05 * 2**attempt))  # DynamoDB asks for backoff on unprocessed items
        raise RuntimeError(f"DynamoDB left {sum(len(v) for v in pending.values())} items unwritten")

    def release(self, job_id: str, error: dict[str, Any], *, dead_lettered: bool) -> None:
        """running → queued after a retryable failure; SQS redelivers (or, when dead_lettered, the DLQ holds it)."""
        values: dict[str, Any] = {
            ":queued": {"S": JobStatus.QUEUED},
            ":running": {"S": JobStatus.RUNNING},
            ":err": to_value(error),
            ":now": {"S": now_iso()},
        }
        update = "SET #s = :queued, last_error = :err, updated_at = :now"
        if dead_lettered:
            update += ", dead_lettered = :true, #e = :err"
            values[":true"] = {"BOOL": True}
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=job_key(job_id),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND #s IN (:queued, :running)",
                ExpressionAttributeNames={"#s": "status", **({"#e": "error"} if dead_lettered else {})},
                ExpressionAttributeValues=values,
            )
        except ClientError as error_:
            if error_.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def put_image(self, image: dict[str, Any]) -> None:
        """An image metadata record on its own (outputs; ``finish`` batches them with the job)."""
        self._ddb.put_item(TableName=self._table, Item={**to_item(image), **image_key(image["image_id"])})

    def put_input_image(self, image: dict[str, Any]) -> None:
        """A caller-supplied input's record, only when none exists for these bytes.

        A caller who sends back the bytes of a generated image (same SHA-256, same image_id) must not
        replace that image's record (model, seed, licence: its provenance) with an input's.
        """
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={**to_item(image), **image_key(image["image_id"])},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def fail(self, job_id: str, error: dict[str, Any], status: JobStatus = JobStatus.FAILED) -> bool:
        """Finish a job that cannot run (poison input, enqueue failure) with its reason."""
        return self.complete(job_id, status, {"error": error})

    def claim_idempotency_key(self, key: str, *, fingerprint: str, lease_s: float) -> dict[str, Any] | None:
        """Take a caller's idempotency key for a request now starting; if it is taken, return that binding.

        The binding records the request's ``fingerprint`` and is ``in-flight`` until ``finish_idempotency_key``
        names its jobs. Keys live for ``IDEMPOTENCY_KEY_TTL_S`` (TTL ``expires_at``). An in-flight binding
        whose lease ran out (the first attempt's function died) may be taken over by the next attempt.
        """
        now = int(time.time())
        item = {
            "pk": {"S": f"IDEMKEY#{key}"},
            "sk": {"S": "KEY"},
            "fingerprint": {"S": fingerprint},
            "state": {"S": IDEMPOTENCY_IN_FLIGHT},
            "lease_until": {"N": str(now + max(1, int(lease_s)))},
            "job_ids": {"L": []},
            "expires_at": {"N": str(now + IDEMPOTENCY_KEY_TTL_S)},
        }
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression=(
                    "attribute_not_exists(pk) OR expires_at < :now OR (#state = :in_flight AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":in_flight": {"S": IDEMPOTENCY_IN_FLIGHT}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item") or self._ddb.get_item(
                TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]}, ConsistentRead=True
            ).get("Item")
            return from_item(old) if old else None
        return None

    def finish_idempotency_key(self, key: str, *, job_ids: list[str], batch_id: str) -> None:
        """The request holding ``key`` answered: bind the key to its jobs for replays."""
        self._ddb.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"IDEMKEY#{key}"}, "sk": {"S": "KEY"}},
            UpdateExpression="SET #state = :done, job_ids = :jobs, batch_id = :batch REMOVE lease_until",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":done": {"S": IDEMPOTENCY_DONE},
                ":jobs": {"L": [{"S": job_id} for job_id in job_ids]},
                ":batch": {"S": batch_id},
            },
        )

    def release_idempotency_key(self, key: str) -> None:
        """The request holding ``key`` stopped before creating any job (refused): a retry may run it afresh."""
        try:
            self._ddb.delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"IDEMKEY#{key}"}, "sk": {"S": "KEY"}},
                ConditionExpression="#state = :in_flight",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":in_flight": {"S": IDEMPOTENCY_IN_FLIGHT}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # ------------------------------------------------------------------ reads
    def _get_raw(self, job_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._ddb.get_item(
            TableName=self._table, Key=job_key(job_id), ConsistentRead=True
        ).get("Item")
        return item

    def get(self, job_id: str) -> dict[str, Any] | None:
        item = self._get_raw(job_id)
        return _public(item) if item else None

    def batch(self, batch_id: str) -> Iterator[dict[str, Any]]:
        """The batch's jobs in creation order (GSI gsi1)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :b",
            "ExpressionAttributeValues": {":b": {"S": f"BATCH#{batch_id}"}},
        }
        while True:
            response = self._ddb.query(**kwargs)
            for item in response.get("Items", []):
                yield _public(item)
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def image(self, image_id: str) -> dict[str, Any] | None:
        item = self._ddb.get_item(TableName=self._table, Key=image_key(image_id)).get("Item")
        return _public(item) if item else None
