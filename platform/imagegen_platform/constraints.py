"""Deploy constraints: the AWS and provider limits a stack can hit, checked before any resource exists.

The mocks accept any input; AWS does not. Each limit is a named ``Limit`` with the page that states
it (docs/infrastructure.md renders the table). Two checks read them:

- ``settings_problems(settings, stack)``: limits a *setting* can break, each problem naming the field
  (the preview, the program and ``customer new`` raise ``SettingsInvalid``: the CLI exits 2);
- ``graph_problems(graph)``: every limit, over the resources of a preview graph (tests run it on
  every shipped stack), for what no single setting causes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from imagegen_service.errors import SettingsInvalid

from imagegen_platform.components.names import BUCKET_PREFIX_MAX, PhysicalNames
from imagegen_platform.environment import Role, RuntimeRefs, function_environment
from imagegen_platform.settings import LOCAL_GENERATED_KEY, StackSettings


@dataclass(frozen=True)
class Limit:
    what: str
    limit: int
    source: str


FUNCTION_NAME = Limit("Lambda function name", 64, "Lambda API CreateFunction: FunctionName (a name alone: 64 characters)")  # fmt: skip
ROLE_NAME = Limit("IAM role name", 64, "IAM API CreateRole: RoleName, length 1–64")
ROLE_POLICY_NAME = Limit("IAM inline policy name", 128, "IAM API PutRolePolicy: PolicyName, length 1–128")
QUEUE_NAME = Limit("SQS queue name", 80, "SQS API CreateQueue: QueueName, up to 80 characters (alphanumeric, - and _)")
TABLE_NAME = Limit("DynamoDB table name", 255, "DynamoDB API CreateTable: TableName, length 3–255")
ALARM_NAME = Limit("CloudWatch alarm name", 255, "CloudWatch API PutMetricAlarm: AlarmName, length 1–255")
GUARDRAIL_NAME = Limit("Bedrock guardrail name", 50, "Bedrock API CreateGuardrail: name, length 1–50, [0-9a-zA-Z-_]")
GUARDRAIL_VERSION_DESCRIPTION = Limit("Bedrock guardrail version description", 200, "Bedrock API CreateGuardrailVersion: description, length 1–200")  # fmt: skip
LAYER_NAME = Limit("Lambda layer name", 140, "Lambda API PublishLayerVersion: LayerName, length 1–140 (name form)")
LOG_GROUP_NAME = Limit("CloudWatch Logs group name", 512, "CloudWatch Logs API CreateLogGroup: logGroupName, length 1–512")  # fmt: skip
TOPIC_NAME = Limit("SNS topic name", 256, "SNS API CreateTopic: Name, up to 256 characters")
BUDGET_NAME = Limit("budget name", 100, "AWS Budgets API Budget: BudgetName, length 1–100")
OAC_NAME = Limit("CloudFront origin access control name", 64, "CloudFront API OriginAccessControlConfig: Name, maximum 64")  # fmt: skip
BUCKET_PREFIX = Limit("S3 bucket_prefix", BUCKET_PREFIX_MAX, "pulumi-aws s3.Bucket (Terraform aws_s3_bucket): bucket_prefix ≤ 37 characters")  # fmt: skip
TAG_COUNT = Limit("tags per resource", 50, "AWS General Reference, Tagging AWS resources: maximum 50 user tags per resource")  # fmt: skip
TAG_KEY = Limit("tag key length", 128, "Tagging AWS resources: key 1–128 Unicode characters; the aws: prefix is reserved")  # fmt: skip
TAG_VALUE = Limit("tag value length", 256, "Tagging AWS resources: value 0–256 Unicode characters")
ENVIRONMENT_BYTES = Limit("Lambda environment (all variables)", 4096, "Lambda quotas: environment variables 4 KB in aggregate (measured as the JSON of the map)")  # fmt: skip
LAMBDA_ZIPPED = Limit("Lambda package uploaded directly (zipped bytes)", 52_428_800, "Lambda quotas: deployment package 50 MB zipped when uploading through the Lambda API or SDKs (GetAccountSettings AccountLimit.CodeSizeZipped 52428800); the program uploads the layer and the code directly")  # fmt: skip
LAMBDA_UNZIPPED = Limit("Lambda function and its layers, extracted (bytes)", 262_144_000, "Lambda quotas: 250 MB unzipped, the function's deployment package and all its layers (GetAccountSettings AccountLimit.CodeSizeUnzipped 262144000)")  # fmt: skip
LAMBDA_TIMEOUT = Limit("Lambda timeout seconds", 900, "Lambda quotas: function timeout 900 seconds")
ESM_BATCH = Limit("SQS event source batch size (no batching window)", 10, "Lambda API CreateEventSourceMapping: BatchSize for SQS, maximum 10 without MaximumBatchingWindowInSeconds")  # fmt: skip
ESM_CONCURRENCY = Limit("SQS event source maximum concurrency", 1000, "Lambda API ScalingConfig: MaximumConcurrency 2–1000")  # fmt: skip
ITEM_BYTES = Limit("DynamoDB item size (licence record)", 400 * 1024, "DynamoDB quotas: item size 400 KB, attribute names and values (UTF-8) counted")  # fmt: skip
VISIBILITY = Limit("SQS visibility timeout ≥ function timeout", 0, "Lambda with SQS: the queue's visibility timeout must be at least the function timeout (CreateEventSourceMapping fails otherwise; AWS recommends 6×)")  # fmt: skip
CERTIFICATE_REGION = Limit("CloudFront certificate region", 0, "CloudFront developer guide, requirements for certificates: the ACM certificate must be in us-east-1")  # fmt: skip
PUBLIC_KEY_NEWLINE = Limit("CloudFront public key ends with a newline", 0, "pulumi-aws cloudfront.PublicKey: encoded_key needs a newline at the end (else a diff on every deploy)")  # fmt: skip
ALARM_TOPIC_REGION = Limit("alarm actions in the alarm's region", 0, "CloudWatch API PutMetricAlarm AlarmActions: an SNS topic ARN in the alarm's region")  # fmt: skip

LIMITS: tuple[Limit, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, Limit))

# Worst-case lengths of values AWS assigns, for sizing the environment before they exist.
_S3_NAME_MAX = 63  # S3 bucket naming rules: 3–63 characters; the provider adds a 26-character suffix
_CLOUDFRONT_DOMAIN = "d" + "x" * 20 + ".cloudfront.net"  # real ones: d + 13 characters (safe side: longer)
_PUBLIC_KEY_ID = "K" + "X" * 31  # real ones: K + 13 characters (safe side: longer)
_GUARDRAIL_ID = "x" * 64  # real ones: 12 characters (safe side: longer)
_GUARDRAIL_VERSION = "9" * 8  # CreateGuardrailVersion: version pattern [1-9][0-9]{0,7}
_PLACEHOLDER_ACCOUNT = "0" * 12


def _name_field(settings: StackSettings) -> str:
    if settings.customer is not None:
        return "name_prefix / customer.name (the stack is customer-<name>)"
    return "name_prefix (with the stack name)"


def _names_and_limits(names: PhysicalNames, settings: StackSettings) -> Iterator[tuple[Limit, str]]:
    for role in ("api", "worker"):
        function = names.function(role)
        yield FUNCTION_NAME, function
        yield ROLE_NAME, function
        yield ROLE_POLICY_NAME, f"{function}-least-privilege"
        yield LOG_GROUP_NAME, f"/aws/lambda/{function}"
    yield QUEUE_NAME, names.jobs_queue
    yield QUEUE_NAME, names.dead_letter_queue
    for table in (names.jobs_table, names.licence_table, names.idempotency_table):
        yield TABLE_NAME, table
    yield GUARDRAIL_NAME, names.guardrail
    yield LAYER_NAME, names.of("dependencies")
    yield TOPIC_NAME, names.of("alerts")
    yield BUDGET_NAME, names.of("monthly")
    yield OAC_NAME, names.of("images-oac")
    yield BUCKET_PREFIX, names.bucket_prefix
    for slug in ("dlq-depth", "worker-errors", "api-5xx", *(f"throttles-{m.model}" for m in settings.models)):
        yield ALARM_NAME, names.of(slug)


def _tag_problems(tags: dict[str, str], field_of: dict[str, str]) -> list[str]:
    problems = []
    if len(tags) > TAG_COUNT.limit:
        problems.append(f"tags: {len(tags)} tags with the blueprint's own; AWS allows {TAG_COUNT.limit} per resource")
    for key, value in tags.items():
        where = field_of.get(key, f"tags.{key}")
        if not 1 <= len(key) <= TAG_KEY.limit:
            problems.append(f"{where}: tag key is {len(key)} characters; AWS allows 1–{TAG_KEY.limit}")
        if key.lower().startswith("aws:"):
            problems.append(f"{where}: tag keys starting with 'aws:' are reserved for AWS")
        if len(value) > TAG_VALUE.limit:
            problems.append(f"{where}: tag value is {len(value)} characters; AWS allows {TAG_VALUE.limit}")
    return problems


def _worst_case_refs(settings: StackSettings, names: PhysicalNames) -> RuntimeRefs:
    account = settings.account_id or _PLACEHOLDER_ACCOUNT

    def queue_url(queue: str) -> str:
        return f"https://sqs.{settings.region}.amazonaws.com/{account}/{queue}"

    return RuntimeRefs(
        bucket="b" * min(_S3_NAME_MAX, len(names.bucket_prefix) + 26),
        jobs_table=names.jobs_table,
        licence_table=names.licence_table,
        idempotency_table=names.idempotency_table,
        queue_url=queue_url(names.jobs_queue),
        dlq_url=queue_url(names.dead_letter_queue),
        cdn_domain=settings.delivery.domain_name or _CLOUDFRONT_DOMAIN,
        signing_key_id=_PUBLIC_KEY_ID,
        guardrail_id=_GUARDRAIL_ID,
        guardrail_version=_GUARDRAIL_VERSION,
    )


def environment_bytes(variables: dict[str, Any]) -> int:
    """How Lambda measures the 4 KB: the variables as one compact JSON object, in bytes."""
    return len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode())


def item_bytes(item: dict[str, dict[str, Any]]) -> int:
    """DynamoDB item size of a DynamoDB-JSON item: each attribute name plus its value (UTF-8)."""
    size = 0
    for name, typed in item.items():
        ((kind, value),) = typed.items()
        size += len(name.encode())
        if kind == "S":
            size += len(str(value).encode())
        elif kind == "BOOL":
            size += 1
        elif kind == "N":
            size += (
                len(str(value)) // 2 + 1
            )  # "approximately (number of UTF-8-encoded bytes of attribute name) + (1 byte per two significant digits) + (1 byte)"
        else:
            size += len(json.dumps(value).encode())  # safe side for types the program does not write
    return size


ROLES: tuple[Role, ...] = ("api", "worker")


def worst_case_environment_bytes(settings: StackSettings, stack: str) -> dict[Role, int]:
    """Each function's environment size with the longest values AWS could assign (an upper bound)."""
    refs = _worst_case_refs(settings, PhysicalNames(settings.name_prefix, stack))
    return {role: environment_bytes(function_environment(settings, stack, refs, role)) for role in ROLES}


