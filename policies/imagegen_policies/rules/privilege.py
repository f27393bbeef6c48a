"""Least privilege: no wildcard actions, InvokeModel scoped to model ARNs, every API route authorised."""

from __future__ import annotations

from typing import Any

from imagegen_policies import facts
from imagegen_policies import registry as t
from imagegen_policies.base import Report, resource_policy
from imagegen_policies.facts import where

# Identity policies and the bucket policy. KMS key policies are left out on purpose: AWS's default key
# policy grants kms:* to the account root, which is how a key stays administrable.
POLICY_HOLDERS = (t.ROLE_POLICY, t.ROLE, t.IAM_POLICY, t.BUCKET_POLICY)
AUTHORISED = ("AWS_IAM", "JWT")


def _is_wildcard(action: str) -> bool:
    return action == "*" or action.endswith(":*")


def no_wildcard_actions(args: Any, report: Report) -> None:
    if args.resource_type not in POLICY_HOLDERS:
        return
    for prop, document in facts.policy_documents(args):
        for s in facts.statements(document):
            if s.effect != "Allow":
                continue  # a Deny on s3:* (the TLS guard) grants nothing
            wild = [a for a in s.actions if _is_wildcard(a)]
            if wild:
                report(f"{where(args, f'{prop} Statement[{s.index}].Action')} grants {wild!r}")
            if s.not_actions:
                report(
                    f"{where(args, f'{prop} Statement[{s.index}].NotAction')}: Allow + NotAction grants everything else"
                )


def bedrock_invoke_scoped(args: Any, report: Report) -> None:
    if args.resource_type not in (t.ROLE_POLICY, t.ROLE, t.IAM_POLICY):
        return
    for prop, document in facts.policy_documents(args):
        for s in facts.statements(document):
            if not any(facts.allows(s, a) for a in facts.INVOKE_ACTIONS):
                continue
            for arn in s.resources:
                model_id = facts.model_id_of_arn(arn)
                if model_id is None or "*" in model_id or "?" in model_id:
                    report(
                        f"{where(args, f'{prop} Statement[{s.index}].Resource')} {arn!r} is not a foundation-model "
                        "or inference-profile ARN with an exact model ID"
                    )


def api_routes_authorised(args: Any, report: Report) -> None:
    if args.resource_type != t.ROUTE:
        return
    kind = args.props.get("authorizationType")
    route = args.props.get("routeKey")
    if kind not in AUTHORISED:
        report(f"{where(args, 'authorizationType')} is {kind!r} on route {route!r} (must be AWS_IAM or JWT)")
    elif kind == "JWT" and not args.props.get("authorizerId"):
        report(f"{where(args, 'authorizerId')} is not set on the JWT route {route!r}")


POLICIES = [
    resource_policy("iam-no-wildcard-actions", no_wildcard_actions),
    resource_policy("iam-bedrock-invoke-scoped", bedrock_invoke_scoped),
    resource_policy("api-routes-authorised", api_routes_authorised),
]
