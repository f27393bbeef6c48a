"""Least privilege, judged by what a document grants: actions expanded with AWS's catalogue (``iam``),
resources scoped, trust policies, attached managed policies, permissions boundaries, every API route
authorised and no function reachable around the API.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from imagegen_policies import facts, iam
from imagegen_policies import registry as t
from imagegen_policies.base import Report, resource_policy, settings_of, stack_policy
from imagegen_policies.facts import where

# Identity policies, bucket and queue policies (resource and inline forms). KMS key policies are left
# out on purpose: AWS's default key policy grants kms:* to the account root, which is how a key stays
# administrable.
POLICY_HOLDERS = (t.ROLE_POLICY, t.ROLE, t.IAM_POLICY, t.BUCKET_POLICY, *t.BUCKETS, t.QUEUE_POLICY, t.QUEUE)
IDENTITY_HOLDERS = (t.ROLE_POLICY, t.ROLE, t.IAM_POLICY)
AUTHORISED = ("AWS_IAM", "JWT")
SHOWN = 5  # how many granted actions a message lists before "…"

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"
# The documents of the AWS managed policies the pack can judge, as AWS publishes them (AWS Managed
# Policy Reference Guide: .../aws-managed-policy/latest/reference/<name>.html). Any other AWS managed
# policy is refused: its contents change without this stack changing (safe side).
AWS_MANAGED_DOCUMENTS: Mapping[str, Mapping[str, Any]] = {
    "AdministratorAccess": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    "PowerUserAccess": {
        "Statement": [
            {
                "Effect": "Allow",
                "NotAction": ["iam:*", "organizations:*", "account:*"],
                "Resource": "*",
            }
        ]
    },
    "AWSLambdaBasicExecutionRole": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ]
    },
}


def _shown(actions: list[str]) -> str:
    head = ", ".join(actions[:SHOWN])
    return f"{head}, … ({len(actions)} in all)" if len(actions) > SHOWN else head


def _grant_problems(s: facts.Statement) -> Iterator[str]:
    """What is wrong with one Allow statement's actions: patterns and NotAction, expanded."""
    for pattern in s.actions:
        if iam.is_pattern(pattern):
            # Even a pattern matching one action today grants every action AWS adds under it later.
            matched = sorted(iam.catalogue()[n].name for n in iam.expand(pattern))
            yield f"Action {pattern!r} grants {len(matched)} actions today ({_shown(matched) or 'none known'}) and any added later"
    if s.not_actions:
        yield f"NotAction {list(s.not_actions)!r} with Allow grants every other action ({len(iam.granted((), s.not_actions))})"


def no_wildcard_actions(args: Any, report: Report) -> None:
    if args.resource_type not in POLICY_HOLDERS:
        return
    for prop, document in facts.policy_documents(args):
        for s in facts.statements(document):
            if s.effect != "Allow":
                continue  # a Deny on s3:* (the TLS guard) grants nothing
            for problem in _grant_problems(s):
                report(f"{where(args, f'{prop} Statement[{s.index}]')}: {problem}")


def _not_resources(document: Any, index: int) -> list[Any]:
    doc = facts.parse_json(document)
    raw = facts.as_list(doc.get("Statement"))[index] if isinstance(doc, Mapping) else {}
    return facts.as_list(raw.get("NotResource")) if isinstance(raw, Mapping) else []


def _unscoped_problem(document: Any, s: facts.Statement) -> str | None:
    not_resources = _not_resources(document, s.index)
    unbounded = [r for r in s.resources if iam.is_unbounded_resource(r)]
    if not unbounded and not not_resources:
        return None
    touchy = iam.sensitive(iam.granted(s.actions, s.not_actions))
    if not touchy:
        return None
    scope = f"NotResource {not_resources!r}" if not_resources else f"Resource {unbounded!r}"
    return f"{scope} grants {_shown(touchy)} on every resource of the account"


def sensitive_actions_scoped(args: Any, report: Report) -> None:
    if args.resource_type not in IDENTITY_HOLDERS:
        return
    for prop, document in facts.policy_documents(args):
        for s in facts.statements(document):
            if s.effect == "Allow" and (problem := _unscoped_problem(document, s)):
                report(f"{where(args, f'{prop} Statement[{s.index}]')}: {problem}")


def trust_policy_scoped(args: Any, report: Report) -> None:
    if args.resource_type != t.ROLE:
        return
    document = args.props.get("assumeRolePolicy")
    for s in facts.statements(document):
        if s.effect != "Allow":
            continue
        label = where(args, f"assumeRolePolicy Statement[{s.index}]")
        if iam.principal_is_anyone(s.principal):
            report(f"{label}.Principal is {s.principal!r}: any AWS account may assume this role")
        doc = facts.parse_json(document)
        raw = facts.as_list(doc.get("Statement"))[s.index] if isinstance(doc, Mapping) else {}
        if isinstance(raw, Mapping) and raw.get("NotPrincipal") is not None:
            report(f"{label}.NotPrincipal with Allow trusts every principal but the ones named")


