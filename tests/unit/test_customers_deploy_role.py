"""docs/customer-deploy-role.yaml: the role a customer creates for the partner, linted and checked
against what the program actually declares (offline preview of the prod stack)."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "docs" / "customer-deploy-role.yaml"
ACCOUNT = "123456789012"
SUBSTITUTIONS = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "NamePrefix": "imagegen", "RoleName": "imagegen-deploy",
                 "PartnerAccountId": "999988887777"}  # fmt: skip

# Which IAM service prefix a Pulumi AWS resource module needs.
IAM_PREFIX = {"apigatewayv2": "apigateway", "cloudwatch/logGroup": "logs", "cloudwatch/metricAlarm": "cloudwatch"}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Sub, !Ref, !GetAtt) as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    return {name: loader.construct_sequence(node)}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    return loaded


@pytest.fixture(scope="module")
def prod_graph(stack_graph: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    return stack_graph("prod")


def _sub(value: Any) -> str:
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    for key, replacement in SUBSTITUTIONS.items():
        text = text.replace("${" + key + "}", replacement)
    return str(text)


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            out += resource["Properties"]["PolicyDocument"]["Statement"]
    return out


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allowed(template: dict[str, Any], action: str, arn: str) -> bool:
    """Whether some Allow statement grants ``action`` on ``arn`` (conditions aside) and no Deny blocks it."""

    def matches(statement: dict[str, Any]) -> bool:
        actions = [a.lower() for a in _as_list(statement["Action"])]
        resources = [_sub(r) for r in _as_list(statement["Resource"])]
        return any(fnmatch.fnmatchcase(action.lower(), a) for a in actions) and any(
            fnmatch.fnmatchcase(arn, r) for r in resources
        )

    statements = _statements(template)
    denied = any(matches(s) for s in statements if s["Effect"] == "Deny")
    return not denied and any(matches(s) for s in statements if s["Effect"] == "Allow")


def test_cfn_lint_passes() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_the_partner_with_the_external_id_may_assume_it(template: dict[str, Any]) -> None:
    trust = template["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1
    (statement,) = trust
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert _sub(statement["Principal"]["AWS"]) == "arn:aws:iam::999988887777:root"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert template["Parameters"]["ExternalId"]["NoEcho"] is True


def test_no_blanket_permissions(template: dict[str, Any]) -> None:
    for statement in _statements(template):
        if statement["Effect"] != "Allow":
            continue
        for action in _as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), statement["Sid"]
            if action.startswith("iam:"):
                assert all(":role/imagegen-*-" in _sub(r) for r in _as_list(statement["Resource"])), statement["Sid"]
    pass_role = [s for s in _statements(template) if "iam:PassRole" in _as_list(s["Action"])]
    assert len(pass_role) == 1
    assert pass_role[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}


def test_the_role_cannot_change_itself(template: dict[str, Any]) -> None:
    own_arn = f"arn:aws:iam::{ACCOUNT}:role/imagegen-deploy"
    for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PassRole"):
        assert not _allowed(template, action, own_arn)


def _granted(template: dict[str, Any]) -> set[str]:
    return {a for s in _statements(template) if s["Effect"] == "Allow" for a in _as_list(s["Action"])}


def _customer_graphs(graphs: dict[str, Any]) -> list[dict[str, Any]]:
    return [g for name, g in graphs.items() if name.startswith("customer-")]


def test_every_resource_type_of_every_graph_is_in_the_action_table(graphs: dict[str, Any]) -> None:
    from imagegen_platform.deploy_role import NO_ACTIONS, RESOURCE_ACTIONS

    kinds = {r["type"] for g in graphs.values() for r in g["resources"] if r["type"].startswith(("aws:", "pulumi:"))}
    assert kinds - set(RESOURCE_ACTIONS) - set(NO_ACTIONS) == set()
    # the variant really turns the optional features on
    everything = {r["type"] for r in graphs["customer-acme+everything"]["resources"]}
    assert {"aws:route53/record:Record", "aws:apigatewayv2/authorizer:Authorizer"} <= everything


def test_the_role_grants_every_action_a_customer_stack_needs(template: dict[str, Any], graphs: dict[str, Any]) -> None:
    from imagegen_platform.deploy_role import required_actions

    needed = required_actions(_customer_graphs(graphs))
    assert sorted(needed - _granted(template)) == []


def test_the_role_grants_nothing_no_resource_needs(template: dict[str, Any], graphs: dict[str, Any]) -> None:
    from imagegen_platform.deploy_role import PREFLIGHT_ACTIONS, required_actions

    granted = _granted(template)
    assert all("*" not in action for action in granted), "explicit actions only: a wildcard grants more than is needed"
    needed = required_actions(_customer_graphs(graphs)) | PREFLIGHT_ACTIONS
    assert sorted(granted - needed) == []


def test_what_the_role_withholds_only_non_customer_stacks_need(
    template: dict[str, Any], graphs: dict[str, Any]
) -> None:
    from imagegen_platform.deploy_role import NOT_FOR_CUSTOMERS, required_actions

    everywhere = required_actions(graphs.values())
    assert sorted(everywhere - required_actions(_customer_graphs(graphs)) - set(NOT_FOR_CUSTOMERS)) == []
    assert not set(NOT_FOR_CUSTOMERS) & _granted(template)


def test_event_source_mappings_can_be_tagged(template: dict[str, Any], prod_graph: dict[str, Any]) -> None:
    # issue 13 finding 1: default_tags make the provider tag the mapping and list its tags; the role
    # granted them on functions only, so the first customer deploy failed.
    arn = f"arn:aws:lambda:us-west-2:{ACCOUNT}:event-source-mapping:6d9bfc4e-3a1c-4d5e-9f3b-2a7c1e8d4b50"
    for action in ("lambda:TagResource", "lambda:ListTags", "lambda:UntagResource"):
        assert _allowed(template, action, arn), action


def test_dns_records_are_limited_to_alias_record_types(template: dict[str, Any]) -> None:
    (statement,) = [s for s in _statements(template) if "route53:ChangeResourceRecordSets" in _as_list(s["Action"])]
    assert statement["Condition"] == {
        "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["A", "AAAA"]}
    }


def test_the_program_names_fall_inside_the_scoped_resources(
    template: dict[str, Any], prod_graph: dict[str, Any]
) -> None:
    region = "us-west-2"
    checks: list[tuple[str, str]] = []
    for resource in prod_graph["resources"]:
        inputs, kind = resource["inputs"], resource["type"]
        if kind == "aws:lambda/function:Function":
            checks.append(("lambda:UpdateFunctionCode", f"arn:aws:lambda:{region}:{ACCOUNT}:function:{inputs['name']}"))
        elif kind == "aws:lambda/layerVersion:LayerVersion":
            checks.append(
                ("lambda:PublishLayerVersion", f"arn:aws:lambda:{region}:{ACCOUNT}:layer:{inputs['layerName']}")
            )
        elif kind == "aws:iam/role:Role":
            checks.append(("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{inputs['name']}"))
            checks.append(("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{inputs['name']}"))
        elif kind == "aws:dynamodb/table:Table":
            checks.append(("dynamodb:CreateTable", f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{inputs['name']}"))
        elif kind == "aws:dynamodb/tableItem:TableItem":
            checks.append(("dynamodb:PutItem", f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{inputs['tableName']}"))
        elif kind == "aws:sqs/queue:Queue":
            checks.append(("sqs:CreateQueue", f"arn:aws:sqs:{region}:{ACCOUNT}:{inputs['name']}"))
        elif kind == "aws:s3/bucket:Bucket":
            checks.append(("s3:CreateBucket", f"arn:aws:s3:::{inputs['bucketPrefix']}abc123"))
        elif kind == "aws:cloudwatch/logGroup:LogGroup":
            checks.append(("logs:CreateLogGroup", f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{inputs['name']}"))
        elif kind == "aws:cloudwatch/metricAlarm:MetricAlarm":
            checks.append(
                ("cloudwatch:PutMetricAlarm", f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{inputs['name']}")
            )
        elif kind == "aws:sns/topic:Topic":
            checks.append(("sns:CreateTopic", f"arn:aws:sns:{region}:{ACCOUNT}:{inputs['name']}"))
        elif kind == "aws:budgets/budget:Budget":
            checks.append(("budgets:ModifyBudget", f"arn:aws:budgets::{ACCOUNT}:budget/{inputs['name']}"))
        elif kind == "aws:servicequotas/serviceQuota:ServiceQuota":
            checks.append(
                (
                    "servicequotas:RequestServiceQuotaIncrease",
                    f"arn:aws:servicequotas:{region}:{ACCOUNT}:bedrock/{inputs['quotaCode']}",
                )
            )
        elif kind == "aws:kms/alias:Alias":
            checks.append(("kms:CreateAlias", f"arn:aws:kms:{region}:{ACCOUNT}:{inputs['name']}"))
    kinds = {action.split(":")[0] for action, _ in checks}
    assert {
        "lambda",
        "iam",
        "dynamodb",
        "sqs",
        "s3",
        "logs",
        "cloudwatch",
        "sns",
        "budgets",
        "kms",
    } <= kinds  # servicequotas: prod requests no quota increase (no Active model has a confirmed quota code)
    refused = [(action, arn) for action, arn in checks if not _allowed(template, action, arn)]
    assert refused == []


def _policy_documents(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each managed policy with CloudFormation substitutions applied, as IAM would see it."""

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            if "Fn::Sub" in value:
                return _sub(value)
            if "Ref" in value:
                return "imagegen"
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    return {
        name: resolve(resource["Properties"]["PolicyDocument"])
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
    }