def settings_problems(settings: StackSettings, stack: str) -> list[str]:
    """Each limit a setting can break, as ``field: rule`` lines (empty when the stack can deploy)."""
    from imagegen_platform.components.licensing import licence_item
    from imagegen_platform.program import stack_tags

    problems: list[str] = settings.account_problems()
    names = PhysicalNames(settings.name_prefix, stack)
    for limit, name in _names_and_limits(names, settings):
        if len(name) > limit.limit:
            problems.append(
                f"{_name_field(settings)}: the {limit.what} {name!r} is {len(name)} characters; "
                f"AWS allows {limit.limit} ({limit.source})"
            )
    tag_fields = {"partner": "customer.partner", "cost-centre": "customer.cost_centre", "customer": "customer.name"}
    problems += _tag_problems(stack_tags(settings, stack), tag_fields)

    for role, size in worst_case_environment_bytes(settings, stack).items():
        if size > ENVIRONMENT_BYTES.limit:
            problems.append(
                f"presets: the {role} function's environment would be up to {size:,} bytes (presets, channel "
                f"formats and models travel in it); Lambda allows {ENVIRONMENT_BYTES.limit:,} in total"
            )
            break
    for index, enabled in enumerate(settings.models):
        size = item_bytes(licence_item(enabled, stack))
        if size > ITEM_BYTES.limit:
            problems.append(
                f"models[{index}].licence: the licence record is {size:,} bytes; DynamoDB items hold {ITEM_BYTES.limit:,}"
            )
    return problems


