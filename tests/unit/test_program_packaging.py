"""Lambda packaging: what goes in the code archive and how the layer is built (pip is not run here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from imagegen_platform import packaging


def test_code_archive_is_the_service_package_without_tests_or_bytecode(tmp_path: Path) -> None:
    # GIVEN a services/ tree with the package, its bytecode, tests and a sibling package
    package = tmp_path / "services" / "imagegen_service"
    for relative in ("__init__.py", "handlers/api.py", "catalogue.json", "__pycache__/x.cpython-311.pyc", "tests/test_x.py"):  # fmt: skip
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text("x")
    (tmp_path / "services" / "imagegen_local").mkdir()
    (tmp_path / "services" / "imagegen_local" / "serve.py").write_text("x")
    # WHEN the archive is declared
    archive = packaging.code_archive(tmp_path)
    # THEN it holds exactly the package's source and data files, at the archive root
    assert sorted(archive.assets) == [
        "imagegen_service/__init__.py",
        "imagegen_service/catalogue.json",
        "imagegen_service/handlers/api.py",
    ]


def test_real_service_package_has_its_handlers() -> None:
    names = set(packaging.service_files())
    assert {"imagegen_service/catalogue.py", "imagegen_service/config.py"} <= names
    assert not any(name.startswith(("tests/", "imagegen_local/", "imagegen_emulator/")) for name in names)


def test_layer_is_built_for_lambda_arm64_python312_from_binary_wheels(tmp_path: Path) -> None:
    command = packaging.layer_install_command(tmp_path, python="python3")
    joined = " ".join(command)
    assert command[:4] == ["python3", "-m", "pip", "install"]
    assert "--platform manylinux2014_aarch64" in joined
    assert "--implementation cp" in joined
    assert "--python-version 3.12" in joined
    assert "--only-binary=:all:" in joined
    assert f"--target {tmp_path / 'build' / 'layer' / 'python'}" in joined
    assert f"-r {tmp_path / 'services' / 'requirements-lambda.txt'}" in joined


def test_layer_requirements_name_the_runtime_dependencies() -> None:
    lines = [line.strip() for line in packaging.requirements_file().read_text().splitlines()]
    names = {match.group(0).lower() for line in lines if (match := re.match(r"[A-Za-z0-9_.-]+", line))}
    assert names >= {"aws-lambda-powertools", "pydantic", "c2pa-python", "cryptography"}


def test_bucket_prefixes_match_the_runtime_key_layout() -> None:
    from imagegen_platform.components import names as layout
    from imagegen_service import intake
    from imagegen_service import storage as runtime_storage

    assert layout.SERVED_PREFIX == runtime_storage.SERVED_PREFIX
    assert layout.QUARANTINE_PREFIX == runtime_storage.QUARANTINE_PREFIX
    assert layout.INPUTS_PREFIX == intake.INPUT_PREFIX


def test_the_layer_drops_what_the_lambda_runtime_already_ships(tmp_path: Path) -> None:
    # GIVEN a layer site-packages where pip put botocore (via aws-xray-sdk) next to our dependencies
    from imagegen_platform.packaging import prune_runtime_provided

    for name in ("botocore", "botocore-1.40.0.dist-info", "boto3", "jmespath", "pydantic", "pydantic-2.9.0.dist-info"):
        (tmp_path / name).mkdir()
    # WHEN the build prunes it
    removed = prune_runtime_provided(tmp_path)
    # THEN the runtime's SDK is gone and our dependencies stay
    assert sorted(removed) == ["boto3", "botocore", "botocore-1.40.0.dist-info", "jmespath"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pydantic", "pydantic-2.9.0.dist-info"]


# Lambda's published limits, as GetAccountSettings reports them (AccountLimit): CodeSizeZipped 52428800
# (a package uploaded directly), CodeSizeUnzipped 262144000 (a function and its layers, extracted).
AWS_CODE_SIZE_ZIPPED = 52_428_800
AWS_CODE_SIZE_UNZIPPED = 262_144_000


def _layer(tmp_path: Path) -> Path:
    root = tmp_path / "layer"
    (root / "python").mkdir(parents=True)
    (root / "python" / "small.py").write_text("x = 1\n")
    return root


def test_a_layer_within_the_limits_passes_and_is_measured(tmp_path: Path) -> None:
    root = _layer(tmp_path)
    zipped, extracted = packaging.check_sizes(root)
    assert 0 < zipped < AWS_CODE_SIZE_ZIPPED
    code = sum(path.stat().st_size for path in packaging.service_files().values())
    assert extracted == code + len("x = 1\n")


def test_a_layer_that_would_not_upload_directly_is_refused_before_pulumi_up(tmp_path: Path) -> None:
    import os

    root = _layer(tmp_path)
    # incompressible bytes just over what PublishLayerVersion accepts as a direct upload
    (root / "python" / "blob.bin").write_bytes(os.urandom(AWS_CODE_SIZE_ZIPPED + 1024))
    with pytest.raises(packaging.PackageTooLarge) as refused:
        packaging.check_sizes(root)
    message = str(refused.value)
    assert "zips to" in message and f"{AWS_CODE_SIZE_ZIPPED:,}" in message and "50 MB" in message


def test_a_layer_too_large_extracted_is_refused_without_zipping_it(tmp_path: Path) -> None:
    root = _layer(tmp_path)
    with open(root / "python" / "sparse.bin", "wb") as handle:  # sparse: no disk used, size counted
        handle.truncate(AWS_CODE_SIZE_UNZIPPED)
    with pytest.raises(packaging.PackageTooLarge) as refused:
        packaging.check_sizes(root)
    assert "extracted" in str(refused.value) and f"{AWS_CODE_SIZE_UNZIPPED:,}" in str(refused.value)


def test_make_layer_reports_a_layer_too_large_as_a_message_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess

    def pip_install(command: list[str], check: bool) -> None:  # stands in for pip: writes a large file
        target = Path(command[command.index("--target") + 1])
        with open(target / "big.so", "wb") as handle:
            handle.truncate(AWS_CODE_SIZE_UNZIPPED + 1)

    monkeypatch.setattr(packaging, "repo_root", lambda: tmp_path)
    (tmp_path / "services").mkdir()
    monkeypatch.setattr(subprocess, "run", pip_install)
    assert packaging.main() == 2
    err = capsys.readouterr().err
    assert err.startswith("make layer: ") and "Traceback" not in err and "250 MB" in err
