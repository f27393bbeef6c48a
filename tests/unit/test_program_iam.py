"""Least privilege: each function's role names only what it uses, and the enabled models only."""

from __future__ import annotations

import pytest
from imagegen_service import catalogue

from tests.unit.program_graph import STACKS, account_of, as_list, of_type, one, preview_mutated, settings_of, statements

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# Where AWS offers no narrower resource (or scopes by condition instead).
STAR_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "rekognition:DetectModerationLabels",
    "cloudwatch:PutMetricData",
}


def _policy(graph, role: str):
    return one(graph, ROLE_POLICY, f"-{role}-policy")


def _actions(graph, role: str) -> dict[str, list[str]]:
    granted: dict[str, list[str]] = {}
    for statement in statements(_policy(graph, role)):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            granted.setdefault(action, []).extend(as_list(statement["Resource"]))
    return granted


def expected_model_arns(stack: str, account: str) -> set[str]:
    """Independently of the program: every enabled model's ARNs, from the catalogue."""
    settings = settings_of(stack)
    arns = set()
    for enabled in settings.models:
        spec = catalogue.MODELS[enabled.model]
        region = enabled.region or settings.region
        if spec.model_id.startswith("us."):
            arns.add(f"arn:aws:bedrock:{region}:{account}:inference-profile/{spec.model_id}")
            bare = spec.model_id.removeprefix("us.")
            arns |= {f"arn:aws:bedrock:{r}::foundation-model/{bare}" for r in spec.regions}
        else:
            arns.add(f"arn:aws:bedrock:{region}::foundation-model/{spec.model_id}")
    return arns


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("role", ["api", "worker"])
def test_invoke_model_names_only_the_enabled_models(stack_graph, stack: str, role: str) -> None:
    account = account_of(stack)
    granted = _actions(stack_graph(stack), role)
    assert set(granted["bedrock:InvokeModel"]) == expected_model_arns(stack, account)
    enabled_ids = {catalogue.MODELS[m.model].foundation_model_id for m in settings_of(stack).models}
    for arn in granted["bedrock:InvokeModel"]:
        assert arn.rsplit("/", 1)[1].removeprefix("us.") in enabled_ids


@pytest.mark.parametrize("stack", STACKS)
def test_no_star_actions_and_star_resources_only_where_aws_requires(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    for policy in of_type(graph, ROLE_POLICY):
        for statement in statements(policy):
            actions = as_list(statement["Action"])
            assert not any("*" in action for action in actions), statement
            if "*" in as_list(statement["Resource"]):
                assert set(actions) <= STAR_RESOURCE_ACTIONS, statement
            if "cloudwatch:PutMetricData" in actions:
                assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "imagegen"}}


@pytest.mark.parametrize("stack", STACKS)
def test_each_function_gets_what_its_job_needs(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    settings = settings_of(stack)
    api, worker = _actions(graph, "api"), _actions(graph, "worker")
    jobs_queue = next(q for q in of_type(graph, "aws:sqs/queue:Queue") if q["inputs"]["name"].endswith("-jobs"))
    assert [a.rsplit(":", 1)[1] for a in api["sqs:SendMessage"]] == [jobs_queue["inputs"]["name"]]
    # The worker sends a paced job again as a new, delayed message (to its own queue only, never the DLQ).
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage"):
        assert [a.rsplit(":", 1)[1] for a in worker[action]] == [jobs_queue["inputs"]["name"]]
    assert "sqs:ReceiveMessage" not in api
    bucket = f"arn:aws:s3:::{graph['outputs']['bucketName']}"
    assert worker["s3:PutObject"] == [f"{bucket}/images/*", f"{bucket}/quarantine/*"]
    assert worker["s3:GetObject"] == [f"{bucket}/images/*", f"{bucket}/inputs/*"]
    assert api["s3:PutObject"] == [f"{bucket}/images/*", f"{bucket}/quarantine/*", f"{bucket}/inputs/*"]
    assert api["s3:GetObject"] == worker["s3:GetObject"]
    assert api["dynamodb:BatchWriteItem"] == worker["dynamodb:BatchWriteItem"]
    tables = {graph["outputs"][k] for k in ("jobsTable", "licenceTable", "idempotencyTable")}
    assert {arn.split("table/")[1] for arn in worker["dynamodb:PutItem"] if "/index/" not in arn} == tables
    assert worker["rekognition:DetectModerationLabels"] == ["*"]
    c2pa = [arn for arn in [settings.provenance.signing_secret_arn] if arn]
    signing_key = [arn for arn in [settings.delivery.private_key_secret_arn] if arn]
    assert worker.get("secretsmanager:GetSecretValue", []) == c2pa
    assert sorted(api.get("secretsmanager:GetSecretValue", [])) == sorted(c2pa + signing_key)
    guardrail = one(graph, "aws:bedrock/guardrail:Guardrail")
    (guardrail_arn,) = api["bedrock:ApplyGuardrail"]
    assert guardrail_arn.endswith(f":guardrail/{graph['outputs']['guardrailId']}")
    assert guardrail["urn"] in _policy(graph, "api")["property_dependencies"]["policy"]
    assert "bedrock:ApplyGuardrail" not in worker


@pytest.mark.parametrize("stack", STACKS)
def test_roles_trust_lambda_only(stack_graph, stack: str) -> None:
    for role in of_type(stack_graph(stack), "aws:iam/role:Role"):
        (statement,) = statements(role, "assumeRolePolicy")
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert statement["Action"] == "sts:AssumeRole"


def test_a_permissions_boundary_caps_both_function_roles(tmp_path, stack_graph) -> None:
    # GIVEN a customer stack whose settings name a permissions boundary
    boundary = "arn:aws:iam::111122223333:policy/imagegen-boundary"

    def with_boundary(settings: dict) -> None:
        settings["iam"] = {"permissions_boundary_arn": boundary}

    # WHEN it is previewed
    graph = preview_mutated(tmp_path, with_boundary, stack="customer-acme")
    # THEN both function roles carry it, and a stack without the setting declares none
    roles = of_type(graph, "aws:iam/role:Role")
    assert len(roles) == 2
    assert {role["inputs"].get("permissionsBoundary") for role in roles} == {boundary}
    assert all(
        "permissionsBoundary" not in role["inputs"]
        for role in of_type(stack_graph("prod"), "aws:iam/role:Role")  # customer-acme now sets one (policy pins it)
    )