def check_settings(settings: StackSettings, stack: str, *, source: str) -> None:
    """Raise ``SettingsInvalid`` (exit 2) naming every field whose value a deploy would refuse."""
    problems = settings_problems(settings, stack)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SettingsInvalid(
            f"{source}: the stack settings break deploy limits ({len(problems)} problem(s)):\n{lines}"
        )


# --------------------------------------------------------------------------- the graph


_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_NAME_INPUT: dict[str, tuple[str, Limit]] = {
    "aws:lambda/function:Function": ("name", FUNCTION_NAME),
    "aws:iam/role:Role": ("name", ROLE_NAME),
    "aws:iam/rolePolicy:RolePolicy": ("name", ROLE_POLICY_NAME),
    "aws:sqs/queue:Queue": ("name", QUEUE_NAME),
    "aws:dynamodb/table:Table": ("name", TABLE_NAME),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", ALARM_NAME),
    "aws:bedrock/guardrail:Guardrail": ("name", GUARDRAIL_NAME),
    "aws:bedrock/guardrailVersion:GuardrailVersion": ("description", GUARDRAIL_VERSION_DESCRIPTION),
    "aws:lambda/layerVersion:LayerVersion": ("layerName", LAYER_NAME),
    "aws:cloudwatch/logGroup:LogGroup": ("name", LOG_GROUP_NAME),
    "aws:sns/topic:Topic": ("name", TOPIC_NAME),
    "aws:budgets/budget:Budget": ("name", BUDGET_NAME),
    "aws:cloudfront/originAccessControl:OriginAccessControl": ("name", OAC_NAME),
    "aws:s3/bucket:Bucket": ("bucketPrefix", BUCKET_PREFIX),
}


