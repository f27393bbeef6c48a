"""The blueprint must never shadow the standard library's ``platform`` module."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_platform_stdlib_still_works_after_importing_the_blueprint() -> None:
    # GIVEN a fresh interpreter started from the repository root (cwd first on sys.path)
    code = (
        "import imagegen_platform.settings, imagegen_service.catalogue\n"
        "import platform\n"
        "assert platform.__file__.endswith('platform.py'), platform.__file__\n"
        "print(platform.system())\n"
    )
    # WHEN it imports the blueprint and then calls platform.system()
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    # THEN the stdlib answers
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"Linux", "Darwin", "Windows"}


def test_platform_folder_is_not_a_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()
