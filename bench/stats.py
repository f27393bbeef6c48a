"""Small timing helpers: medians, percentiles and wall time of a fresh interpreter."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p50 of an odd count is the median sample)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no samples")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return float(ordered[rank])


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured child: ours, minus anything that would warm or skew it."""
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    env["PYTHONDONTWRITEBYTECODE"] = "0"
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if extra:
        env.update(extra)
    return env


def run_child(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    ok_codes: tuple[int, ...] = (0,),
) -> tuple[float, str]:
    """Run a fresh process from the repository root; return (wall seconds, stdout). Fails loudly."""
    started = time.perf_counter()
    result = subprocess.run(
        list(args), cwd=ROOT, env=child_env(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in ok_codes:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(args[:4])} … exited {result.returncode}: {' | '.join(tail)}")
    return elapsed, result.stdout


def run_bench_child(command: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> Any:
    """Run ``python -m bench.child COMMAND ARGS`` in a fresh interpreter and parse its JSON line."""
    _, stdout = run_child([sys.executable, "-m", "bench.child", command, *args], env=env, timeout=timeout)
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"bench.child {command} printed no JSON: {stdout[-300:]!r}")
    return json.loads(lines[-1])
