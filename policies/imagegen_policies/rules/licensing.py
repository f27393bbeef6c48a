"""Licensing: every invocable model has a complete licence record, EULAs accepted, commercial terms in commercial stacks."""

from __future__ import annotations

from datetime import date
from typing import Any

from imagegen_service import config as env

from imagegen_policies import facts
from imagegen_policies.base import Report, stack_policy
from imagegen_policies.facts import where
from imagegen_policies.pins import pinned_flag

REQUIRED_TEXT = ("provider", "terms_version", "terms_url", "accepted_by", "accepted_at")


def _invoked(args: Any) -> list[facts.InvokedModel]:
    models = facts.invoked_models(args.resources)
    if not models:
        args.not_applicable("no role may invoke a Bedrock model")
    return models


def _record_problems(item: facts.LicenceItem) -> list[str]:
    problems = [f"item.{name} is missing or empty" for name in REQUIRED_TEXT if not item.get(name)]
    if not isinstance(item.get("commercial_use"), bool):
        problems.append("item.commercial_use is missing (must be a BOOL)")
    url = item.get("terms_url")
    if url and not str(url).startswith("https://"):
        problems.append(f"item.terms_url {url!r} is not an https URL")
    accepted_at = item.get("accepted_at")
    if accepted_at:
        try:
            date.fromisoformat(str(accepted_at))
        except ValueError:
            problems.append(f"item.accepted_at {accepted_at!r} is not an ISO date")
    return problems


def licence_record_per_model(args: Any, report: Report) -> None:
    models = _invoked(args)
    items = facts.licence_items(args.resources)
    for model in models:
        if model.spec is None:
            report(
                f"{where(model.holder, 'policy')}: grants bedrock:InvokeModel on {model.arn}, "
                f"model {model.model_id!r} is not in the catalogue (no terms, no lifecycle)",
                model.holder.urn,
            )
    for spec, model in facts.distinct_specs(models).values():
        item = facts.licence_for(spec, items)
        if item is None:
            report(
                f"{where(model.holder, 'policy')}: may invoke {spec.model_id} ({spec.key}) but no licence record "
                "(TableItem in the licences table) names it",
                model.holder.urn,
            )
            continue
        for problem in _record_problems(item):
            report(f"{where(item.resource, problem)} (licence record of {spec.key})", item.resource.urn)


def licence_eula_accepted(args: Any, report: Report) -> None:
    items = facts.licence_items(args.resources)
    needing = [(spec, m) for spec, m in facts.distinct_specs(_invoked(args)).values() if spec.requires_eula]
    if not needing:
        args.not_applicable("no invocable model requires a provider EULA")
    for spec, _model in needing:
        item = facts.licence_for(spec, items)
        if item is not None and item.get("eula_accepted") is not True:  # a missing record is licence-record-per-model's
            report(
                f"{where(item.resource, 'item.eula_accepted')} is {item.get('eula_accepted')!r}: "
                f"{spec.provider} requires EULA acceptance for {spec.model_id}",
                item.resource.urn,
            )


def licence_commercial_use(args: Any, report: Report) -> None:
    if not pinned_flag(args, report, "licence-commercial-use", "requireCommercial", env.ENV_COMMERCIAL):
        args.not_applicable(f"the stack is not commercial ({env.ENV_COMMERCIAL}=false)")
    items = facts.licence_items(args.resources)
    for spec, _model in facts.distinct_specs(_invoked(args)).values():
        item = facts.licence_for(spec, items)
        if item is not None and item.get("commercial_use") is not True:
            report(
                f"{where(item.resource, 'item.commercial_use')} is {item.get('commercial_use')!r} for {spec.model_id}, "
                f"but the stack is commercial ({env.ENV_COMMERCIAL}=true on the api function)",
                item.resource.urn,
            )


POLICIES = [
    stack_policy("licence-record-per-model", licence_record_per_model),
    stack_policy("licence-eula-accepted", licence_eula_accepted),
    stack_policy("licence-commercial-use", licence_commercial_use),
]
