"""The engine's side of the Analyzer protocol, for running the pack without the Pulumi CLI.

What ``pulumi preview --policy-pack policies --policy-pack-config F`` does, ported from the engine
(pulumi/pulumi ``sdk/go/common/resource/plugin/analyzer_plugin.go`` and ``pkg/resource/analyzer/config.go``):

1. start the pack as the ``pulumi-analyzer-policy-python`` shim does: the virtualenv's python runs
   ``python -u -m pulumi.policy <engine address> .`` in the pack directory, with ``PULUMI_PROJECT``,
   ``PULUMI_STACK`` and ``PULUMI_DRY_RUN`` in its environment; the pack prints its gRPC port;
2. ``ConfigureStack``, ``GetAnalyzerInfo``;
3. reconcile the config file with the pack's info (every policy's own level and schema defaults, the
   pack's initial config, then the file: ``all`` first, then per policy) and validate every policy's
   properties against its JSON schema; then ``Configure`` with the result;
4. ``Analyze`` per resource and ``AnalyzeStack`` with every resource, its parent, dependencies and
   property dependencies.

Enforcement levels, config handling and unknown-value handling are therefore the pack's own.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from imagegen_service.errors import ImagegenError

from imagegen_policies import reads

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
PROJECT = "imagegen"
ENGINE_ADDRESS = "127.0.0.1:0"
"""No engine runs here: the pack only dials it when a policy logs through ``pulumi.log`` (ours do not)."""
START_TIMEOUT_S = 30.0


class PolicyPackError(ImagegenError):
    """The pack failed to start, its config is invalid, or a policy crashed."""

    status = 500
    code = "PolicyPackError"


# --------------------------------------------------------------------------- config


@dataclass
class PolicyConfig:
    level: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def parse_policy_config(document: Any, *, source: str) -> dict[str, PolicyConfig]:
    """A ``--policy-pack-config`` file: ``{"all": level, name: level | {"enforcementLevel": level, prop: value}}``."""
    if not isinstance(document, dict):
        raise PolicyPackError(f"{source}: a policy config file is a JSON object of policy name → level or object")
    result: dict[str, PolicyConfig] = {}
    for name, value in document.items():
        if isinstance(value, str):
            level, properties = value, {}
        elif isinstance(value, dict):
            properties = dict(value)
            level = properties.pop("enforcementLevel", None)
        else:
            raise PolicyPackError(f"{source}: {name}: {value!r} is not a valid value; must be a string or object")
        if level is not None and level not in LEVELS:
            raise PolicyPackError(f"{source}: {name}: {level!r} is not a valid enforcement level ({', '.join(LEVELS)})")
        if level is not None or properties:
            result[name] = PolicyConfig(level, properties)
    return result


def load_policy_config(path: Path) -> dict[str, PolicyConfig]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise PolicyPackError(f"{path}: no such policy config file") from None
    except json.JSONDecodeError as error:
        raise PolicyPackError(f"{path}: not valid JSON ({error})") from None
    return parse_policy_config(document, source=str(path))


def reconcile(info: Any, config: Mapping[str, PolicyConfig], *, source: str) -> dict[str, PolicyConfig]:
    """The engine's ReconcilePolicyPackConfig: defaults, initial config, the file; then schema validation."""
    import jsonschema
    from google.protobuf import json_format

    schemas = {
        p.name: json_format.MessageToDict(p.configSchema, preserving_proto_field_name=True) for p in info.policies
    }
    result: dict[str, PolicyConfig] = {}
    for policy in info.policies:
        properties = {k: v["default"] for k, v in schemas[policy.name].get("properties", {}).items() if "default" in v}
        result[policy.name] = PolicyConfig(_level_name(policy.enforcementLevel), properties)

    initial = {
        name: PolicyConfig(_level_name(value.enforcementLevel), json_format.MessageToDict(value.properties))
        for name, value in info.initialConfig.items()
    }
    for layer in (initial, config):
        _apply(result, layer)

    # Stricter than the engine, on purpose: a misspelt policy name would silently enforce nothing.
    unknown = sorted(set(config) - set(result) - {"all"})
    if unknown:
        raise PolicyPackError(f"{source}: no policy named {', '.join(unknown)} in pack {info.name}")
    problems = []
    for name, schema in schemas.items():
        document_schema = {"type": "object", **{k: v for k, v in schema.items() if k in ("properties", "required")}}
        validator = jsonschema.Draft7Validator(document_schema)
        for error in validator.iter_errors(result[name].properties):
            path = ".".join(str(p) for p in error.absolute_path) or "(config)"
            problems.append(f"{name}: {path}: {error.message}")
    if problems:
        raise PolicyPackError(f"{source}: the policy config is invalid:\n  - " + "\n  - ".join(problems))
    return result


def _apply(result: dict[str, PolicyConfig], layer: Mapping[str, PolicyConfig]) -> None:
    everything = layer.get("all")
    if everything is not None and everything.level is not None:
        for value in result.values():
            value.level = everything.level
    for name, given in layer.items():
        if name == "all" or name not in result:
            continue
        current = result[name]
        if given.level is not None:
            current.level = given.level
        current.properties.update(given.properties)


