"""Metadata tables, licence records, guardrail, cost guard and quota requests."""

from __future__ import annotations

import json

import pytest
from imagegen_service import catalogue

from tests.unit.program_graph import STACKS, base_name, of_type, one, preview_mutated, settings_of, statements

TABLE = "aws:dynamodb/table:Table"


@pytest.mark.parametrize("stack", STACKS)
def test_tables_have_the_agreed_keys_and_are_durable(stack_graph, stack: str) -> None:
    tables = {t["inputs"]["name"]: t["inputs"] for t in of_type(stack_graph(stack), TABLE)}
    prefix = f"{base_name(stack)}"
    assert set(tables) == {f"{prefix}-jobs", f"{prefix}-licences", f"{prefix}-idempotency"}
    for table in tables.values():
        assert table["billingMode"] == "PAY_PER_REQUEST"
        assert table["pointInTimeRecovery"] == {"enabled": True}
        assert table["serverSideEncryption"] == {"enabled": True}
        assert table["ttl"]["enabled"] is True
        assert table["deletionProtectionEnabled"] is settings_of(stack).is_production
    jobs = tables[f"{prefix}-jobs"]
    assert (jobs["hashKey"], jobs["rangeKey"], jobs["ttl"]["attributeName"]) == ("pk", "sk", "expires_at")
    (index,) = jobs["globalSecondaryIndexes"]
    assert index["name"] == "gsi1" and index["projectionType"] == "ALL"
    assert [(k["attributeName"], k["keyType"]) for k in index["keySchemas"]] == [
        ("gsi1pk", "HASH"),
        ("gsi1sk", "RANGE"),
    ]
    assert {a["name"] for a in jobs["attributes"]} == {"pk", "sk", "gsi1pk", "gsi1sk"}
    assert tables[f"{prefix}-licences"]["hashKey"] == "record_id"
    idempotency = tables[f"{prefix}-idempotency"]
    assert (idempotency["hashKey"], idempotency["ttl"]["attributeName"]) == ("id", "expiration")