def default_tags(provider_inputs: dict[str, Any]) -> dict[str, str]:
    """A provider's default tags (the engine hands provider inputs over as JSON strings)."""
    value = provider_inputs.get("defaultTags") or {}
    if isinstance(value, str):
        value = json.loads(value)
    tags = value.get("tags") or {}
    return dict(json.loads(tags) if isinstance(tags, str) else tags)


def _region_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def graph_problems(graph: dict[str, Any]) -> list[str]:
    """Every limit above, over one preview graph: ``urn-name: rule`` lines (empty when it can deploy)."""
    resources: list[dict[str, Any]] = graph["resources"]
    problems: list[str] = []
    providers = {r["urn"]: r for r in resources if r["type"] == "pulumi:providers:aws"}
    default_region = next((str(p["inputs"].get("region", "")) for p in providers.values()), "")
    functions: dict[str, dict[str, Any]] = {}
    queues: dict[str, dict[str, Any]] = {}
    for resource in resources:
        inputs = resource["inputs"]
        if resource["type"] == "aws:lambda/function:Function":
            functions[str(inputs.get("name"))] = resource
        if resource["type"] == "aws:sqs/queue:Queue":
            queues[str(inputs.get("name"))] = resource

    for resource in resources:
        kind, inputs, name = resource["type"], resource["inputs"], resource["name"]
        if kind in _NAME_INPUT:
            key, limit = _NAME_INPUT[kind]
            value = inputs.get(key)
            if isinstance(value, str) and len(value) > limit.limit:
                problems.append(f"{name}: {key} is {len(value)} characters; {limit.source}")
        if kind == "aws:sqs/queue:Queue" and not _QUEUE_NAME.match(str(inputs.get("name", ""))):
            problems.append(f"{name}: queue name {inputs.get('name')!r} breaks {QUEUE_NAME.source}")
        if kind == "aws:dynamodb/table:Table" and len(str(inputs.get("name", ""))) < 3:
            problems.append(f"{name}: table name shorter than 3 characters; {TABLE_NAME.source}")
        if kind.startswith("aws:") and isinstance(inputs.get("tags"), dict):
            provider = providers.get(str(resource.get("provider") or "").rpartition("::")[0], {})
            defaults = default_tags(provider.get("inputs") or {})
            problems += [f"{name}: {p}" for p in _tag_problems({**defaults, **inputs["tags"]}, {})]
        if kind == "pulumi:providers:aws":
            problems += [f"{name}: {p}" for p in _tag_problems(default_tags(inputs), {})]
        if kind == "aws:lambda/function:Function":
            variables = (inputs.get("environment") or {}).get("variables") or {}
            size = environment_bytes(variables)
            if size > ENVIRONMENT_BYTES.limit:
                problems.append(f"{name}: environment is {size:,} bytes; {ENVIRONMENT_BYTES.source}")
            if int(inputs.get("timeout", 3)) > LAMBDA_TIMEOUT.limit:
                problems.append(f"{name}: timeout {inputs.get('timeout')}; {LAMBDA_TIMEOUT.source}")
        if kind == "aws:lambda/eventSourceMapping:EventSourceMapping":
            problems += _mapping_problems(name, inputs, functions, queues)
        if kind == "aws:cloudfront/distribution:Distribution":
            arn = (inputs.get("viewerCertificate") or {}).get("acmCertificateArn")
            if arn and _region_of_arn(str(arn)) != "us-east-1":
                problems.append(f"{name}: certificate {arn} is not in us-east-1; {CERTIFICATE_REGION.source}")
        encoded_key = str(inputs.get("encodedKey", ""))
        # The local stack's key is made on this machine (never sent to CloudFront): a marker, not a PEM.
        if (
            kind == "aws:cloudfront/publicKey:PublicKey"
            and encoded_key != LOCAL_GENERATED_KEY
            and not encoded_key.endswith("\n")
        ):
            problems.append(f"{name}: encodedKey lacks its final newline; {PUBLIC_KEY_NEWLINE.source}")
        if kind == "aws:dynamodb/tableItem:TableItem":
            size = item_bytes(json.loads(str(inputs.get("item", "{}"))))
            if size > ITEM_BYTES.limit:
                problems.append(f"{name}: item is {size:,} bytes; {ITEM_BYTES.source}")
        if kind == "aws:cloudwatch/metricAlarm:MetricAlarm":
            region = str(inputs.get("region") or default_region)
            for action in [*(inputs.get("alarmActions") or []), *(inputs.get("okActions") or [])]:
                if _region_of_arn(str(action)) != region:
                    problems.append(f"{name}: action {action} is not in the alarm's region {region}; {ALARM_TOPIC_REGION.source}")  # fmt: skip
    return problems


