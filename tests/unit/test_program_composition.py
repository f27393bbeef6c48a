"""Composition: one provider for everything, components own their children, customer stacks assume a role."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.program_graph import STACKS, by_urn, of_type, settings_of

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = "pulumi:providers:aws"
COMPONENTS = {
    "imagegen:storage:ImageStore",
    "imagegen:delivery:ImageDelivery",
    "imagegen:queue:JobQueue",
    "imagegen:generators:ImageGenerators",
    "imagegen:api:HttpApi",
    "imagegen:metadata:MetadataTables",
    "imagegen:moderation:ContentModeration",
    "imagegen:licensing:LicenceRecords",
    "imagegen:cost:CostGuard",
    "imagegen:quotas:ModelQuotas",
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_is_a_child_of_its_component(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    resources = by_urn(graph)
    components = {r["urn"]: r for r in graph["resources"] if r["type"].startswith("imagegen:")}
    assert {c["type"] for c in components.values()} == COMPONENTS
    for component in components.values():
        assert component["parent"] is None  # top level: the stack
    for resource in graph["resources"]:
        if resource["type"] == PROVIDER or resource["urn"] in components:
            continue
        parent = resources[resource["parent"]]
        assert parent["urn"] in components, resource["urn"]
        # The URN encodes the parent chain, and the child is named after its component.
        assert f"::{parent['type']}${resource['type']}::" in resource["urn"]
        assert resource["name"].startswith(parent["name"] + "-"), resource["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_goes_through_the_one_explicit_provider(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    (provider,) = of_type(graph, PROVIDER)
    assert graph["resources"][0] is provider  # registered first
    for resource in graph["resources"]:
        if resource["type"].startswith("aws:"):
            assert resource["provider"] is not None
            assert resource["provider"].split("::")[:-1] == provider["urn"].split("::"), resource["urn"]
    tags = json.loads(provider["inputs"]["defaultTags"])["tags"]
    settings = settings_of(stack)
    assert tags["environment"] == settings.environment
    assert tags["stack"] == stack and tags["project"] == "imagegen"
    assert provider["inputs"]["region"] == settings.region


def test_customer_provider_assumes_the_granted_role_in_the_pinned_account(stack_graph) -> None:
    graph = stack_graph("customer-acme")
    customer = settings_of("customer-acme").customer
    assert customer is not None
    (provider,) = of_type(graph, PROVIDER)
    (assumed,) = json.loads(provider["inputs"]["assumeRoles"])
    assert assumed == {
        "roleArn": customer.deploy_role_arn,
        "externalId": customer.external_id,
        "sessionName": customer.session_name,
    }
    assert json.loads(provider["inputs"]["allowedAccountIds"]) == [customer.account_id]
    tags = json.loads(provider["inputs"]["defaultTags"])["tags"]
    assert (tags["customer"], tags["partner"], tags["cost-centre"]) == (customer.name, customer.partner, customer.cost_centre)  # fmt: skip
    # ARNs the program builds name the customer's account.
    assert f":{customer.account_id}:" in graph["outputs"]["queueUrl"].replace("/", ":")


@pytest.mark.parametrize("stack", [s for s in STACKS if not s.startswith("customer-")])
def test_own_stacks_assume_no_role(stack_graph, stack: str) -> None:
    (provider,) = of_type(stack_graph(stack), PROVIDER)
    assert "assumeRoles" not in provider["inputs"]


@pytest.mark.parametrize("stack", STACKS)
def test_a_stack_whose_arns_name_an_account_deploys_only_there(stack_graph, stack: str) -> None:
    # issue 13: the stack files' ARNs name one account while the credentials could be another's.
    (provider,) = of_type(stack_graph(stack), PROVIDER)
    accounts = set(settings_of(stack).arn_accounts().values())
    allowed = provider["inputs"].get("allowedAccountIds")
    if not accounts:
        assert allowed is None
    else:
        assert (json.loads(allowed) if isinstance(allowed, str) else allowed) == sorted(accounts)


def test_stack_outputs_are_the_contract(stack_graph) -> None:
    outputs = stack_graph("prod")["outputs"]
    required = {
        "apiUrl", "cdnDomain", "bucketName", "jobsTable", "licenceTable", "idempotencyTable",
        "queueUrl", "dlqUrl", "guardrailId", "guardrailVersion", "signingKeyId",
    }  # fmt: skip
    assert required <= set(outputs)
    assert all(isinstance(outputs[key], str) and outputs[key] for key in required)
    assert outputs["bucketName"].startswith("imagegen-prod-images-")
    assert outputs["cdnDomain"] == "images.example.com"  # delivery.domain_name in stacks/Pulumi.prod.yaml


def test_stdlib_platform_still_works_after_importing_the_program() -> None:
    code = (
        "import imagegen_platform.program, imagegen_platform.preview, imagegen_platform.components\n"
        "import platform\n"
        "assert platform.__file__.endswith('platform.py'), platform.__file__\n"
        "print(platform.system())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"Linux", "Darwin", "Windows"}


def test_region_may_live_in_the_settings_alone(tmp_path: Path) -> None:
    from imagegen_platform.preview import run_preview

    from tests.unit.program_graph import stack_document, write_stack

    # GIVEN a stack file without aws:region whose settings name the region
    document = stack_document("dev")
    region = document["config"].pop("aws:region")
    document["config"]["imagegen:settings"]["region"] = region
    # WHEN it is previewed THEN the provider takes that region
    graph = run_preview("dev", write_stack(tmp_path, document), policies=False)
    (provider,) = of_type(graph, PROVIDER)
    assert provider["inputs"]["region"] == region
