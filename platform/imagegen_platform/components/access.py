"""Least-privilege IAM documents for the functions, as pure functions of resolved ARNs.

No ``*`` action anywhere. ``*`` resources only where AWS offers nothing narrower: X-Ray
PutTraceSegments/PutTelemetryRecords, Rekognition DetectModerationLabels (not resource-scoped) and
CloudWatch PutMetricData (scoped by a namespace condition instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from imagegen_platform.components.names import INPUTS_PREFIX, QUARANTINE_PREFIX, SERVED_PREFIX
from imagegen_platform.settings import StackSettings

PARTITION = "aws"
METRICS_NAMESPACE = "imagegen"

SERVED, QUARANTINE, INPUTS = SERVED_PREFIX, QUARANTINE_PREFIX, INPUTS_PREFIX
TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    # Both write a job with its image and ledger records in one BatchWriteItem (imagegen_service.jobs).
    "dynamodb:BatchWriteItem",
)

Statement = dict[str, Any]


def lambda_trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def foundation_model_arn(region: str, model_id: str) -> str:
    return f"arn:{PARTITION}:bedrock:{region}::foundation-model/{model_id}"


def inference_profile_arn(region: str, account_id: str, profile_id: str) -> str:
    return f"arn:{PARTITION}:bedrock:{region}:{account_id}:inference-profile/{profile_id}"


def model_arns(settings: StackSettings, account_id: str) -> list[str]:
    """The ARNs InvokeModel may touch for the enabled models, and nothing else.

    An inference profile (``us.`` prefix) routes to the foundation model in any region of the
    profile, and IAM checks both the profile ARN and the model ARN in the serving region.
    """
    arns: list[str] = []
    for enabled in settings.models:
        spec = enabled.spec
        region = settings.model_region(enabled)
        if spec.inference_profile:
            arns.append(inference_profile_arn(region, account_id, spec.model_id))
            arns.extend(foundation_model_arn(r, spec.foundation_model_id) for r in spec.regions)
        else:
            arns.append(foundation_model_arn(region, spec.model_id))
    return sorted(set(arns))


@dataclass(frozen=True)
class FunctionGrants:
    """The resolved ARNs one function's policy names."""

    log_group_arn: str
    model_arns: Sequence[str]
    jobs_queue_arn: str
    table_arns: Sequence[str]
    bucket_arn: str
    guardrail_arn: str | None = None
    secret_arns: Sequence[str] = field(default_factory=tuple)
    moderation: bool = True


def _observability(grants: FunctionGrants) -> list[Statement]:
    return [
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [grants.log_group_arn, f"{grants.log_group_arn}:*"],
        },
        {
            # X-Ray trace segments are not resource-scoped (AWS requires "*").
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
        {
            # PutMetricData has no resource type; the namespace condition is the scope.
            "Sid": "Metrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
        },
    ]


def _generation(grants: FunctionGrants, *, writes: tuple[str, ...], reads: tuple[str, ...]) -> list[Statement]:
    statements: list[Statement] = [
        {
            "Sid": "InvokeEnabledModels",
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": list(grants.model_arns),
        },
        {
            "Sid": "WriteImages",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": [f"{grants.bucket_arn}/{prefix}*" for prefix in writes],
        },
        {
            "Sid": "ReadImages",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"{grants.bucket_arn}/{prefix}*" for prefix in reads],
        },
        {
            # Without s3:ListBucket S3 answers a missing key with 403 AccessDenied instead of 404
            # NoSuchKey (S3 API reference, GetObject: "If you don't have the s3:ListBucket
            # permission, Amazon S3 returns an HTTP status code 403"), and the worker would retry a
            # permanent error as a transient one. Whether S3 honours an s3:prefix condition for this
            # check is UNCONFIRMED, so the grant is the bucket, unconditioned (keys are hashes).
            "Sid": "MissingKeysAreNotFound",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": grants.bucket_arn,
        },
        {
            "Sid": "Metadata",
            "Effect": "Allow",
            "Action": list(TABLE_ACTIONS),
            "Resource": [*grants.table_arns, *(f"{arn}/index/*" for arn in grants.table_arns)],
        },
    ]
    if grants.moderation:
        statements.append(
            {
                # DetectModerationLabels takes image bytes and has no resource type: AWS requires "*".
                "Sid": "ImageModeration",
                "Effect": "Allow",
                "Action": "rekognition:DetectModerationLabels",
                "Resource": "*",
            }
        )
    if grants.secret_arns:
        statements.append(
            {
                "Sid": "SigningSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": sorted(set(grants.secret_arns)),
            }
        )
    return statements


def api_policy(grants: FunctionGrants) -> dict[str, Any]:
    """The API validates, screens prompts, enqueues jobs and (POST /v1/images) generates synchronously."""
    statements = _observability(grants) + _generation(
        grants,
        # Caller-supplied images go to inputs/ before the job is queued.
        writes=(SERVED, QUARANTINE, INPUTS),
        reads=(SERVED, INPUTS),
    )
    statements.append(
        {"Sid": "EnqueueJobs", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": grants.jobs_queue_arn}
    )
    if grants.guardrail_arn is not None:
        statements.append(
            {
                "Sid": "ScreenPrompts",
                "Effect": "Allow",
                "Action": "bedrock:ApplyGuardrail",
                "Resource": grants.guardrail_arn,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def worker_policy(grants: FunctionGrants) -> dict[str, Any]:
    """The worker drains the jobs queue (the event source mapping polls with the worker's role); it
    shortens a failed message's visibility (retry after seconds) and sends a paced job again as a new,
    delayed message (pacing must not count towards maxReceiveCount)."""
    statements = _observability(grants) + _generation(grants, writes=(SERVED, QUARANTINE), reads=(SERVED, INPUTS))
    statements.append(
        {
            "Sid": "ConsumeJobs",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:SendMessage",
            ],
            "Resource": grants.jobs_queue_arn,
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}
