"""Every IAM policy document in every stack's preview graph passes parliament with zero findings.

Policies come from the resources the program declares (role policies, managed policies, bucket,
queue, topic and KMS key policies). Each statement is audited on its own (so an override can name
one statement), and resource policies are also audited whole (parliament's cross-statement
privilege-escalation check). parliament's override file (``parliament-overrides.yaml``) is the only
place an AWS requirement may be excused. Trust policies are not identity policies (parliament
would call them malformed): they are checked structurally below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import parliament
import pytest
from parliament.cli import is_finding_filtered

from tests.security.graphs import all_stack_graphs

OVERRIDES = Path(__file__).with_name("parliament-overrides.yaml")
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RESOURCE_POLICIES = {
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:secretsmanager/secretPolicy:SecretPolicy",
    "aws:kms/key:Key",
}
POLICY_INPUTS = {ROLE_POLICY: "policy", "aws:iam/policy:Policy": "policy", **dict.fromkeys(RESOURCE_POLICIES, "policy")}


def _document(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def policy_documents(graph: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource type, "<type>:<name>.<input>", document) for every policy document in the graph."""
    found = []
    for resource in graph["resources"]:
        name = POLICY_INPUTS.get(resource["type"])
        if name and resource["inputs"].get(name):
            where = f"{resource['type']}:{resource['name']}.{name}"
            found.append((resource["type"], where, _document(resource["inputs"][name])))
    return found


def ignored(finding: Any) -> bool:
    """parliament's ``ignore_locations`` semantics (cli.is_finding_filtered): an entry matches when
    every key's regex (or one of a list of them) fully matches that location field, case-insensitive.

    Re-applied here because parliament 1.6.4 runs the entries through ``misc.make_list``, which
    only understands jsoncfg nodes and turns the plain strings of a YAML file into an empty list,
    so the documented override file could never excuse anything.
    """
    for entry in finding.ignore_locations or []:
        if all(
            any(
                re.fullmatch(str(pattern).lower(), str(finding.location.get(key, "")).lower())
                for pattern in (patterns if isinstance(patterns, list) else [patterns])
            )
            for key, patterns in entry.items()
        ):
            return True
    return False


def audit(document: dict[str, Any], where: str) -> list[str]:
    """parliament's findings for one document, after the override file, as readable lines."""
    parliament.override_config(str(OVERRIDES))
    policy = parliament.analyze_policy_string(json.dumps(document), filepath=where)
    findings = [parliament.enhance_finding(f) for f in policy.findings]
    return [
        f"{f.issue} ({f.severity}) {f.detail} at {f.location}"
        for f in findings
        if not is_finding_filtered(f) and not ignored(f)
    ]


def audit_policy(kind: str, where: str, document: dict[str, Any]) -> list[str]:
    statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
    findings = []
    for index, statement in enumerate(statements):
        sid = statement.get("Sid", f"statement{index}")
        single = {"Version": document.get("Version", "2012-10-17"), "Statement": [statement]}
        findings += audit(single, f"{where}#{sid}")
    if kind in RESOURCE_POLICIES:
        findings += (
            [f for f in audit(document, where) if not f.startswith("RESOURCE_STAR")]
            if kind == "aws:kms/key:Key"
            else audit(document, where)
        )
    return findings


def stacks() -> list[str]:
    from imagegen_platform.settings import stack_names

    return stack_names()


@pytest.mark.parametrize("stack", stacks())
def test_every_policy_of_the_stack_passes_parliament(stack: str) -> None:
    # GIVEN the policy documents the program declares for this stack
    documents = policy_documents(all_stack_graphs()[stack])
    kinds = {kind for kind, _, _ in documents}
    assert {ROLE_POLICY, "aws:s3/bucketPolicy:BucketPolicy"} <= kinds, kinds
    # WHEN parliament audits each one
    findings = {where: audit_policy(kind, where, document) for kind, where, document in documents}
    # THEN none has a finding
    assert {where: f for where, f in findings.items() if f} == {}


FOUNDATION_MODEL = re.compile(r"^arn:aws:bedrock:[a-z0-9-]+::foundation-model/[a-z0-9.:-]+$")
INFERENCE_PROFILE = re.compile(r"^arn:aws:bedrock:[a-z0-9-]+:\d{12}:inference-profile/[a-z0-9.:-]+$")


@pytest.mark.parametrize("stack", stacks())
def test_invoke_model_is_scoped_to_enabled_models(stack: str) -> None:
    """The statement the RESOURCE_MISMATCH override names: only model and profile ARNs, never '*'."""
    from imagegen_platform.settings import load_stack

    _, settings = load_stack(stack)
    enabled = {m.spec.foundation_model_id for m in settings.models}
    for kind, where, document in policy_documents(all_stack_graphs()[stack]):
        for statement in document["Statement"]:
            if statement.get("Sid") != "InvokeEnabledModels":
                continue
            assert kind == ROLE_POLICY and statement["Action"] in ("bedrock:InvokeModel", ["bedrock:InvokeModel"])
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for arn in resources:
                assert FOUNDATION_MODEL.match(arn) or INFERENCE_PROFILE.match(arn), (where, arn)
                assert arn.rsplit("/", 1)[1].removeprefix("us.") in enabled, (where, arn)


def test_trust_policies_let_only_lambda_assume_the_function_roles() -> None:
    for stack, graph in all_stack_graphs().items():
        for resource in graph["resources"]:
            if resource["type"] != "aws:iam/role:Role":
                continue
            trust = _document(resource["inputs"]["assumeRolePolicy"])
            for statement in trust["Statement"]:
                assert statement["Effect"] == "Allow", (stack, resource["name"])
                assert statement["Action"] in ("sts:AssumeRole", ["sts:AssumeRole"]), (stack, resource["name"])
                principal = statement["Principal"]
                assert set(principal) == {"Service"} and principal["Service"] == "lambda.amazonaws.com", (
                    stack,
                    resource["name"],
                    principal,
                )


def test_kms_key_policies_keep_to_the_account() -> None:
    """The statements the RESOURCE_STAR override names: the account root and AWS services of this account."""
    for stack, graph in all_stack_graphs().items():
        for kind, where, document in policy_documents(graph):
            if kind != "aws:kms/key:Key":
                continue
            for statement in document["Statement"]:
                principal = statement["Principal"]
                if "AWS" in principal:
                    assert re.fullmatch(r"arn:aws:iam::\d{12}:root", principal["AWS"]), (stack, where)
                else:
                    assert statement.get("Condition", {}).get("StringEquals", {}).get("aws:SourceAccount"), (
                        stack,
                        where,
                    )


def test_the_audit_catches_a_wildcard_policy() -> None:
    # A planted over-broad policy must not pass: proves the audit is really run.
    planted = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Planted", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutBucketPolicy"], "Resource": "*"}
        ],
    }
    assert audit_policy(ROLE_POLICY, f"{ROLE_POLICY}:planted.policy", planted) != []
    # and the InvokeModel override does not excuse a mismatch in any other statement
    mismatch = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Other", "Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:s3:::bucket/*"}
        ],
    }
    assert any(
        f.startswith("RESOURCE_MISMATCH") for f in audit_policy(ROLE_POLICY, f"{ROLE_POLICY}:planted.policy", mismatch)
    )
