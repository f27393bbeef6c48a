"""The preview graph of every stack, computed once in a child process.

Pulumi's mocks are process-wide, so the previews run in a fresh interpreter (never beside the
program's own mock fixture in this test process) and come back as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

_PREVIEW_ALL = """
import json, sys
from imagegen_platform.preview import run_preview
from imagegen_platform.settings import stack_names
json.dump({stack: run_preview(stack) for stack in stack_names()}, sys.stdout)
"""


@cache
def all_stack_graphs() -> dict[str, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-c", _PREVIEW_ALL], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    graphs: dict[str, dict[str, Any]] = json.loads(result.stdout)
    return graphs
