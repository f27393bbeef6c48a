"""Size and contents of the worker's deployment package: code archive + dependency layer.

The layer is built exactly as the program's packaging builds it (``imagegen_platform.packaging``:
pip for linux arm64 / CPython 3.12 from ``services/requirements-lambda.txt``), in a scratch
directory so a developer's ``build/layer`` is left alone. Both are zipped as Lambda receives them
(deflate). The audit compares what the layer holds with what the service's code imports (static
scan of ``imagegen_service`` plus the installed dependency closure): a layer distribution outside
that closure is packaged but never imported; an imported distribution that is neither in the layer
nor in the Lambda runtime would fail on AWS.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from imagegen_platform import packaging

from bench.stats import ROOT

# Distributions the Lambda Python runtime already provides (AWS SDK for Python and its deps).
LAMBDA_RUNTIME_DISTRIBUTIONS = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def build_layer_copy(scratch: Path) -> Path:
    """Build the layer in ``scratch`` with the program's own packaging code; returns its root."""
    requirements = packaging.requirements_file(ROOT)
    target_requirements = packaging.requirements_file(scratch)
    target_requirements.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(requirements, target_requirements)
    return packaging.build_layer(scratch)


def layer_distributions(layer_root: Path) -> dict[str, dict[str, Any]]:
    """Each distribution in the layer with its bytes and top-level modules (from RECORD)."""
    site = layer_root / "python"
    found: dict[str, dict[str, Any]] = {}
    for info in sorted(site.glob("*.dist-info")):
        dist = metadata.Distribution.at(info)
        name = _canonical(dist.metadata["Name"])
        size = 0
        tops: set[str] = set()
        files: set[str] = set()
        for line in (info / "RECORD").read_text().splitlines():
            relative = line.split(",", 1)[0]
            path = site / relative
            if path.is_file():
                size += path.stat().st_size
                files.add(path.resolve().as_posix())
            top = relative.split("/", 1)[0]
            if not top.endswith((".dist-info", ".data")) and top != "..":
                tops.add(top.removesuffix(".py"))
        found[name] = {"bytes": size, "modules": sorted(tops), "version": dist.version, "files": files}
    return found


def service_imports() -> set[str]:
    """Top-level modules the service package imports anywhere (module level or inside functions)."""
    names: set[str] = set()
    for path in packaging.service_files(ROOT).values():
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def requested_extras() -> dict[str, set[str]]:
    """Extras asked for in requirements-lambda.txt (``aws-lambda-powertools[tracer]`` → tracer)."""
    from packaging.requirements import Requirement

    extras: dict[str, set[str]] = {}
    for raw in packaging.requirements_file(ROOT).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            extras.setdefault(_canonical(requirement.name), set()).update(requirement.extras)
    return extras


def dependency_closure(roots: set[str]) -> set[str]:
    """Installed distributions reachable from ``roots`` through their (marker-matching) requirements,
    with the extras the layer's requirements ask for (Powertools' tracer pulls aws-xray-sdk)."""
    from packaging.requirements import Requirement

    extras = requested_extras()
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            requirement = Requirement(spec)
            wanted = {"", *extras.get(name, set())}
            if requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra, "python_version": "3.12"}) for extra in wanted
            ):
                todo.append(_canonical(requirement.name))
    return seen


def audit(layer: dict[str, dict[str, Any]]) -> dict[str, Any]:
    module_to_dists = metadata.packages_distributions()
    imported_dists = {
        _canonical(dist)
        for module in service_imports()
        for dist in module_to_dists.get(module, ())
        if dist != "imagegen"
    }
    closure = dependency_closure(imported_dists)
    unused = sorted(name for name in layer if name not in closure)
    missing = sorted(name for name in imported_dists if name not in layer and name not in LAMBDA_RUNTIME_DISTRIBUTIONS)
    redundant = sorted(name for name in layer if name in LAMBDA_RUNTIME_DISTRIBUTIONS)
    return {
        "service_imported_distributions": sorted(imported_dists),
        "layer_unused": unused,
        "layer_missing": missing,
        "layer_redundant_with_runtime": redundant,
    }


def measure(quick: bool) -> dict[str, Any]:
    code_files = [(path, name) for name, path in packaging.service_files(ROOT).items()]
    code_zip, code_raw = packaging.zipped_size(code_files)
    with tempfile.TemporaryDirectory(prefix="imagegen-bench-layer-") as scratch:
        layer_root = build_layer_copy(Path(scratch))
        layer_files = packaging.layer_files(layer_root)
        layer_zip, layer_raw = packaging.zipped_size(layer_files)
        layer = layer_distributions(layer_root)
        # pip compiles with the interpreter running it: .pyc for another Python version is dead weight
        bytecode = sum(p.stat().st_size for p, name in layer_files if name.endswith(".pyc"))
        findings = audit(layer)
        # what the layer would weigh without what the Lambda runtime already provides
        redundant = {f for name in findings["layer_redundant_with_runtime"] for f in layer[name]["files"]}
        lean_zip, _ = packaging.zipped_size(
            [(p, name) for p, name in layer_files if p.resolve().as_posix() not in redundant]
        )
    return {
        "lambda_zip_bytes": code_zip + layer_zip,
        "lambda_unzipped_bytes": code_raw + layer_raw,
        "lambda_code_zip_bytes": code_zip,
        "lambda_layer_zip_bytes": layer_zip,
        "layer_bytecode_bytes": bytecode,
        "lambda_zip_bytes_without_runtime_duplicates": code_zip + lean_zip,
        "layer_contents": {name: {"bytes": d["bytes"], "version": d["version"]} for name, d in layer.items()},
        "layer_unused_count": len(findings["layer_unused"]),
        **findings,
    }
