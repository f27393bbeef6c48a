"""Run every measurement, judge the targets, write ``bench/results/latest.json``.

Each measurement is a module with ``measure(quick: bool) -> dict``. One failing measurement never
hides the others: its keys stay ``null`` and ``errors`` says why, so a gap is visible, not silent.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from bench.report import print_table
from bench.stats import ROOT
from bench.targets import judge

# (name, module, contract keys it produces); order = cheapest first.
MEASUREMENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("imports", "bench.imports", ("handler_import_ms", "boto3_import_ms")),
    ("package", "bench.package", ("lambda_zip_bytes",)),
    ("preview", "bench.preview", ("preview_prod_s", "preview_all_stacks_s")),
    ("worker", "bench.worker", ("worker_overhead_ms_p50", "baseline_io_ms_p50", "c2pa_sign_ms_p50")),
    ("emulator", "bench.emulator", ()),
    ("memory", "bench.memory", ("worker_peak_rss_mb",)),
    ("drain", "bench.drain", ("quota_utilisation", "throttled_calls", "lost_jobs", "duplicate_invocations")),
    (
        "fleet",
        "bench.fleet",
        (
            "fleet_utilisation",
            "fleet_throttled_ratio",
            "capacity_step_recovery_s",
            "invocation_timeouts",
            "dead_lettered",
            "fault_drain_ratio",
            "mixed_backlog_min_utilisation",
        ),
    ),
)

# CONTRACT §4's keys: every key a measurement produces.
CONTRACT_KEYS = tuple(key for _, _, keys in MEASUREMENTS for key in keys)

RESULTS_FILE = ROOT / "bench" / "results" / "latest.json"
LOG_FILE = ROOT / "build" / "bench-last-run.log"


@contextlib.contextmanager
def stdout_to_log() -> Iterator[TextIO]:
    """Send file descriptor 1 to the run log while measuring; yield the real stdout.

    The handlers log JSON to stdout (Powertools) and children inherit fd 1: without this, ``--json``
    could not promise exactly one JSON object on stdout.
    """
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    saved = os.dup(1)
    with LOG_FILE.open("w") as log:
        os.dup2(log.fileno(), 1)
        real = os.fdopen(os.dup(saved), "w")
        try:
            yield real
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "processor": platform.processor() or platform.machine(),
    }


def run(quick: bool, only: list[str] | None = None) -> dict[str, Any]:
    results: dict[str, Any] = dict.fromkeys(CONTRACT_KEYS)
    errors: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for name, module_name, _keys in MEASUREMENTS:
        if only and name not in only:
            continue
        sys.stderr.write(f"bench: {name} …\n")
        started = time.perf_counter()
        try:
            measured = importlib.import_module(module_name).measure(quick)
            results.update(measured)
        except Exception as error:  # one broken measurement must not hide the rest
            errors[name] = f"{type(error).__name__}: {error}"
            if os.environ.get("BENCH_DEBUG"):
                traceback.print_exc()
        seconds[name] = round(time.perf_counter() - started, 1)
    results["targets"] = judge(results)
    results["missing"] = [key for key in CONTRACT_KEYS if not isinstance(results.get(key), (int, float))]
    results["errors"] = errors
    results["bench_seconds"] = seconds
    results["quick"] = quick
    results["machine"] = machine()
    results["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="imagegen benchmarks (CONTRACT.md §4)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a smaller backlog (< 2 min)")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    parser.add_argument("--only", action="append", choices=[m[0] for m in MEASUREMENTS], help="run only these")
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the run log stays readable
    with stdout_to_log() as real_stdout:
        results = run(args.quick, args.only)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    if not args.only:
        RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    sys.stderr.write(f"results: {RESULTS_FILE.relative_to(ROOT)}  handler/server logs: {LOG_FILE.relative_to(ROOT)}\n")
    if args.json:
        real_stdout.write(json.dumps(results) + "\n")
    real_stdout.close()
    return 0
