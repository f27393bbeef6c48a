"""ImageStore: the private, encrypted, TLS-only bucket for generated images.

Key layout (fixed by the lead): ``images/…`` content-addressed and served through CloudFront,
``drafts/…`` expired by lifecycle, ``quarantine/…`` never served and expired later, ``inputs/…``
(caller-supplied source images) never served and expired once no queued job can still need them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
from imagegen_platform.components.names import (
    DRAFTS_PREFIX,
    INPUTS_PREFIX,
    QUARANTINE_PREFIX,
    SERVED_PREFIX,
    PhysicalNames,
)
from pulumi_aws import s3

NONCURRENT_VERSION_DAYS = 30
"""Versioning guards against overwrite/delete mistakes; old versions need not live forever."""
ABORT_MULTIPART_DAYS = 1


@dataclass(frozen=True)
class ImageStoreArgs:
    names: PhysicalNames
    draft_expiry_days: int
    quarantine_expiry_days: int
    inputs_expiry_days: int
    force_destroy: bool = False


def bucket_policy_document(bucket_arn: str, distribution_arn: str) -> dict[str, Any]:
    """TLS only, and CloudFront (this distribution, through OAC) may read served images only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # The canonical TLS guard denies every S3 action over plain HTTP; a Deny grants nothing.
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "AllowCloudFrontReadServedImages",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{SERVED_PREFIX}*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
            },
        ],
    }


class ImageStore(pulumi.ComponentResource):
    bucket: s3.Bucket
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    regional_domain_name: pulumi.Output[str]

    def __init__(self, name: str, args: ImageStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagegen:storage:ImageStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._name = name

        self.bucket = s3.Bucket(
            f"{name}-bucket", bucket_prefix=args.names.bucket_prefix, force_destroy=args.force_destroy, opts=child
        )
        bucket_id = self.bucket.id
        self.public_access_block = s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # OAC needs owner-enforced ownership (ACLs disabled).
        self.ownership = s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            rule=s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        # SSE-S3: CloudFront OAC reads it without a KMS key-policy grant.
        self.encryption = s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[
                s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        self.versioning = s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            versioning_configuration=s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        self.lifecycle = s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=[
                _expire("expire-drafts", DRAFTS_PREFIX, args.draft_expiry_days),
                _expire("expire-quarantine", QUARANTINE_PREFIX, args.quarantine_expiry_days),
                _expire("expire-inputs", INPUTS_PREFIX, args.inputs_expiry_days),
                s3.BucketLifecycleConfigurationRuleArgs(
                    id="tidy-versions-and-uploads",
                    status="Enabled",
                    filter=s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=NONCURRENT_VERSION_DAYS
                    ),
                    abort_incomplete_multipart_upload=s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=ABORT_MULTIPART_DAYS
                    ),
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )

        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.regional_domain_name = self.bucket.bucket_regional_domain_name
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})

    def serve_through(self, distribution_arn: pulumi.Input[str]) -> s3.BucketPolicy:
        """The bucket policy: declared once the distribution exists (its ARN is the OAC condition)."""
        document = pulumi.Output.all(self.bucket.arn, distribution_arn).apply(
            lambda arns: json.dumps(bucket_policy_document(arns[0], arns[1]))
        )
        self.policy = s3.BucketPolicy(
            f"{self._name}-policy",
            bucket=self.bucket.id,
            policy=document,
            # Put the policy after the public access block, or S3 may judge it against stale settings.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block, self.ownership]),
        )
        return self.policy


def _expire(rule_id: str, prefix: str, days: int) -> s3.BucketLifecycleConfigurationRuleArgs:
    return s3.BucketLifecycleConfigurationRuleArgs(
        id=rule_id,
        status="Enabled",
        filter=s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=prefix),
        expiration=s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
        noncurrent_version_expiration=s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=1
        ),
    )
