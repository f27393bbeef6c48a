"""`imagegen demo` (what `make demo` runs): the pipeline's workflows on the embedded local platform.

No AWS account, no cost. Writes images, ``contact-sheet.png``, ``gallery.html`` and ``summary.json``
under ``out/demo/``; the handlers' own logs go to ``out/demo/handlers.log``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from imagegen_platform.cli import CommandError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the workflows end to end on this machine (no AWS account)")
    parser.add_argument("--out", type=Path, help="output folder (default: out/demo in the checkout)")
    parser.set_defaults(handler=run)


@contextlib.contextmanager
def handler_output_to(log_file: Path) -> Iterator[IO[str]]:
    """Send everything printed on fd 1/2 (Powertools JSON logs, EMF metrics) to ``log_file``.

    Yields a stream on the real stdout for the demo's own output. Works at the descriptor level
    because the handlers' loggers hold references to the original ``sys.stdout``.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    screen = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    with log_file.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.WARNING)
        try:
            yield screen
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            root.setLevel(level)
            screen.close()


def run(args: argparse.Namespace) -> int:
    from imagegen_local.demo import DemoFailed, run_demo, summary_table, write_summary
    from imagegen_local.stack_view import GraphIncomplete
    from rich.console import Console

    from imagegen_platform.cli.local import local_platform
    from imagegen_platform.preview import run_preview
    from imagegen_platform.settings import repo_root

    out_dir: Path = args.out or repo_root() / "out" / "demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    log_file = out_dir / "handlers.log"
    log_file.write_text("")
    started = time.monotonic()
    with handler_output_to(log_file) as screen:
        # A pipe or CI log gets a readable fixed width; a terminal keeps its own.
        console = Console(file=screen, force_terminal=screen.isatty(), width=None if screen.isatty() else 110)
        try:
            demo = run_demo(
                out_dir,
                console,
                preview=run_preview,
                open_platform=lambda options, graph: local_platform(options, graph=graph),
            )
        except (DemoFailed, GraphIncomplete) as error:
            raise CommandError(f"{error} (handler logs: {log_file})", 1) from None
        except OSError as error:
            raise CommandError(f"cannot run the local platform: {error} (handler logs: {log_file})", 1) from None
        elapsed = time.monotonic() - started
        summary = write_summary(demo, elapsed)
        console.print(summary_table(demo))
        counts = demo.emulator.get("invocations_by_model") or demo.emulator.get("invocations") or {}
        if counts:
            console.print(
                "model calls (emulated Bedrock): " + ", ".join(f"{k} ×{v}" for k, v in sorted(counts.items()))
            )
        console.print(
            f"time: {elapsed:.1f} s · pictures: {out_dir / 'contact-sheet.png'} and {out_dir / 'gallery.html'}"
        )
        if demo.provenance.get("example"):
            verdicts = demo.provenance["verdicts"]
            console.print(
                f"provenance: {verdicts.get('trusted', 0)} image(s) with a trusted C2PA manifest, "
                f"{verdicts.get('absent', 0)} without; check one yourself: imagegen verify "
                f"{demo.provenance['example']} --trust-anchor {demo.provenance['anchor']}"
            )
        console.print(f"summary: {summary} · handler logs: {log_file}")
    return 0
