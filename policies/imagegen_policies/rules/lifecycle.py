"""Lifecycle: no model past its provider end-of-life date; Legacy models flagged, and blocked in production.

A Legacy model keeps answering only for accounts that used it recently: AWS answers others with
``ResourceNotFoundException ... marked by provider as Legacy and you have not been actively using the
model in the last 15 days`` (aws-samples/amazon-bedrock-workshop issue 386, quoted in
shared/reference/bedrock-api-facts.md §0), and new customers cannot start on a Legacy model. So a
production (prod or customer) stack may grant a Legacy model only when its policy config records that
the account already uses it: ``legacyInUse: [{"model", "lastInvokedOn", "checkedOn"}]``, with the
last invocation inside the 15-day window at the time of the check, and the check itself recent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from imagegen_service import catalogue, clock
from imagegen_service.config import ENV_ENVIRONMENT

from imagegen_policies import facts
from imagegen_policies import registry as t
from imagegen_policies.base import Report, resource_policy, settings_of, stack_policy
from imagegen_policies.facts import where

LEGACY_ACTIVE_USE_DAYS = 15
"""AWS keeps a Legacy model for accounts that used it "in the last 15 days" (reference §0)."""
LEGACY_EVIDENCE_MAX_AGE_DAYS = 30
"""Our choice, not AWS's: a check older than this proves nothing about today's access. Chosen so a
monthly review keeps a stack shippable; the shorter, the safer."""
PRODUCTION_ENVIRONMENTS = ("prod", "customer")
LEGACY_IN_PRODUCTION = "legacy-model-in-production"

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


def _environment(resources: list[Any]) -> str | None:
    for resource in resources:
        if resource.resource_type == t.FUNCTION:
            value = facts.env_vars(resource).get(ENV_ENVIRONMENT)
            if isinstance(value, str) and value:
                return value
    return None


def _day(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def evidence_problem(entry: Mapping[str, Any] | None, spec: catalogue.ModelSpec, today: date) -> str | None:
    """Why ``entry`` does not show that the account still uses ``spec`` (None: it does)."""
    if entry is None:
        return "the policy config records no use of it by this account (legacyInUse)"
    last, checked = _day(entry.get("lastInvokedOn")), _day(entry.get("checkedOn"))
    if last is None or checked is None:
        return "legacyInUse needs lastInvokedOn and checkedOn as YYYY-MM-DD dates"
    if checked > today or last > checked:
        return f"legacyInUse dates are impossible (lastInvokedOn {last}, checkedOn {checked}, today {today})"
    if today - checked > timedelta(days=LEGACY_EVIDENCE_MAX_AGE_DAYS):
        return f"the account's use was last checked on {checked}, over {LEGACY_EVIDENCE_MAX_AGE_DAYS} days ago"
    if checked - last > timedelta(days=LEGACY_ACTIVE_USE_DAYS):
        return (
            f"the account last invoked it on {last}, more than {LEGACY_ACTIVE_USE_DAYS} days before the check "
            f"({checked}): AWS no longer serves a Legacy model to such an account"
        )
    return None


def _evidence(args: Any) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for entry in settings_of(args, LEGACY_IN_PRODUCTION).get("legacyInUse") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("model"), str):
            try:
                out[catalogue.lookup(entry["model"]).key] = entry
            except catalogue.UnknownModel:
                continue
    return out


def legacy_model_in_production(args: Any, report: Report) -> None:
    resources = list(args.resources)
    environment = _environment(resources)
    if environment not in PRODUCTION_ENVIRONMENTS:
        return
    today = clock.today()
    evidence = _evidence(args)
    for holder in resources:
        if holder.resource_type not in HOLDERS:
            continue
        specs = {m.spec.key: m.spec for m in facts.invoked_by(holder) if m.spec is not None}
        for spec in specs.values():
            if spec.lifecycle.status_on(today) is not catalogue.Status.LEGACY:
                continue
            problem = evidence_problem(evidence.get(spec.key), spec, today)
            if problem is not None:
                unconfirmed = (
                    "" if spec.lifecycle.confirmed else " (status UNCONFIRMED: the catalogue takes the safe side)"
                )
                report(
                    f"{where(holder, 'policy')}: a {environment} stack grants bedrock:InvokeModel on {spec.model_id}, "
                    f"Legacy since {spec.lifecycle.legacy_since}{unconfirmed}; {problem}",
                    holder.urn,
                )


POLICIES = [
    resource_policy("model-not-end-of-life", model_not_end_of_life),
    resource_policy("model-not-legacy", model_not_legacy),
    stack_policy(LEGACY_IN_PRODUCTION, legacy_model_in_production),
]