def _level_name(value: int) -> str:
    from pulumi.runtime.proto import analyzer_pb2

    names: dict[int, str] = {
        analyzer_pb2.ADVISORY: "advisory",
        analyzer_pb2.MANDATORY: "mandatory",
        analyzer_pb2.REMEDIATE: "remediate",
        analyzer_pb2.DISABLED: "disabled",
    }
    return names[value]


def level_value(name: str) -> int:
    from pulumi.runtime.proto import analyzer_pb2

    return int(
        {
            "advisory": analyzer_pb2.ADVISORY,
            "mandatory": analyzer_pb2.MANDATORY,
            "remediate": analyzer_pb2.REMEDIATE,
            "disabled": analyzer_pb2.DISABLED,
        }[name]
    )


# --------------------------------------------------------------------------- the pack process


def pack_python(pack_dir: Path) -> str:
    """The interpreter the shim would pick: ``runtime.options.virtualenv`` of PulumiPolicy.yaml, else ours."""
    try:
        project = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text()) or {}
    except FileNotFoundError:
        raise PolicyPackError(f"{pack_dir}: no PulumiPolicy.yaml (not a policy pack)") from None
    runtime = project.get("runtime")
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    venv = options.get("virtualenv")
    if venv:
        candidate = (pack_dir / venv / "bin" / "python").absolute()
        if candidate.exists():
            return str(candidate)
    return sys.executable


class AnalyzerProcess:
    """One running pack and a gRPC client to it. Not thread-safe: callers hold ``lock``."""

    def __init__(self, pack_dir: Path, *, stack: str, dry_run: bool = True) -> None:
        import grpc
        from pulumi.runtime.proto import analyzer_pb2_grpc

        self.pack_dir = pack_dir
        self.stack = stack
        self.lock = threading.Lock()
        env = dict(os.environ)
        env.update({"PULUMI_PROJECT": PROJECT, "PULUMI_STACK": stack, "PULUMI_DRY_RUN": "true" if dry_run else "false"})
        env.pop("PULUMI_CONFIG", None)  # the pack judges the graph, never the settings (docs/policies.md)
        # Where the pack notes what each policy read (imagegen_policies.reads); one file per process.
        handle, self.reads_path = tempfile.mkstemp(prefix="imagegen-policy-reads-", suffix=".jsonl")
        os.close(handle)
        env[reads.ENV] = self.reads_path
        command = [pack_python(pack_dir), "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, "."]
        self.process = subprocess.Popen(
            command,
            cwd=pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # No preexec_fn: running Python between fork and exec runs gRPC's fork handlers in the child,
            # which abort it when this process already holds channels. Cleanup is atexit + close_pool().
        )
        _LIVE.add(self)
        try:
            self.port = self._read_port()
        except BaseException:
            self.close()
            raise
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{self.port}", options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)]
        )
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self._info: Any = None

    def _read_port(self) -> int:
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        line = b""
        while not line.endswith(b"\n"):
            if not selector.select(timeout=START_TIMEOUT_S):
                raise PolicyPackError(f"policy pack {self.pack_dir} printed no port within {START_TIMEOUT_S:g} s")
            chunk = os.read(self.process.stdout.fileno(), 64)
            if not chunk:
                stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                self.process.wait(timeout=5)
                tail = "\n".join(stderr.strip().splitlines()[-15:])
                raise PolicyPackError(
                    f"policy pack {self.pack_dir} failed to start (exit {self.process.returncode}):\n{tail}"
                )
            line += chunk
        selector.close()
        try:
            return int(line.strip())
        except ValueError:
            raise PolicyPackError(f"policy pack {self.pack_dir} printed {line!r} instead of its port") from None

    def _call(self, method: str, request: Any) -> Any:
        import grpc

        try:
            return getattr(self.stub, method)(request, timeout=60)
        except grpc.RpcError as error:
            raise PolicyPackError(f"policy pack {method} failed: {error.details() or error}") from None

    def info(self) -> Any:
        from google.protobuf import empty_pb2

        if self._info is None:
            self._info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        return self._info

    def configure_stack(self, stack: str, tags: Mapping[str, str] | None = None) -> None:
        from pulumi.runtime.proto import analyzer_pb2

        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack, project=PROJECT, organization="organization", dry_run=True, tags=dict(tags or {})
        )
        self._call("ConfigureStack", request)

    def configure(self, config: Mapping[str, PolicyConfig]) -> None:
        from pulumi.runtime.proto import analyzer_pb2

        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, value in config.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = level_value(value.level or "advisory")
            if value.properties:
                entry.properties.update(value.properties)
        self._call("Configure", request)

    def analyze(self, request: Any) -> Any:
        return self._call("Analyze", request)

    def analyze_stack(self, resources: Iterable[Any]) -> Any:
        from pulumi.runtime.proto import analyzer_pb2

        return self._call("AnalyzeStack", analyzer_pb2.AnalyzeStackRequest(resources=list(resources)))

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        _LIVE.discard(self)
        with contextlib.suppress(Exception):
            self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        with contextlib.suppress(OSError):
            os.unlink(self.reads_path)


_LIVE: set[AnalyzerProcess] = set()


@atexit.register
def _close_all() -> None:
    for process in list(_LIVE):
        process.close()
