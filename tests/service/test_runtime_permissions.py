"""Every AWS call the functions make is allowed by the role the program gives them.

The calls are the real ones: botocore records each request the API and worker handlers send while they
serve a representative workload (queued and synchronous jobs, a batch, an edit from an inline image and
from an image id, a flagged image, pacing that defers a job, model failures that back off, signing keys
and the C2PA credentials from Secrets Manager). The policies are the program's own
(``imagegen_platform.components.access``, the functions generators.py calls with the resolved ARNs),
here with this stack's ARNs. Each call becomes the IAM action AWS checks (iann0036/iamlive's operation
map, commit d8e67a2d, where it has the operation; the Bedrock user guide for Bedrock) and its resource
ARN, and moto's IAM policy evaluator (``moto.iam.access_control``, not ours) decides. The SQS calls the
event source mapping makes (here the harness's drain) are the worker role's, as Lambda polls with the
function's execution role (Lambda developer guide, "Using Lambda with Amazon SQS": execution role
permissions ReceiveMessage, DeleteMessage, GetQueueAttributes).
"""

from __future__ import annotations

import inspect
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import botocore.client
import pytest
from imagegen_emulator import server
from imagegen_service import config as cfg

from tests.service.conftest import REGION, Keys, Stack, make_stack
from tests.service.harness import call_api, drain

ACCOUNT = "123456789012"  # moto's

