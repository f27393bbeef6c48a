"""What the customer deploy role must grant, derived from the resource graph.

``RESOURCE_ACTIONS`` maps each resource type the program declares to the IAM actions the AWS
provider (pulumi-aws 7 = the Terraform AWS provider v6 underneath) calls to create, read, update,
delete and tag it, read from the provider's source (``internal/service/<service>/<resource>.go`` of
hashicorp/terraform-provider-aws, named per entry) and the service authorization reference for
the action each API call needs. Some actions depend on a resource's inputs (a bucket with
``forceDestroy`` deletes objects; a stage with access logs needs the log-delivery actions), so
``actions_for(resource)`` reads them.

docs/customer-deploy-role.yaml follows this table: tests/unit/test_customers_deploy_role.py fails
when any stack's graph holds a type the table lacks or an action the role does not grant, and when
the role grants an action no resource (nor ``PREFLIGHT_ACTIONS``) needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from imagegen_platform.doctor import DOCTOR_ACTIONS


@dataclass(frozen=True)
class ResourceActions:
    source: str
    """The provider source file whose calls these are (hashicorp/terraform-provider-aws)."""
    create: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    """With the provider's ``default_tags`` every taggable resource is tagged on create and its tags read back."""

    @property
    def all(self) -> frozenset[str]:
        return frozenset(self.create + self.read + self.update + self.delete + self.tag)


_CF = "internal/service/cloudfront"
_S3 = "internal/service/s3"


def _s3_sub(name: str, put: str, get: str, delete: str | None = None) -> ResourceActions:
    # The bucket sub-resources: Delete* calls are authorised by the Put* action (S3 service
    # authorization reference), except bucket policies (DeleteBucketPolicy) and access blocks.
    return ResourceActions(f"{_S3}/{name}.go", create=(put,), read=(get,), update=(put,), delete=(delete or put,))


def _cloudfront(name: str, noun: str) -> ResourceActions:
    return ResourceActions(
        f"{_CF}/{name}.go",
        create=(f"cloudfront:Create{noun}",),
        read=(f"cloudfront:Get{noun}",),
        update=(f"cloudfront:Update{noun}",),
        delete=(f"cloudfront:Delete{noun}",),
    )


