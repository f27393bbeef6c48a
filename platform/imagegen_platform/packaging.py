"""Lambda packaging: the code archive (``imagegen_service`` only) and the dependency layer.

The code archive is declared from the source tree at preview time (cheap: a file walk). The layer
is built by ``build_layer`` (``make layer``) with pip for linux arm64 / CPython 3.12; the preview
never runs pip, it only points at ``build/layer``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pulumi

from imagegen_platform.constraints import LAMBDA_UNZIPPED, LAMBDA_ZIPPED
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


class PackageTooLarge(ValueError):
    """The layer or the function would not upload: names the Lambda limit and the measured size."""


def layer_files(layer_root: Path) -> list[tuple[Path, str]]:
    """The layer's files as (path, name inside the archive), in a stable order."""
    return [(p, p.relative_to(layer_root).as_posix()) for p in sorted(layer_root.rglob("*")) if p.is_file()]


def zipped_size(files: Iterable[tuple[Path, str]]) -> tuple[int, int]:
    """(zipped bytes, unzipped bytes) of a deflate archive holding ``files`` (path, archive name), as
    Pulumi's FileArchive and AssetArchive upload them."""
    unzipped = 0
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path, name in files:
                archive.write(path, name)
                unzipped += path.stat().st_size
        handle.seek(0, 2)
        return handle.tell(), unzipped


def check_sizes(layer_root: Path, root: Path | None = None) -> tuple[int, int]:
    """The layer's zipped bytes and the function's extracted bytes (code + layer), or PackageTooLarge.

    Both archives are uploaded directly (PublishLayerVersion / CreateFunction with the zip), so each
    must stay under Lambda's direct-upload limit, and the two extracted under the 250 MB limit. The
    extracted size is summed first: it needs no compression, and a layer over it fails either way."""
    files = layer_files(layer_root)
    code = [(path, name) for name, path in service_files(root).items()]
    extracted = sum(path.stat().st_size for path, _ in files + code)
    if extracted > LAMBDA_UNZIPPED.limit:
        raise PackageTooLarge(
            f"the worker's code and layer come to {extracted:,} bytes extracted, over {LAMBDA_UNZIPPED.limit:,} "
            f"({LAMBDA_UNZIPPED.source}); drop dependencies from services/requirements-lambda.txt"
        )
    zipped, _ = zipped_size(files)
    if zipped > LAMBDA_ZIPPED.limit:
        raise PackageTooLarge(
            f"the layer zips to {zipped:,} bytes, over {LAMBDA_ZIPPED.limit:,} ({LAMBDA_ZIPPED.source}); "
            "drop dependencies from services/requirements-lambda.txt"
        )
    return zipped, extracted


def build_layer(root: Path | None = None) -> Path:
    """Build ``build/layer/python`` from ``services/requirements-lambda.txt`` (needs PyPI), and check it
    fits Lambda's upload limits (``PackageTooLarge`` if not: found here, not by ``pulumi up``)."""
    target = layer_dir(root)
    if target.exists():
        shutil.rmtree(target)  # a stale layer could keep a package the requirements dropped
    (target / "python").mkdir(parents=True)
    subprocess.run(layer_install_command(root), check=True)
    prune_runtime_provided(target / "python")
    check_sizes(target, root)
    return target


def main() -> int:
    try:
        built = build_layer()
    except PackageTooLarge as problem:
        print(f"make layer: {problem}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as failed:
        print(
            f"make layer: pip exited {failed.returncode} (its output is above); the layer needs PyPI", file=sys.stderr
        )
        return 1
    print(f"layer built in {built}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