# (service, operation) → the IAM actions AWS checks. iamlive map.json (sdk_method_iam_mappings), except
# Bedrock (newer than that map): Bedrock user guide, "Actions defined by Amazon Bedrock" — InvokeModel
# and ApplyGuardrail are authorised by the actions of the same name.
ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "GetObject"): ("s3:GetObject",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "PutObject"): ("s3:PutObject",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("dynamodb", "GetItem"): ("dynamodb:GetItem",),
    ("dynamodb", "PutItem"): ("dynamodb:PutItem",),
    ("dynamodb", "UpdateItem"): ("dynamodb:UpdateItem",),
    ("dynamodb", "DeleteItem"): ("dynamodb:DeleteItem",),
    ("dynamodb", "Query"): ("dynamodb:Query",),
    ("dynamodb", "BatchWriteItem"): ("dynamodb:BatchWriteItem",),
    ("dynamodb", "BatchGetItem"): ("dynamodb:BatchGetItem",),
    ("sqs", "SendMessage"): ("sqs:SendMessage",),
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "ReceiveMessage"): ("sqs:ReceiveMessage",),
    ("sqs", "DeleteMessage"): ("sqs:DeleteMessage",),
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("sqs", "ChangeMessageVisibility"): ("sqs:ChangeMessageVisibility",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("sqs:ChangeMessageVisibility",),
    ("sqs", "GetQueueAttributes"): ("sqs:GetQueueAttributes",),
    ("bedrock-runtime", "InvokeModel"): ("bedrock:InvokeModel",),
    ("bedrock-runtime", "ApplyGuardrail"): ("bedrock:ApplyGuardrail",),
    ("rekognition", "DetectModerationLabels"): ("rekognition:DetectModerationLabels",),
    ("secretsmanager", "GetSecretValue"): ("secretsmanager:GetSecretValue",),
    ("cloudwatch", "PutMetricData"): ("cloudwatch:PutMetricData",),
}
ESM_OPERATIONS = {"ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "GetQueueAttributes"}

Call = tuple[str, str, str, dict[str, Any]]


def _caller() -> str:
    """Which handler sent the request: the first handler module on the call stack."""
    frame = inspect.currentframe()
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.parent.name == "handlers" and path.stem in ("api", "worker"):
            return path.stem
        frame = frame.f_back
    return "test"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    recorded: list[Call] = []
    original = botocore.client.BaseClient._make_api_call

    def record(self: Any, operation: str, params: dict[str, Any]) -> Any:
        recorded.append((_caller(), self.meta.service_model.service_name, operation, dict(params)))
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    return recorded


@pytest.fixture
def own_emulator() -> Iterator[Any]:
    """An emulator of this test's own: its faults are switched on half way."""
    running = server.start(port=0, seed=99, use_env=False)
    yield running
    running.stop()


def _secrets(stack: Stack, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The deployed form: the CloudFront signing key and the C2PA credentials in Secrets Manager."""
    secrets = stack.client("secretsmanager")
    signing = secrets.create_secret(Name=f"{stack.name}-signing", SecretString=keys.signing_key_file.read_text())
    c2pa = secrets.create_secret(
        Name=f"{stack.name}-c2pa",
        SecretString=json.dumps({"certs": keys.c2pa_cert_file.read_text(), "key": keys.c2pa_key_file.read_text()}),
    )
    monkeypatch.delenv(cfg.ENV_SIGNING_KEY_FILE)
    monkeypatch.delenv(cfg.ENV_C2PA_CERT_FILE)
    monkeypatch.delenv(cfg.ENV_C2PA_KEY_FILE)
    monkeypatch.setenv(cfg.ENV_SIGNING_KEY_SECRET_ARN, signing["ARN"])
    monkeypatch.setenv(cfg.ENV_C2PA_SECRET_ARN, c2pa["ARN"])
    return [signing["ARN"], c2pa["ARN"]]


def _policies(stack: Stack, secret_arns: list[str]) -> dict[str, dict[str, Any]]:
    from imagegen_platform.components import access
    from imagegen_service import catalogue

    names = stack.plane.names
    table_arns = [
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
        for table in (names.jobs_table, names.licence_table, names.idempotency_table)
    ]
    enabled = json.loads(os.environ[cfg.ENV_MODELS])

    # what access.model_arns reads of the stack settings: the enabled models and their region
    settings = SimpleNamespace(
        models=[SimpleNamespace(spec=catalogue.lookup(key), region=REGION) for key in enabled],
        model_region=lambda model: model.region,
    )
    model_arns = access.model_arns(cast(Any, settings), ACCOUNT)
    grants = access.FunctionGrants(
        log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{stack.name}",
        model_arns=model_arns,
        jobs_queue_arn=stack.plane.queue_arn,
        table_arns=table_arns,
        bucket_arn=f"arn:aws:s3:::{names.bucket}",
        guardrail_arn=f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/{os.environ[cfg.ENV_GUARDRAIL_ID]}",
        secret_arns=secret_arns,
        moderation=True,
    )
    return {"api": access.api_policy(grants), "worker": access.worker_policy(grants)}


def _resources(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The ARNs IAM checks for one call (the Service Authorization Reference's resource types)."""
    if service == "s3":
        if operation == "ListObjectsV2":
            return [f"arn:aws:s3:::{params['Bucket']}"]
        return [f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"]
    if service == "dynamodb":
        tables = list(params["RequestItems"]) if "RequestItems" in params else [params["TableName"]]
        index = f"/index/{params['IndexName']}" if params.get("IndexName") else ""
        return [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}{index}" for table in tables]
    if service == "sqs":
        return [f"arn:aws:sqs:{REGION}:{ACCOUNT}:{params['QueueUrl'].rstrip('/').rsplit('/', 1)[1]}"]
    if service == "bedrock-runtime" and operation == "InvokeModel":
        from imagegen_service import catalogue

        spec = catalogue.lookup(params["modelId"])
        if not spec.inference_profile:
            return [f"arn:aws:bedrock:{REGION}::foundation-model/{params['modelId']}"]
        # Through an inference profile IAM checks the profile and the model in the region it routes to
        # (Bedrock user guide, "Prerequisites for inference profiles"): any region of the profile.
        profile = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{params['modelId']}"
        bare = params["modelId"].split(".", 1)[1]
        return [profile, *(f"arn:aws:bedrock:{region}::foundation-model/{bare}" for region in spec.regions)]
    if service == "bedrock-runtime":  # ApplyGuardrail names the guardrail by id or ARN
        ident = params["guardrailIdentifier"]
        return [ident if ident.startswith("arn:") else f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/{ident}"]
    if service == "secretsmanager":
        return [params["SecretId"]]
    return ["*"]  # DetectModerationLabels, PutMetricData: no resource type


def _verdicts(calls: list[Call], policies: dict[str, dict[str, Any]], jobs_queue_url: str) -> list[str]:
    from moto.iam.access_control import IAMPolicy, PermissionResult

    denied = []
    for caller, service, operation, params in calls:
        role = caller
        if caller == "test":
            if service != "sqs" or operation not in ESM_OPERATIONS or params.get("QueueUrl") != jobs_queue_url:
                continue  # the test's own reads and setup
            role = "worker"  # the event source mapping polls with the worker's role
        actions = ACTIONS.get((service, operation))
        assert actions is not None, f"{role} calls {service}.{operation}: add the IAM action it needs to ACTIONS"
        condition = {"cloudwatch:namespace": params.get("Namespace", "")} if service == "cloudwatch" else None
        document = IAMPolicy(json.dumps(policies[role]))
        for action in actions:
            for resource in _resources(service, operation, params):
                verdict = document.is_action_permitted(action, resource, incoming_condition_values=condition)
                if verdict != PermissionResult.PERMITTED:
                    denied.append(f"{role}: {service}.{operation} needs {action} on {resource}")
    return sorted(set(denied))


def _until_ok(method: str, path: str, body: Any = None) -> dict[str, Any]:
    """The call again until it answers 2xx: the emulator injects throttles and internal errors."""
    for _ in range(20):
        status, answer = call_api(method, path, body)
        if status < 300:
            return answer
        assert status in (429, 500, 502, 503, 504), (status, answer)
    raise AssertionError(f"{method} {path} never succeeded")


def _workload() -> None:
    _until_ok("POST", "/v1/jobs", {"model": "titan-image-v1", "prompt": "a lighthouse at dusk", "seed": 1})
    sweep = {"model": "stable-image-core", "prompt": "a paper boat", "seed_sweep": {"start": 40, "count": 3}}
    batch = _until_ok("POST", "/v1/jobs", sweep)
    body = _until_ok("POST", "/v1/images", {"model": "titan-image-v1", "prompt": "a red kite", "seed": 4})
    job = body["job"]
    _until_ok("GET", f"/v1/jobs/{job['job_id']}")
    if job["status"] == "succeeded":
        image_id = job["images"][0]["image_id"]
        _until_ok("GET", f"/v1/images/{image_id}/provenance")
        edit = {"model": "titan-image-v1", "task": "image-variation", "source_image": {"image_id": image_id},
                "prompt": "a red kite, watercolour", "seed": 5}  # fmt: skip
        _until_ok("POST", "/v1/images", edit)
    _until_ok("POST", "/v1/images", {"model": "stable-image-core", "prompt": "EMULATOR_UNSAFE crowd", "seed": 3})
    # an Image Service through its inference profile: outpaint an approved image to another format
    hero = _until_ok("POST", "/v1/images", {"model": "stable-image-core", "prompt": "a red bicycle", "seed": 5})
    outpaint = {"model": "stability-outpaint", "source_image": {"image_id": hero["job"]["images"][0]["image_id"]},
                "channels": ["wide"]}  # fmt: skip
    _until_ok("POST", "/v1/jobs", outpaint)
    _until_ok("GET", f"/v1/batches/{batch['batch_id']}")


def _pace_busy(stack: Stack, model: str, seconds: float) -> None:
    """The fleet's next free slot for ``model`` ``seconds`` from now (as after a burst of other callers), so
    the worker defers what it receives for it as new, delayed messages: deterministic, whatever the
    machine's speed."""
    from dataclasses import replace

    from imagegen_service.pacing import DynamoPaceStore, PaceState

    store = DynamoPaceStore(stack.client("dynamodb"), stack.plane.names.idempotency_table)
    current = store.load(model)
    busy = time.time() + seconds
    state = PaceState(rate=1.0, next_slot=busy) if current is None else replace(current, next_slot=busy)
    assert store.save(model, state, expected_version=None if current is None else current.version)


def _new_container(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget what one container cached (the signing key, the C2PA chain): both handlers run in this process."""
    from imagegen_service import delivery, provenance

    monkeypatch.setattr(delivery, "_KEY_CACHE", {})
    monkeypatch.setattr(provenance, "_CHAIN_CACHE", {})


def test_every_call_of_the_api_and_the_worker_is_allowed_by_its_role(
    monkeypatch: pytest.MonkeyPatch, moto_url: str, own_emulator: Any, keys: Keys, calls: list[Call]
) -> None:
    stack = make_stack(monkeypatch, moto_url, own_emulator, keys)
    _new_container(monkeypatch)
    secret_arns = _secrets(stack, keys, monkeypatch)
    sqs = stack.client("sqs")
    _workload()
    _new_container(monkeypatch)  # the worker is another Lambda container: it loads the secrets itself
    _pace_busy(stack, "stable-image-core", 15)  # the sweep's jobs are deferred by the fleet's pacing
    drain(sqs, stack.plane.queue_url, stack.plane.queue_arn, timeout_s=120)
    # the model failing every call: the job backs off (ChangeMessageVisibility) until SQS dead-letters it
    _until_ok("POST", "/v1/jobs", {"model": "titan-image-v1", "prompt": "a harbour", "seed": 9})
    own_emulator.backend.knobs = server.knobs_from(faults={"internal": 1.0}, use_env=False)
    drain(sqs, stack.plane.queue_url, stack.plane.queue_arn, timeout_s=120)
    made = {(caller, service, operation) for caller, service, operation, _ in calls}
    # the workload reached what it is here for: a paced job sent again, a failed one backed off, the secrets
    wanted = {
        ("worker", "sqs", "SendMessage"),
        ("worker", "sqs", "ChangeMessageVisibility"),
        ("api", "secretsmanager", "GetSecretValue"),
        ("worker", "secretsmanager", "GetSecretValue"),
        ("api", "s3", "GetObject"),
    }
    profiles = {p["modelId"] for _, service, operation, p in calls if operation == "InvokeModel"}
    assert "us.stability.stable-outpaint-v1:0" in profiles, profiles  # the inference-profile branch ran
    assert wanted <= made, wanted - made
    assert _verdicts(calls, _policies(stack, secret_arns), stack.plane.queue_url) == []
