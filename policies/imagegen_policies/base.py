"""Building ``pulumi_policy`` objects from the registry, so name, text and metadata live in one place."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from imagegen_policies import reads, registry

Report = Callable[..., None]
Validate = Callable[[Any, Report], None]

FRAMEWORK = PolicyComplianceFramework(name="imagegen baseline", version="1", reference="docs/policies.md")


def _common(rule: registry.Rule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "description": rule.description,
        "enforcement_level": EnforcementLevel(rule.default_enforcement),
        "config_schema": PolicyConfigSchema(properties={k: dict(v) for k, v in rule.config_schema.items()})
        if rule.config_schema
        else None,
        "display_name": rule.title,
        "severity": Severity(rule.severity),
        "framework": FRAMEWORK,
        "tags": [rule.category],
        "remediation_steps": rule.remediation,
        "url": rule.url,
    }


def _recorded(name: str, validate: Validate) -> Validate:
    """``validate`` with its property reads recorded under ``name`` (``reads``: the report's evidence)."""

    def run(args: Any, report: Report) -> None:
        with reads.recording(name, args):
            validate(args, report)

    return run


def resource_policy(name: str, validate: Validate) -> ResourceValidationPolicy:
    rule = registry.rule(name)
    assert rule.kind == "resource", f"{name} is registered as a {rule.kind} policy"
    return ResourceValidationPolicy(validate=_recorded(name, validate), **_common(rule))


def stack_policy(name: str, validate: Validate) -> StackValidationPolicy:
    rule = registry.rule(name)
    assert rule.kind == "stack", f"{name} is registered as a {rule.kind} policy"
    return StackValidationPolicy(validate=_recorded(name, validate), **_common(rule))


def settings_of(args: Any, name: str) -> Mapping[str, Any]:
    """The policy's config: schema defaults (as the engine fills them) under what the config file sets."""
    merged = {
        key: schema["default"] for key, schema in registry.rule(name).config_schema.items() if "default" in schema
    }
    merged.update(args.get_config() or {})
    return merged
