"""MetadataTables: jobs + image metadata, licence records and idempotency records (DynamoDB).

On-demand capacity, point-in-time recovery, server-side encryption and TTL on every table; key
schemas are the cross-team facts the runtime and the local data plane rely on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from imagegen_platform.components.names import PhysicalNames
from pulumi_aws import dynamodb

S = "S"


@dataclass(frozen=True)
class TableSpec:
    hash_key: str
    range_key: str | None = None
    ttl_attribute: str | None = None
    index: tuple[str, str, str] | None = None  # (name, hash key, range key), projection ALL


JOBS = TableSpec(hash_key="pk", range_key="sk", ttl_attribute="expires_at", index=("gsi1", "gsi1pk", "gsi1sk"))
LICENCES = TableSpec(hash_key="record_id", ttl_attribute="expires_at")
IDEMPOTENCY = TableSpec(hash_key="id", ttl_attribute="expiration")  # Powertools defaults


@dataclass(frozen=True)
class MetadataTablesArgs:
    names: PhysicalNames
    deletion_protection: bool


class MetadataTables(pulumi.ComponentResource):
    jobs: dynamodb.Table
    licences: dynamodb.Table
    idempotency: dynamodb.Table

    def __init__(self, name: str, args: MetadataTablesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagegen:metadata:MetadataTables", name, None, opts)
        self._args = args
        self.jobs = self._table(f"{name}-jobs", args.names.jobs_table, JOBS)
        self.licences = self._table(f"{name}-licences", args.names.licence_table, LICENCES)
        self.idempotency = self._table(f"{name}-idempotency", args.names.idempotency_table, IDEMPOTENCY)
        self.register_outputs(
            {"jobsTable": self.jobs.name, "licenceTable": self.licences.name, "idempotencyTable": self.idempotency.name}
        )

    @property
    def tables(self) -> list[dynamodb.Table]:
        return [self.jobs, self.licences, self.idempotency]

    def _table(self, resource_name: str, table_name: str, spec: TableSpec) -> dynamodb.Table:
        keys = [spec.hash_key, *([spec.range_key] if spec.range_key else [])]
        indexes: list[dynamodb.TableGlobalSecondaryIndexArgs] = []
        if spec.index is not None:
            index_name, index_hash, index_range = spec.index
            keys += [index_hash, index_range]
            indexes.append(
                dynamodb.TableGlobalSecondaryIndexArgs(
                    name=index_name,
                    key_schemas=[
                        dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=index_hash, key_type="HASH"),
                        dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=index_range, key_type="RANGE"),
                    ],
                    projection_type="ALL",
                )
            )
        return dynamodb.Table(
            resource_name,
            name=table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=spec.hash_key,
            range_key=spec.range_key,
            attributes=[dynamodb.TableAttributeArgs(name=key, type=S) for key in keys],
            global_secondary_indexes=indexes or None,
            point_in_time_recovery=dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=dynamodb.TableServerSideEncryptionArgs(enabled=True),
            ttl=dynamodb.TableTtlArgs(attribute_name=spec.ttl_attribute, enabled=True) if spec.ttl_attribute else None,
            deletion_protection_enabled=self._args.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self),
        )
