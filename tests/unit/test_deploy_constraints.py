"""Issue 13: what the mocks accept and AWS rejects, checked before any resource exists.

Each limit's value comes from the AWS or provider page cited beside it in
``imagegen_platform.constraints`` (and docs/infrastructure.md); the tests here restate the numbers
from those pages, not from our code, and each would fail on the code before issue 13.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from imagegen_platform import constraints
from imagegen_platform.components.moderation import content_digest
from imagegen_platform.preview import run_preview
from imagegen_platform.settings import StackSettings
from imagegen_service.errors import SettingsInvalid

from tests.unit.program_graph import (
    STACKS,
    Graph,
    of_type,
    one,
    preview_mutated,
    settings_of,
    stack_document,
    write_stack,
)

ROOT = Path(__file__).resolve().parents[2]
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
KEY = "aws:kms/key:Key"

# The numbers as the AWS / provider documentation states them (not read from our code).
TERRAFORM_BUCKET_PREFIX_MAX = 37  # registry.terraform.io aws_s3_bucket: bucket_prefix "less than or equal to 37"
LAMBDA_ENVIRONMENT_MAX = 4 * 1024  # Lambda quotas: "Function environment variables 4 KB"
GUARDRAIL_NAME_MAX = 50  # Bedrock CreateGuardrail: name length 1–50
AWS_TAGS_MAX = 50  # Tagging AWS resources: "Maximum number of tags per resource – 50"
DYNAMODB_ITEM_MAX = 400 * 1024  # DynamoDB quotas: "The maximum item size in DynamoDB is 400 KB"


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    imagegen = Path(sys.executable).parent / "imagegen"
    return subprocess.run([str(imagegen), *args], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


def _customer_stack(tmp_path: Path, name: str, mutate: Any = None) -> tuple[str, Path]:
    document = stack_document("customer-acme")
    settings = document["config"]["imagegen:settings"]
    settings["customer"]["name"] = name
    if mutate is not None:
        mutate(settings)
    return f"customer-{name}", write_stack(tmp_path, document, f"Pulumi.customer-{name}.yaml")


# --------------------------------------------------------------------------- every shipped stack


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_is_within_every_deploy_limit(stack_graph, stack: str) -> None:
    assert constraints.graph_problems(stack_graph(stack)) == []
    assert constraints.settings_problems(settings_of(stack), stack) == []


def test_the_limit_table_cites_a_source_for_each_limit() -> None:
    assert len(constraints.LIMITS) >= 20
    for limit in constraints.LIMITS:
        assert limit.source and any(word in limit.source for word in ("API", "quotas", "guide", "pulumi", "Tagging", "Lambda", "Reference"))  # fmt: skip
    table = (ROOT / "docs" / "infrastructure.md").read_text()
    missing = [limit.what for limit in constraints.LIMITS if limit.what not in table]
    assert missing == [], "docs/infrastructure.md lacks these constraints"


# --------------------------------------------------------------------------- finding 2: PEM newline


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "local"])
def test_cloudfront_public_key_keeps_its_final_newline(stack_graph, stack: str) -> None:
    # GIVEN a stack file whose PEM is a YAML block (which ends in a newline)
    # THEN the key CloudFront gets ends with it (aws.cloudfront.PublicKey: "needs a newline at the end")
    encoded = one(stack_graph(stack), "aws:cloudfront/publicKey:PublicKey")["inputs"]["encodedKey"]
    assert encoded.startswith("-----BEGIN PUBLIC KEY-----") and encoded.endswith("-----END PUBLIC KEY-----\n")
    assert settings_of(stack).delivery.public_key_pem == encoded


def test_a_key_without_its_newline_is_a_graph_problem(stack_graph) -> None:
    graph = copy.deepcopy(stack_graph("prod"))
    one(graph, "aws:cloudfront/publicKey:PublicKey")["inputs"]["encodedKey"] = "-----BEGIN PUBLIC KEY-----\nAA\n-----END PUBLIC KEY-----"  # fmt: skip
    assert any("newline" in p for p in constraints.graph_problems(graph))


# --------------------------------------------------------------------------- finding 3: guardrail version


def test_a_guardrail_edit_republishes_its_version(stack_graph, tmp_path: Path) -> None:
    # GIVEN prod, and prod with one more denied topic
    before = one(stack_graph("prod"), "aws:bedrock/guardrailVersion:GuardrailVersion")["inputs"]

    def add_topic(settings: dict[str, Any]) -> None:
        guardrail = settings.setdefault("moderation", {}).setdefault("guardrail", {})
        guardrail.setdefault("denied_topics", []).append({"name": "Counterfeits", "definition": "Fake branded goods."})

    after = one(preview_mutated(tmp_path, add_topic), "aws:bedrock/guardrailVersion:GuardrailVersion")["inputs"]
    # THEN the version's inputs differ (the provider replaces it: a new published snapshot of the DRAFT)
    assert before["description"] != after["description"]
    assert before["guardrailArn"] == after["guardrailArn"]
    # AND an unchanged guardrail keeps its version (no needless republishing on every deploy)
    again = one(preview_mutated(tmp_path, lambda s: None), "aws:bedrock/guardrailVersion:GuardrailVersion")["inputs"]
    assert again["description"] == before["description"]
    assert len(before["description"]) <= 200  # CreateGuardrailVersion: description 1–200


def test_the_content_digest_follows_every_guardrail_setting() -> None:
    guardrail = settings_of("prod").moderation.guardrail
    changes: list[dict[str, Any]] = [
        {"filter_strength": "LOW"},
        {"blocked_words": [*guardrail.blocked_words, "knock-off"]},
        {"profanity_filter": not guardrail.profanity_filter},
        {"blocked_input_message": "No."},
    ]
    digests = {content_digest(guardrail.model_copy(update=change)) for change in changes}
    assert content_digest(guardrail) not in digests and len(digests) == len(changes)


# --------------------------------------------------------------------------- finding 4: bucket_prefix


def test_the_longest_customer_name_gets_a_bucket_prefix_the_provider_accepts(tmp_path: Path) -> None:
    # GIVEN the longest customer names the settings allow (32 characters), sharing their first 27
    first = "a" * 27 + "-west"
    second = "a" * 27 + "-east"
    prefixes = []
    for name in (first, second):
        stack, path = _customer_stack(tmp_path, name)
        graph = run_preview(stack, path, policies=False)
        prefix = one(graph, "aws:s3/bucket:Bucket")["inputs"]["bucketPrefix"]
        # THEN the prefix is within Terraform's 37 characters, inside the deploy role's scope
        assert len(prefix) <= TERRAFORM_BUCKET_PREFIX_MAX
        assert prefix.startswith("imagegen-customer-") and prefix == prefix.lower()
        assert constraints.graph_problems(graph) == []
        prefixes.append(prefix)
    # AND two customers never share one
    assert prefixes[0] != prefixes[1]


def test_short_stacks_keep_their_readable_bucket_prefix(stack_graph) -> None:
    assert one(stack_graph("prod"), "aws:s3/bucket:Bucket")["inputs"]["bucketPrefix"] == "imagegen-prod-images-"


# --------------------------------------------------------------------------- finding 5: environment 4 KB


def _long_presets(settings: dict[str, Any]) -> None:
    settings.pop("routes", None)  # the shipped routes name the presets replaced here
    settings["presets"] = {
        f"line-{i}": {"template": "{subject}, " + "studio product photograph on seamless white, " * 40}
        for i in range(3)
    }


def test_presets_that_overflow_the_lambda_environment_exit_2_naming_presets(tmp_path: Path) -> None:
    document = stack_document("prod")
    _long_presets(document["config"]["imagegen:settings"])
    result = _run_cli("preview", "--stack", "prod", "--config-file", str(write_stack(tmp_path, document)), "--json")
    assert result.returncode == 2, result.stdout[-500:] + result.stderr[-2000:]
    assert "presets" in result.stderr and "4,096" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_the_settings_estimate_bounds_the_real_environment(stack_graph, stack: str) -> None:
    # The settings check sizes the environment with worst-case stand-ins for what AWS assigns; the
    # graph's real environment must never be larger, or the early check could pass a stack AWS refuses.
    settings = settings_of(stack)
    estimate = constraints.worst_case_environment_bytes(settings, stack)
    for function in of_type(stack_graph(stack), "aws:lambda/function:Function"):
        actual = constraints.environment_bytes(function["inputs"]["environment"]["variables"])
        assert actual <= estimate[function["inputs"]["name"].rpartition("-")[2]] <= LAMBDA_ENVIRONMENT_MAX


def test_an_environment_over_4kb_is_a_graph_problem(stack_graph) -> None:
    graph = copy.deepcopy(stack_graph("prod"))
    worker = one(graph, "aws:lambda/function:Function", "worker")
    worker["inputs"]["environment"]["variables"]["PADDING"] = "x" * LAMBDA_ENVIRONMENT_MAX
    assert any("environment" in p for p in constraints.graph_problems(graph))


# --------------------------------------------------------------------------- finding 6: alarm regions


def _titan_in_ireland(settings: dict[str, Any]) -> None:
    # prod enables only Active models; Titan G1 (offered in eu-west-1) is added for this finding
    licence = {**settings["models"][0]["licence"], "record_id": "prod-titan-image-v1", "provider": "Amazon"}
    settings["models"].append({"model": "titan-image-v1", "region": "eu-west-1", "licence": licence})


def test_alarms_in_a_model_region_notify_a_topic_in_that_region(tmp_path: Path) -> None:
    # GIVEN prod with Titan invoked in eu-west-1 while the stack is in us-west-2
    graph = preview_mutated(tmp_path, _titan_in_ireland)
    stack_region = "us-west-2"
    alarms = of_type(graph, ALARM)
    ireland = [a for a in alarms if a["inputs"].get("region") == "eu-west-1"]
    assert [a["inputs"]["name"] for a in ireland] == ["imagegen-prod-throttles-titan-image-v1"]
    # THEN every alarm's actions name a topic of the alarm's own region
    for alarm in alarms:
        region = alarm["inputs"].get("region") or stack_region
        for arn in alarm["inputs"]["alarmActions"] + alarm["inputs"]["okActions"]:
            assert arn.split(":")[3] == region, (alarm["name"], arn)
    # AND that topic is encrypted with a key of its own region and e-mails the same people
    topics = {t["inputs"].get("region", stack_region): t for t in of_type(graph, TOPIC)}
    keys = {k["inputs"].get("region", stack_region) for k in of_type(graph, KEY)}
    assert set(topics) == keys == {stack_region, "eu-west-1"}
    subscriptions = of_type(graph, "aws:sns/topicSubscription:TopicSubscription")
    by_region: dict[str, set[str]] = {}
    for subscription in subscriptions:
        by_region.setdefault(subscription["inputs"].get("region", stack_region), set()).add(subscription["inputs"]["endpoint"])  # fmt: skip
    assert by_region["eu-west-1"] == by_region[stack_region] == {"finops@example.com", "platform@example.com"}
    assert constraints.graph_problems(graph) == []


def test_an_alarm_pointing_at_another_region_is_a_graph_problem(tmp_path: Path) -> None:
    graph = preview_mutated(tmp_path, _titan_in_ireland)
    ireland = next(a for a in of_type(graph, ALARM) if a["inputs"].get("region") == "eu-west-1")
    ireland["inputs"]["alarmActions"] = ["arn:aws:sns:us-west-2:123456789012:imagegen-prod-alerts"]
    assert any("region" in p for p in constraints.graph_problems(graph))


# --------------------------------------------------------------------------- finding 7


@pytest.mark.parametrize("stack", STACKS)
def test_functions_may_list_the_bucket_so_a_missing_key_is_not_found(stack_graph, stack: str) -> None:
    # S3 GetObject: without s3:ListBucket a missing key answers 403 AccessDenied, not 404 NoSuchKey,
    # and the worker would retry a permanent error as if it were transient.
    graph = stack_graph(stack)
    bucket_arn = f"arn:aws:s3:::{graph['outputs']['bucketName']}"
    for role_policy in of_type(graph, "aws:iam/rolePolicy:RolePolicy"):
        listing = [
            s for s in json.loads(role_policy["inputs"]["policy"])["Statement"] if s["Action"] == "s3:ListBucket"
        ]
        assert [(s["Effect"], s["Resource"]) for s in listing] == [("Allow", bucket_arn)], role_policy["name"]


def test_the_custom_domain_gets_its_dns_records_when_the_zone_is_given(stack_graph) -> None:
    graph = stack_graph("prod")
    delivery = settings_of("prod").delivery
    assert delivery.hosted_zone_id is not None
    records = of_type(graph, "aws:route53/record:Record")
    assert sorted(r["inputs"]["type"] for r in records) == ["A", "AAAA"]
    distribution = one(graph, "aws:cloudfront/distribution:Distribution")
    for record in records:
        inputs = record["inputs"]
        assert (inputs["zoneId"], inputs["name"]) == (delivery.hosted_zone_id, delivery.domain_name)
        (alias,) = inputs["aliases"]
        # Route 53 developer guide: CloudFront alias targets use the hosted zone Z2FDTNDATAQYW2.
        assert alias["zoneId"] == "Z2FDTNDATAQYW2" and alias["evaluateTargetHealth"] is False
        assert alias["name"].endswith(".cloudfront.net")
        assert distribution["urn"] in record["dependencies"]


@pytest.mark.parametrize("stack", [s for s in STACKS if s != "prod"])
def test_no_dns_record_without_a_zone(stack_graph, stack: str) -> None:
    assert of_type(stack_graph(stack), "aws:route53/record:Record") == []


def test_a_zone_without_a_domain_is_refused(tmp_path: Path) -> None:
    document = stack_document("dev")
    document["config"]["imagegen:settings"]["delivery"]["hosted_zone_id"] = "Z0123456789EXAMPLEDEV"
    result = _run_cli("preview", "--stack", "dev", "--config-file", str(write_stack(tmp_path, document)), "--json")
    assert result.returncode == 2 and "hosted_zone_id" in result.stderr


def test_arns_naming_two_accounts_exit_2_naming_the_field(tmp_path: Path) -> None:
    document = stack_document("prod")
    settings = document["config"]["imagegen:settings"]
    settings["provenance"]["signing_secret_arn"] = "arn:aws:secretsmanager:us-west-2:210987654321:secret:imagegen/prod/c2pa-AbCdEf"  # fmt: skip
    result = _run_cli("preview", "--stack", "prod", "--config-file", str(write_stack(tmp_path, document)), "--json")
    assert result.returncode == 2
    assert "provenance.signing_secret_arn: names account 210987654321" in result.stderr


def test_inputs_must_outlive_the_queued_jobs_that_need_them() -> None:
    from imagegen_platform.components.queue import JOBS_RETENTION_SECONDS
    from imagegen_platform.settings import INPUTS_MIN_EXPIRY_DAYS

    assert INPUTS_MIN_EXPIRY_DAYS * 86_400 > JOBS_RETENTION_SECONDS


# --------------------------------------------------------------------------- deliver 1: settings → exit 2


def _names_too_long(settings: dict[str, Any]) -> None:
    settings["name_prefix"] = "acme-partner-imagegen"  # 21 characters: the pattern allows it


def test_names_over_aws_limits_exit_2_naming_the_field(tmp_path: Path) -> None:
    # GIVEN the longest customer name with the longest name prefix: the guardrail name would be 63
    stack, path = _customer_stack(tmp_path, "b" * 32, _names_too_long)
    result = _run_cli("preview", "--stack", stack, "--config-file", str(path), "--json")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "name_prefix / customer.name" in result.stderr
    assert f"is {21 + 1 + 9 + 32} characters; AWS allows {GUARDRAIL_NAME_MAX}" in result.stderr


def test_the_longest_names_the_settings_accept_deploy(tmp_path: Path) -> None:
    # The boundary: default prefix, 32-character customer: the guardrail name is exactly 50.
    stack, path = _customer_stack(tmp_path, "c" * 32)
    graph = run_preview(stack, path, policies=False)
    assert len(one(graph, "aws:bedrock/guardrail:Guardrail")["inputs"]["name"]) == GUARDRAIL_NAME_MAX
    assert constraints.graph_problems(graph) == []


def _check(settings: StackSettings, stack: str = "prod") -> list[str]:
    return constraints.settings_problems(settings, stack)


def test_tags_over_aws_limits_name_the_field() -> None:
    prod = settings_of("prod")
    too_many = prod.model_copy(update={"tags": {f"k{i}": "v" for i in range(AWS_TAGS_MAX)}})
    assert any(p.startswith("tags:") and "50" in p for p in _check(too_many))
    long_value = prod.model_copy(update={"tags": {"owner": "x" * 257}})
    assert any(p.startswith("tags.owner:") and "256" in p for p in _check(long_value))
    reserved = prod.model_copy(update={"tags": {"aws:owner": "me"}})
    assert any("reserved" in p for p in _check(reserved))
    acme = settings_of("customer-acme")
    assert acme.customer is not None
    partner = acme.model_copy(update={"customer": acme.customer.model_copy(update={"partner": "p" * 300})})
    assert any(p.startswith("customer.partner:") for p in _check(partner, "customer-acme"))


def test_a_licence_record_over_400kb_names_the_model() -> None:
    prod = settings_of("prod")
    first = prod.models[0]
    huge = first.licence.model_copy(update={"terms_version": "v" * DYNAMODB_ITEM_MAX})
    settings = prod.model_copy(update={"models": [first.model_copy(update={"licence": huge}), *prod.models[1:]]})
    problems = _check(settings)
    assert any(p.startswith("models[0].licence:") for p in problems), problems


def test_check_settings_raises_settings_invalid_with_every_problem() -> None:
    prod = settings_of("prod")
    bad = prod.model_copy(update={"tags": {"aws:x": "y" * 300}})
    with pytest.raises(SettingsInvalid) as raised:
        constraints.check_settings(bad, "prod", source="stacks/Pulumi.prod.yaml")
    assert "2 problem(s)" in raised.value.message and "tags.aws:x" in raised.value.message


# --------------------------------------------------------------------------- deliver 1: graph assertions


def _mutated(graph: Graph, kind: str, suffix: str, key: str, value: Any) -> Graph:
    changed = copy.deepcopy(graph)
    one(changed, kind, suffix)["inputs"][key] = value
    return changed


# fmt: off
GRAPH_MUTATIONS: list[tuple[str, str, str, Any, str]] = [
        ("aws:sqs/queue:Queue", "jobs", "visibilityTimeoutSeconds", 30, "visibility timeout"),
        ("aws:lambda/function:Function", "worker", "timeout", 901, "timeout"),
        ("aws:lambda/function:Function", "worker", "name", "w" * 65, "characters"),
        ("aws:iam/role:Role", "worker-role", "name", "r" * 65, "characters"),
        ("aws:sqs/queue:Queue", "dlq", "name", "q" * 81, "characters"),
        ("aws:sqs/queue:Queue", "dlq", "name", "jobs.dlq", "queue name"),
        ("aws:dynamodb/table:Table", "jobs", "name", "ab", "shorter than 3"),
        ("aws:bedrock/guardrail:Guardrail", "", "name", "g" * 51, "characters"),
        ("aws:s3/bucket:Bucket", "", "bucketPrefix", "p" * 38, "characters"),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "", "batchSize", 11, "batchSize"),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "", "scalingConfig", {"maximumConcurrency": 1}, "maximumConcurrency"),
        ("aws:cloudfront/distribution:Distribution", "", "viewerCertificate", {"acmCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/x"}, "us-east-1"),
        ("aws:dynamodb/tableItem:TableItem", "stable-image-core", "item", json.dumps({"record_id": {"S": "r" * DYNAMODB_ITEM_MAX}}), "item is"),
    ]
# fmt: on


@pytest.mark.parametrize(("kind", "suffix", "key", "value", "expect"), GRAPH_MUTATIONS)
def test_each_graph_assertion_catches_its_limit(
    stack_graph, kind: str, suffix: str, key: str, value: Any, expect: str
) -> None:
    graph = stack_graph("prod")
    assert constraints.graph_problems(graph) == []
    problems = constraints.graph_problems(_mutated(graph, kind, suffix, key, value))
    assert any(expect in p for p in problems), problems


def test_too_many_default_tags_is_a_graph_problem(stack_graph) -> None:
    graph = copy.deepcopy(stack_graph("prod"))
    (provider,) = of_type(graph, "pulumi:providers:aws")
    provider["inputs"]["defaultTags"] = json.dumps({"tags": {f"k{i}": "v" for i in range(AWS_TAGS_MAX + 1)}})
    assert any("51 tags" in p for p in constraints.graph_problems(graph))
