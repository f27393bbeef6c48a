"""Automation API deploys of customer stacks, with the `pulumi` CLI replaced at its boundary.

The Automation API always shells out to the `pulumi` CLI, which cannot be installed here. The fake
below stands where the CLI binary would: it receives the exact argument lists the SDK would pass to
`pulumi`, answers as the CLI does (stdout, exit status, `stack output`/`stack history` JSON) and, for
previews, streams the engine's summary event to the SDK's event-log gRPC endpoint on 127.0.0.1.
Everything above it (our module, the SDK's Stack and LocalWorkspace) is the real code.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped,unused-ignore]
import pytest
from imagegen_platform import automation
from imagegen_service.errors import SettingsInvalid
from pulumi.automation import CommandResult, PulumiCommand
from pulumi.automation.errors import StackNotFoundError
from pulumi.runtime.proto import events_pb2, events_pb2_grpc
from semver import VersionInfo

ROOT = Path(__file__).resolve().parents[2]
CLI_VERSION = "3.272.0"  # > 3.205: the SDK takes engine events over gRPC


@dataclass
class Call:
    args: list[str]
    cwd: str
    env: dict[str, str]


class FakePulumiCLI(PulumiCommand):
    """Stands in for the `pulumi` binary: records every call, answers like the CLI."""

    def __init__(self, *, existing_stacks: set[str] | None = None, result: str = "succeeded") -> None:
        # No `pulumi version` subprocess: this is the boundary being replaced.
        self.command = "pulumi"
        self.version = VersionInfo.parse(CLI_VERSION)
        self.calls: list[Call] = []
        self.existing = existing_stacks if existing_stacks is not None else set()
        self.result = result

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: Any = None,
        on_error: Any = None,
    ) -> CommandResult:
        self.calls.append(Call(list(args), cwd, dict(additional_env)))
        stack = args[args.index("--stack") + 1] if "--stack" in args else None
        if args[:2] == ["stack", "select"]:
            if stack not in self.existing:
                raise StackNotFoundError(CommandResult("", f"error: no stack named '{stack}' found", 255))
            return CommandResult("", "", 0)
        if args[:2] == ["stack", "init"]:
            self.existing.add(args[2])
            return CommandResult(f"Created stack '{args[2]}'", "", 0)
        if args[0] in ("preview", "up"):
            lines = [f"Previewing update ({stack})" if args[0] == "preview" else f"Updating ({stack})",
                     "Policies:", "    ✅ imagegen-policies@v0.1.0 (local: policies)", "Resources:", "    + 63 to create"]  # fmt: skip
            for line in lines:
                if on_output:
                    on_output(line)
            if "--event-log" in args:
                self._stream_summary(args[args.index("--event-log") + 1])
            return CommandResult("\n".join(lines), "", 0)
        if args[:3] == ["stack", "output", "--json"]:
            masked = "--show-secrets" not in args
            outputs = {
                "apiUrl": "https://abc.execute-api.us-west-2.amazonaws.com",
                "signingKeyId": "[secret]" if masked else "K2ABC",
            }
            return CommandResult(json.dumps(outputs), "", 0)
        if args[:3] == ["stack", "history", "--json"]:
            history = [{"kind": "update", "startTime": "2026-11-25T18:00:00.000Z", "message": "", "environment": {},
                        "config": {}, "result": self.result, "endTime": "2026-11-25T18:05:00.000Z", "version": 1,
                        "resourceChanges": {"create": 63}}]  # fmt: skip
            return CommandResult(json.dumps(history), "", 0)
        raise AssertionError(f"unexpected pulumi call: {args}")

    @staticmethod
    def _stream_summary(target: str) -> None:
        assert target.startswith("tcp://127.0.0.1:"), target
        event = {"sequence": 1, "timestamp": 0, "summaryEvent": {"maybeCorrupt": False, "durationSeconds": 3,
                 "resourceChanges": {"create": 63}, "PolicyPacks": {"imagegen-policies": "0.1.0"}}}  # fmt: skip
        with grpc.insecure_channel(target.removeprefix("tcp://")) as channel:
            stub = events_pb2_grpc.EventsStub(channel)
            stub.StreamEvents(iter([events_pb2.EventRequest(event=json.dumps(event))]), timeout=10)

    def cli_calls(self) -> list[list[str]]:
        return [call.args for call in self.calls]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout copy with a customer stack and its policy config."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "stacks", root / "stacks")
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "policies" / "config").mkdir(parents=True)
    (root / "policies" / "config" / "customer-acme.json").write_text('{"all": "mandatory"}\n')
    return root


def _without_event_log(args: list[str]) -> list[str]:
    index = args.index("--event-log")
    return args[:index] + args[index + 2 :]


def test_preview_selects_the_stack_and_runs_the_policy_pack_with_its_config(repo: Path) -> None:
    # GIVEN an existing customer-acme stack in the Pulumi backend
    cli = FakePulumiCLI(existing_stacks={"customer-acme"})
    streamed: list[str] = []
    # WHEN a partner previews it through the Automation API
    result = automation.deploy("acme", "preview", root=repo, pulumi_command=cli, on_output=streamed.append)
    # THEN the CLI is asked exactly this, in the repository root
    calls = cli.cli_calls()
    assert calls[0] == ["stack", "select", "--stack", "customer-acme"]
    assert _without_event_log(calls[1]) == [
        "preview",
        "--policy-pack", "policies",
        "--policy-pack-config", "policies/config/customer-acme.json",
        "--exec-kind", "auto.local",
        "--stack", "customer-acme",
    ]  # fmt: skip
    assert len(calls) == 2
    assert {call.cwd for call in cli.calls} == {str(repo)}
    # AND the CLI's output streamed as it came, and the summary is typed
    assert streamed[0] == "Previewing update (customer-acme)"
    assert result.operation == "preview" and result.succeeded
    assert result.changes == {"create": 63} and result.total_changes == 63
    assert result.policy_pack_configs == ["policies/config/customer-acme.json"]


def test_first_deploy_creates_the_stack_then_updates_it(repo: Path) -> None:
    # GIVEN no stack yet in the backend
    cli = FakePulumiCLI()
    # WHEN the partner runs up
    result = automation.deploy("customer-acme", "up", root=repo, pulumi_command=cli, on_output=None)
    calls = cli.cli_calls()
    # THEN the stack is created after select fails, then updated with the policy pack
    assert calls[0] == ["stack", "select", "--stack", "customer-acme"]
    assert calls[1] == ["stack", "init", "customer-acme"]
    assert calls[2] == [
        "up", "--yes", "--skip-preview",
        "--policy-pack", "policies",
        "--policy-pack-config", "policies/config/customer-acme.json",
        "--exec-kind", "auto.local",
        "--stack", "customer-acme",
    ]  # fmt: skip
    # AND the outputs are read back, secrets masked in the summary
    assert ["stack", "output", "--json", "--show-secrets", "--stack", "customer-acme"] in calls
    assert result.operation == "up" and result.succeeded
    assert result.outputs == {"apiUrl": "https://abc.execute-api.us-west-2.amazonaws.com", "signingKeyId": "[secret]"}
    assert result.changes == {"create": 63}


def test_failed_update_is_reported_as_failed(repo: Path) -> None:
    cli = FakePulumiCLI(existing_stacks={"customer-acme"}, result="failed")
    result = automation.deploy("acme", "up", root=repo, pulumi_command=cli, on_output=None)
    assert result.succeeded is False


def test_a_stack_file_elsewhere_is_passed_with_config_file(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "Pulumi.customer-acme.yaml"
    shutil.copy(repo / "stacks" / "Pulumi.customer-acme.yaml", outside)
    cli = FakePulumiCLI(existing_stacks={"customer-acme"})
    automation.deploy("acme", "preview", root=repo, config_file=outside, pulumi_command=cli, on_output=None)
    preview = cli.cli_calls()[1]
    assert preview[preview.index("--config-file") + 1] == str(outside)


def test_invalid_settings_never_reach_the_cli(repo: Path) -> None:
    # GIVEN a customer stack whose account ID is broken
    path = repo / "stacks" / "Pulumi.customer-acme.yaml"
    path.write_text(path.read_text().replace('account_id: "111122223333"', 'account_id: "1111"'))
    (repo / "policies" / "config" / "customer-acme.json").write_text("{}")
    cli = FakePulumiCLI(existing_stacks={"customer-acme"})
    # WHEN a deploy is attempted THEN settings are refused by name and pulumi is never called
    with pytest.raises(SettingsInvalid, match=r"customer\.account_id"):
        automation.deploy("acme", "up", root=repo, pulumi_command=cli)
    assert cli.calls == []


def test_missing_policy_config_is_refused(repo: Path) -> None:
    (repo / "policies" / "config" / "customer-acme.json").unlink()
    cli = FakePulumiCLI(existing_stacks={"customer-acme"})
    with pytest.raises(automation.DeployRefused, match="no policy config for customer-acme"):
        automation.deploy("acme", "preview", root=repo, pulumi_command=cli)
    with pytest.raises(automation.DeployRefused, match="operation: 'destroy'"):
        automation.deploy("acme", "destroy", root=repo, pulumi_command=cli)  # type: ignore[arg-type]
    assert cli.calls == []


def test_cli_deploy_without_the_pulumi_cli_is_a_clear_error(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from imagegen_platform.cli import main

    # GIVEN no pulumi binary on PATH (as on our machines)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("IMAGEGEN_ROOT", str(repo))
    # WHEN the partner deploys from the command line (the account preflight is tests/doctor's subject)
    # THEN one clear paragraph, exit 1, no traceback
    assert main(["customer", "deploy", "acme", "--skip-doctor"]) == 1
    err = capsys.readouterr().err
    assert "the pulumi CLI is not installed" in err and "imagegen preview --stack customer-acme" in err
    assert "Traceback" not in err
    # AND a stack that does not exist is refused before pulumi is looked for
    assert main(["customer", "deploy", "nope"]) == 2
    assert "Pulumi.customer-nope.yaml: no such stack file" in capsys.readouterr().err
