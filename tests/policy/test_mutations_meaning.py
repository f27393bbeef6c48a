"""Mutations a reviewer tried to slip past the pack (issue 14's "Found" list), driven over its gRPC protocol.

Each mutation belongs to one class of the review's findings and must be caught by exactly the
policies it targets, as MANDATORY, with nothing else turning up (no false positive on the shipped
stack). Every one of these classes got past the pack before the rules judged meaning:

- ``meaning``: IAM judged by what it grants (partial wildcards, NotAction/NotResource, ``*`` on
  sensitive actions, trust policies open to anyone, managed-policy attachments);
- ``aliases``: type aliases (BucketV2, the ``*V2`` side resources), inline forms, ARNs of another
  account, function URLs / Lambda permissions around the API, a queue disguised as a DLQ;
- ``every-function``: a control performed by the api is judged on the api too;
- ``flags``: flags cannot switch controls off where the config pins them; guardrail contents;
  permissions boundary on customer stacks;
- ``baseline``: what the program sets (versioning, KMS rotation, encryption at rest, X-Ray, log
  retention, API access logs and throttling, the alarms) is verified.

Expected values come from AWS's published behaviour, cited where a mutation depends on it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from imagegen_platform.settings import stack_file
from imagegen_policies.offline import evaluate

from tests.policy.conftest import edit_json, find

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
QUEUE = "aws:sqs/queue:Queue"
GUARDRAIL = "aws:bedrock/guardrail:Guardrail"
STAGE = "aws:apigatewayv2/stage:Stage"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
PERMISSION = "aws:lambda/permission:Permission"
OTHER_ACCOUNT = "999999999999"
BUCKET_ARN = "arn:aws:s3:::imagegen-prod-images-ebb8f2e14a84"

STORAGE = frozenset(
    {
        "storage-public-access-blocked",
        "storage-owner-enforced",
        "storage-encrypted",
        "storage-tls-only",
        "storage-cdn-only-access",
        "storage-versioning",
    }
)


@dataclass(frozen=True)
class Mutation:
    cls: str
    id: str
    targets: frozenset[str]
    graph: Callable[[dict[str, Any]], None] | None = None
    settings: Callable[[dict[str, Any]], None] | None = None
    stack: str = "prod"


# --------------------------------------------------------------------------- helpers


def _add_statement(role: str, statement: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        policy = find(graph, ROLE_POLICY, f"{role}-policy")
        edit_json(policy, "policy", lambda doc: {**doc, "Statement": [*doc["Statement"], statement]})

    return apply


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _drop_sid(role: str, sid: str) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        policy = find(graph, ROLE_POLICY, f"{role}-policy")
        edit_json(
            policy, "policy", lambda doc: {**doc, "Statement": [s for s in doc["Statement"] if s.get("Sid") != sid]}
        )

    return apply


def _urn(graph: dict[str, Any], resource_type: str, name: str) -> str:
    stack = graph["resources"][0]["urn"].split("::")[0].removeprefix("urn:pulumi:")
    return f"urn:pulumi:{stack}::imagegen::{resource_type}::{name}"


def _add(
    graph: dict[str, Any],
    resource_type: str,
    name: str,
    inputs: dict[str, Any],
    deps: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    provider = find(graph, FUNCTION).get("provider")
    resource = {
        "urn": _urn(graph, resource_type, name),
        "type": resource_type,
        "name": name,
        "inputs": inputs,
        "parent": None,
        "provider": provider,
        "dependencies": sorted({u for urns in (deps or {}).values() for u in urns}),
        "property_dependencies": deps or {},
    }
    graph["resources"].append(resource)
    return resource


def _retype(graph: dict[str, Any], resource_type: str, new_type: str) -> dict[str, Any]:
    """Spell a resource with its deprecated alias type (same AWS resource): type and URN change."""
    resource = find(graph, resource_type)
    old = resource["urn"]
    resource["type"] = new_type
    resource["urn"] = old.replace(resource_type, new_type)
    for other in graph["resources"]:
        other["dependencies"] = [resource["urn"] if u == old else u for u in other.get("dependencies") or []]
        for key, urns in (other.get("property_dependencies") or {}).items():
            other["property_dependencies"][key] = [resource["urn"] if u == old else u for u in urns]
    return resource


def _inputs(resource_type: str, name_part: str = "") -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda graph: find(graph, resource_type, name_part)["inputs"]


def _set(resource_type: str, name_part: str, path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        node = find(graph, resource_type, name_part)["inputs"]
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value

    return apply


def _pop(resource_type: str, name_part: str, path: str) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        node = find(graph, resource_type, name_part)["inputs"]
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node.pop(leaf)

    return apply


def _drop(resource_type: str, name_part: str) -> Callable[[dict[str, Any]], None]:
    return lambda graph: graph["resources"].remove(find(graph, resource_type, name_part))


def _env(function: str, name: str, value: str | None) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        variables = find(graph, FUNCTION, f"generators-{function}")["inputs"]["environment"]["variables"]
        if value is None:
            variables.pop(name)
        else:
            variables[name] = value

    return apply


def _trust(principal: Any) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        role = find(graph, ROLE, "generators-worker-role")
        edit_json(role, "assumeRolePolicy", lambda doc: doc["Statement"][0].update(Principal=principal))

    return apply


def _attach(policy_arn: str, *, own_policy: dict[str, Any] | None = None) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        role = find(graph, ROLE, "generators-worker-role")
        deps = {"role": [role["urn"]]}
        if own_policy is not None:
            policy = _add(
                graph, "aws:iam/policy:Policy", "extra-policy", {"name": "extra", "policy": json.dumps(own_policy)}
            )
            deps["policyArn"] = [policy["urn"]]
        _add(
            graph,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "extra-attachment",
            {"role": "imagegen-prod-worker", "policyArn": policy_arn},
            deps,
        )

    return apply


def _managed_arns(*arns: str) -> Callable[[dict[str, Any]], None]:
    return _set(ROLE, "generators-api-role", "managedPolicyArns", list(arns))


def _bucket_policy_statement(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        def edit(doc: dict[str, Any]) -> None:
            change(next(s for s in doc["Statement"] if s["Effect"] == "Allow"))

        edit_json(find(graph, BUCKET_POLICY), "policy", edit)

    return apply


def _inline_bucket_policy(statement: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return _set(BUCKET, "", "policy", json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def _second_bucket_v2(graph: dict[str, Any]) -> None:
    _add(graph, "aws:s3/bucketV2:BucketV2", "side-door-bucket", {"bucket": "imagegen-prod-side-door"})


def _sse_v2(algorithm: str | None) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        sse = _retype(
            graph,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        )
        if algorithm is not None:
            sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] = algorithm

    return apply


def _versioning_v2(status: str) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        versioning = _retype(
            graph, "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"
        )
        versioning["inputs"]["versioningConfiguration"]["status"] = status

    return apply


def _source_arn_account(graph: dict[str, Any]) -> None:
    def change(statement: dict[str, Any]) -> None:
        arn = statement["Condition"]["StringEquals"]["AWS:SourceArn"]
        statement["Condition"]["StringEquals"]["AWS:SourceArn"] = arn.replace("123456789012", OTHER_ACCOUNT)

    _bucket_policy_statement(change)(graph)


def _source_arn_not_from_stack(graph: dict[str, Any]) -> None:
    policy = find(graph, BUCKET_POLICY)
    policy["property_dependencies"]["policy"] = [
        u for u in policy["property_dependencies"]["policy"] if "cloudfront/distribution" not in u
    ]


def _function_url(auth: str) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        function = find(graph, FUNCTION, "generators-api")
        _add(
            graph,
            "aws:lambda/functionUrl:FunctionUrl",
            "api-url",
            {"functionName": "imagegen-prod-api", "authorizationType": auth},
            {"functionName": [function["urn"]]},
        )

    return apply


def _permission(principal: str, source_arn: str | None) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        function = find(graph, FUNCTION, "generators-worker")
        inputs = {"function": "imagegen-prod-worker", "principal": principal, "action": "lambda:InvokeFunction"}
        if source_arn:
            inputs["sourceArn"] = source_arn
        _add(graph, PERMISSION, "extra-invoke", inputs, {"function": [function["urn"]]})

    return apply


def _queue_disguised_as_dlq(graph: dict[str, Any]) -> None:
    jobs = find(graph, QUEUE, "job-queue-jobs")
    jobs["inputs"].pop("redrivePolicy")
    jobs["property_dependencies"]["redrivePolicy"] = []
    jobs["inputs"]["redriveAllowPolicy"] = json.dumps({"redrivePermission": "allowAll"})


def _extra_queue_allowing_redrive(graph: dict[str, Any]) -> None:
    _add(
        graph,
        QUEUE,
        "side-queue",
        {
            "name": "imagegen-prod-side",
            "sqsManagedSseEnabled": True,
            "redriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"}),
        },
    )


def _guardrail_filter(category: str, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        filters = find(graph, GUARDRAIL)["inputs"]["contentPolicyConfig"]["filtersConfigs"]
        found = next(f for f in filters if f["type"] == category)
        if not changes:
            filters.remove(found)
        found.update(changes)

    return apply


def _alarm_on_jobs_queue(graph: dict[str, Any]) -> None:
    alarm = find(graph, ALARM, "dlq-depth")
    jobs = find(graph, QUEUE, "job-queue-jobs")
    alarm["inputs"]["dimensions"] = {"QueueName": "imagegen-prod-jobs"}
    alarm["property_dependencies"]["dimensions"] = [jobs["urn"]]


def _settings(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(settings: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = settings
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value

    return apply


M = Mutation
S = frozenset
WILDCARD = S({"iam-no-wildcard-actions"})
SCOPED = S({"iam-sensitive-actions-scoped"})
TRUST = S({"iam-trust-policy-scoped"})
MANAGED = S({"iam-managed-policies-judged"})
INVOKE = S({"iam-bedrock-invoke-scoped"})
MUTATIONS: tuple[Mutation, ...] = (
    # ---------------------------------------------------------------- meaning: IAM judged by what it grants
    M("meaning", "s3-get-star", WILDCARD, _add_statement("api", _allow("s3:Get*", f"{BUCKET_ARN}/images/*"))),
    M(
        "meaning",
        "iam-pass-star",
        WILDCARD,
        _add_statement("worker", _allow("iam:Pass*", "arn:aws:iam::123456789012:role/imagegen-prod-worker")),
    ),
    M(
        "meaning",
        "dynamodb-star-item",
        WILDCARD,
        _add_statement(
            "api", _allow("dynamodb:*Item", "arn:aws:dynamodb:us-west-2:123456789012:table/imagegen-prod-jobs")
        ),
    ),
    M(
        "meaning",
        "question-mark-wildcard",
        WILDCARD,
        _add_statement("worker", _allow("sqs:???eteMessage*", "arn:aws:sqs:us-west-2:123456789012:imagegen-prod-jobs")),
    ),
    M(
        "meaning",
        "not-action-scoped",
        WILDCARD | INVOKE,  # NotAction iam:* allows bedrock:InvokeModel too, on a resource that is no model
        _add_statement("worker", {"Effect": "Allow", "NotAction": "iam:*", "Resource": f"{BUCKET_ARN}/images/*"}),
    ),
    M(
        "meaning",
        "not-action-everything",
        WILDCARD | SCOPED | INVOKE,
        _add_statement("api", {"Effect": "Allow", "NotAction": ["s3:*"], "Resource": "*"}),
    ),
    M(
        "meaning",
        "not-resource",
        SCOPED,
        _add_statement("worker", {"Effect": "Allow", "Action": "s3:PutObject", "NotResource": f"{BUCKET_ARN}/x/*"}),
    ),
    M("meaning", "secret-any", SCOPED, _add_statement("worker", _allow("secretsmanager:GetSecretValue", "*"))),
    M("meaning", "pass-role-any", SCOPED, _add_statement("api", _allow("iam:PassRole", "*"))),
    M("meaning", "s3-read-all-buckets", SCOPED, _add_statement("api", _allow("s3:GetObject", "arn:aws:s3:::*"))),
    M("meaning", "dynamodb-write-any", SCOPED, _add_statement("worker", _allow(["dynamodb:PutItem"], ["*"]))),
    M("meaning", "kms-decrypt-any", SCOPED, _add_statement("worker", _allow("kms:Decrypt", "*"))),
    M("meaning", "tag-any", SCOPED, _add_statement("api", _allow("sqs:TagQueue", "*"))),
    M("meaning", "trust-aws-star", TRUST, _trust({"AWS": "*"})),
    M("meaning", "trust-star", TRUST, _trust("*")),
    M("meaning", "trust-list-with-star", TRUST, _trust({"AWS": ["arn:aws:iam::123456789012:root", "*"]})),
    M("meaning", "admin-attachment", MANAGED, _attach("arn:aws:iam::aws:policy/AdministratorAccess")),
    M("meaning", "power-user-attachment", MANAGED, _attach("arn:aws:iam::aws:policy/PowerUserAccess")),
    M(
        "meaning",
        "basic-execution-attachment",
        MANAGED,
        _attach("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
    ),
    M("meaning", "unknown-aws-managed", MANAGED, _attach("arn:aws:iam::aws:policy/AmazonS3FullAccess")),
    M("meaning", "foreign-policy", MANAGED, _attach(f"arn:aws:iam::{OTHER_ACCOUNT}:policy/anything")),
    M(
        "meaning",
        "own-policy-wildcard",
        WILDCARD | MANAGED,
        _attach(
            "arn:aws:iam::123456789012:policy/extra",
            own_policy={"Statement": [_allow("s3:*", f"{BUCKET_ARN}/images/*")]},
        ),
    ),
    M("meaning", "managed-arns-admin", MANAGED, _managed_arns("arn:aws:iam::aws:policy/AdministratorAccess")),
    M("meaning", "bucket-policy-get-star", WILDCARD, _bucket_policy_statement(lambda s: s.update(Action="s3:Get*"))),
    # ---------------------------------------------------------------- aliases, inline forms and side doors
    M("aliases", "bucket-v2-unguarded", STORAGE, _second_bucket_v2),
    M("aliases", "sse-v2-no-encryption", S({"storage-encrypted"}), _sse_v2("NONE")),
    M("aliases", "versioning-v2-suspended", S({"storage-versioning"}), _versioning_v2("Suspended")),
    M(
        "aliases",
        "inline-bucket-policy-public",
        S({"storage-cdn-only-access"}),
        _inline_bucket_policy(_allow("s3:GetObject", f"{BUCKET_ARN}/*", Principal="*")),
    ),
    M(
        "aliases",
        "inline-bucket-policy-wildcard",
        WILDCARD | {"storage-cdn-only-access"},
        _inline_bucket_policy(
            _allow(
                "s3:*",
                f"{BUCKET_ARN}/images/*",
                Principal={"Service": "cloudfront.amazonaws.com"},
                Condition={
                    "StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E5696E2D205DED"}
                },
            )
        ),
    ),
    M(
        "aliases",
        "inline-sse-none",
        S({"storage-encrypted"}),
        _set(
            BUCKET,
            "",
            "serverSideEncryptionConfiguration",
            {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "NONE"}}},
        ),
    ),
    M(
        "aliases",
        "inline-versioning-off",
        S({"storage-versioning"}),
        _set(BUCKET, "", "versioning", {"enabled": False}),
    ),
    M("aliases", "source-arn-other-account", S({"storage-cdn-only-access"}), _source_arn_account),
    M("aliases", "source-arn-not-this-stack", S({"storage-cdn-only-access"}), _source_arn_not_from_stack),
    M("aliases", "function-url-no-auth", S({"lambda-no-public-invoke"}), _function_url("NONE")),
    M("aliases", "permission-anyone", S({"lambda-no-public-invoke"}), _permission("*", None)),
    M("aliases", "permission-other-account", S({"lambda-no-public-invoke"}), _permission(OTHER_ACCOUNT, None)),
    M(
        "aliases",
        "permission-service-unbound",
        S({"lambda-no-public-invoke"}),
        _pop(PERMISSION, "http-api-invoke", "sourceArn"),
    ),
    M("aliases", "queue-disguised-as-dlq", S({"queue-dead-letter"}), _queue_disguised_as_dlq),
    M("aliases", "extra-queue-allowing-redrive", S({"queue-dead-letter"}), _extra_queue_allowing_redrive),
    M(
        "aliases",
        "queue-inline-policy-wildcard",
        WILDCARD,
        _set(
            QUEUE,
            "job-queue-jobs",
            "policy",
            json.dumps({"Statement": [_allow("sqs:*", "*", Principal={"Service": "sns.amazonaws.com"})]}),
        ),
    ),
    # ---------------------------------------------------------------- every function that performs a control
    M(
        "every-function",
        "api-moderation-off",
        S({"moderation-enabled"}),
        _env("api", "IMAGEGEN_MODERATION_ENABLED", "false"),
    ),
    M(
        "every-function",
        "api-moderation-unset",
        S({"moderation-enabled"}),
        _env("api", "IMAGEGEN_MODERATION_ENABLED", None),
    ),
    M(
        "every-function",
        "api-confidence-99",
        S({"moderation-confidence-range"}),
        _env("api", "IMAGEGEN_MIN_CONFIDENCE", "99"),
    ),
    M(
        "every-function",
        "api-confidence-not-a-number",
        S({"moderation-confidence-range"}),
        _env("api", "IMAGEGEN_MIN_CONFIDENCE", "high"),
    ),
    M(
        "every-function",
        "api-rekognition-not-granted",
        S({"moderation-image-scan"}),
        _drop_sid("api", "ImageModeration"),
    ),
    # ---------------------------------------------------------------- flags, guardrail contents, boundary
    M(
        "flags",
        "user-content-flag-false",
        S({"cdn-signed-urls", "moderation-guardrail-wired"}),
        _env("api", "IMAGEGEN_USER_CONTENT", "false"),
    ),
    M("flags", "commercial-flag-false", S({"licence-commercial-use"}), _env("api", "IMAGEGEN_COMMERCIAL", "false")),
    M("flags", "settings-not-commercial", S({"licence-commercial-use"}), settings=_settings("commercial", False)),
    M(
        "flags",
        "guardrail-sexual-low",
        S({"moderation-guardrail-content"}),
        _guardrail_filter("SEXUAL", inputStrength="LOW"),
    ),
    M(
        "flags",
        "guardrail-violence-output-medium",
        S({"moderation-guardrail-content"}),
        _guardrail_filter("VIOLENCE", outputStrength="MEDIUM"),
    ),
    M("flags", "guardrail-hate-missing", S({"moderation-guardrail-content"}), _guardrail_filter("HATE")),
    M(
        "flags",
        "guardrail-prompt-attack-none",
        S({"moderation-guardrail-content"}),
        _guardrail_filter("PROMPT_ATTACK", inputStrength="NONE"),
    ),
    M(
        "flags",
        "guardrail-no-profanity",
        S({"moderation-guardrail-content"}),
        _set(GUARDRAIL, "", "wordPolicyConfig.managedWordListsConfigs", []),
    ),
    M(
        "flags",
        "guardrail-no-words",
        S({"moderation-guardrail-content"}),
        _set(GUARDRAIL, "", "wordPolicyConfig.wordsConfigs", []),
    ),
    M("flags", "guardrail-no-topics", S({"moderation-guardrail-content"}), _pop(GUARDRAIL, "", "topicPolicyConfig")),
    M(
        "flags",
        "settings-filter-medium",
        S({"moderation-guardrail-content"}),
        settings=_settings("moderation.guardrail.filter_strength", "MEDIUM"),
    ),
    M(
        "flags",
        "settings-profanity-off",
        S({"moderation-guardrail-content"}),
        settings=_settings("moderation.guardrail.profanity_filter", False),
    ),
    M(
        "flags",
        "customer-boundary-unset",
        S({"iam-permissions-boundary"}),
        settings=_settings("iam.permissions_boundary_arn", None),
        stack="customer-acme",
    ),
    M(
        "flags",
        "customer-boundary-not-a-policy",
        S({"iam-permissions-boundary"}),
        _set(ROLE, "generators-api-role", "permissionsBoundary", "arn:aws:iam::111122223333:role/admin"),
        stack="customer-acme",
    ),
    M(
        "flags",
        "customer-user-content-false",
        S({"cdn-signed-urls", "moderation-guardrail-wired"}),
        _env("api", "IMAGEGEN_USER_CONTENT", "false"),
        stack="customer-acme",
    ),
    # ---------------------------------------------------------------- baseline the program sets
    M(
        "baseline",
        "versioning-suspended",
        S({"storage-versioning"}),
        _set("aws:s3/bucketVersioning:BucketVersioning", "", "versioningConfiguration.status", "Suspended"),
    ),
    M(
        "baseline",
        "versioning-missing",
        S({"storage-versioning"}),
        _drop("aws:s3/bucketVersioning:BucketVersioning", ""),
    ),
    M("baseline", "kms-rotation-off", S({"kms-key-rotation"}), _set("aws:kms/key:Key", "", "enableKeyRotation", False)),
    M(
        "baseline",
        "topic-unencrypted",
        S({"data-encrypted-at-rest"}),
        _pop("aws:sns/topic:Topic", "", "kmsMasterKeyId"),
    ),
    M(
        "baseline",
        "jobs-queue-unencrypted",
        S({"data-encrypted-at-rest"}),
        _set(QUEUE, "job-queue-jobs", "sqsManagedSseEnabled", False),
    ),
    M(
        "baseline",
        "dlq-unencrypted",
        S({"data-encrypted-at-rest"}),
        _pop(QUEUE, "job-queue-dlq", "sqsManagedSseEnabled"),
    ),
    M(
        "baseline",
        "table-sse-off",
        S({"data-encrypted-at-rest"}),
        _set("aws:dynamodb/table:Table", "metadata-jobs", "serverSideEncryption.enabled", False),
    ),
    M(
        "baseline",
        "worker-tracing-passthrough",
        S({"lambda-tracing"}),
        _set(FUNCTION, "generators-worker", "tracingConfig.mode", "PassThrough"),
    ),
    M("baseline", "api-tracing-unset", S({"lambda-tracing"}), _pop(FUNCTION, "generators-api", "tracingConfig")),
    M(
        "baseline",
        "log-retention-unset",
        S({"log-retention"}),
        _pop(LOG_GROUP, "generators-worker-logs", "retentionInDays"),
    ),
    M(
        "baseline",
        "log-retention-1-day",
        S({"log-retention"}),
        _set(LOG_GROUP, "http-api-access-logs", "retentionInDays", 1),
    ),
    M(
        "baseline",
        "function-logs-elsewhere",
        S({"log-retention"}),
        _set(FUNCTION, "generators-api", "loggingConfig.logGroup", "/aws/lambda/somewhere-else"),
    ),
    M("baseline", "access-logs-missing", S({"api-access-logs"}), _pop(STAGE, "", "accessLogSettings")),
    M(
        "baseline",
        "access-logs-foreign",
        S({"api-access-logs"}),
        lambda g: find(g, STAGE)["property_dependencies"].update(accessLogSettings=[]),
    ),
    M(
        "baseline",
        "throttling-rate-unset",
        S({"api-throttling"}),
        _pop(STAGE, "", "defaultRouteSettings.throttlingRateLimit"),
    ),
    M(
        "baseline",
        "throttling-burst-zero",
        S({"api-throttling"}),
        _set(STAGE, "", "defaultRouteSettings.throttlingBurstLimit", 0),
    ),
    M("baseline", "dlq-alarm-missing", S({"alarms-present"}), _drop(ALARM, "dlq-depth")),
    M("baseline", "dlq-alarm-on-wrong-queue", S({"alarms-present"}), _alarm_on_jobs_queue),
    M("baseline", "worker-errors-alarm-missing", S({"alarms-present"}), _drop(ALARM, "worker-errors")),
    M("baseline", "api-5xx-alarm-missing", S({"alarms-present"}), _drop(ALARM, "api-5xx")),
    M(
        "baseline",
        "alarm-without-action",
        S({"alarms-present"}),
        _set(ALARM, "throttles-stable-image-core", "alarmActions", []),
    ),
)
CLASSES = ("meaning", "aliases", "every-function", "flags", "baseline")

_PREVIEWS: dict[str, dict[str, Any]] = {}


def _preview(stack: str) -> dict[str, Any]:
    from imagegen_platform.preview import run_preview

    if stack not in _PREVIEWS:
        _PREVIEWS[stack] = run_preview(stack)
    return copy.deepcopy(_PREVIEWS[stack])


def _verdict(mutation: Mutation, tmp_path: Path) -> dict[str, Any]:
    if mutation.settings is not None:
        from imagegen_platform.preview import run_preview

        document = yaml.safe_load(stack_file(mutation.stack).read_text())
        mutation.settings(document["config"]["imagegen:settings"])
        path = tmp_path / f"Pulumi.{mutation.stack}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        verdict: dict[str, Any] = run_preview(mutation.stack, path)["policies"]
        return verdict
    assert mutation.graph is not None
    graph = _preview(mutation.stack)
    graph.pop("policies")
    mutation.graph(graph)
    return evaluate(graph, mutation.stack)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[f"{m.cls}:{m.id}" for m in MUTATIONS])
def test_mutation_is_caught_by_the_policy_it_targets(
    mutation: Mutation, pinned_today_and_pool: None, tmp_path: Path
) -> None:
    # GIVEN a shipped stack with one fault a reviewer put in
    baseline = _preview(mutation.stack)["policies"]
    assert baseline["mandatory_violations"] == 0
    # WHEN the pack judges it over its gRPC protocol with the stack's policy config
    verdict = _verdict(mutation, tmp_path)
    # THEN exactly the targeted policies report MANDATORY violations, naming resource and property ...
    mandatory = {v["policy"] for v in verdict["violations"] if v["enforcement"] == "mandatory"}
    assert mandatory == set(mutation.targets), verdict["violations"]
    assert all(
        "(" in v["message"] and ")" in v["message"] for v in verdict["violations"] if v["policy"] in mutation.targets
    )
    # ... and no new advice turns up
    advisory = {v["policy"] for v in verdict["violations"] if v["enforcement"] == "advisory"}
    assert advisory <= {v["policy"] for v in baseline["violations"]}, advisory


def test_a_valid_v2_encryption_resource_is_not_reported_missing(pinned_today_and_pool: None) -> None:
    # GIVEN prod with its encryption configuration spelt as the deprecated V2 alias (same AWS resource)
    graph = _preview("prod")
    graph.pop("policies")
    _sse_v2(None)(graph)
    # WHEN judged THEN nothing is reported: one bucket, one view, whatever the spelling
    verdict = evaluate(graph, "prod")
    assert verdict["mandatory_violations"] == 0, verdict["violations"]


def test_every_class_of_the_review_is_represented_and_at_least_80_mutations_in_all() -> None:
    from tests.policy.test_mutations import MUTATIONS as EARLIER

    per_class = {name: sum(1 for m in MUTATIONS if m.cls == name) for name in CLASSES}
    assert all(count >= 5 for count in per_class.values()), per_class
    assert len(MUTATIONS) + len(EARLIER) >= 80


def test_production_and_customer_configs_keep_the_pins() -> None:
    """The pins hold in prod and customer stacks: the pack's strict defaults are not relaxed there."""
    from imagegen_policies import registry
    from imagegen_policies.offline import CONFIG_DIR

    pins = {
        ("licence-commercial-use", "requireCommercial"): True,
        ("moderation-guardrail-wired", "requireUserContent"): True,
        ("cdn-signed-urls", "requireUserContent"): True,
        ("moderation-guardrail-content", "minimumStrength"): "HIGH",
        ("moderation-guardrail-content", "requireProfanityFilter"): True,
    }
    for name in ("prod.json", "staging.json", "customer.json", "customer-acme.json"):
        config = json.loads((CONFIG_DIR / name).read_text())
        for (policy, key), wanted in pins.items():
            given = config.get(policy, {})
            value = (
                given.get(key, registry.rule(policy).config_schema[key]["default"]) if isinstance(given, dict) else None
            )
            assert value == wanted, (name, policy, key, value)
        if name.startswith("customer"):
            assert config["iam-permissions-boundary"] == {"required": True}, name
