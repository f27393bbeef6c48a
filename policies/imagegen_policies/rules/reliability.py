"""Reliability: never lose a job (DLQ, visibility, partial batch failures), never lose a record (PITR)."""

from __future__ import annotations

from typing import Any

from imagegen_policies import facts
from imagegen_policies import registry as t
from imagegen_policies.base import Report, resource_policy, settings_of, stack_policy
from imagegen_policies.facts import where

LAMBDA_DEFAULT_TIMEOUT = 3  # seconds, when the function sets none
SQS_DEFAULT_VISIBILITY = 30  # seconds, when the queue sets none
NOT_SQS = (":kinesis:", ":dynamodb:", ":kafka:", ":mq:", ":docdb:")  # stream sources answer differently


def _redrive_of(resources: list[Any], queue: Any) -> tuple[Any, Any]:
    """(resource holding it, parsed redrive policy): inline on the queue or a RedrivePolicy resource."""
    inline = queue.props.get("redrivePolicy")
    if inline:
        return queue, facts.parse_json(inline)
    for redrive in facts.of_type(resources, t.REDRIVE):
        if any(dep.urn == queue.urn for dep in redrive.property_dependencies.get("queueUrl", [])):
            return redrive, facts.parse_json(redrive.props.get("redrivePolicy"))
    return queue, None


def _dead_letter_urns(resources: list[Any]) -> set[str]:
    return {q.urn for q in facts.dead_letter_queues(resources)}


def queue_dead_letter(args: Any, report: Report) -> None:
    resources = list(args.resources)
    queues = facts.of_type(resources, t.QUEUE)
    if not queues:
        args.not_applicable("the stack has no SQS queue")
    limit = int(settings_of(args, "queue-dead-letter")["maxReceiveCount"])
    dead_letters = _dead_letter_urns(resources)
    for queue in queues:
        if queue.urn in dead_letters:
            continue
        holder, redrive = _redrive_of(resources, queue)
        if not redrive:
            report(f"{where(queue, 'redrivePolicy')} is not set: failing jobs would loop until they expire", queue.urn)
            continue
        if not redrive.get("deadLetterTargetArn"):
            report(f"{where(holder, 'redrivePolicy.deadLetterTargetArn')} is empty", holder.urn)
        count = redrive.get("maxReceiveCount")
        if not isinstance(count, (int, float)) or count > limit:
            report(f"{where(holder, 'redrivePolicy.maxReceiveCount')} is {count!r} (at most {limit})", holder.urn)


def queue_visibility_timeout(args: Any, report: Report) -> None:
    resources = list(args.resources)
    mappings = [m for m in facts.of_type(resources, t.ESM) if m.property_dependencies.get("eventSourceArn")]
    if not mappings:
        args.not_applicable("no event source mapping consumes a queue of this stack")
    multiple = float(settings_of(args, "queue-visibility-timeout")["timeoutMultiple"])
    for mapping in mappings:
        queues = [d for d in mapping.property_dependencies.get("eventSourceArn", []) if d.resource_type == t.QUEUE]
        functions = [d for d in mapping.property_dependencies.get("functionName", []) if d.resource_type == t.FUNCTION]
        if not functions:
            report(f"{where(mapping, 'functionName')} does not name a function of this stack", mapping.urn)
        for queue in queues:
            visibility = queue.props.get("visibilityTimeoutSeconds") or SQS_DEFAULT_VISIBILITY
            for function in functions:
                timeout = function.props.get("timeout") or LAMBDA_DEFAULT_TIMEOUT
                if visibility < multiple * timeout:
                    report(
                        f"{where(queue, 'visibilityTimeoutSeconds')} is {visibility:g}, less than {multiple:g} x "
                        f"{where(function, 'timeout')} {timeout:g} = {multiple * timeout:g}",
                        queue.urn,
                    )


def partial_batch_failures(args: Any, report: Report) -> None:
    if args.resource_type != t.ESM or any(k in str(args.props.get("eventSourceArn") or "") for k in NOT_SQS):
        return
    types = list(args.props.get("functionResponseTypes") or [])
    if "ReportBatchItemFailures" not in types:
        report(f"{where(args, 'functionResponseTypes')} is {types!r} (must include ReportBatchItemFailures)")


def dynamodb_pitr(args: Any, report: Report) -> None:
    if args.resource_type != t.TABLE:
        return
    enabled = (args.props.get("pointInTimeRecovery") or {}).get("enabled")
    if enabled is not True:
        report(f"{where(args, 'pointInTimeRecovery.enabled')} is {enabled!r} (must be true)")


POLICIES = [
    stack_policy("queue-dead-letter", queue_dead_letter),
    stack_policy("queue-visibility-timeout", queue_visibility_timeout),
    resource_policy("queue-partial-batch-failures", partial_batch_failures),
    resource_policy("dynamodb-pitr", dynamodb_pitr),
]
