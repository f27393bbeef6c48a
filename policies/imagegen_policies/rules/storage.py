"""Storage: the image bucket is private, owner-enforced, encrypted, versioned, TLS-only and readable by CloudFront alone.

In pulumi-aws v7 these settings are sibling resources of the Bucket, so each rule joins a bucket to
the resources whose ``bucket`` input depends on it (``PolicyResource.property_dependencies``). One
bucket is one view whatever the spelling: ``Bucket`` and its deprecated alias ``BucketV2``, the
``*V2`` side resources, and the inline forms (``policy``, encryption, versioning) all count.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imagegen_policies import facts
from imagegen_policies import registry as t
from imagegen_policies.base import Report, stack_policy
from imagegen_policies.facts import where
from imagegen_policies.iam import account_of

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
CLOUDFRONT_SERVICE = "cloudfront.amazonaws.com"
SERVED_PREFIX = "images/"  # the lead's key layout: only images/* is ever served


def _buckets(args: Any) -> list[Any]:
    buckets = facts.of_types(args.resources, t.BUCKETS)
    if not buckets:
        args.not_applicable("the stack has no S3 bucket")
    return buckets


def attached(resources: list[Any], resource_type: str, bucket: Any) -> list[Any]:
    return facts.attached(resources, (resource_type,), bucket)


def public_access_blocked(args: Any, report: Report) -> None:
    resources = list(args.resources)
    for bucket in _buckets(args):
        blocks = attached(resources, t.BUCKET_PAB, bucket)
        if not blocks:
            report(f"{where(bucket, 'bucket')}: no BucketPublicAccessBlock targets this bucket", bucket.urn)
        for block in blocks:
            for flag in PUBLIC_ACCESS_FLAGS:
                if block.props.get(flag) is not True:
                    report(f"{where(block, flag)} is {block.props.get(flag)!r} (must be true)", block.urn)


def owner_enforced(args: Any, report: Report) -> None:
    resources = list(args.resources)
    for bucket in _buckets(args):
        controls = attached(resources, t.BUCKET_OWNERSHIP, bucket)
        if not controls:
            report(
                f"{where(bucket, 'bucket')}: no BucketOwnershipControls targets this bucket (ACLs stay enabled)",
                bucket.urn,
            )
        for control in controls:
            ownership = (control.props.get("rule") or {}).get("objectOwnership")
            if ownership != "BucketOwnerEnforced":
                report(
                    f"{where(control, 'rule.objectOwnership')} is {ownership!r} (must be BucketOwnerEnforced)",
                    control.urn,
                )


def encrypted(args: Any, report: Report) -> None:
    resources = list(args.resources)
    for bucket in _buckets(args):
        configs = facts.attached(resources, t.SSE_CONFIGS, bucket)
        inline = facts.inline_sse_algorithms(bucket)
        if inline is not None and (not inline or any(a not in SSE_ALGORITHMS for a in inline)):
            report(
                f"{where(bucket, 'serverSideEncryptionConfiguration')} (inline) is {inline!r} "
                f"(must be one of {', '.join(SSE_ALGORITHMS)})",
                bucket.urn,
            )
        if not configs and inline is None:
            report(
                f"{where(bucket, 'bucket')}: no BucketServerSideEncryptionConfiguration targets this bucket", bucket.urn
            )
        for config in configs:
            algorithms = [
                (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
                for rule in config.props.get("rules") or []
            ]
            if not algorithms or any(a not in SSE_ALGORITHMS for a in algorithms):
                report(
                    f"{where(config, 'rules[].applyServerSideEncryptionByDefault.sseAlgorithm')} is {algorithms!r} "
                    f"(must be one of {', '.join(SSE_ALGORITHMS)})",
                    config.urn,
                )


def _denies_plain_http(statement: facts.Statement) -> bool:
    if statement.effect != "Deny" or not any(facts.action_matches(a, "s3:GetObject") for a in statement.actions):
        return False
    secure = (statement.condition.get("Bool") or {}).get("aws:SecureTransport")
    return secure is False or (isinstance(secure, str) and secure.lower() == "false")


def _policies_of(args: Any, report: Report, bucket: Any) -> list[tuple[Any, Any]]:
    policies = facts.bucket_policies(list(args.resources), bucket)
    if not policies:
        report(f"{where(bucket, 'bucket')}: no BucketPolicy targets this bucket", bucket.urn)
    return policies


def tls_only(args: Any, report: Report) -> None:
    for bucket in _buckets(args):
        policies = _policies_of(args, report, bucket)
        # AWS evaluates the bucket's one policy: the deny may sit in any document that becomes it.
        if policies and not any(_denies_plain_http(s) for _h, doc in policies for s in facts.statements(doc)):
            for holder, _doc in policies:
                report(f"{where(holder, 'policy')}: no Deny statement for aws:SecureTransport = false", holder.urn)


def _only_cloudfront(principal: Any) -> bool:
    if not isinstance(principal, Mapping) or set(principal) != {"Service"}:
        return False
    return facts.as_list(principal["Service"]) == [CLOUDFRONT_SERVICE]


def _source_arns(condition: Mapping[str, Any]) -> list[str]:
    arns: list[str] = []
    for operator in ("StringEquals", "ArnEquals", "ArnLike", "StringLike"):
        block = condition.get(operator) or {}
        for key, value in block.items():
            if key.lower() == "aws:sourcearn":
                arns.extend(str(v) for v in facts.as_list(value))
    return arns


def _own_distribution(holder: Any) -> bool:
    """The policy document is built from a Distribution of this stack (its ``policy`` input depends on one)."""
    return any(d.resource_type == t.DISTRIBUTION for d in holder.property_dependencies.get("policy", []))


def cdn_only_access(args: Any, report: Report) -> None:
    resources = list(args.resources)
    accounts = facts.stack_accounts(resources)
    for bucket in _buckets(args):
        for policy, document in _policies_of(args, report, bucket):
            for s in facts.statements(document):
                if s.effect != "Allow":
                    continue
                label = where(policy, f"policy Statement[{s.index}]")
                if not _only_cloudfront(s.principal):
                    report(
                        f"{label}.Principal is {s.principal!r}: only {{'Service': '{CLOUDFRONT_SERVICE}'}} may be allowed",
                        policy.urn,
                    )
                arns = _source_arns(s.condition)
                if not arns or any(":cloudfront::" not in a or ":distribution/" not in a or "*" in a for a in arns):
                    report(
                        f"{label}.Condition must bind AWS:SourceArn to one CloudFront distribution ARN (is {arns!r})",
                        policy.urn,
                    )
                foreign = [a for a in arns if account_of(a) not in accounts]
                if arns and foreign:
                    report(
                        f"{label}.Condition AWS:SourceArn {foreign!r} names a distribution outside this stack's "
                        f"account ({', '.join(sorted(accounts)) or 'unknown'})",
                        policy.urn,
                    )
                elif arns and not _own_distribution(policy):
                    report(
                        f"{label}.Condition AWS:SourceArn {arns!r} is not taken from a Distribution of this stack",
                        policy.urn,
                    )
                outside = [
                    r for r in s.resources if not r.split(":::", 1)[-1].partition("/")[2].startswith(SERVED_PREFIX)
                ]
                if outside:
                    report(
                        f"{label}.Resource {outside!r} reaches beyond {SERVED_PREFIX}* (drafts and quarantine are never served)",
                        policy.urn,
                    )


def versioning(args: Any, report: Report) -> None:
    resources = list(args.resources)
    for bucket in _buckets(args):
        configs = facts.attached(resources, t.VERSIONINGS, bucket)
        inline = facts.inline_versioning(bucket)
        if inline is False:
            report(f"{where(bucket, 'versioning.enabled')} (inline) is false: overwritten images are lost", bucket.urn)
        if not configs and inline is None:
            report(f"{where(bucket, 'bucket')}: no BucketVersioning targets this bucket", bucket.urn)
        for config in configs:
            status = (config.props.get("versioningConfiguration") or {}).get("status")
            if status != "Enabled":
                report(f"{where(config, 'versioningConfiguration.status')} is {status!r} (must be Enabled)", config.urn)


POLICIES = [
    stack_policy("storage-public-access-blocked", public_access_blocked),
    stack_policy("storage-owner-enforced", owner_enforced),
    stack_policy("storage-encrypted", encrypted),
    stack_policy("storage-tls-only", tls_only),
    stack_policy("storage-cdn-only-access", cdn_only_access),
    stack_policy("storage-versioning", versioning),
]
