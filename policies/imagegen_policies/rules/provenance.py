"""Provenance: images of models without a built-in watermark carry signed C2PA content credentials."""

from __future__ import annotations

from typing import Any

from imagegen_service import config as env

from imagegen_policies import facts
from imagegen_policies.base import Report, settings_of, stack_policy
from imagegen_policies.facts import where

GET_SECRET = "secretsmanager:GetSecretValue"


def provenance_c2pa_signing(args: Any, report: Report) -> None:
    resources = list(args.resources)
    unmarked = sorted(
        spec.key for spec, _m in facts.distinct_specs(facts.invoked_models(resources)).values() if not spec.watermark
    )
    if not unmarked:
        args.not_applicable("every invocable model embeds its own watermark")
    # The local platform generates a throwaway certificate at run time (never deployed): config says so.
    runtime_material = bool(settings_of(args, "provenance-c2pa-signing")["signingMaterialAtRuntime"])
    workers = facts.worker_functions(resources)
    if not workers:
        report(
            f"models without a watermark ({', '.join(unmarked)}) may be invoked but the stack has no worker to sign C2PA"
        )
    for worker in workers:
        variables = facts.env_vars(worker)
        models = ", ".join(unmarked)
        if not facts.truthy(variables.get(env.ENV_C2PA_ENABLED)):
            report(
                f"{where(worker, 'environment.variables.' + env.ENV_C2PA_ENABLED)} is "
                f"{variables.get(env.ENV_C2PA_ENABLED)!r}, but {models} embed no watermark",
                worker.urn,
            )
            continue
        secret = variables.get(env.ENV_C2PA_SECRET_ARN)
        local_files = variables.get(env.ENV_C2PA_CERT_FILE) and variables.get(env.ENV_C2PA_KEY_FILE)
        if not secret and not local_files and not runtime_material:
            report(
                f"{where(worker, 'environment.variables.' + env.ENV_C2PA_SECRET_ARN)} is not set (nor a local "
                "certificate and key file): the worker has nothing to sign C2PA manifests with",
                worker.urn,
            )
        elif secret and not any(
            facts.allows(s, GET_SECRET) and any(facts.action_matches(r, secret) for r in s.resources)
            for _h, s in facts.function_statements(resources, worker)
        ):
            report(f"{where(worker, 'role')}: the role may not {GET_SECRET} on the C2PA secret {secret}", worker.urn)


POLICIES = [stack_policy("provenance-c2pa-signing", provenance_c2pa_signing)]
