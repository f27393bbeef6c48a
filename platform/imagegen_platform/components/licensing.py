"""LicenceRecords: each enabled model's licence acceptance, written where the runtime reads it.

One DynamoDB item per enabled model in the licences table; every image's metadata names the
``record_id`` it was generated under.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
from imagegen_platform.settings import EnabledModel
from pulumi_aws import dynamodb


@dataclass(frozen=True)
class LicenceRecordsArgs:
    stack: str
    models: tuple[EnabledModel, ...]
    table_name: pulumi.Input[str]


def licence_item(enabled: EnabledModel, stack: str) -> dict[str, Any]:
    """The record in DynamoDB JSON (attribute names fixed by the lead for the runtime)."""
    licence = enabled.licence
    return {
        "record_id": {"S": licence.record_id},
        "model_key": {"S": enabled.model},
        "model_id": {"S": enabled.spec.model_id},
        "provider": {"S": licence.provider},
        "terms_version": {"S": licence.terms_version},
        "terms_url": {"S": licence.terms_url},
        "commercial_use": {"BOOL": licence.commercial_use},
        "accepted_by": {"S": licence.accepted_by},
        "accepted_at": {"S": licence.accepted_at.isoformat()},
        "eula_accepted": {"BOOL": licence.eula_accepted},
        "stack": {"S": stack},
    }


class LicenceRecords(pulumi.ComponentResource):
    items: list[dynamodb.TableItem]

    def __init__(self, name: str, args: LicenceRecordsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagegen:licensing:LicenceRecords", name, None, opts)
        self.items = [
            dynamodb.TableItem(
                f"{name}-{enabled.model}",
                table_name=args.table_name,
                hash_key="record_id",
                item=json.dumps(licence_item(enabled, args.stack), sort_keys=True),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for enabled in args.models
        ]
        self.register_outputs({"recordIds": [enabled.licence.record_id for enabled in args.models]})
