"""Lambda packaging: the code archive (``imagegen_service`` only) and the dependency layer.

The code archive is declared from the source tree at preview time (cheap: a file walk). The layer
is built by ``build_layer`` (``make layer``) with pip for linux arm64 / CPython 3.12; the preview
never runs pip, it only points at ``build/layer``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pulumi

from imagegen_platform.settings import repo_root

RUNTIME = "python3.12"
PYTHON_VERSION = "3.12"
ARCHITECTURE = "arm64"
SERVICE_PACKAGE = "imagegen_service"
# manylinux2014 is the baseline; Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34), so
# wheels tagged manylinux_2_28 (c2pa-python, newer cryptography) run too.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
_SKIPPED_PARTS = {"__pycache__", "tests", ".mypy_cache", ".pytest_cache"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}


def services_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "services"


def layer_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "build" / "layer"


def requirements_file(root: Path | None = None) -> Path:
    return services_dir(root) / "requirements-lambda.txt"


def service_files(root: Path | None = None) -> dict[str, Path]:
    """Archive name → source file for the service package, without tests and bytecode."""
    base = services_dir(root)
    files: dict[str, Path] = {}
    for path in sorted((base / SERVICE_PACKAGE).rglob("*")):
        relative = path.relative_to(base)
        if path.is_dir() or _SKIPPED_PARTS.intersection(relative.parts) or path.suffix in _SKIPPED_SUFFIXES:
            continue
        files[relative.as_posix()] = path
    return files


def code_archive(root: Path | None = None) -> pulumi.AssetArchive:
    """The functions' code: ``imagegen_service/…`` at the archive root, nothing else."""
    return pulumi.AssetArchive({name: pulumi.FileAsset(str(path)) for name, path in service_files(root).items()})


def layer_archive(root: Path | None = None) -> pulumi.FileArchive:
    """The dependency layer (``python/…`` inside, as Lambda expects); built by ``build_layer``."""
    return pulumi.FileArchive(str(layer_dir(root)))


def layer_install_command(root: Path | None = None, python: str | None = None) -> list[str]:
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    return [
        python or sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        # Bytecode compiled by the build host's Python would be dead weight for Lambda's 3.12.
        "--no-compile",
        *platforms,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--only-binary=:all:",
        "--target",
        str(layer_dir(root) / "python"),
        "-r",
        str(requirements_file(root)),
    ]


RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
"""Distributions the Lambda python3.12+ runtime already ships. aws-xray-sdk (Powertools' tracer extra)
requires botocore, which would add ~21 MB to the layer for nothing; the functions use the runtime's
AWS SDK. (UNCONFIRMED here: that the runtime's boto3 knows ApplyGuardrail — it has since mid-2024.)"""


def prune_runtime_provided(site: Path) -> list[str]:
    """Delete the runtime-provided distributions (packages and their .dist-info) from ``site``."""
    removed: list[str] = []
    for name in RUNTIME_PROVIDED:
        for path in [site / name, *site.glob(f"{name}-*.dist-info")]:
            if path.exists():
                shutil.rmtree(path)
                removed.append(path.name)
    return removed


def build_layer(root: Path | None = None) -> Path:
    """Build ``build/layer/python`` from ``services/requirements-lambda.txt`` (needs PyPI)."""
    target = layer_dir(root)
    if target.exists():
        shutil.rmtree(target)  # a stale layer could keep a package the requirements dropped
    (target / "python").mkdir(parents=True)
    subprocess.run(layer_install_command(root), check=True)
    prune_runtime_provided(target / "python")
    return target


if __name__ == "__main__":
    built = build_layer()
    print(f"layer built in {built}")
