"""Create the data plane a stack's functions use (tables, bucket, queue + DLQ) on any AWS endpoint.

Owned by the runtime-service engineer; the local platform drives it from the preview graph.
Contract for callers:

* ``DataPlaneNames`` holds the physical names (AGENTS.md): ``DataPlaneNames.for_stack(prefix, stack)``
  gives the defaults; the local platform may instead fill it from the preview graph's resource inputs
  (the bucket's mocked name included).
* ``create_data_plane(endpoint_url, stack, region, names)`` is idempotent (existing resources are
  reused) and returns ``DataPlane`` with the queue URLs/ARNs and ``env()``: the subset of the
  functions' environment variables (config.ENV_*) that point at these resources.
* Key schemas are exactly AGENTS.md's: jobs ``pk``/``sk`` + GSI ``gsi1`` (``gsi1pk``/``gsi1sk``,
  projection ALL) + TTL ``expires_at``; licences ``record_id``; idempotency ``id`` + TTL ``expiration``.
* The queue gets a redrive policy to the DLQ with ``max_receive_count``; tests pass a short
  ``visibility_timeout`` so reported batch item failures come back quickly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError
from imagegen_service import config as cfg


@dataclass(frozen=True)
class DataPlaneNames:
    jobs_table: str
    licence_table: str
    idempotency_table: str
    bucket: str
    queue: str
    dlq: str

    @classmethod
    def for_stack(cls, prefix: str, stack: str, bucket_suffix: str = "local") -> DataPlaneNames:
        base = f"{prefix}-{stack}"
        return cls(
            jobs_table=f"{base}-jobs",
            licence_table=f"{base}-licences",
            idempotency_table=f"{base}-idempotency",
            bucket=f"{base}-images-{bucket_suffix}",
            queue=f"{base}-jobs",
            dlq=f"{base}-jobs-dlq",
        )


@dataclass(frozen=True)
class DataPlane:
    names: DataPlaneNames
    endpoint_url: str
    region: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str

    def env(self) -> dict[str, str]:
        """Environment variables (config.ENV_*) naming these resources."""
        return {
            cfg.ENV_BUCKET: self.names.bucket,
            cfg.ENV_JOBS_TABLE: self.names.jobs_table,
            cfg.ENV_LICENCE_TABLE: self.names.licence_table,
            cfg.ENV_IDEMPOTENCY_TABLE: self.names.idempotency_table,
            cfg.ENV_QUEUE_URL: self.queue_url,
            cfg.ENV_DLQ_URL: self.dlq_url,
        }


def _client(service: str, endpoint_url: str, region: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region)


def _create_table(ddb: Any, name: str, spec: dict[str, Any], ttl_attribute: str | None) -> None:
    try:
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **spec)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    if ttl_attribute:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )


def _string_keys(*names: str) -> list[dict[str, str]]:
    return [{"AttributeName": n, "AttributeType": "S"} for n in names]


def create_tables(ddb: Any, names: DataPlaneNames) -> None:
    _create_table(
        ddb,
        names.jobs_table,
        {
            "AttributeDefinitions": _string_keys("pk", "sk", "gsi1pk", "gsi1sk"),
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
        "expires_at",
    )
    _create_table(
        ddb,
        names.licence_table,
        {
            "AttributeDefinitions": _string_keys("record_id"),
            "KeySchema": [{"AttributeName": "record_id", "KeyType": "HASH"}],
        },
        None,
    )
    _create_table(
        ddb,
        names.idempotency_table,
        {"AttributeDefinitions": _string_keys("id"), "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]},
        "expiration",
    )


def create_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def create_queues(
    sqs: Any, names: DataPlaneNames, *, visibility_timeout: int, max_receive_count: int
) -> tuple[str, str, str, str]:
    """The DLQ first (the source queue's redrive policy names it); returns (url, arn, dlq_url, dlq_arn)."""
    dlq_url = sqs.create_queue(QueueName=names.dlq, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=names.queue,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return queue_url, queue_arn, dlq_url, dlq_arn


def create_data_plane(
    endpoint_url: str,
    stack: str,
    region: str,
    names: DataPlaneNames,
    *,
    visibility_timeout: int = 360,
    max_receive_count: int = 5,
    licence_records: list[dict[str, Any]] | None = None,
) -> DataPlane:
    """Create (or reuse) every data-plane resource of ``stack`` at ``endpoint_url``.

    ``licence_records`` are plain dicts with the licence-table attributes of AGENTS.md (record_id,
    model_key, model_id, provider, terms_version, terms_url, commercial_use, accepted_by,
    accepted_at, eula_accepted); ``stack`` is stamped on each.
    """
    create_tables(_client("dynamodb", endpoint_url, region), names)
    create_bucket(_client("s3", endpoint_url, region), names.bucket, region)
    queue_url, queue_arn, dlq_url, dlq_arn = create_queues(
        _client("sqs", endpoint_url, region),
        names,
        visibility_timeout=visibility_timeout,
        max_receive_count=max_receive_count,
    )
    if licence_records:
        table = boto3.resource("dynamodb", endpoint_url=endpoint_url, region_name=region).Table(names.licence_table)
        for record in licence_records:
            table.put_item(Item={**record, "stack": stack})
    return DataPlane(
        names=names,
        endpoint_url=endpoint_url,
        region=region,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
    )
