"""Job queue, functions and their trigger: no lost jobs, bounded concurrency, the right package."""

from __future__ import annotations

import json

import pytest
from imagegen_platform import capacity
from imagegen_platform.packaging import service_files
from imagegen_service import config as env

from tests.unit.program_graph import STACKS, base_name, of_type, one, settings_of

QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"


def _queues(graph):
    queues = {q["inputs"]["name"]: q for q in of_type(graph, QUEUE)}
    dlqs = {name: q for name, q in queues.items() if name.endswith("-dlq")}
    return {n: q for n, q in queues.items() if n not in dlqs}, dlqs


@pytest.mark.parametrize("stack", STACKS)
def test_every_queue_has_a_dlq_and_visibility_covers_six_worker_timeouts(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    settings = settings_of(stack)
    sources, dlqs = _queues(graph)
    assert set(sources) == {f"{base_name(stack)}-jobs"} and set(dlqs) == {f"{base_name(stack)}-jobs-dlq"}
    worker = one(graph, FUNCTION, "-worker")
    for source in sources.values():
        redrive = json.loads(source["inputs"]["redrivePolicy"])
        assert redrive["maxReceiveCount"] == settings.worker.max_receive_count == 5
        dlq = dlqs[redrive["deadLetterTargetArn"].rsplit(":", 1)[1]]
        assert source["property_dependencies"]["redrivePolicy"] == [dlq["urn"]]
        assert source["inputs"]["visibilityTimeoutSeconds"] >= 6 * worker["inputs"]["timeout"]
        assert source["inputs"]["sqsManagedSseEnabled"] is True
    for dlq in dlqs.values():
        assert dlq["inputs"]["messageRetentionSeconds"] == 14 * 24 * 3600
        assert dlq["inputs"]["sqsManagedSseEnabled"] is True
        allow = json.loads(dlq["inputs"]["redriveAllowPolicy"])
        assert allow["redrivePermission"] == "byQueue"
        assert [a.rsplit(":", 1)[1] for a in allow["sourceQueueArns"]] == list(sources)


@pytest.mark.parametrize("stack", STACKS)
def test_functions_are_arm64_python312_traced_with_the_layer(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    layer = one(graph, "aws:lambda/layerVersion:LayerVersion")
    assert layer["inputs"]["compatibleArchitectures"] == ["arm64"]
    assert layer["inputs"]["compatibleRuntimes"] == ["python3.12"]
    assert layer["inputs"]["code"]["path"].endswith("build/layer")
    functions = {f["inputs"]["name"]: f for f in of_type(graph, FUNCTION)}
    assert set(functions) == {f"{base_name(stack)}-api", f"{base_name(stack)}-worker"}
    for function in functions.values():
        inputs = function["inputs"]
        major, minor = inputs["runtime"].removeprefix("python").split(".")
        assert (int(major), int(minor)) >= (3, 12)
        assert inputs["architectures"] == ["arm64"]
        assert inputs["tracingConfig"] == {"mode": "Active"}
        assert layer["urn"] in function["property_dependencies"]["layers"]
        log_group = next(g for g in of_type(graph, "aws:cloudwatch/logGroup:LogGroup") if g["inputs"]["name"] == f"/aws/lambda/{inputs['name']}")  # fmt: skip
        assert log_group["inputs"]["retentionInDays"] == settings_of(stack).storage.log_retention_days
        assert inputs["loggingConfig"]["logGroup"] == log_group["inputs"]["name"]
    assert functions[f"{base_name(stack)}-api"]["inputs"]["handler"] == "imagegen_service.handlers.api.handler"
    assert functions[f"{base_name(stack)}-worker"]["inputs"]["handler"] == "imagegen_service.handlers.worker.handler"


def test_code_archive_holds_the_service_package_and_nothing_of_tests(stack_graph) -> None:
    code = one(stack_graph("prod"), FUNCTION, "-worker")["inputs"]["code"]
    names = set(code["assets"])
    assert names == set(service_files())
    assert "imagegen_service/__init__.py" in names or "imagegen_service/catalogue.py" in names
    assert all(name.startswith("imagegen_service/") for name in names)
    assert not any("/tests/" in name or "__pycache__" in name or name.endswith(".pyc") for name in names)


@pytest.mark.parametrize("stack", STACKS)
def test_worker_trigger_reports_partial_failures_and_paces_to_the_quota(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    mapping = one(graph, "aws:lambda/eventSourceMapping:EventSourceMapping")
    settings = settings_of(stack)
    assert mapping["inputs"]["functionResponseTypes"] == ["ReportBatchItemFailures"]
    concurrency = mapping["inputs"]["scalingConfig"]["maximumConcurrency"]
    assert concurrency == capacity.worker_max_concurrency(settings)
    assert 2 <= concurrency <= 1000
    assert mapping["inputs"]["batchSize"] == settings.worker.batch_size
    jobs = next(q for q in of_type(graph, QUEUE) if not q["inputs"]["name"].endswith("-dlq"))
    worker = one(graph, FUNCTION, "-worker")
    assert mapping["property_dependencies"]["eventSourceArn"] == [jobs["urn"]]
    assert mapping["property_dependencies"]["functionName"] == [worker["urn"]]
    # Lambda checks the role's SQS rights when the mapping is created: the policy comes first.
    worker_policy = one(graph, "aws:iam/rolePolicy:RolePolicy", "-worker-policy")
    assert worker_policy["urn"] in mapping["dependencies"]
    assert worker_policy["urn"] in worker["dependencies"]


@pytest.mark.parametrize("stack", STACKS)
def test_functions_get_the_runtime_environment_contract(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    settings = settings_of(stack)
    outputs = graph["outputs"]
    for role in ("api", "worker"):
        variables = one(graph, FUNCTION, f"-{role}")["inputs"]["environment"]["variables"]
        assert variables[env.ENV_STACK] == stack
        assert variables[env.ENV_ENVIRONMENT] == settings.environment
        assert variables[env.ENV_BUCKET] == outputs["bucketName"]
        assert variables[env.ENV_JOBS_TABLE] == outputs["jobsTable"] == f"{base_name(stack)}-jobs"
        assert variables[env.ENV_LICENCE_TABLE] == outputs["licenceTable"]
        assert variables[env.ENV_IDEMPOTENCY_TABLE] == outputs["idempotencyTable"]
        assert variables[env.ENV_QUEUE_URL] == outputs["queueUrl"]
        assert variables[env.ENV_GUARDRAIL_ID] == outputs["guardrailId"]
        assert variables[env.ENV_GUARDRAIL_VERSION] == outputs["guardrailVersion"] == "1"
        assert variables[env.ENV_CDN_DOMAIN] == outputs["cdnDomain"]
        assert variables["POWERTOOLS_SERVICE_NAME"] == f"{base_name(stack)}-{role}"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "imagegen"
        models = json.loads(variables[env.ENV_MODELS])
        assert {k: v["licence_record_id"] for k, v in models.items()} == {m.model: m.licence.record_id for m in settings.models}  # fmt: skip
        assert json.loads(variables[env.ENV_MODEL_RPM]) == capacity.models_rpm(settings)
        assert all(isinstance(value, str) for value in variables.values())
        # Lambda caps the whole environment at 4 KB.
        assert sum(len(k) + len(v) for k, v in variables.items()) < 4096
    worker_vars = one(graph, FUNCTION, "-worker")["inputs"]["environment"]["variables"]
    if settings.provenance.signing_secret_arn:
        assert worker_vars[env.ENV_C2PA_SECRET_ARN] == settings.provenance.signing_secret_arn


def test_the_fleet_pace_starts_from_the_stacks_planned_rpm(monkeypatch: pytest.MonkeyPatch) -> None:
    # The whole fleet shares one pace per model (pacing.py); the planned RPM is where it starts, not a
    # per-container share (each container's 1/MaximumConcurrency share was the pre-2026 scheme).
    monkeypatch.setenv(env.ENV_MODEL_RPM, json.dumps({"titan-image-v1": 300, "stable-image-core": 10}))
    assert env.RuntimeConfig.from_env().model_rpm == {"titan-image-v1": 300, "stable-image-core": 10}
