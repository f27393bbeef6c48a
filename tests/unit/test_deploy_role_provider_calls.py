"""The deploy-role table (imagegen_platform.deploy_role) against an oracle it was not written from.

tests/reference/terraform_provider_calls.json lists the API calls the Terraform AWS provider (which
pulumi-aws 7 wraps) makes for each resource type we declare, read from the provider's Go source, with
the IAM action each call needs (iamlive's operation → action map). parliament's IAM database is the
second, separately maintained source: an action it does not know is a mapping mistake, corrected here
with the AWS page that says what the call needs. Every call a resource of some stack's graph makes must
be granted by ``actions_for`` that resource; a call made only for some input must be granted, or that
input must be unset on every resource of the type (and be a real input of the pulumi-aws resource).

This is how the table missed ``dynamodb:UpdateItem``: a changed licence record is updated with
UpdateItem (resourceTableItemUpdate), and the table had PutItem.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FACTS = json.loads((Path(__file__).resolve().parents[1] / "reference" / "terraform_provider_calls.json").read_text())
FILES: dict[str, Any] = FACTS["files"]

# iamlive's map names these; IAM has no such action (parliament agrees). What the call needs instead:
CORRECTIONS: dict[str, tuple[str, ...]] = {
    # S3 API reference, DeleteBucketOwnershipControls: "you must have the s3:PutBucketOwnershipControls permission"
    "s3:DeleteBucketOwnershipControls": ("s3:PutBucketOwnershipControls",),
    # CloudFront API reference, CreateDistributionWithTags: authorised as CreateDistribution plus TagResource
    "cloudfront:CreateDistributionWithTags": ("cloudfront:CreateDistribution", "cloudfront:TagResource"),
}
# Actions newer than parliament's copy of the Service Authorization Reference (only on paths we never take).
NEWER_THAN_PARLIAMENT = {
    "lambda:ListDurableExecutionsByFunction",
    "lambda:GetDurableExecution",
    "lambda:StopDurableExecution",
}


def _set(value: Any) -> bool:
    return value not in (None, "", [], {}, False, "false")


def _false(value: Any) -> bool:
    return value in (False, "false")


# A conditional call the table does not grant, and what would make the provider call it: an input of the
# resource (camelCase, as in the graph) with a test of its value, or, for a path no input of ours takes,
# the reason.
Trigger = tuple[str, Callable[[Any], bool]]
OFF_OUR_PATH: dict[tuple[str, str], tuple[Trigger, ...] | str] = {
    **{
        ("lambda/function.go", op): (("reservedConcurrentExecutions", lambda v: v is not None and int(v) >= 0),)
        for op in ("Lambda.PutFunctionConcurrency", "Lambda.DeleteFunctionConcurrency")
    },
    ("lambda/function.go", "Lambda.GetFunctionConcurrency"): "a qualified function only: the resource has no qualifier",
    **{
        ("lambda/function.go", op): (("codeSigningConfigArn", _set),)
        for op in ("Lambda.PutFunctionCodeSigningConfig", "Lambda.DeleteFunctionCodeSigningConfig")
    },
    ("lambda/function.go", "Lambda.PublishVersion"): (("publish", _set),),
    ("lambda/function.go", "Lambda.GetFunctionConfiguration"): (("publish", _set),),
    ("lambda/function.go", "EC2.DescribeSecurityGroups"): (("replaceSecurityGroupsOnDestroy", _set),),
    **{
        ("lambda/function.go", op): (("durableConfig", _set),)
        for op in (
            "Lambda.ListDurableExecutionsByFunction",
            "Lambda.StopDurableExecution",
            "Lambda.GetDurableExecution",
        )
    },
    **{
        ("logs/group.go", op): (("kmsKeyId", _set),)
        for op in ("CloudWatchLogs.AssociateKmsKey", "CloudWatchLogs.DisassociateKmsKey")
    },
    # The bucket's inline (deprecated) configuration: ours is in side resources, each with its own entry.
    **{
        ("s3/bucket.go", op): ((name, _set),)
        for op, name in (
            ("S3.PutBucketPolicy", "policy"),
            ("S3.DeleteBucketPolicy", "policy"),
            ("S3.PutBucketCors", "corsRules"),
            ("S3.DeleteBucketCors", "corsRules"),
            ("S3.PutBucketWebsite", "website"),
            ("S3.DeleteBucketWebsite", "website"),
            ("S3.PutBucketVersioning", "versioning"),
            ("S3.PutBucketLogging", "logging"),
            ("S3.PutBucketLifecycleConfiguration", "lifecycleRules"),
            ("S3.DeleteBucketLifecycle", "lifecycleRules"),
            ("S3.PutBucketAccelerateConfiguration", "accelerationStatus"),
            ("S3.PutBucketRequestPayment", "requestPayer"),
            ("S3.PutBucketReplication", "replicationConfiguration"),
            ("S3.DeleteBucketReplication", "replicationConfiguration"),
            ("S3.PutBucketEncryption", "serverSideEncryptionConfiguration"),
            ("S3.DeleteBucketEncryption", "serverSideEncryptionConfiguration"),
            ("S3.PutObjectLockConfiguration", "objectLockConfiguration"),
            ("S3.PutObjectLegalHold", "objectLockConfiguration"),
        )
    },
    ("s3/bucket.go", "S3.PutBucketAcl"): (("grants", _set), ("acl", _set)),
    # Emptying a bucket on delete: actions_for grants these where forceDestroy is set (dev, local).
    **{
        ("s3/bucket.go", op): (("forceDestroy", _set),)
        for op in ("S3.ListObjectVersions", "S3.DeleteObjects", "S3.DeleteObject")
    },
    **{
        ("cloudfront/distribution.go", op): (("continuousDeploymentPolicyId", _set),)
        for op in ("CloudFront.GetContinuousDeploymentPolicy", "CloudFront.UpdateContinuousDeploymentPolicy")
    },
    ("dynamodb/table.go", "DynamoDB.RestoreTableToPointInTime"): (
        ("restoreSourceName", _set),
        ("restoreSourceTableArn", _set),
    ),
    ("dynamodb/table.go", "DynamoDB.RestoreTableFromBackup"): (("restoreBackupArn", _set),),
    **{
        ("dynamodb/table.go", op): (("importTable", _set),)
        for op in ("DynamoDB.ImportTable", "DynamoDB.DescribeImport")
    },
    ("dynamodb/table.go", "KMS.DescribeKey"): "reads whether a table's key is the default one; its errors are ignored",
    ("dynamodb/table_item.go", "DynamoDB.DescribeTable"): "after an import by identity only",
    **{
        ("iam/role.go", op): (("inlinePolicies", _set), ("managedPolicyArns", _set), ("forceDetachPolicies", _set))
        for op in ("IAM.PutRolePolicy", "IAM.AttachRolePolicy", "IAM.DetachRolePolicy", "IAM.DeleteRolePolicy")
    },
    ("iam/role.go", "IAM.RemoveRoleFromInstanceProfile"): "only a role in an instance profile: ours are Lambda roles",
    **{
        ("iam/role.go", op): (("permissionsBoundary", _set),)
        for op in ("IAM.PutRolePermissionsBoundary", "IAM.DeleteRolePermissionsBoundary")
    },
    **{("kms/key.go", op): (("isEnabled", _false),) for op in ("KMS.DisableKey", "KMS.EnableKey")},
    ("kms/key.go", "KMS.DisableKeyRotation"): (("enableKeyRotation", _false),),
}
# SNS: iamlive adds iam:PassRole to CreateTopic and SetTopicAttributes for the delivery-status logging
# roles (SNS developer guide, "Amazon SNS message delivery status"); no topic of ours names one.
SNS_PASS_ROLE_INPUTS = "FeedbackRoleArn"


def _resource_types() -> dict[str, str]:
    from imagegen_platform.deploy_role import RESOURCE_ACTIONS

    return {kind: entry.source for kind, entry in RESOURCE_ACTIONS.items()}


def _needed(call: dict[str, Any]) -> set[str]:
    return {fixed for action in call["actions"] for fixed in CORRECTIONS.get(action, (action,))}


def _short(source: str) -> str:
    return source.removeprefix("internal/service/")


def test_every_resource_type_has_the_provider_calls_on_record() -> None:
    assert sorted(set(_resource_types().values()) - set(FILES)) == []
    for source, entry in FILES.items():
        assert entry["calls"], source
        assert {c["phase"] for c in entry["calls"]} <= {"create", "read", "update", "delete", "tag"}, source


def test_every_action_named_is_one_iam_has() -> None:
    from parliament import UnknownActionException, expand_action

    unknown = set()
    for entry in FILES.values():
        for call in entry["calls"]:
            for action in _needed(call) - NEWER_THAN_PARLIAMENT:
                try:
                    expand_action(action)
                except UnknownActionException:
                    unknown.add(action)
    assert sorted(unknown) == []
    # the corrections are needed: parliament rejects what they replace
    for wrong in CORRECTIONS:
        with pytest.raises(UnknownActionException):
            expand_action(wrong)


def test_every_trigger_is_an_input_of_the_resource() -> None:
    """A misspelt input would never be set, and the check below would pass for nothing."""
    import pulumi_aws

    def args_class(kind: str) -> type:
        module, rest = kind.removeprefix("aws:").split("/", 1)
        name = rest.split(":", 1)[1]
        package = getattr(pulumi_aws, "lambda_" if module == "lambda" else module)
        cls: type = getattr(package, f"{name}Args")
        return cls

    sources = {_short(source): kind for kind, source in _resource_types().items()}
    for (source, _op), rule in OFF_OUR_PATH.items():
        assert source in sources, source
        if isinstance(rule, str):
            continue
        cls = args_class(sources[source])
        for name, _test in rule:
            snake_name = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
            assert isinstance(getattr(cls, snake_name, None), property), (cls.__name__, name)


def test_every_call_a_resource_makes_is_granted_or_off_its_path(graphs: dict[str, Any]) -> None:
    from imagegen_platform.deploy_role import actions_for

    types = _resource_types()
    problems: list[str] = []
    used_rules: set[tuple[str, str]] = set()
    for stack, graph in graphs.items():
        for resource in graph["resources"]:
            source = types.get(resource["type"])
            if source is None:
                continue
            granted = actions_for(resource)
            inputs = resource["inputs"]
            for call in FILES[source]["calls"]:
                needed = _needed(call) - granted
                if call["op"].startswith("SNS.") and not any(k.endswith(SNS_PASS_ROLE_INPUTS) for k in inputs):
                    needed.discard("iam:PassRole")
                if not needed:
                    continue
                key = (_short(source), call["op"])
                rule = OFF_OUR_PATH.get(key) if call["conditional"] else None
                if rule is None:
                    problems.append(f"{stack}: {resource['type']} {call['phase']} {call['op']} needs {sorted(needed)}")
                    continue
                used_rules.add(key)
                if isinstance(rule, str):
                    continue
                for name, triggers in rule:
                    if name in inputs and triggers(inputs[name]):
                        problems.append(
                            f"{stack}: {resource['type']} sets {name}, so {call['op']} needs {sorted(needed)}"
                        )
    assert problems == []
    # every exemption is still needed (an action granted since, or a call the provider dropped, retires it)
    assert sorted(set(OFF_OUR_PATH) - used_rules) == []


# Grants the table holds that no recorded call names, and why each stays (the record is one revision of
# each file, read by hand; a read-only grant it misses costs nothing, a missing one fails a deploy).
KEPT_WITHOUT_A_RECORDED_CALL: dict[tuple[str, str], str] = {
    ("aws:sqs/queue:Queue", "sqs:GetQueueUrl"): "read-only; resolving a queue by name (older revisions, import)",
    ("aws:dynamodb/table:Table", "dynamodb:DescribeKinesisStreamingDestination"): "read-only; older revisions' read",
    ("aws:iam/role:Role", "iam:ListRoleTags"): "read-only; the provider has the call (tags normally come with GetRole)",
    ("aws:lambda/function:Function", "lambda:GetLayerVersion"): (
        "authorisation, not a provider call: CreateFunction with layers needs it (Lambda developer guide, layers)"
    ),
    ("aws:lambda/function:Function", "lambda:GetRuntimeManagementConfig"): "read-only; runtime management reads",
    ("aws:lambda/eventSourceMapping:EventSourceMapping", "lambda:TagResource"): (
        "the recorded revision (2024) predates tags on mappings; default_tags tag them now (issue 13, finding 1)"
    ),
    ("aws:lambda/eventSourceMapping:EventSourceMapping", "lambda:UntagResource"): "as TagResource",
    ("aws:apigatewayv2/stage:Stage", "apigateway:PUT"): "UNCONFIRMED which verb IAM checks for v2 tags: PUT too",
    ("aws:sns/topicSubscription:TopicSubscription", "sns:ListSubscriptionsByTopic"): (
        "read-only; older revisions find a subscription pending confirmation by listing the topic"
    ),
}


def test_every_grant_is_a_recorded_call_or_kept_for_a_reason() -> None:
    from imagegen_platform.deploy_role import RESOURCE_ACTIONS

    extra = set()
    for kind, entry in RESOURCE_ACTIONS.items():
        named = {action for call in FILES[entry.source]["calls"] for action in _needed(call)}
        extra |= {(kind, action) for action in entry.all - named}
    assert sorted(extra - set(KEPT_WITHOUT_A_RECORDED_CALL)) == []
    assert sorted(set(KEPT_WITHOUT_A_RECORDED_CALL) - extra) == []