@pytest.mark.parametrize("stack", STACKS)
def test_each_enabled_model_has_its_licence_record(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    licences = next(t for t in of_type(graph, TABLE) if t["inputs"]["name"].endswith("-licences"))
    items = of_type(graph, "aws:dynamodb/tableItem:TableItem")
    settings = settings_of(stack)
    assert len(items) == len(settings.models)
    by_model = {json.loads(i["inputs"]["item"])["model_key"]["S"]: i for i in items}
    for enabled in settings.models:
        item = by_model[enabled.model]
        assert item["property_dependencies"]["tableName"] == [licences["urn"]]
        assert item["inputs"]["hashKey"] == "record_id"
        record = json.loads(item["inputs"]["item"])
        assert record["record_id"] == {"S": enabled.licence.record_id}
        assert record["model_id"] == {"S": catalogue.MODELS[enabled.model].model_id}
        assert record["accepted_at"] == {"S": enabled.licence.accepted_at.isoformat()}
        assert record["eula_accepted"] == {"BOOL": enabled.licence.eula_accepted}
        assert record["commercial_use"] == {"BOOL": enabled.licence.commercial_use}
        assert record["stack"] == {"S": stack}
        assert set(record) == {
            "record_id", "model_key", "model_id", "provider", "terms_version", "terms_url",
            "commercial_use", "accepted_by", "accepted_at", "eula_accepted", "stack",
        }  # fmt: skip


@pytest.mark.parametrize("stack", STACKS)
def test_guardrail_filters_text_and_images_and_carries_the_settings(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    settings = settings_of(stack).moderation.guardrail
    guardrail = one(graph, "aws:bedrock/guardrail:Guardrail")["inputs"]
    assert guardrail["name"] == f"{base_name(stack)}"
    filters = {f["type"]: f for f in guardrail["contentPolicyConfig"]["filtersConfigs"]}
    assert set(filters) == {"SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK"}
    for kind, config in filters.items():
        assert config["inputStrength"] == settings.filter_strength
        assert set(config["inputModalities"]) == {"TEXT", "IMAGE"}
        if kind == "PROMPT_ATTACK":
            assert config["outputStrength"] == "NONE"
        else:
            assert config["outputStrength"] == settings.filter_strength
            assert set(config["outputModalities"]) == {"TEXT", "IMAGE"}
    topics = guardrail["topicPolicyConfig"]["topicsConfigs"]
    assert [(t["name"], t["type"]) for t in topics] == [(t.name, "DENY") for t in settings.denied_topics]
    words = guardrail["wordPolicyConfig"]
    assert [w["text"] for w in words["wordsConfigs"]] == settings.blocked_words
    assert words["managedWordListsConfigs"] == [{"type": "PROFANITY"}]
    version = one(graph, "aws:bedrock/guardrailVersion:GuardrailVersion")
    assert version["property_dependencies"]["guardrailArn"]


def test_moderation_off_declares_no_guardrail(tmp_path) -> None:
    graph = preview_mutated(tmp_path, lambda s: s["moderation"].update(enabled=False), stack="dev")
    assert of_type(graph, "aws:bedrock/guardrail:Guardrail") == []
    worker = one(graph, "aws:iam/rolePolicy:RolePolicy", "-worker-policy")
    assert not any("rekognition:DetectModerationLabels" in json.dumps(s) for s in statements(worker))
    assert graph["outputs"]["guardrailId"] == ""


@pytest.mark.parametrize("stack", STACKS)
def test_budget_and_alarms_notify_the_encrypted_topic(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    settings = settings_of(stack)
    topic = one(graph, "aws:sns/topic:Topic")
    key = one(graph, "aws:kms/key:Key")
    assert topic["property_dependencies"]["kmsMasterKeyId"] == [key["urn"]]
    assert key["inputs"]["enableKeyRotation"] is True
    emails = sorted(s["inputs"]["endpoint"] for s in of_type(graph, "aws:sns/topicSubscription:TopicSubscription"))
    assert emails == sorted(settings.budget.emails)
    budget = one(graph, "aws:budgets/budget:Budget")["inputs"]
    assert (budget["budgetType"], budget["timeUnit"], budget["limitUnit"]) == ("COST", "MONTHLY", "USD")
    assert float(budget["limitAmount"]) == settings.budget.monthly_usd
    kinds = sorted((n["notificationType"], n["threshold"]) for n in budget["notifications"])
    expected = [("ACTUAL", t) for t in settings.budget.actual_thresholds_pct]
    expected += [("FORECASTED", t) for t in settings.budget.forecast_thresholds_pct]
    assert kinds == sorted(expected)
    assert all(n["subscriberSnsTopicArns"] == [graph["outputs"]["alertsTopicArn"]] for n in budget["notifications"])
    alarms = {a["inputs"]["metricName"] + ":" + json.dumps(a["inputs"]["dimensions"], sort_keys=True): a for a in of_type(graph, "aws:cloudwatch/metricAlarm:MetricAlarm")}  # fmt: skip
    metrics = {key.split(":", 1)[0] for key in alarms}
    assert metrics == {"ApproximateNumberOfMessagesVisible", "Errors", "5xx", "InvocationThrottles"}
    throttled = {a["inputs"]["dimensions"]["ModelId"] for a in alarms.values() if a["inputs"]["metricName"] == "InvocationThrottles"}  # fmt: skip
    assert throttled == {catalogue.MODELS[m.model].model_id for m in settings.models}
    dlq = next(a for a in alarms.values() if a["inputs"]["metricName"] == "ApproximateNumberOfMessagesVisible")
    assert dlq["inputs"]["dimensions"]["QueueName"].endswith("-jobs-dlq")
    assert (dlq["inputs"]["comparisonOperator"], dlq["inputs"]["threshold"]) == ("GreaterThanThreshold", 0)
    for alarm in alarms.values():
        assert alarm["inputs"]["alarmActions"] == [graph["outputs"]["alertsTopicArn"]]


@pytest.mark.parametrize("stack", STACKS)
def test_quota_requests_follow_the_settings(stack_graph, stack: str) -> None:
    settings = settings_of(stack)
    quotas = {q["inputs"]["quotaCode"]: q["inputs"] for q in of_type(stack_graph(stack), "aws:servicequotas/serviceQuota:ServiceQuota")}  # fmt: skip
    expected = {
        m.effective_quota_code: (float(m.quota_request_rpm), settings.model_region(m))
        for m in settings.models
        if m.quota_request_rpm is not None
    }
    assert {code: (q["value"], q["region"]) for code, q in quotas.items()} == expected
    assert all(q["serviceCode"] == "bedrock" for q in quotas.values())


def test_staging_requests_no_quota_for_models_without_a_known_code(stack_graph) -> None:
    # prod's only quota request was Titan G1's; Titan left prod (Legacy) and no Active model has a
    # confirmed quota code, so prod requests none (RPM rows are gone anyway: reference, 2026 notes)
    assert of_type(stack_graph("prod"), "aws:servicequotas/serviceQuota:ServiceQuota") == []
    assert all(catalogue.MODELS[m.model].quota.code is None for m in settings_of("prod").models)
