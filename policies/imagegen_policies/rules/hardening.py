"""The baseline the program sets, verified so a regression cannot ship: KMS rotation, encryption at
rest of topics, queues and tables, X-Ray tracing, log retention, API access logs and throttling, and
the operational alarms (the DLQ alarm included).
"""

from __future__ import annotations

from typing import Any

from imagegen_policies import facts
from imagegen_policies import registry as t
from imagegen_policies.base import Report, resource_policy, settings_of, stack_policy
from imagegen_policies.facts import where

SYMMETRIC = (None, "SYMMETRIC_DEFAULT")  # only symmetric keys can rotate automatically (KMS EnableKeyRotation)


def kms_key_rotation(args: Any, report: Report) -> None:
    if args.resource_type != t.KMS_KEY:
        return
    spec = args.props.get("customerMasterKeySpec") or args.props.get("keySpec")
    if spec not in SYMMETRIC:
        return
    if args.props.get("enableKeyRotation") is not True:
        report(f"{where(args, 'enableKeyRotation')} is {args.props.get('enableKeyRotation')!r} (must be true)")


def data_encrypted_at_rest(args: Any, report: Report) -> None:
    props = args.props
    if args.resource_type == t.TOPIC:
        if not props.get("kmsMasterKeyId"):
            report(f"{where(args, 'kmsMasterKeyId')} is not set: the topic is stored unencrypted")
    elif args.resource_type == t.QUEUE:
        # SQS rejects both at once; either one encrypts (CreateQueue attributes SqsManagedSseEnabled / KmsMasterKeyId).
        if props.get("sqsManagedSseEnabled") is not True and not props.get("kmsMasterKeyId"):
            report(
                f"{where(args, 'sqsManagedSseEnabled')} is {props.get('sqsManagedSseEnabled')!r} and no "
                "kmsMasterKeyId is set: the queue is stored unencrypted"
            )
    elif args.resource_type == t.TABLE:
        enabled = (props.get("serverSideEncryption") or {}).get("enabled")
        if enabled is not True:
            report(f"{where(args, 'serverSideEncryption.enabled')} is {enabled!r} (must be true)")


def lambda_tracing(args: Any, report: Report) -> None:
    if args.resource_type != t.FUNCTION:
        return
    mode = (args.props.get("tracingConfig") or {}).get("mode")
    if mode != "Active":
        report(f"{where(args, 'tracingConfig.mode')} is {mode!r} (must be Active)")


def log_retention(args: Any, report: Report) -> None:
    resources = list(args.resources)
    groups = facts.of_type(resources, t.LOG_GROUP)
    functions = facts.of_type(resources, t.FUNCTION)
    if not groups and not functions:
        args.not_applicable("the stack has no log group and no function")
    minimum = int(settings_of(args, "log-retention")["minimumDays"])
    for group in groups:
        days = group.props.get("retentionInDays")
        if not isinstance(days, (int, float)) or days < minimum:
            report(
                f"{where(group, 'retentionInDays')} is {days!r} (must be at least {minimum}; unset keeps logs forever)",
                group.urn,
            )
    names = {g.props.get("name") for g in groups}
    for function in functions:
        target = (function.props.get("loggingConfig") or {}).get("logGroup")
        if not target:
            name = function.props.get("name")
            target = f"/aws/lambda/{name}" if isinstance(name, str) else None
        if target not in names:
            report(
                f"{where(function, 'loggingConfig.logGroup')} is {target!r}: not a log group of this stack "
                "(the implicit group keeps logs forever)",
                function.urn,
            )


def api_access_logs(args: Any, report: Report) -> None:
    resources = list(args.resources)
    stages = facts.of_type(resources, t.STAGE)
    if not stages:
        args.not_applicable("the stack has no API Gateway stage")
    for stage in stages:
        settings = stage.props.get("accessLogSettings") or {}
        if not settings.get("destinationArn") or not settings.get("format"):
            report(f"{where(stage, 'accessLogSettings')} is {dict(settings)!r}: no destination or no format", stage.urn)
            continue
        deps = stage.property_dependencies.get("accessLogSettings", [])
        if not any(d.resource_type == t.LOG_GROUP for d in deps):
            report(
                f"{where(stage, 'accessLogSettings.destinationArn')} {settings.get('destinationArn')!r} is not a "
                "log group of this stack (its retention is not this stack's)",
                stage.urn,
            )


def api_throttling(args: Any, report: Report) -> None:
    if args.resource_type != t.STAGE:
        return
    route = args.props.get("defaultRouteSettings") or {}
    for prop in ("throttlingRateLimit", "throttlingBurstLimit"):
        value = route.get(prop)
        if not isinstance(value, (int, float)) or value <= 0:
            report(f"{where(args, 'defaultRouteSettings.' + prop)} is {value!r} (must be above 0)")


def _alarm_on(alarms: list[Any], namespace: str, metric: str, target: Any, *, dimension: str, value: Any) -> list[Any]:
    return [
        a
        for a in alarms
        if a.props.get("namespace") == namespace
        and a.props.get("metricName") == metric
        and (facts.depends_on(a, "dimensions", target) or (a.props.get("dimensions") or {}).get(dimension) == value)
    ]


def alarms_present(args: Any, report: Report) -> None:
    resources = list(args.resources)
    alarms = facts.of_type(resources, t.METRIC_ALARM)
    dead_letters = facts.dead_letter_queues(resources)
    workers = facts.worker_functions(resources)
    apis = facts.of_type(resources, t.API)
    if not (dead_letters or workers or apis or alarms):
        args.not_applicable("the stack has no dead-letter queue, worker or API to watch")
    wanted = [
        *((q, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.props.get("name")) for q in dead_letters),
        *((w, "AWS/Lambda", "Errors", "FunctionName", w.props.get("name")) for w in workers),
        *((a, "AWS/ApiGateway", "5xx", "ApiId", None) for a in apis),
    ]
    for target, namespace, metric, dimension, value in wanted:
        if not _alarm_on(alarms, namespace, metric, target, dimension=dimension, value=value):
            report(f"{where(target, 'name')}: no {namespace} {metric} alarm watches it", target.urn)
    for alarm in alarms:
        if not list(alarm.props.get("alarmActions") or []):
            report(f"{where(alarm, 'alarmActions')} is empty: the alarm notifies nobody", alarm.urn)


POLICIES = [
    resource_policy("kms-key-rotation", kms_key_rotation),
    resource_policy("data-encrypted-at-rest", data_encrypted_at_rest),
    resource_policy("lambda-tracing", lambda_tracing),
    stack_policy("log-retention", log_retention),
    stack_policy("api-access-logs", api_access_logs),
    resource_policy("api-throttling", api_throttling),
    stack_policy("alarms-present", alarms_present),
]
