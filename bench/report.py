"""The human-readable table (stderr), so stdout stays one JSON object."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value[:8]) + (" …" if len(value) > 8 else "")
    return "—" if value is None else str(value)


def print_table(results: dict[str, Any]) -> None:
    # not a terminal (make, CI logs): wide enough that target names stay on one line
    console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)
    targets = Table(title=f"imagegen benchmarks{' (quick)' if results.get('quick') else ''}")
    for column in ("target", "key", "value", "limit", "met"):
        targets.add_column(column)
    for name, check in results["targets"].items():
        met = {True: "[green]yes[/]", False: "[red]NO[/]", None: "[yellow]not measured[/]"}[check["met"]]
        targets.add_row(name, check["key"], _fmt(check["value"]), check["target"], met)
    console.print(targets)

    skip = {"targets", "errors", "machine", "bench_seconds", "missing", "layer_contents"}
    keys = Table(title="all keys")
    keys.add_column("key")
    keys.add_column("value")
    for key, value in results.items():
        if key not in skip:
            keys.add_row(key, _fmt(value))
    console.print(keys)
    if results.get("errors"):
        for name, message in results["errors"].items():
            console.print(f"[red]{name}[/]: {message}")
    if results.get("missing"):
        console.print(f"[yellow]not measured:[/] {', '.join(results['missing'])}")
    console.print(f"machine: {results['machine']}  seconds per measurement: {results['bench_seconds']}")
