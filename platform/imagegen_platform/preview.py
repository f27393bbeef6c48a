"""Offline preview: run the Pulumi program in-process under the SDK's mocks and return its graph.

No Pulumi CLI and no AWS: a recording ``MockMonitor`` keeps every registration (parent,
dependencies, property dependencies, provider, inputs) in order, and ``CloudMocks`` answers with
realistic outputs (ARNs, URLs, names) so dependent inputs resolve. This is the only place in the
project that sets the SDK's mocks; each run resets the SDK's process-wide state first.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import importlib.util
import json
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks

from imagegen_platform.settings import PROJECT, load_stack, stack_file

MOCK_ACCOUNT_ID = "123456789012"
POLICY_MODULE = "imagegen_policies.offline"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"

Outputs = dict[str, Any]


def _short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:length]


class CloudMocks(pulumi.runtime.Mocks):
    """Plausible AWS outputs for each resource type, deterministic per (type, name)."""

    def __init__(self, region: str, account_id: str) -> None:
        self.region = region
        self.account_id = account_id

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = dict(args.inputs)
        if not args.custom:  # components: nothing to compute
            return None, inputs
        region = str(inputs.get("region") or self.region)
        handler = _OUTPUTS.get(args.typ, _generic)
        resource_id, computed = handler(self, args.typ, args.name, inputs, region)
        return resource_id, {**inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return _INVOKES.get(args.token, lambda _: {})(self), []

    # --- helpers for the per-type handlers
    def arn(self, service: str, region: str, resource: str, *, account: bool = True) -> str:
        return f"arn:aws:{service}:{region}:{self.account_id if account else ''}:{resource}"


_INVOKES: dict[str, Callable[[CloudMocks], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda m: {
        "accountId": m.account_id,
        "arn": f"arn:aws:iam::{m.account_id}:role/imagegen-preview",
        "userId": "AROAPREVIEW:imagegen",
        "id": m.account_id,
    },
    "aws:index/getPartition:getPartition": lambda m: {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
    "aws:index/getRegion:getRegion": lambda m: {"name": m.region, "region": m.region, "id": m.region},
}

Handler = Callable[[CloudMocks, str, str, dict[str, Any], str], tuple[str, Outputs]]


def _generic(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    service = typ.split(":")[1].split("/", maxsplit=1)[0] if ":" in typ else "mock"
    resource_id = f"{name}-{_short_hash(typ, name)}"
    return resource_id, {"arn": m.arn(service, region, f"{name}"), "id": resource_id}


def _provider(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    return f"{_short_hash(typ, name, length=8)}-0000-4000-8000-{_short_hash(name, length=12)}", {}


def _bucket(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name + '-')}{_short_hash(typ, name, length=12)}"
    return bucket, {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
        "region": region,
    }


def _by_bucket(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    return str(inputs.get("bucket") or name), {}


def _queue(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    queue = inputs.get("name") or name
    url = f"https://sqs.{region}.amazonaws.com/{m.account_id}/{queue}"
    return url, {"name": queue, "url": url, "arn": m.arn("sqs", region, queue)}


def _table(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    table = inputs.get("name") or name
    arn = m.arn("dynamodb", region, f"table/{table}")
    return table, {"name": table, "arn": arn, "streamArn": ""}


def _function(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    function = inputs.get("name") or name
    arn = m.arn("lambda", region, f"function:{function}")
    invoke = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return function, {
        "name": function,
        "arn": arn,
        "invokeArn": invoke,
        "qualifiedArn": f"{arn}:$LATEST",
        "version": "$LATEST",
    }


def _layer(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    layer_arn = m.arn("lambda", region, f"layer:{inputs.get('layerName', name)}")
    return f"{layer_arn}:1", {"arn": f"{layer_arn}:1", "layerArn": layer_arn, "version": "1"}


def _role(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    role = inputs.get("name") or name
    return role, {"name": role, "arn": f"arn:aws:iam::{m.account_id}:role/{role}", "uniqueId": f"AROA{_short_hash(role).upper()}"}  # fmt: skip


def _log_group(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    group = inputs.get("name") or name
    return group, {"name": group, "arn": m.arn("logs", region, f"log-group:{group}")}


def _distribution(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    distribution_id = "E" + _short_hash(typ, name, length=13).upper()
    return distribution_id, {
        "arn": f"arn:aws:cloudfront::{m.account_id}:distribution/{distribution_id}",
        "domainName": f"d{_short_hash(name, length=13)}.cloudfront.net",
        "hostedZoneId": "Z2FDTNDATAQYW2",
        "status": "Deployed",
    }


def _cloudfront_id(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    prefix = "K" if typ.endswith("PublicKey") else ""
    resource_id = prefix + _short_hash(typ, name, length=13).upper()
    return resource_id, {"etag": "E" + _short_hash(name, length=12).upper()}


def _http_api(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    api_id = _short_hash(typ, name, length=10)
    return api_id, {
        "apiEndpoint": f"https://{api_id}.execute-api.{region}.amazonaws.com",
        "executionArn": m.arn("execute-api", region, api_id),
        "arn": f"arn:aws:apigateway:{region}::/apis/{api_id}",
    }


def _stage(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    api_id = inputs.get("apiId", "api")
    stage = inputs.get("name", "$default")
    path = "" if stage == "$default" else stage
    return f"{api_id}-{stage}", {"invokeUrl": f"https://{api_id}.execute-api.{region}.amazonaws.com/{path}"}


def _guardrail(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    guardrail_id = _short_hash(typ, name, length=12)
    return f"{guardrail_id},DRAFT", {
        "guardrailId": guardrail_id,
        "guardrailArn": m.arn("bedrock", region, f"guardrail/{guardrail_id}"),
        "version": "DRAFT",
        "status": "READY",
    }


def _guardrail_version(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    return f"{inputs.get('guardrailArn')},1", {"version": "1"}


def _topic(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    arn = m.arn("sns", region, inputs.get("name") or name)
    return arn, {"arn": arn}


def _kms_key(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    key_id = f"{_short_hash(typ, name)}-0000-4000-8000-{_short_hash(name, length=12)}"
    return key_id, {"keyId": key_id, "arn": m.arn("kms", region, f"key/{key_id}")}


def _alarm(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    alarm = inputs.get("name") or name
    return alarm, {"arn": m.arn("cloudwatch", region, f"alarm:{alarm}")}


def _quota(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    service, code = inputs.get("serviceCode", ""), inputs.get("quotaCode", "")
    return f"{service}/{code}", {
        "arn": m.arn("servicequotas", region, f"{service}/{code}"),
        "adjustable": True,
        "defaultValue": 0.0,
        "quotaName": code,
        "serviceName": service,
    }


def _budget(m: CloudMocks, typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, Outputs]:
    budget = inputs.get("name") or name
    return f"{m.account_id}:{budget}", {"arn": f"arn:aws:budgets::{m.account_id}:budget/{budget}", "accountId": m.account_id}  # fmt: skip


_OUTPUTS: dict[str, Handler] = {
    "pulumi:providers:aws": _provider,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _by_bucket,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _by_bucket,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _by_bucket,
    "aws:s3/bucketVersioning:BucketVersioning": _by_bucket,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _by_bucket,
    "aws:s3/bucketPolicy:BucketPolicy": _by_bucket,
    "aws:sqs/queue:Queue": _queue,
    "aws:dynamodb/table:Table": _table,
    "aws:lambda/function:Function": _function,
    "aws:lambda/layerVersion:LayerVersion": _layer,
    "aws:iam/role:Role": _role,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudfront/distribution:Distribution": _distribution,
    "aws:cloudfront/originAccessControl:OriginAccessControl": _cloudfront_id,
    "aws:cloudfront/cachePolicy:CachePolicy": _cloudfront_id,
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": _cloudfront_id,
    "aws:cloudfront/publicKey:PublicKey": _cloudfront_id,
    "aws:cloudfront/keyGroup:KeyGroup": _cloudfront_id,
    "aws:apigatewayv2/api:Api": _http_api,
    "aws:apigatewayv2/stage:Stage": _stage,
    "aws:bedrock/guardrail:Guardrail": _guardrail,
    "aws:bedrock/guardrailVersion:GuardrailVersion": _guardrail_version,
    "aws:sns/topic:Topic": _topic,
    "aws:kms/key:Key": _kms_key,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:servicequotas/serviceQuota:ServiceQuota": _quota,
    "aws:budgets/budget:Budget": _budget,
}


# --------------------------------------------------------------------------- recording monitor


def plain(value: Any) -> Any:
    """Inputs as JSON: assets and archives as their paths (an archive of assets by name), dates in ISO."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": "assets", "assets": {name: plain(asset) for name, asset in value.assets.items()}}
    if isinstance(value, (pulumi.FileArchive, pulumi.FileAsset)):
        return {"archive" if isinstance(value, pulumi.Archive) else "asset": "file", "path": value.path}
    if isinstance(value, pulumi.StringAsset):
        return {"asset": "string", "text": value.text}
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping what ``MockResourceArgs`` drops (pulumi/pulumi#14421)."""

    def __init__(self, mocks: pulumi.runtime.Mocks, root_urn: str) -> None:
        super().__init__(mocks)
        self.root_urn = root_urn
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method name
        response = super().RegisterResource(request)
        if request.type == ROOT_STACK_TYPE:
            return response
        from pulumi.runtime import rpc

        inputs = rpc.deserialize_properties(request.object)
        parent = request.parent if request.parent and request.parent != self.root_urn else None
        record = {
            "urn": response.urn,
            "type": request.type,
            "name": request.name,
            "parent": parent,
            "dependencies": sorted(set(request.dependencies)),
            "property_dependencies": {
                key: sorted(set(deps.urns)) for key, deps in sorted(request.propertyDependencies.items())
            },
            "provider": request.provider or None,
            "inputs": plain(inputs),
        }
        with self._lock:
            self.records.append(record)
        return response


# --------------------------------------------------------------------------- running the program


def _config_value(value: Any) -> str:
    """Pulumi hands config to programs as strings; structured values as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=plain)


def _reset_sdk(config: dict[str, Any], stack: str, mocks: CloudMocks) -> RecordingMonitor:
    from pulumi.runtime import settings as runtime_settings

    runtime_settings.ROOT.set(None)  # set_mocks only makes a new root Stack when there is none
    runtime_settings.SETTINGS.outputs.clear()
    pulumi.runtime.set_all_config({key: _config_value(value) for key, value in config.items()}, secret_keys=[])
    root_urn = f"urn:pulumi:{stack}::{PROJECT}::{ROOT_STACK_TYPE}::{PROJECT}-{stack}"
    monitor = RecordingMonitor(mocks, root_urn)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    return monitor


def run_program(stack: str, config: dict[str, Any], region: str, account_id: str) -> dict[str, Any]:
    """Run ``program.main`` under mocks; the resources in registration order and the stack outputs."""
    from pulumi.runtime.settings import get_root_resource
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from imagegen_platform.program import main

    monitor = _reset_sdk(config, stack, CloudMocks(region, account_id))

    async def run() -> dict[str, Any]:
        await run_pulumi_func(main)
        root = get_root_resource()
        exported: dict[str, Any] = getattr(root, "outputs", {})
        return {key: plain(await pulumi.Output.from_input(value).future()) for key, value in exported.items()}

    # The run allocates little cyclic garbage, but collector passes over the imported SDK are costly.
    collecting = gc.isenabled()
    gc.disable()
    try:
        outputs = _sync_await(run())
    finally:
        if collecting:
            gc.enable()
    return {"resources": monitor.records, "outputs": outputs}


_NO_VERDICT: dict[str, Any] = {"pack": "imagegen-policies", "violations": [], "mandatory_violations": 0}


def evaluate_policies(graph: dict[str, Any], stack: str) -> dict[str, Any]:
    """The policy pack's offline verdict, when the pack offers it."""
    if importlib.util.find_spec(POLICY_MODULE) is None:
        return dict(_NO_VERDICT)
    result: dict[str, Any] = importlib.import_module(POLICY_MODULE).evaluate(graph, stack)
    return result


def _prestart_pack(stack: str) -> threading.Thread | None:
    """Boot the policy pack's process while the program runs (the pack is a separate process, so
    the two overlap on two cores); ``evaluate`` then finds it warm. Failures surface in ``evaluate``."""
    if importlib.util.find_spec(POLICY_MODULE) is None:
        return None
    prestart = getattr(importlib.import_module(POLICY_MODULE), "prestart", None)
    if prestart is None:
        return None

    def boot() -> None:
        # A failed boot is not lost: evaluate() starts the pack again and reports why it failed.
        with contextlib.suppress(Exception):
            prestart(stack)

    thread = threading.Thread(target=boot, name="policy-pack-boot", daemon=True)
    thread.start()
    return thread


def run_preview(stack: str, config_file: Path | None = None, *, policies: bool = True) -> dict[str, Any]:
    """CONTRACT.md §2 ``imagegen preview --json``. Raises ``SettingsInvalid`` for bad settings.

    ``policies=False`` skips the policy pack (its verdict is then empty): for callers that only
    need the graph, such as the program's own tests.
    """
    started = time.perf_counter()
    config, settings = load_stack(stack, config_file)
    from imagegen_platform import constraints

    constraints.check_settings(settings, stack, source=str(config_file or stack_file(stack)))
    account_id = settings.customer.account_id if settings.customer is not None else MOCK_ACCOUNT_ID
    warm_pack = _prestart_pack(stack) if policies else None
    ran = run_program(stack, config, settings.region, account_id)
    if warm_pack is not None:
        warm_pack.join()
    graph: dict[str, Any] = {"stack": stack, "resources": ran["resources"], "outputs": ran["outputs"]}
    graph["policies"] = evaluate_policies(graph, stack) if policies else dict(_NO_VERDICT)
    graph["elapsed_s"] = round(time.perf_counter() - started, 3)
    return graph
