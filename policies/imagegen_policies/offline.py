"""Evaluate the pack on a preview graph, offline, exactly as the engine would drive it.

``evaluate(graph, stack)`` is what ``imagegen preview`` and ``imagegen policy report`` call. The
graph is the preview JSON (CONTRACT.md §2); the pack runs in its own process (``engine``) and is
reused for later evaluations of the same stack (one process per stack, closed at exit or by
``close_pool()``), so a preview pays the ~0.5 s start once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imagegen_policies import reads
from imagegen_policies.engine import AnalyzerProcess, PolicyConfig, PolicyPackError, load_policy_config, reconcile
from imagegen_policies.pack import PACK_NAME

PACK_DIR = Path(__file__).resolve().parents[1]
CONFIG_DIR = PACK_DIR / "config"
PACK_DEFAULTS = "(no config file: the pack's own levels, mandatory but model-not-legacy)"

__all__ = ["CONFIG_DIR", "PACK_DIR", "PolicyPackError", "close_pool", "config_path", "evaluate", "prestart"]

_POOL: dict[tuple[str, str, str], AnalyzerProcess] = {}
_POOL_LOCK = threading.Lock()


def config_dir() -> Path:
    """The checkout's ``policies/config`` (``IMAGEGEN_ROOT`` moves it, e.g. for stacks made by
    ``imagegen customer new`` in another root); the pack's own folder otherwise."""
    from imagegen_platform.settings import repo_root

    candidate = repo_root() / "policies" / "config"
    return candidate if candidate.is_dir() else CONFIG_DIR


def config_path(stack: str, environment: str | None = None) -> Path:
    """``config/<stack>.json``; a stack without its own file uses its environment's (``customer.json`` …)."""
    folder = config_dir()
    own = folder / f"{stack}.json"
    if own.exists() or environment is None:
        return own
    return folder / f"{environment}.json"


def _process(stack: str, pack_dir: Path) -> AnalyzerProcess:
    # The pack reads today's date (lifecycle) from its environment: a pinned IMAGEGEN_TODAY needs its own process.
    key = (str(pack_dir), stack, os.environ.get("IMAGEGEN_TODAY", ""))
    with _POOL_LOCK:
        process = _POOL.get(key)
        if process is None or not process.alive():
            process = AnalyzerProcess(pack_dir, stack=stack)
            _POOL[key] = process
        return process


def prestart(stack: str, pack_dir: Path = PACK_DIR) -> None:
    """Start (or reuse) the stack's pack process ahead of ``evaluate``: the preview calls this on a
    thread so the pack boots on the second core while the program runs under mocks."""
    _process(stack, pack_dir)


def close_pool() -> None:
    """Stop every pooled pack process (tests' fixtures call this; atexit does it otherwise)."""
    with _POOL_LOCK:
        for process in _POOL.values():
            process.close()
        _POOL.clear()


def evaluate(
    graph: Mapping[str, Any],
    stack: str,
    *,
    config: Mapping[str, Any] | Path | None = None,
    pack_dir: Path = PACK_DIR,
) -> dict[str, Any]:
    """Run every policy of the pack on ``graph`` with the stack's policy config.

    ``config`` replaces ``policies/config/<stack>.json``: a path or the parsed document.
    Returns ``{"pack", "violations": [{"policy", "enforcement", "urn", "message", ...}],
    "mandatory_violations", "not_applicable", "levels", "properties", "elapsed_s"}``
    (``properties``: each policy's config after defaults and the file, as the pack received it;
    ``reads``: ``{policy: ["urn#property.path", ...]}``, what each policy inspected, ``reads``).
    """
    started = time.perf_counter()
    resources = list(graph.get("resources") or [])
    source, policy_config = _config(config, stack, resources)
    process = _process(stack, pack_dir)
    with process.lock:
        info = process.info()
        reconciled = reconcile(info, policy_config, source=source)
        process.configure_stack(stack)
        process.configure(reconciled)
        Path(process.reads_path).write_text("")  # reads of this run only
        violations, not_applicable = _run(process, resources, {p.name: p.description for p in info.policies})
        policy_reads = reads.collect(process.reads_path)
    levels = {name: value.level or "advisory" for name, value in reconciled.items()}
    properties = {name: dict(value.properties) for name, value in reconciled.items() if value.properties}
    return {
        "pack": PACK_NAME,
        "config": source,
        "violations": violations,
        "mandatory_violations": sum(1 for v in violations if v["enforcement"] == "mandatory"),
        "not_applicable": not_applicable,
        "levels": levels,
        "properties": properties,
        "reads": policy_reads,
        "elapsed_s": round(time.perf_counter() - started, 3),
    }


