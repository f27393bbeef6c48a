"""`imagegen preview` as users run it: a fresh process, the contract's JSON, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from imagegen_platform.preview import run_preview

ROOT = Path(__file__).resolve().parents[2]
IMAGEGEN = str(Path(sys.executable).with_name("imagegen"))

REQUIRED_TYPES = {
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:cloudfront/originAccessControl:OriginAccessControl",
    "aws:cloudfront/distribution:Distribution",
    "aws:sqs/queue:Queue",
    "aws:lambda/function:Function",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:apigatewayv2/api:Api",
    "aws:dynamodb/table:Table",
    "aws:bedrock/guardrail:Guardrail",
    "aws:bedrock/guardrailVersion:GuardrailVersion",
    "aws:budgets/budget:Budget",
    "aws:iam/role:Role",
    "pulumi:providers:aws",
}


def preview(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IMAGEGEN, "preview", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def test_prod_preview_json_is_the_contract() -> None:
    # WHEN a user previews prod with --json in a fresh process
    result = preview("--stack", "prod", "--json")
    # THEN stdout is exactly one JSON object with the contract's keys, and nothing mandatory failed
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    assert list(graph) == ["stack", "resources", "outputs", "policies", "elapsed_s"]
    assert graph["stack"] == "prod"
    types = [r["type"] for r in graph["resources"]]
    assert set(types) >= REQUIRED_TYPES
    assert types.count("aws:sqs/queue:Queue") == 2
    assert types.count("aws:lambda/function:Function") == 2
    for resource in graph["resources"]:
        assert set(resource) == {"urn", "type", "name", "parent", "dependencies", "property_dependencies", "provider", "inputs"}  # fmt: skip
        assert resource["urn"].startswith("urn:pulumi:prod::imagegen::")
    assert set(graph["policies"]) >= {"pack", "violations", "mandatory_violations"}
    assert graph["policies"]["mandatory_violations"] == 0
    assert isinstance(graph["elapsed_s"], float)


def test_human_output_summarises_resources_and_policies() -> None:
    result = preview("--stack", "dev")
    assert result.returncode == 0, result.stderr
    assert "aws:lambda/function:Function" in result.stdout
    assert "policy pack" in result.stdout


def test_unknown_stack_is_a_clear_error() -> None:
    result = preview("--stack", "nope", "--json")
    assert result.returncode == 2
    assert "Pulumi.nope.yaml" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_run_preview_can_run_again_in_one_process() -> None:
    # GIVEN two previews of different stacks, then the first again, in this process
    first = run_preview("dev", policies=False)
    other = run_preview("customer-acme", policies=False)
    again = run_preview("dev", policies=False)
    # THEN each run starts from a clean SDK: same graph, nothing leaks between stacks
    assert sorted(r["urn"] for r in again["resources"]) == sorted(r["urn"] for r in first["resources"])
    assert again["outputs"] == first["outputs"]
    assert all(r["urn"].startswith("urn:pulumi:customer-acme::") for r in other["resources"])