RESOURCE_ACTIONS: dict[str, ResourceActions] = {
    # ------------------------------------------------------------------ storage
    "aws:s3/bucket:Bucket": ResourceActions(
        f"{_S3}/bucket.go",
        # CreateBucket, then HeadBucket until it exists (s3:ListBucket authorises HeadBucket).
        # Tags go in the CreateBucket request, which then also needs s3:TagResource (without it the
        # provider's first CreateBucket is denied and repeated without tags, then PutBucketTagging).
        create=("s3:CreateBucket", "s3:TagResource", "s3:ListBucket"),
        # resourceBucketRead reads every bucket sub-configuration it still reports.
        read=(
            "s3:ListBucket",
            "s3:GetBucketPolicy",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketWebsite",
            "s3:GetBucketVersioning",
            "s3:GetAccelerateConfiguration",
            "s3:GetBucketRequestPayment",
            "s3:GetBucketLogging",
            "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:GetBucketObjectLockConfiguration",
        ),
        delete=("s3:DeleteBucket",),
        tag=("s3:PutBucketTagging", "s3:GetBucketTagging"),
    ),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _s3_sub(
        "bucket_public_access_block", "s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _s3_sub(
        "bucket_ownership_controls", "s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls"
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _s3_sub(
        "bucket_server_side_encryption_configuration", "s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": _s3_sub(
        "bucket_versioning", "s3:PutBucketVersioning", "s3:GetBucketVersioning"
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _s3_sub(
        "bucket_lifecycle_configuration", "s3:PutLifecycleConfiguration", "s3:GetLifecycleConfiguration"
    ),
    "aws:s3/bucketPolicy:BucketPolicy": _s3_sub(
        "bucket_policy", "s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"
    ),
    # ------------------------------------------------------------------ delivery
    "aws:cloudfront/originAccessControl:OriginAccessControl": _cloudfront(
        "origin_access_control", "OriginAccessControl"
    ),
    "aws:cloudfront/cachePolicy:CachePolicy": _cloudfront("cache_policy", "CachePolicy"),
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": _cloudfront(
        "response_headers_policy", "ResponseHeadersPolicy"
    ),
    "aws:cloudfront/publicKey:PublicKey": _cloudfront("public_key", "PublicKey"),
    "aws:cloudfront/keyGroup:KeyGroup": _cloudfront("key_group", "KeyGroup"),
    "aws:cloudfront/distribution:Distribution": ResourceActions(
        f"{_CF}/distribution.go",
        # CreateDistributionWithTags is authorised by CreateDistribution + TagResource; delete
        # disables the distribution first (UpdateDistribution) and waits on GetDistribution.
        create=("cloudfront:CreateDistribution",),
        read=("cloudfront:GetDistribution",),
        update=("cloudfront:UpdateDistribution",),
        delete=("cloudfront:UpdateDistribution", "cloudfront:DeleteDistribution"),
        tag=("cloudfront:TagResource", "cloudfront:UntagResource", "cloudfront:ListTagsForResource"),
    ),
    "aws:route53/record:Record": ResourceActions(
        "internal/service/route53/record.go",
        # Create looks the zone up (GetHostedZone), changes the set and waits on GetChange.
        create=("route53:GetHostedZone", "route53:ChangeResourceRecordSets", "route53:GetChange"),
        read=("route53:ListResourceRecordSets",),
        update=("route53:ChangeResourceRecordSets", "route53:GetChange"),
        delete=("route53:ChangeResourceRecordSets", "route53:GetChange"),
    ),
    # ------------------------------------------------------------------ queue, tables
    "aws:sqs/queue:Queue": ResourceActions(
        "internal/service/sqs/queue.go",
        create=("sqs:CreateQueue",),
        read=("sqs:GetQueueAttributes", "sqs:GetQueueUrl"),
        update=("sqs:SetQueueAttributes",),
        delete=("sqs:DeleteQueue",),
        tag=("sqs:TagQueue", "sqs:UntagQueue", "sqs:ListQueueTags"),
    ),
    "aws:dynamodb/table:Table": ResourceActions(
        "internal/service/dynamodb/table.go",
        create=("dynamodb:CreateTable", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive"),
        read=(
            "dynamodb:DescribeTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:DescribeTimeToLive",
            # Whether the table read still asks for Kinesis streaming destinations is UNCONFIRMED;
            # read-only, so granted (safe side).
            "dynamodb:DescribeKinesisStreamingDestination",
        ),
        update=("dynamodb:UpdateTable", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive"),
        delete=("dynamodb:DeleteTable",),
        tag=("dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:ListTagsOfResource"),
    ),
    "aws:dynamodb/tableItem:TableItem": ResourceActions(
        "internal/service/dynamodb/table_item.go",
        # Create is a conditional PutItem; an update of the item is UpdateItem (resourceTableItemUpdate),
        # then DeleteItem of the old record when the key changed. Read is a consistent GetItem.
        create=("dynamodb:PutItem",),
        read=("dynamodb:GetItem",),
        update=("dynamodb:UpdateItem", "dynamodb:DeleteItem"),
        delete=("dynamodb:DeleteItem",),
    ),
    # ------------------------------------------------------------------ functions
    "aws:iam/role:Role": ResourceActions(
        "internal/service/iam/role.go",
        create=("iam:CreateRole",),
        # Read: GetRole (tags come with it), the inline policies (each read: our RolePolicy resources are
        # inline policies of the role) and the attached ones it reports.
        read=("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"),
        update=("iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy"),
        # Delete detaches and removes what is left, and instance profiles.
        delete=("iam:ListInstanceProfilesForRole", "iam:DeleteRole"),
        # ListRoleTags: whether the provider lists tags or takes them from GetRole is UNCONFIRMED;
        # it is read-only, so the safe side is to grant it.
        tag=("iam:TagRole", "iam:UntagRole", "iam:ListRoleTags"),
    ),
    "aws:iam/rolePolicy:RolePolicy": ResourceActions(
        "internal/service/iam/role_policy.go",
        create=("iam:PutRolePolicy",),
        read=("iam:GetRolePolicy",),
        update=("iam:PutRolePolicy",),
        delete=("iam:DeleteRolePolicy",),
    ),
    "aws:lambda/layerVersion:LayerVersion": ResourceActions(
        "internal/service/lambda/layer_version.go",
        create=("lambda:PublishLayerVersion",),
        read=("lambda:GetLayerVersion",),
        delete=("lambda:DeleteLayerVersion",),
    ),
    "aws:lambda/function:Function": ResourceActions(
        "internal/service/lambda/function.go",
        # Create passes the role (iam:PassRole) and names the layer (lambda:GetLayerVersion).
        create=("lambda:CreateFunction", "iam:PassRole", "lambda:GetLayerVersion"),
        read=(
            "lambda:GetFunction",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:GetRuntimeManagementConfig",
            "lambda:ListVersionsByFunction",
        ),
        update=("lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"),
        delete=("lambda:DeleteFunction",),
        tag=("lambda:TagResource", "lambda:UntagResource", "lambda:ListTags"),
    ),
    "aws:lambda/permission:Permission": ResourceActions(
        "internal/service/lambda/permission.go",
        create=("lambda:AddPermission",),
        read=("lambda:GetPolicy",),
        delete=("lambda:RemovePermission",),
    ),
    "aws:lambda/eventSourceMapping:EventSourceMapping": ResourceActions(
        "internal/service/lambda/event_source_mapping.go",
        create=("lambda:CreateEventSourceMapping",),
        read=("lambda:GetEventSourceMapping",),
        update=("lambda:UpdateEventSourceMapping",),
        delete=("lambda:DeleteEventSourceMapping",),
        # Issue 13 finding 1: mappings are taggable, so default_tags tag them and read them back.
        tag=("lambda:TagResource", "lambda:UntagResource", "lambda:ListTags"),
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ResourceActions(
        "internal/service/cloudwatch/metric_alarm.go",
        create=("cloudwatch:PutMetricAlarm",),
        read=("cloudwatch:DescribeAlarms",),
        update=("cloudwatch:PutMetricAlarm",),
        delete=("cloudwatch:DeleteAlarms",),
        tag=("cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"),
    ),
    "aws:cloudwatch/logGroup:LogGroup": ResourceActions(
        "internal/service/logs/group.go",
        create=("logs:CreateLogGroup", "logs:PutRetentionPolicy"),
        read=("logs:DescribeLogGroups",),
        update=("logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy"),
        delete=("logs:DeleteLogGroup",),
        tag=("logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource"),
    ),
    # ------------------------------------------------------------------ API
    **{
        f"aws:apigatewayv2/{module}:{name}": ResourceActions(
            f"internal/service/apigatewayv2/{module}.go",
            create=("apigateway:POST",),
            read=("apigateway:GET",),
            update=("apigateway:PATCH",),
            delete=("apigateway:DELETE",),
            # Tags of an HTTP API or stage: POST/DELETE/GET on /tags/{arn} (API Gateway v2 TagResource,
            # UntagResource, GetTags). Version 1's TagResource is PUT on the same path; which method
            # IAM checks for v2 tags is UNCONFIRMED, so PUT is granted too (on /tags/* only).
            tag=("apigateway:POST", "apigateway:DELETE", "apigateway:GET", "apigateway:PUT")
            if name in ("Api", "Stage")
            else (),
        )
        for module, name in (
            ("api", "Api"),
            ("integration", "Integration"),
            ("route", "Route"),
            ("stage", "Stage"),
            ("authorizer", "Authorizer"),
        )
    },
    # ------------------------------------------------------------------ moderation
    "aws:bedrock/guardrail:Guardrail": ResourceActions(
        "internal/service/bedrock/guardrail.go",
        create=("bedrock:CreateGuardrail",),
        read=("bedrock:GetGuardrail",),
        update=("bedrock:UpdateGuardrail",),
        delete=("bedrock:DeleteGuardrail",),
        tag=("bedrock:TagResource", "bedrock:UntagResource", "bedrock:ListTagsForResource"),
    ),
    "aws:bedrock/guardrailVersion:GuardrailVersion": ResourceActions(
        "internal/service/bedrock/guardrail_version.go",
        create=("bedrock:CreateGuardrailVersion",),
        read=("bedrock:GetGuardrail",),
        # Deleting a version is DeleteGuardrail with the version number.
        delete=("bedrock:DeleteGuardrail",),
    ),
    # ------------------------------------------------------------------ cost guard, alerts, quotas
    "aws:budgets/budget:Budget": ResourceActions(
        "internal/service/budgets/budget.go",
        # CreateBudget, UpdateBudget and DeleteBudget are all authorised by ModifyBudget.
        create=("budgets:ModifyBudget",),
        read=("budgets:ViewBudget",),
        update=("budgets:ModifyBudget",),
        delete=("budgets:ModifyBudget",),
        tag=("budgets:TagResource", "budgets:UntagResource", "budgets:ListTagsForResource"),
    ),
    "aws:kms/key:Key": ResourceActions(
        "internal/service/kms/key.go",
        create=("kms:CreateKey", "kms:EnableKeyRotation"),
        read=("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus"),
        # UpdateKeyDescription: a description that changes (ours names the stack's base name).
        update=("kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:UpdateKeyDescription"),
        delete=("kms:ScheduleKeyDeletion",),
        tag=("kms:TagResource", "kms:UntagResource", "kms:ListResourceTags"),
    ),
    "aws:kms/alias:Alias": ResourceActions(
        "internal/service/kms/alias.go",
        create=("kms:CreateAlias",),
        read=("kms:ListAliases",),
        update=("kms:UpdateAlias",),
        delete=("kms:DeleteAlias",),
    ),
    "aws:sns/topic:Topic": ResourceActions(
        "internal/service/sns/topic.go",
        create=("sns:CreateTopic",),
        read=("sns:GetTopicAttributes",),
        update=("sns:SetTopicAttributes",),
        delete=("sns:DeleteTopic",),
        tag=("sns:TagResource", "sns:UntagResource", "sns:ListTagsForResource"),
    ),
    "aws:sns/topicPolicy:TopicPolicy": ResourceActions(
        "internal/service/sns/topic_policy.go",
        create=("sns:SetTopicAttributes",),
        read=("sns:GetTopicAttributes",),
        update=("sns:SetTopicAttributes",),
        delete=("sns:SetTopicAttributes",),
    ),
    "aws:sns/topicSubscription:TopicSubscription": ResourceActions(
        "internal/service/sns/topic_subscription.go",
        # An e-mail subscription stays "pending confirmation": the provider finds it by listing the topic.
        create=("sns:Subscribe", "sns:ListSubscriptionsByTopic"),
        read=("sns:GetSubscriptionAttributes",),
        update=("sns:SetSubscriptionAttributes",),
        delete=("sns:Unsubscribe",),
    ),
    "aws:servicequotas/serviceQuota:ServiceQuota": ResourceActions(
        "internal/service/servicequotas/service_quota.go",
        create=("servicequotas:GetServiceQuota", "servicequotas:RequestServiceQuotaIncrease"),
        read=(
            "servicequotas:GetServiceQuota",
            "servicequotas:GetAWSDefaultServiceQuota",
            "servicequotas:GetRequestedServiceQuotaChange",
            # Finding an open request for the quota before asking again: 2026 revisions of the provider
            # list the quota's request history (always in one, with wait_for_fulfillment in another).
            "servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota",
        ),
        update=("servicequotas:RequestServiceQuotaIncrease",),
    ),
}

# Types that cost no AWS call of their own: the provider (its STS GetCallerIdentity needs no
# permission) and our components.
NO_ACTIONS = ("pulumi:providers:aws",)

NOT_FOR_CUSTOMERS: dict[str, str] = {
    action: "force_destroy empties the bucket on `pulumi destroy`: dev and local stacks only"
    for action in ("s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion")
}
"""Actions some non-customer stack needs that the customer role deliberately lacks (a test proves no
customer stack needs them)."""

PREFLIGHT_ACTIONS: frozenset[str] = frozenset(action for action in DOCTOR_ACTIONS if not action.startswith("sts:"))
"""The read-only checks ``imagegen doctor`` makes with the assumed role of things the stack names but
does not create (models, certificate, secrets, quotas); sts:AssumeRole is the partner's own grant and
GetCallerIdentity needs none."""


def _input_dependent(resource: dict[str, Any]) -> set[str]:
    kind, inputs = resource["type"], resource["inputs"]
    extra: set[str] = set()
    if kind == "aws:s3/bucket:Bucket" and inputs.get("forceDestroy") in (True, "true"):
        # force_destroy empties a versioned bucket before deleting it (dev and local stacks).
        extra |= {"s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion"}
    if kind == "aws:iam/role:Role" and inputs.get("permissionsBoundary"):
        extra |= {"iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"}
    if kind == "aws:apigatewayv2/stage:Stage" and inputs.get("accessLogSettings"):
        # API Gateway developer guide, HTTP API logging: the caller needs these log-delivery actions.
        extra |= {
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        }
    return extra


class UnmappedResourceType(KeyError):
    """A resource type the program declares but the table above does not know."""


def actions_for(resource: dict[str, Any]) -> frozenset[str]:
    """The actions the provider calls for one resource of a preview graph."""
    kind = resource["type"]
    if not kind.startswith("aws:"):
        return frozenset()
    if kind not in RESOURCE_ACTIONS:
        raise UnmappedResourceType(kind)
    return RESOURCE_ACTIONS[kind].all | _input_dependent(resource)


def required_actions(graphs: Iterable[dict[str, Any]]) -> frozenset[str]:
    """Every action some resource of these graphs needs."""
    return frozenset(action for graph in graphs for resource in graph["resources"] for action in actions_for(resource))