def _config(
    config: Mapping[str, Any] | Path | None, stack: str, resources: list[Any]
) -> tuple[str, dict[str, PolicyConfig]]:
    from imagegen_policies.engine import parse_policy_config

    if isinstance(config, Mapping):
        return "policy config", parse_policy_config(dict(config), source="policy config")
    if config is not None:
        return str(config), load_policy_config(config)
    path = config_path(stack, _environment(resources))
    if not path.exists():
        # As `pulumi preview --policy-pack policies` without a config file: every policy at its own level.
        return PACK_DEFAULTS, {}
    return str(path), load_policy_config(path)


def _environment(resources: list[Any]) -> str | None:
    for resource in resources:
        variables = ((resource.get("inputs") or {}).get("environment") or {}).get("variables") or {}
        if isinstance(variables, Mapping) and variables.get("IMAGEGEN_ENVIRONMENT"):
            return str(variables["IMAGEGEN_ENVIRONMENT"])
    return None


# --------------------------------------------------------------------------- requests


def _struct(inputs: Any) -> Any:
    from google.protobuf import struct_pb2

    message = struct_pb2.Struct()
    if isinstance(inputs, Mapping):
        message.update(dict(inputs))
    return message


def _provider(reference: str | None, by_urn: Mapping[str, Mapping[str, Any]]) -> Any:
    """The engine sends the provider resource itself (type, inputs, urn, name) with each resource."""
    from pulumi.runtime.proto import analyzer_pb2

    if not reference:
        return None
    urn = reference.rsplit("::", 1)[0] if reference.count("::") > 3 else reference
    provider = by_urn.get(urn)
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider["type"], urn=provider["urn"], name=provider["name"], properties=_struct(provider.get("inputs"))
    )


def _run(
    process: AnalyzerProcess, resources: list[Any], descriptions: Mapping[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from pulumi.runtime.proto import analyzer_pb2

    by_urn = {r["urn"]: r for r in resources}
    violations: list[dict[str, Any]] = []
    not_applicable: list[dict[str, Any]] = []
    stack_resources = []
    for resource in resources:
        options = analyzer_pb2.AnalyzerResourceOptions(parent=resource.get("parent") or "")
        provider = _provider(resource.get("provider"), by_urn)
        properties = _struct(resource.get("inputs"))
        request = analyzer_pb2.AnalyzeRequest(
            type=resource["type"], urn=resource["urn"], name=resource["name"], properties=properties, options=options
        )
        if provider is not None:
            request.provider.CopyFrom(provider)
        response = process.analyze(request)
        violations.extend(_diagnostics(response, descriptions, default_urn=resource["urn"]))
        not_applicable.extend(
            {"policy": n.policy_name, "urn": resource["urn"], "reason": n.reason} for n in response.not_applicable
        )
        stack_resource = analyzer_pb2.AnalyzerResource(
            type=resource["type"],
            urn=resource["urn"],
            name=resource["name"],
            properties=properties,
            options=options,
            parent=resource.get("parent") or "",
            dependencies=list(resource.get("dependencies") or []),
            propertyDependencies={
                key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
                for key, urns in (resource.get("property_dependencies") or {}).items()
                if urns  # the engine skips properties without dependencies
            },
        )
        if provider is not None:
            stack_resource.provider.CopyFrom(provider)
        stack_resources.append(stack_resource)
    response = process.analyze_stack(stack_resources)
    violations.extend(_diagnostics(response, descriptions, default_urn=None))
    not_applicable.extend({"policy": n.policy_name, "urn": None, "reason": n.reason} for n in response.not_applicable)
    return violations, not_applicable


def _diagnostics(response: Any, descriptions: Mapping[str, str], *, default_urn: str | None) -> list[dict[str, Any]]:
    from imagegen_policies.engine import _level_name

    found = []
    for diagnostic in response.diagnostics:
        description = descriptions.get(diagnostic.policyName, "")
        message = diagnostic.message
        unknown = "during preview" in message and message.startswith("can't run policy")
        if not unknown and message.startswith(description):
            message = message[len(description) :].lstrip("\n") or description
        found.append(
            {
                "policy": diagnostic.policyName,
                "enforcement": _level_name(diagnostic.enforcementLevel),
                "urn": diagnostic.urn or default_urn,
                "message": message,
                "unknown_during_preview": unknown,
            }
        )
    return found
