"""Every IAM policy document in every stack's preview graph passes parliament with zero findings.

Policies come from the resources the program declares (role inline policies, managed policies,
bucket and queue policies, trust policies). parliament's own override file
(``parliament-overrides.yaml``) is the only place an AWS requirement may be excused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import parliament
import pytest
from parliament.cli import is_finding_filtered

from tests.security.graphs import all_stack_graphs

OVERRIDES = Path(__file__).with_name("parliament-overrides.yaml")

# resource type → the inputs that hold a policy document
POLICY_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
    "aws:sns/topicPolicy:TopicPolicy": ("policy",),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("policy",),
    "aws:kms/key:Key": ("policy",),
}


def policy_documents(graph: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, policy JSON) for every policy document in the graph."""
    found = []
    for resource in graph["resources"]:
        for name in POLICY_INPUTS.get(resource["type"], ()):
            document = resource["inputs"].get(name)
            if document:
                text = document if isinstance(document, str) else json.dumps(document)
                found.append((f"{resource['name']}.{name}", text))
        for inline in resource["inputs"].get("inlinePolicies") or []:
            if isinstance(inline, dict) and inline.get("policy"):
                found.append((f"{resource['name']}.inlinePolicies.{inline.get('name')}", inline["policy"]))
    return found


def audit(document: str, where: str) -> list[str]:
    """parliament's findings for one document, after the override file, as readable lines."""
    parliament.override_config(str(OVERRIDES))
    policy = parliament.analyze_policy_string(document, filepath=where)
    findings = [parliament.enhance_finding(f) for f in policy.findings]
    return [
        f"{f.issue} ({f.severity}) {f.detail} at {f.location}"
        for f in findings
        if not is_finding_filtered(f, minimum_severity="LOW")
    ]


def stacks() -> list[str]:
    from imagegen_platform.settings import stack_names

    return stack_names()


@pytest.mark.parametrize("stack", stacks())
def test_every_policy_of_the_stack_passes_parliament(stack: str) -> None:
    # GIVEN the policy documents the program declares for this stack
    documents = policy_documents(all_stack_graphs()[stack])
    kinds = {where.rsplit(".", 1)[-1] for where, _ in documents}
    assert len(documents) >= 4, documents
    assert "policy" in kinds
    # WHEN parliament audits each one
    findings = {where: audit(text, where) for where, text in documents}
    # THEN none has a finding
    assert {where: f for where, f in findings.items() if f} == {}


def test_every_stack_declares_role_bucket_and_queue_policies() -> None:
    for stack, graph in all_stack_graphs().items():
        types = {r["type"] for r in graph["resources"]}
        assert "aws:iam/rolePolicy:RolePolicy" in types, stack
        assert "aws:s3/bucketPolicy:BucketPolicy" in types, stack


def test_the_audit_catches_a_wildcard_policy() -> None:
    # A planted over-broad policy must not pass: proves the audit is really run.
    planted = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutBucketPolicy"], "Resource": "*"}],
        }
    )
    assert audit(planted, "planted") != []
