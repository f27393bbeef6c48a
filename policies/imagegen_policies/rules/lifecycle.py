"""Lifecycle: no model past its provider end-of-life date; Legacy models flagged (advisory)."""

from __future__ import annotations

from typing import Any

from imagegen_service import catalogue, clock

from imagegen_policies import facts
from imagegen_policies.base import Report, resource_policy
from imagegen_policies.facts import where

HOLDERS = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/role:Role", "aws:iam/policy:Policy")


def _with_status(args: Any, status: catalogue.Status) -> list[catalogue.ModelSpec]:
    if args.resource_type not in HOLDERS:
        return []
    today = clock.today()
    specs = {m.spec.key: m.spec for m in facts.invoked_by(args) if m.spec is not None}
    return [spec for spec in specs.values() if spec.lifecycle.status_on(today) is status]


def model_not_end_of_life(args: Any, report: Report) -> None:
    for spec in _with_status(args, catalogue.Status.END_OF_LIFE):
        report(
            f"{where(args, 'policy')}: grants bedrock:InvokeModel on {spec.model_id}, past its end of life "
            f"({spec.lifecycle.end_of_life}; today is {clock.today()}): every call fails with ResourceNotFoundException"
        )


def model_not_legacy(args: Any, report: Report) -> None:
    for spec in _with_status(args, catalogue.Status.LEGACY):
        eol = (
            f"end of life {spec.lifecycle.end_of_life}"
            if spec.lifecycle.end_of_life
            else "no end-of-life date published"
        )
        unconfirmed = "" if spec.lifecycle.confirmed else " (status UNCONFIRMED: the catalogue takes the safe side)"
        report(
            f"{where(args, 'policy')}: grants bedrock:InvokeModel on {spec.model_id}, Legacy since "
            f"{spec.lifecycle.legacy_since} ({eol}){unconfirmed}"
        )


POLICIES = [
    resource_policy("model-not-end-of-life", model_not_end_of_life),
    resource_policy("model-not-legacy", model_not_legacy),
]
