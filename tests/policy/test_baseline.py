"""The independent baseline: checkov over a Terraform-plan export of each shipped stack's preview.

One checkov run (its start-up dominates) scans every shipped stack and one deliberately broken copy
of prod. Expected check IDs are checkov's own (https://www.checkov.io/5.Policy%20Index/terraform.html),
not ours.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from imagegen_platform.settings import stack_names
from imagegen_policies import baseline, registry, report

MUTANT = "prod-regressed"

# Terraform AWS provider resource names (registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/…)
# for the pulumi-aws types the shipped stacks use.
TERRAFORM_NAMES = {
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "aws_s3_bucket_server_side_encryption_configuration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:sqs/queue:Queue": "aws_sqs_queue",
    "aws:sqs/redrivePolicy:RedrivePolicy": "aws_sqs_queue_redrive_policy",
    "aws:lambda/function:Function": "aws_lambda_function",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "aws_lambda_event_source_mapping",
    "aws:lambda/permission:Permission": "aws_lambda_permission",
    "aws:lambda/layerVersion:LayerVersion": "aws_lambda_layer_version",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:dynamodb/table:Table": "aws_dynamodb_table",
    "aws:dynamodb/tableItem:TableItem": "aws_dynamodb_table_item",
    "aws:cloudfront/distribution:Distribution": "aws_cloudfront_distribution",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "aws_cloudfront_origin_access_control",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "aws_cloudwatch_metric_alarm",
    "aws:apigatewayv2/api:Api": "aws_apigatewayv2_api",
    "aws:apigatewayv2/stage:Stage": "aws_apigatewayv2_stage",
    "aws:apigatewayv2/route:Route": "aws_apigatewayv2_route",
    "aws:apigatewayv2/integration:Integration": "aws_apigatewayv2_integration",
    "aws:apigatewayv2/authorizer:Authorizer": "aws_apigatewayv2_authorizer",
    "aws:cloudfront/cachePolicy:CachePolicy": "aws_cloudfront_cache_policy",
    "aws:cloudfront/keyGroup:KeyGroup": "aws_cloudfront_key_group",
    "aws:cloudfront/publicKey:PublicKey": "aws_cloudfront_public_key",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "aws_cloudfront_response_headers_policy",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:sns/topicPolicy:TopicPolicy": "aws_sns_topic_policy",
    "aws:sns/topicSubscription:TopicSubscription": "aws_sns_topic_subscription",
    "aws:bedrock/guardrail:Guardrail": "aws_bedrock_guardrail",
    "aws:bedrock/guardrailVersion:GuardrailVersion": "aws_bedrock_guardrail_version",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:sns/topic:Topic": "aws_sns_topic",
    "aws:budgets/budget:Budget": "aws_budgets_budget",
    "aws:servicequotas/serviceQuota:ServiceQuota": "aws_servicequotas_service_quota",
    "aws:route53/record:Record": "aws_route53_record",
}


def test_export_uses_terraform_attribute_names_and_references() -> None:
    graph = {
        "resources": [
            {
                "urn": "u:b",
                "type": "aws:s3/bucket:Bucket",
                "name": "images",
                "inputs": {"bucket": "x", "forceDestroy": False},
            },
            {
                "urn": "u:p",
                "type": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "name": "images-pab",
                "inputs": {"bucket": "x", "blockPublicAcls": True},
                "property_dependencies": {"bucket": ["u:b"]},
            },
            {
                "urn": "u:f",
                "type": "aws:lambda/function:Function",
                "name": "api",
                "inputs": {"name": "fn", "environment": {"variables": {"A": "1"}}, "tags": {"k": "v"}},
            },
            {
                "urn": "u:d",
                "type": "aws:cloudfront/distribution:Distribution",
                "name": "cdn",
                "inputs": {"origins": [{"domainName": "d", "originId": "o"}], "aliases": ["a.example.com"]},
            },
        ]
    }
    exported = baseline.plan(graph)
    values = {r["address"]: r["values"] for r in exported.plan["planned_values"]["root_module"]["resources"]}
    # Terraform's names: function_name (aws_lambda_function), environment as a one-element block, tags a map,
    # repeated `origin` blocks, force_destroy in snake_case
    assert values["aws_lambda_function.api"] == {
        "function_name": "fn",
        "environment": [{"variables": {"A": "1"}}],
        "tags": {"k": "v"},
    }
    assert values["aws_cloudfront_distribution.cdn"]["origin"] == [{"domain_name": "d", "origin_id": "o"}]
    assert values["aws_cloudfront_distribution.cdn"]["aliases"] == ["a.example.com"]
    assert values["aws_s3_bucket.images"] == {"bucket": "x", "force_destroy": False}
    # the public access block's bucket is the bucket's id: a reference, as terraform show -json has it
    assert "bucket" not in values["aws_s3_bucket_public_access_block.images_pab"]
    (config,) = [
        r
        for r in exported.plan["configuration"]["root_module"]["resources"]
        if r["address"] == "aws_s3_bucket_public_access_block.images_pab"
    ]
    assert config["expressions"]["bucket"]["references"] == ["aws_s3_bucket.images.id", "aws_s3_bucket.images"]
    assert exported.addresses["aws_s3_bucket.images"] == "u:b"
    # map or block was decided by pulumi-aws's own input types, not by the fallback list
    assert exported.unresolved == []


def _regress(graph: dict[str, Any]) -> dict[str, Any]:
    """prod with three baseline settings undone: the queue unencrypted, KMS rotation off, no public access block."""
    mutant = copy.deepcopy(graph)
    mutant["resources"] = [r for r in mutant["resources"] if r["type"] != registry.BUCKET_PAB]
    for resource in mutant["resources"]:
        inputs = resource["inputs"]
        if resource["type"] == registry.QUEUE and resource["name"].endswith("jobs"):
            for key in ("sqsManagedSseEnabled", "kmsMasterKeyId", "kmsDataKeyReusePeriodSeconds"):
                inputs.pop(key, None)
            inputs["sqsManagedSseEnabled"] = False
        if resource["type"] == "aws:kms/key:Key":
            inputs["enableKeyRotation"] = False
    return mutant


def test_checkov_over_every_shipped_stack(pinned_today_and_pool: None) -> None:
    """One test (one xdist worker, one checkov run): every shipped stack and a regressed copy of prod."""
    from imagegen_platform.preview import run_preview

    # the scanner needs the graph only; prod's verdict feeds the report entry below
    previews = {stack: run_preview(stack, policies=stack == "prod") for stack in stack_names()}
    # GIVEN the pulumi-aws types of every shipped stack, each mapped to the Terraform resource it wraps
    used = {r["type"] for p in previews.values() for r in p["resources"] if r["type"].startswith("aws:")}
    assert used <= set(TERRAFORM_NAMES), f"add the Terraform name of {sorted(used - set(TERRAFORM_NAMES))}"
    assert {t: baseline.terraform_type(t) for t in used} == {t: TERRAFORM_NAMES[t] for t in used}
    # ... and every object-valued input typed as a map or a nested block by pulumi-aws's own input types
    assert {stack: baseline.plan(p).unresolved for stack, p in previews.items()} == {s: [] for s in previews}
    # WHEN checkov scans them all, with prod regressed in three baseline settings beside them
    runner = baseline.Checkov.find()
    assert runner is not None, f"checkov is not installed in {baseline.CHECKOV_VENV}: run `make setup`"
    scans = baseline.scan_many({**previews, MUTANT: _regress(previews["prod"])}, runner)
    # THEN no shipped stack has an unwaived finding, and what must pass passed (so the export carries it):
    # CKV2_AWS_6 bucket joined to its public access block, CKV_AWS_27 SQS encrypted, CKV_AWS_7 KMS rotation,
    # CKV_AWS_28 DynamoDB PITR, CKV_AWS_50 Lambda X-Ray, CKV_AWS_76 API access logs, CKV2_AWS_61 S3 lifecycle
    must_pass = {"CKV2_AWS_6", "CKV_AWS_27", "CKV_AWS_7", "CKV_AWS_28", "CKV_AWS_50", "CKV_AWS_76", "CKV2_AWS_61"}
    for stack in previews:
        scan = scans[stack]
        assert scan["resources"] > 40, stack
        assert scan["unwaived"] == [], (stack, [f"{f['rule']} {f['address']}: {f['title']}" for f in scan["unwaived"]])
        assert must_pass <= set(scan["passed_checks"]), (stack, must_pass - set(scan["passed_checks"]))
        assert all(fix["result"] == "pass" for fix in scan["fixed"]), (stack, scan["fixed"])
    # ... every waiver still matches a finding somewhere (a stale waiver misleads the reader)
    used_waivers = {(w["rule"], w["resource"], s) for s in previews for w in scans[s]["waived"]}
    stale = [
        w.rule
        for w in baseline.load_config().waivers
        if not any(w.covers(rule, urn, stack) for rule, urn, stack in used_waivers)
    ]
    assert stale == []
    # ... and the regression is caught by checkov's own checks, unwaived, and blocks the stack in the report
    unwaived = {(f["rule"], f["address"].split(".")[0]) for f in scans[MUTANT]["unwaived"]}
    assert unwaived == {
        ("CKV_AWS_27", "aws_sqs_queue"),  # SQS queue encrypted at rest
        ("CKV_AWS_7", "aws_kms_key"),  # KMS key rotation
        ("CKV2_AWS_6", "aws_s3_bucket"),  # S3 bucket has a public access block
    }
    blocked = report.stack_entry(
        MUTANT, previews["prod"], settings_sha256="0" * 64, policy_config_sha256=None, scan=scans[MUTANT]
    )
    assert blocked["verdict"] == "blocked"
    shipped = report.stack_entry(
        "prod", previews["prod"], settings_sha256="0" * 64, policy_config_sha256=None, scan=scans["prod"]
    )
    assert shipped["verdict"] == "ship"
    assert shipped["waivers"] and all(set(w) >= {"rule", "resource", "reason"} for w in shipped["waivers"])
    assert all(w["resource"].startswith("urn:pulumi:prod::") for w in shipped["waivers"])


def test_a_waiver_without_a_reason_is_refused(tmp_path: Any) -> None:
    path = tmp_path / "scanner.yaml"
    path.write_text("waivers:\n  - rule: CKV_AWS_18\n    resource: '*'\n")
    with pytest.raises(baseline.ScannerError, match=r"waivers\[0\]: reason required"):
        baseline.load_config(path)
