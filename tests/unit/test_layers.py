"""The layers point one way: services/ (the runtime, the emulator, the local platform) never imports
the Pulumi side (platform/imagegen_platform); the CLI layer hands them what they need."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"


def imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` or ``from … import`` names in the file, at any depth (functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_services_never_import_the_platform_layer() -> None:
    files = sorted(SERVICES.rglob("*.py"))
    assert len(files) > 50  # the walk really reached the packages
    offenders = {
        str(path.relative_to(SERVICES)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] == "imagegen_platform"
        )
        for path in files
    }
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from imagegen_platform.settings import load_stack\n    import imagegen_platform.preview\n"
    )
    assert imported_modules(sample) == {"imagegen_platform.settings", "imagegen_platform.preview"}