def _attachments(resources: list[Any]) -> Iterator[tuple[Any, Any, str]]:
    """(resource holding the attachment, policy ARN value, property)."""
    for role in facts.of_type(resources, t.ROLE):
        for index, arn in enumerate(role.props.get("managedPolicyArns") or []):
            yield role, arn, f"managedPolicyArns[{index}]"
    for attachment in facts.of_types(resources, (t.ROLE_POLICY_ATTACHMENT, t.POLICY_ATTACHMENT)):
        yield attachment, attachment.props.get("policyArn"), "policyArn"


def _attached_policy(resources: list[Any], holder: Any, prop: str, arn: Any) -> Any | None:
    """The Policy resource of this stack an attachment names (by dependency, or by its literal ARN/name)."""
    key = "managedPolicyArns" if prop.startswith("managedPolicyArns") else "policyArn"
    for dep in holder.property_dependencies.get(key, []):
        if dep.resource_type == t.IAM_POLICY:
            return dep
    if isinstance(arn, str):
        for policy in facts.of_type(resources, t.IAM_POLICY):
            name = policy.props.get("name")
            if isinstance(name, str) and arn.endswith(f":policy/{name}"):
                return policy
    return None


def managed_policies_judged(args: Any, report: Report) -> None:
    resources = list(args.resources)
    if not facts.of_types(resources, (t.ROLE, t.ROLE_POLICY_ATTACHMENT, t.POLICY_ATTACHMENT)):
        args.not_applicable("the stack has no IAM role")
    for holder, arn, prop in _attachments(resources):
        label = where(holder, prop)
        own = _attached_policy(resources, holder, prop, arn)
        if own is not None:
            document = own.props.get("policy")
        elif isinstance(arn, str) and arn.startswith(AWS_MANAGED_PREFIX):
            name = arn.removeprefix(AWS_MANAGED_PREFIX).rsplit("/", 1)[-1]
            known = AWS_MANAGED_DOCUMENTS.get(name)
            if known is None:
                report(
                    f"{label} attaches {arn}: an AWS managed policy whose contents the pack cannot judge", holder.urn
                )
                continue
            document = known
        else:
            report(
                f"{label} attaches {arn!r}: a policy outside this stack whose contents the pack cannot judge",
                holder.urn,
            )
            continue
        for s in facts.statements(document):
            if s.effect != "Allow":
                continue
            for problem in _grant_problems(s):
                report(f"{label} attaches {arn}: Statement[{s.index}] {problem}", holder.urn)
            if unscoped := _unscoped_problem(document, s):
                report(f"{label} attaches {arn}: Statement[{s.index}] {unscoped}", holder.urn)


def permissions_boundary(args: Any, report: Report) -> None:
    if args.resource_type != t.ROLE:
        return
    required = bool(settings_of(args, "iam-permissions-boundary")["required"])
    boundary = args.props.get("permissionsBoundary")
    if not boundary:
        if required:
            report(f"{where(args, 'permissionsBoundary')} is not set: this stack's config requires a boundary")
        return
    parts = str(boundary).split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("policy/"):
        report(f"{where(args, 'permissionsBoundary')} {boundary!r} is not an IAM managed policy ARN")


def lambda_no_public_invoke(args: Any, report: Report) -> None:
    if args.resource_type == t.FUNCTION_URL:
        kind = args.props.get("authorizationType")
        if kind != "AWS_IAM":
            report(
                f"{where(args, 'authorizationType')} is {kind!r}: the function URL is open to anyone (must be AWS_IAM)"
            )
    elif args.resource_type == t.LAMBDA_PERMISSION:
        principal = str(args.props.get("principal") or "")
        if not principal.endswith(".amazonaws.com"):
            report(
                f"{where(args, 'principal')} is {principal!r}: only an AWS service principal bound by sourceArn "
                "may invoke a function"
            )
        elif not args.props.get("sourceArn"):
            report(f"{where(args, 'sourceArn')} is not set: any {principal} resource of any account may invoke it")
        elif iam.is_unbounded_resource(str(args.props.get("sourceArn"))):
            report(f"{where(args, 'sourceArn')} is {args.props.get('sourceArn')!r}: not bound to one resource")


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


iam.catalogue()  # at pack start, not inside the first evaluation

POLICIES = [
    resource_policy("iam-no-wildcard-actions", no_wildcard_actions),
    resource_policy("iam-bedrock-invoke-scoped", bedrock_invoke_scoped),
    resource_policy("api-routes-authorised", api_routes_authorised),
    resource_policy("iam-sensitive-actions-scoped", sensitive_actions_scoped),
    resource_policy("iam-trust-policy-scoped", trust_policy_scoped),
    stack_policy("iam-managed-policies-judged", managed_policies_judged),
    resource_policy("iam-permissions-boundary", permissions_boundary),
    resource_policy("lambda-no-public-invoke", lambda_no_public_invoke),
]
