"""The pack: its name and its policies in registry order (``policies/__main__.py`` constructs it)."""

from __future__ import annotations

from typing import Any

from imagegen_policies import registry

PACK_NAME = "imagegen-policies"
PACK_DESCRIPTION = (
    "Licensing records, moderation, provenance, model lifecycle and the security baseline "
    "(storage, delivery, reliability, cost, least privilege) of an imagegen stack."
)


def build_policies() -> list[Any]:
    """Every policy, in the registry's order; fails loudly if a module and the registry disagree."""
    from imagegen_policies.rules import (
        cost,
        delivery,
        hardening,
        licensing,
        lifecycle,
        moderation,
        privilege,
        provenance,
        reliability,
        storage,
    )

    modules = (licensing, moderation, provenance, lifecycle, storage, delivery, reliability, cost, privilege, hardening)
    by_name = {policy.name: policy for module in modules for policy in module.POLICIES}
    missing = [rule.name for rule in registry.RULES if rule.name not in by_name]
    extra = sorted(set(by_name) - set(registry.BY_NAME))
    if missing or extra:
        raise RuntimeError(f"policy modules and registry disagree: missing {missing}, unregistered {extra}")
    return [by_name[rule.name] for rule in registry.RULES]
