"""Moderation: prompts through a guardrail, images through Rekognition, never switched off where it matters."""

from __future__ import annotations

from typing import Any

from imagegen_service import config as env

from imagegen_policies import facts
from imagegen_policies import registry as t
from imagegen_policies.base import Report, resource_policy, settings_of, stack_policy
from imagegen_policies.facts import where
from imagegen_policies.pins import pinned_flag

APPLY_GUARDRAIL = "bedrock:ApplyGuardrail"
DETECT_MODERATION = "rekognition:DetectModerationLabels"


def _env_prop(name: str) -> str:
    return f"environment.variables.{name}"


def moderation_enabled(args: Any, report: Report) -> None:
    # Every function that performs moderation is judged, not only the worker: the api screens prompts.
    if not (facts.is_worker(args) or facts.is_api(args)):
        return
    value = facts.env_vars(args).get(env.ENV_MODERATION_ENABLED)
    if not facts.truthy(value):
        report(f"{where(args, _env_prop(env.ENV_MODERATION_ENABLED))} is {value!r}: images would be served unscreened")


def moderation_confidence_range(args: Any, report: Report) -> None:
    if not (facts.is_worker(args) or facts.is_api(args)):
        return
    config = settings_of(args, "moderation-confidence-range")
    low, high = float(config["minConfidence"]), float(config["maxConfidence"])
    raw = facts.env_vars(args).get(env.ENV_MIN_CONFIDENCE)
    try:
        value = float(str(raw))
    except ValueError:
        report(f"{where(args, _env_prop(env.ENV_MIN_CONFIDENCE))} is {raw!r}, not a number in {low:g}–{high:g}")
        return
    if not low <= value <= high:
        report(f"{where(args, _env_prop(env.ENV_MIN_CONFIDENCE))} is {value:g}, outside the allowed {low:g}–{high:g}")


def _wired_guardrail(resources: list[Any], function: Any) -> bool:
    """The env's guardrail id comes from a Guardrail (or its version) of this stack."""
    deps = function.property_dependencies.get("environment", [])
    return any(d.resource_type in (t.GUARDRAIL, t.GUARDRAIL_VERSION) for d in deps)


def moderation_guardrail_wired(args: Any, report: Report) -> None:
    resources = list(args.resources)
    if not pinned_flag(args, report, "moderation-guardrail-wired", "requireUserContent", env.ENV_USER_CONTENT):
        args.not_applicable(f"the stack takes no user content ({env.ENV_USER_CONTENT}=false)")
    functions = facts.api_functions(resources)
    if not functions:
        args.not_applicable("the stack has no api function")
    if not facts.of_type(resources, t.GUARDRAIL):
        report("the stack takes user content but declares no aws:bedrock/guardrail:Guardrail")
    for function in functions:
        variables = facts.env_vars(function)
        for name in (env.ENV_GUARDRAIL_ID, env.ENV_GUARDRAIL_VERSION):
            if not variables.get(name):
                report(
                    f"{where(function, _env_prop(name))} is not set: prompts reach the model unscreened", function.urn
                )
        if variables.get(env.ENV_GUARDRAIL_ID) and not _wired_guardrail(resources, function):
            report(
                f"{where(function, _env_prop(env.ENV_GUARDRAIL_ID))} does not come from a Guardrail of this stack",
                function.urn,
            )
        grants = [
            (holder, s)
            for holder, s in facts.function_statements(resources, function)
            if facts.allows(s, APPLY_GUARDRAIL) and any(":guardrail/" in r for r in s.resources)
        ]
        if not grants:
            report(
                f"{where(function, 'role')}: the role's policies do not allow {APPLY_GUARDRAIL} on the guardrail",
                function.urn,
            )


def moderation_image_scan(args: Any, report: Report) -> None:
    resources = list(args.resources)
    workers = [
        f
        for f in facts.moderating_functions(resources)
        if facts.truthy(facts.env_vars(f).get(env.ENV_MODERATION_ENABLED))
    ]
    if not workers:
        args.not_applicable("no function runs with moderation enabled (moderation-enabled judges the switch)")
    for worker in workers:
        if not any(facts.allows(s, DETECT_MODERATION) for _h, s in facts.function_statements(resources, worker)):
            report(f"{where(worker, 'role')}: the role's policies do not allow {DETECT_MODERATION}", worker.urn)


STRENGTHS = ("NONE", "LOW", "MEDIUM", "HIGH")
HARM_CATEGORIES = ("SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT")  # Bedrock content filter types
PROMPT_ATTACK = "PROMPT_ATTACK"  # input only: Bedrock requires its output strength NONE


def _rank(strength: Any) -> int:
    return STRENGTHS.index(strength) if strength in STRENGTHS else -1


def moderation_guardrail_content(args: Any, report: Report) -> None:
    if args.resource_type != t.GUARDRAIL:
        return
    config = settings_of(args, "moderation-guardrail-content")
    minimum = str(config["minimumStrength"])
    filters = {f.get("type"): f for f in (args.props.get("contentPolicyConfig") or {}).get("filtersConfigs") or []}
    for category in (*HARM_CATEGORIES, PROMPT_ATTACK):
        found = filters.get(category)
        prop = f"contentPolicyConfig.filtersConfigs[{category}]"
        if found is None:
            report(f"{where(args, prop)} is missing: {category.lower()} content is not filtered")
            continue
        directions = ("inputStrength",) if category == PROMPT_ATTACK else ("inputStrength", "outputStrength")
        for direction in directions:
            if _rank(found.get(direction)) < _rank(minimum):
                report(f"{where(args, prop + '.' + direction)} is {found.get(direction)!r} (at least {minimum})")
    words = args.props.get("wordPolicyConfig") or {}
    managed = [w.get("type") for w in words.get("managedWordListsConfigs") or []]
    if bool(config["requireProfanityFilter"]) and "PROFANITY" not in managed:
        report(f"{where(args, 'wordPolicyConfig.managedWordListsConfigs')} is {managed!r}: the profanity list is off")
    blocked = len(list(words.get("wordsConfigs") or []))
    if blocked < int(config["minimumBlockedWords"]):
        report(
            f"{where(args, 'wordPolicyConfig.wordsConfigs')} blocks {blocked} words (at least {config['minimumBlockedWords']})"
        )
    topics = [
        topic
        for topic in (args.props.get("topicPolicyConfig") or {}).get("topicsConfigs") or []
        if topic.get("type") == "DENY"
    ]
    if len(topics) < int(config["minimumDeniedTopics"]):
        report(
            f"{where(args, 'topicPolicyConfig.topicsConfigs')} denies {len(topics)} topics "
            f"(at least {config['minimumDeniedTopics']})"
        )


POLICIES = [
    resource_policy("moderation-enabled", moderation_enabled),
    stack_policy("moderation-guardrail-wired", moderation_guardrail_wired),
    stack_policy("moderation-image-scan", moderation_image_scan),
    resource_policy("moderation-confidence-range", moderation_confidence_range),
    resource_policy("moderation-guardrail-content", moderation_guardrail_content),
]