# Findings we accept, and why: the program writes the bucket policy (OAC grant), so PutBucketPolicy is
# inherent; the conditioned/"*"-only actions are commented in the template; KMS alias actions need
# both the alias and the key ARN, so each of the two statements names one of them.
ACCEPTED_PARLIAMENT = {"RESOURCE_POLICY_PRIVILEGE_ESCALATION", "RESOURCE_STAR"}


def test_parliament_finds_no_action_resource_mismatch(template: dict[str, Any]) -> None:
    import json

    from parliament import analyze_policy_string

    unexpected = []
    for name, document in _policy_documents(template).items():
        for finding in analyze_policy_string(json.dumps(document)).findings:
            if finding.issue in ACCEPTED_PARLIAMENT:
                continue
            if finding.issue == "RESOURCE_MISMATCH" and all(
                d["action"].startswith("kms:") and "Alias" in d["action"] for d in finding.detail
            ):
                continue
            unexpected.append((name, finding.issue, finding.detail))
    assert unexpected == []


def test_each_managed_policy_fits_iams_size_limit(template: dict[str, Any]) -> None:
    import json

    # IAM counts a managed policy's characters without whitespace; the limit is 6,144.
    for name, document in _policy_documents(template).items():
        assert len(json.dumps(document, separators=(",", ":"))) < 6144, name
