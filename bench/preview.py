"""Offline preview speed: ``imagegen preview --stack prod`` and every stack, in fresh processes.

``preview_prod_s`` is the wall time of the real command (interpreter start, imports, program under
mocks, policy pack). For linearity, fresh processes preview the first k stacks for k = 1…N; a line
t(k) = a + b·k is fitted: ``a`` is the fixed start-up cost, ``b`` the cost per stack, and the fit's
r² and worst residual say whether the cost grows linearly (no state piling up between stacks).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from imagegen_platform.settings import stack_names

from bench.stats import median, run_bench_child, run_child


def imagegen_command() -> list[str]:
    script = Path(sys.executable).parent / "imagegen"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from imagegen_platform.cli import main; raise SystemExit(main())"]


def preview_command_s(stack: str) -> float:
    elapsed, stdout = run_child(
        # exit 1 = a mandatory policy violation: the preview itself ran and is timed all the same
        [*imagegen_command(), "preview", "--stack", stack, "--json"],
        ok_codes=(0, 1),
    )
    if '"resources"' not in stdout:
        raise RuntimeError(f"imagegen preview --stack {stack} --json printed no graph")
    return elapsed


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float, float, float]:
    """Least squares y = a + b·x; returns (a, b, r², worst |residual| ÷ b)."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    b = sxy / sxx if sxx else 0.0
    a = mean_y - b * mean_x
    residuals = [y - (a + b * x) for x, y in zip(xs, ys, strict=True)]
    ss_tot = sum((y - mean_y) ** 2 for y in ys)
    r2 = 1 - sum(r * r for r in residuals) / ss_tot if ss_tot else 1.0
    worst = max(abs(r) for r in residuals) / b if b > 0 else 0.0
    return a, b, r2, worst


def measure(quick: bool) -> dict[str, Any]:
    repeats = 1 if quick else 3
    stacks = stack_names()
    prod: list[float] = []
    # quick: three points of the line (first, middle, all stacks); full: every prefix
    counts = sorted({1, (len(stacks) + 1) // 2, len(stacks)}) if quick else range(1, len(stacks) + 1)
    prefix_walls: dict[int, list[float]] = {k: [] for k in counts}
    per_stack: list[list[float]] = []
    for _ in range(repeats):
        prod.append(preview_command_s("prod"))
        for k, timings in prefix_walls.items():
            wall, result = _timed_prefix(stacks[:k])
            timings.append(wall)
            if k == len(stacks):
                per_stack.append(result["per_stack_s"])
    walls = [median(prefix_walls[k]) for k in prefix_walls]
    a, b, r2, worst = _fit([float(k) for k in prefix_walls], walls)
    preview_prod_s = median(prod)
    all_s = walls[-1]
    return {
        "preview_prod_s": round(preview_prod_s, 3),
        "preview_all_stacks_s": round(all_s, 3),
        "preview_stacks": stacks,
        "preview_stack_count": len(stacks),
        "preview_prefix_counts": list(prefix_walls),
        "preview_prefix_wall_s": [round(w, 3) for w in walls],
        "preview_per_stack_s": [round(median(column), 3) for column in zip(*per_stack, strict=True)],
        "preview_startup_s": round(a, 3),
        "preview_slope_s_per_stack": round(b, 3),
        "preview_linear_r2": round(r2, 4),
        "preview_linear_worst_residual_stacks": round(worst, 2),
        "preview_all_stacks_ratio": round(all_s / (len(stacks) * preview_prod_s), 3),
        "preview_repeats": repeats,
    }


def _timed_prefix(stacks: list[str]) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one fresh process previewing ``stacks``, and its per-stack times."""
    started = time.perf_counter()
    result = run_bench_child("preview-stacks", *stacks)
    return time.perf_counter() - started, result