def _mapping_problems(
    name: str, inputs: dict[str, Any], functions: dict[str, dict[str, Any]], queues: dict[str, dict[str, Any]]
) -> list[str]:
    problems = []
    if int(inputs.get("batchSize", 10)) > ESM_BATCH.limit and not inputs.get("maximumBatchingWindowInSeconds"):
        problems.append(f"{name}: batchSize {inputs.get('batchSize')}; {ESM_BATCH.source}")
    concurrency = (inputs.get("scalingConfig") or {}).get("maximumConcurrency")
    if concurrency is not None and not 2 <= int(concurrency) <= ESM_CONCURRENCY.limit:
        problems.append(f"{name}: maximumConcurrency {concurrency}; {ESM_CONCURRENCY.source}")
    function = functions.get(str(inputs.get("functionName", "")).rpartition(":")[2])
    queue = queues.get(str(inputs.get("eventSourceArn", "")).rpartition(":")[2])
    if function is None or queue is None:
        problems.append(f"{name}: its function or queue is not in the graph (cannot check the visibility timeout)")
        return problems
    timeout = int(function["inputs"].get("timeout", 3))
    visibility = int(queue["inputs"].get("visibilityTimeoutSeconds", 30))
    if visibility < timeout:
        problems.append(f"{name}: visibility timeout {visibility}s < function timeout {timeout}s; {VISIBILITY.source}")
    return problems
