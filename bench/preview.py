"""Offline preview speed: ``imagegen preview --stack prod`` and every stack, in fresh processes.

``preview_prod_s`` is the wall time of the real command (interpreter start, imports, the program
under mocks, the policy pack, exit). ``preview_all_stacks_s`` is the wall time of one fresh process
that previews every stack in ``stacks/``. Linearity comes from inside that process: the cumulative
time after each preview is fitted to t(k) = a + b·k over the stack list previewed twice in a row
(full mode), so state piling up between previews would show as a growing per-stack time, a poor
r² and a second pass slower than the first.
"""

from __future__ import annotations

import sys
import time
from itertools import accumulate
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


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b·x; returns (a, b, r²)."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    b = sxy / sxx if sxx else 0.0
    a = mean_y - b * mean_x
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    ss_tot = sum((y - mean_y) ** 2 for y in ys)
    return a, b, (1 - ss_res / ss_tot if ss_tot else 1.0)


def all_stacks(stacks: list[str]) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one fresh process previewing ``stacks``, and what it measured inside."""
    started = time.perf_counter()
    result = run_bench_child("preview-stacks", *stacks)
    return time.perf_counter() - started, result


def measure(quick: bool) -> dict[str, Any]:
    repeats = 1 if quick else 3
    stacks = stack_names()
    passes = 1 if quick else 2
    prod: list[float] = []
    walls: list[float] = []
    imports: list[float] = []
    per_stack_runs: list[list[float]] = []
    for _ in range(repeats):
        prod.append(preview_command_s("prod"))
        wall, _ = all_stacks(stacks)
        walls.append(wall)
        _, inside = all_stacks(stacks * passes)
        imports.append(inside["import_s"])
        per_stack_runs.append(inside["per_stack_s"])
    per_stack = [median(column) for column in zip(*per_stack_runs, strict=True)]
    # the first preview also pays the program's lazy imports: the line is fitted from the second on
    cumulative = list(accumulate(per_stack))
    _, b, r2 = fit([float(k) for k in range(2, len(cumulative) + 1)], cumulative[1:])
    n = len(stacks)
    second_pass = sum(per_stack[n:]) / n if passes == 2 else None
    first_pass_warm = sum(per_stack[1:n]) / (n - 1)
    prod_s, all_s = median(prod), median(walls)
    return {
        "preview_prod_s": round(prod_s, 3),
        "preview_all_stacks_s": round(all_s, 3),
        "preview_stacks": stacks,
        "preview_stack_count": n,
        "preview_all_stacks_ratio": round(all_s / (n * prod_s), 3),
        "preview_import_s": round(median(imports), 3),
        "preview_per_stack_s": [round(t, 3) for t in per_stack],
        "preview_first_stack_s": round(per_stack[0], 3),
        "preview_slope_s_per_stack": round(b, 3),
        "preview_linear_r2": round(r2, 4),
        "preview_second_pass_ratio": None if second_pass is None else round(second_pass / first_pass_warm, 3),
        "preview_repeats": repeats,
    }
