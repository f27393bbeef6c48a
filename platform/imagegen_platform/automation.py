"""Deploying customer stacks from code with the Pulumi Automation API.

A partner's tooling calls ``deploy("acme", "preview")`` (or ``"up"``) instead of typing
``pulumi up --stack customer-acme --policy-pack policies --policy-pack-config …``. The stack's
settings are validated first (``load_stack``: a bad stack never reaches the CLI), then the stack is
created or selected in the repository's workspace, and the operation runs with the policy pack and
the stack's own policy config, streaming the CLI's output.

The stack's config needs no ``set_config``: ``Pulumi.yaml`` has ``stackConfigDir: stacks``, so the
CLI reads ``stacks/Pulumi.customer-<name>.yaml`` itself. A stack file kept elsewhere is passed with
``--config-file``.

NOT RUNNABLE HERE: the Automation API always shells out to the ``pulumi`` CLI (``PulumiCommand``
runs ``pulumi version`` when created), and the CLI cannot be installed on our machines. The tests
replace ``PulumiCommand`` at that boundary and assert the exact CLI arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from imagegen_service.errors import SettingsInvalid
from pulumi import automation as auto

from imagegen_platform import settings as stack_settings
from imagegen_platform.customers import STACK_PREFIX

Operation = Literal["preview", "up"]
POLICY_PACK_DIR = "policies"
POLICY_CONFIG_DIR = "policies/config"
CUSTOMER_PREFIX = STACK_PREFIX


class DeployRefused(SettingsInvalid):
    """The stack cannot be deployed as asked (no policy config, unknown operation …)."""


@dataclass(frozen=True)
class DeployPlan:
    """Everything the CLI is told: which stack, where, with which policy pack and config."""

    stack: str
    work_dir: Path
    policy_packs: list[str]
    policy_pack_configs: list[str]
    config_file: str | None = None

    def operation_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "policy_packs": list(self.policy_packs),
            "policy_pack_configs": list(self.policy_pack_configs),
        }
        if self.config_file is not None:
            kwargs["config_file"] = self.config_file
        return kwargs


@dataclass(frozen=True)
class DeployResult:
    """A typed summary of one preview or update."""

    stack: str
    operation: Operation
    succeeded: bool
    changes: dict[str, int]
    outputs: dict[str, Any] = field(default_factory=dict)
    policy_packs: list[str] = field(default_factory=list)
    policy_pack_configs: list[str] = field(default_factory=list)
    stdout: str = ""

    @property
    def total_changes(self) -> int:
        return sum(count for op, count in self.changes.items() if op != "same")


def stack_name(customer: str) -> str:
    """``acme`` → ``customer-acme``; a full stack name passes through."""
    return customer if customer.startswith(CUSTOMER_PREFIX) else f"{CUSTOMER_PREFIX}{customer}"


def plan(customer: str, *, root: Path | None = None, config_file: Path | None = None) -> DeployPlan:
    """Validate the stack and its policy config, and say how the CLI will be called."""
    stack = stack_name(customer)
    work_dir = root or stack_settings.repo_root()
    stack_path = config_file or work_dir / "stacks" / f"Pulumi.{stack}.yaml"
    stack_settings.load_stack(stack, stack_path)  # SettingsInvalid names every bad field
    policy_config = f"{POLICY_CONFIG_DIR}/{stack}.json"
    if not (work_dir / policy_config).exists():
        raise DeployRefused(
            f"{work_dir / policy_config}: no policy config for {stack} (imagegen customer new writes it)"
        )
    return DeployPlan(
        stack=stack,
        work_dir=work_dir,
        # Relative to work_dir: the CLI runs there, and the paths stay the same on every machine.
        policy_packs=[POLICY_PACK_DIR],
        policy_pack_configs=[policy_config],
        config_file=str(config_file) if config_file is not None else None,
    )


def open_stack(
    deploy_plan: DeployPlan,
    *,
    pulumi_command: auto.PulumiCommand | None = None,
    env_vars: Mapping[str, str] | None = None,
) -> auto.Stack:
    """Create or select the stack in the repository's workspace (``pulumi stack select`` / ``stack init``)."""
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(deploy_plan.work_dir),
        env_vars=dict(env_vars or {}),
        pulumi_command=pulumi_command,
    )
    return auto.create_or_select_stack(stack_name=deploy_plan.stack, work_dir=str(deploy_plan.work_dir), opts=opts)


def deploy(
    customer: str,
    operation: Operation = "preview",
    *,
    root: Path | None = None,
    config_file: Path | None = None,
    on_output: Callable[[str], None] | None = print,
    pulumi_command: auto.PulumiCommand | None = None,
    env_vars: Mapping[str, str] | None = None,
) -> DeployResult:
    """Preview or update a customer stack with the policy pack enforcing its policy config."""
    if operation not in ("preview", "up"):
        raise DeployRefused(f"operation: {operation!r} is not 'preview' or 'up'")
    deploy_plan = plan(customer, root=root, config_file=config_file)
    stack = open_stack(deploy_plan, pulumi_command=pulumi_command, env_vars=env_vars)
    kwargs = deploy_plan.operation_kwargs()
    if operation == "preview":
        preview = stack.preview(on_output=on_output, **kwargs)
        return DeployResult(
            stack=deploy_plan.stack,
            operation="preview",
            succeeded=True,
            changes=_changes(preview.change_summary),
            policy_packs=deploy_plan.policy_packs,
            policy_pack_configs=deploy_plan.policy_pack_configs,
            stdout=preview.stdout,
        )
    update = stack.up(on_output=on_output, **kwargs)
    outputs = {key: ("[secret]" if value.secret else value.value) for key, value in update.outputs.items()}
    return DeployResult(
        stack=deploy_plan.stack,
        operation="up",
        succeeded=update.summary.result == "succeeded",
        changes=_changes(update.summary.resource_changes or {}),
        outputs=outputs,
        policy_packs=deploy_plan.policy_packs,
        policy_pack_configs=deploy_plan.policy_pack_configs,
        stdout=update.stdout,
    )


def _changes(summary: Mapping[Any, int]) -> dict[str, int]:
    # OpType is a str enum; keep plain strings so the result serialises as JSON.
    return {str(getattr(op, "value", op)): int(count) for op, count in summary.items()}
