"""Controls a flag must not switch off: where the policy config pins what must hold (prod, customer stacks)."""

from __future__ import annotations

from typing import Any

from imagegen_policies import facts
from imagegen_policies.base import Report, settings_of
from imagegen_policies.facts import where


def pinned_flag(args: Any, report: Report, policy: str, setting: str, flag: str) -> bool:
    """A stack flag the policy config may pin: pinned true, the flag saying false is itself a violation
    and the control is judged anyway (a flag must not switch a mandatory control off)."""
    resources = list(args.resources)
    value = facts.stack_flag(resources, flag, default=True)
    if not value and bool(settings_of(args, policy)[setting]):
        for function in facts.api_functions(resources):
            report(
                f"{where(function, 'environment.variables.' + flag)} is false, but this stack's policy config pins {setting}: "
                "the control cannot be switched off here",
                function.urn,
            )
        return True
    return value
