"""Cost: a budget that notifies, worker concurrency the model quotas can serve, quota requests where pacing needs them.

Concurrency follows ``imagegen_platform.capacity`` (one image call ≈ ``callSeconds`` wall seconds,
so ``c`` workers make at most ``c × 60 / callSeconds`` requests a minute): the cap a quota allows is
``max(minimumConcurrency, ceil(Σ rpm / 60 × callSeconds))`` with rpm = the requested quota value
where a ServiceQuota request exists, else the catalogue default.
"""

from __future__ import annotations

import math
from typing import Any

from imagegen_service import catalogue
from imagegen_service import config as env

from imagegen_policies import facts
from imagegen_policies import registry as t
from imagegen_policies.base import Report, settings_of, stack_policy
from imagegen_policies.facts import where

BEDROCK_SERVICE_CODE = "bedrock"  # catalogue.QuotaSpec.service_code


def budget_notification(args: Any, report: Report) -> None:
    budgets = facts.of_type(args.resources, t.BUDGET)
    if not budgets:
        report("the stack declares no aws:budgets/budget:Budget")
        return
    notified = [
        b
        for b in budgets
        if any(
            list(n.get("subscriberEmailAddresses") or []) or list(n.get("subscriberSnsTopicArns") or [])
            for n in b.props.get("notifications") or []
        )
    ]
    if not notified:
        for budget in budgets:
            report(f"{where(budget, 'notifications')}: no notification with a subscriber", budget.urn)


def quota_for(spec: catalogue.ModelSpec, quotas: list[Any]) -> Any | None:
    """The ServiceQuota request for this model: by the catalogue's quota code, else by the model key in its name."""
    for quota in quotas:
        code = quota.props.get("quotaCode")
        if (spec.quota.code and code == spec.quota.code) or (not spec.quota.code and spec.key in quota.name):
            return quota
    return None


def _bedrock_quotas(resources: list[Any]) -> list[Any]:
    return [q for q in facts.of_type(resources, t.SERVICE_QUOTA) if q.props.get("serviceCode") == BEDROCK_SERVICE_CODE]


def planned_rpm(spec: catalogue.ModelSpec, quotas: list[Any]) -> float:
    quota = quota_for(spec, quotas)
    value = quota.props.get("value") if quota is not None else None
    return float(value) if isinstance(value, (int, float)) else float(spec.quota.default_rpm)


def worker_concurrency_within_quota(args: Any, report: Report) -> None:
    resources = list(args.resources)
    config = settings_of(args, "worker-concurrency-within-quota")
    quotas = _bedrock_quotas(resources)
    judged = False
    for mapping in facts.of_type(resources, t.ESM):
        for function in mapping.property_dependencies.get("functionName", []):
            invoked = [
                s
                for _h, s in facts.function_statements(resources, function)
                if any(facts.allows(s, a) for a in facts.INVOKE_ACTIONS)
            ]
            specs = {spec.key: spec for s in invoked for arn in s.resources if (spec := _spec_of(arn)) is not None}
            if not specs:
                continue
            judged = True
            rpm = sum(planned_rpm(spec, quotas) for spec in specs.values())
            allowed = max(int(config["minimumConcurrency"]), math.ceil(rpm / 60.0 * float(config["callSeconds"])))
            cap = (mapping.props.get("scalingConfig") or {}).get("maximumConcurrency")
            if cap is None:
                report(
                    f"{where(mapping, 'scalingConfig.maximumConcurrency')} is not set: the worker scales past the quotas",
                    mapping.urn,
                )
            elif cap > allowed:
                report(
                    f"{where(mapping, 'scalingConfig.maximumConcurrency')} is {cap:g}, above the {allowed} the quotas "
                    f"allow ({rpm:g} rpm over {', '.join(sorted(specs))} at {float(config['callSeconds']):g} s per call)",
                    mapping.urn,
                )
    if not judged:
        args.not_applicable("no event source mapping feeds a function that invokes models")


def _spec_of(arn: str) -> catalogue.ModelSpec | None:
    model_id = facts.model_id_of_arn(arn)
    if model_id is None:
        return None
    try:
        return catalogue.lookup(model_id)
    except catalogue.UnknownModel:
        return None


def quota_requests_present(args: Any, report: Report) -> None:
    resources = list(args.resources)
    quotas = _bedrock_quotas(resources)
    workers = [w for w in facts.worker_functions(resources) if facts.env_vars(w).get(env.ENV_MODEL_RPM)]
    if not workers:
        args.not_applicable(f"no worker declares its pacing ({env.ENV_MODEL_RPM})")
    for worker in workers:
        prop = f"environment.variables.{env.ENV_MODEL_RPM}"
        pacing = facts.parse_json(facts.env_vars(worker).get(env.ENV_MODEL_RPM))
        if not isinstance(pacing, dict):
            report(f"{where(worker, prop)} is not a JSON object of model → rpm", worker.urn)
            continue
        for key, rpm in pacing.items():
            try:
                spec = catalogue.lookup(key)
            except catalogue.UnknownModel:
                report(f"{where(worker, prop)} paces {key!r}, which the catalogue does not know", worker.urn)
                continue
            if not isinstance(rpm, (int, float)) or rpm <= spec.quota.default_rpm:
                continue
            quota = quota_for(spec, quotas)
            value = quota.props.get("value") if quota is not None else None
            if quota is None:
                report(
                    f"{where(worker, prop)} paces {key} at {rpm:g} rpm, above its default quota of "
                    f"{spec.quota.default_rpm}, and no ServiceQuota request exists for it",
                    worker.urn,
                )
            elif not isinstance(value, (int, float)) or value < rpm:
                report(
                    f"{where(quota, 'value')} is {value!r}, below the {rpm:g} rpm the worker paces {key} at", quota.urn
                )


POLICIES = [
    stack_policy("budget-notification", budget_notification),
    stack_policy("worker-concurrency-within-quota", worker_concurrency_within_quota),
    stack_policy("quota-requests-present", quota_requests_present),
]
