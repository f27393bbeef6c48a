"""Emulator speed (extra key), measured by the model-layer engineer's ``bench/emulator_speed.py``."""

from __future__ import annotations

from typing import Any

from bench import emulator_speed


def measure(quick: bool) -> dict[str, Any]:
    measured: dict[str, Any] = dict(emulator_speed.measure(10 if quick else 30))
    # the name the benchmarks doc uses: one 1024×1024 text-to-image, end to end through boto3
    measured["emulator_t2i_1024_ms_p50"] = measured.get("emulator_invoke_ms_p50")
    return measured
