"""`imagegen local serve`: the whole pipeline on 127.0.0.1, with no AWS account.

Starts moto server and the emulator, creates the data plane from the stack's preview graph, serves
the HTTP API (CONTRACT.md §3) through the real api handler with bearer-token auth, and drains the
jobs queue in the background with the real worker handler. Prints exactly one line when ready:
``imagegen local: http://127.0.0.1:P token=TOKEN``. Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from imagegen_platform.cli import CommandError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("local", help="the embedded local platform (no AWS account needed)")
    actions = parser.add_subparsers(dest="local_command", metavar="ACTION")
    actions.required = True
    serve = actions.add_parser("serve", help="serve the HTTP API on 127.0.0.1 with the worker in the background")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    serve.add_argument("--stack", default="local", help="stack whose preview graph defines the data plane")
    serve.add_argument("--config-file", type=Path, help="a stack file to use instead of stacks/Pulumi.STACK.yaml")
    add_emulator_knobs(serve)
    serve.add_argument(
        "--url-ttl",
        type=int,
        metavar="SECONDS",
        help="lifetime of signed delivery URLs (default: the stack's delivery.url_ttl_seconds; short values are for tests)",
    )
    serve.set_defaults(handler=run_serve)


def add_emulator_knobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rpm",
        action="append",
        default=[],
        metavar="MODEL=N",
        help="emulated requests-per-minute quota for a model (catalogue key or model ID); repeatable",
    )
    parser.add_argument(
        "--faults", metavar="SPEC", help="injected failure rates, e.g. throttle=0.2,timeout=0.05,internal=0.05"
    )
    parser.add_argument("--latency-ms", type=float, metavar="MS", help="simulated model latency per image")


def emulator_knobs(args: argparse.Namespace) -> Any:
    """Flags → EmulatorKnobs, checked by the emulator's own parsers (exit 2 naming the knob)."""
    from imagegen_emulator.knobs import KnobInvalid
    from imagegen_emulator.server import knobs_from
    from imagegen_local.embedded import EmulatorKnobs

    knobs = EmulatorKnobs(rpm=list(args.rpm) or None, faults=args.faults, latency_ms=args.latency_ms)
    try:
        knobs_from(rpm=knobs.rpm, faults=knobs.faults, latency_ms=knobs.latency_ms)
    except KnobInvalid as error:
        flag = {"IMAGEGEN_EMULATOR_RPM": "--rpm", "IMAGEGEN_EMULATOR_FAULTS": "--faults"}
        message = str(error)
        for env_name, flag_name in flag.items():
            message = message.replace(env_name, f"{flag_name} (or {env_name})")
        raise CommandError(message.replace("IMAGEGEN_EMULATOR_LATENCY_MS", "--latency-ms"), 2) from None
    return knobs


def run_serve(args: argparse.Namespace) -> int:
    from imagegen_local.serve import LocalOptions, LocalPlatform
    from imagegen_local.stack_view import GraphIncomplete

    if not 0 <= args.port <= 65535:
        raise CommandError("--port: must be between 0 and 65535", 2)
    if args.url_ttl is not None and args.url_ttl < 1:
        raise CommandError("--url-ttl: must be at least 1 second", 2)
    options = LocalOptions(
        stack=args.stack,
        config_file=args.config_file,
        port=args.port,
        knobs=emulator_knobs(args),
        url_ttl_seconds=args.url_ttl,
    )
    stop = threading.Event()
    ready = threading.Event()

    def on_signal(*_: object) -> None:
        stop.set()
        if not ready.is_set():
            raise KeyboardInterrupt  # still starting: abandon start-up (LocalPlatform.start cleans up)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    platform = LocalPlatform(options)
    # stdout carries exactly one line (the ready line): the handlers' Powertools logs and EMF
    # metrics, which print to stdout as on Lambda, go to stderr instead (at the descriptor level,
    # because their loggers keep a reference to the original stdout).
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    ready_line = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        try:
            platform.start()
        except (OSError, GraphIncomplete) as error:
            raise CommandError(f"cannot start the local platform: {error}", 1) from None
        ready.set()
        ready_line.write(f"imagegen local: {platform.url} token={platform.token}\n")
        ready_line.flush()
        stop.wait()
    finally:
        platform.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
        ready_line.close()
    sys.stderr.write("imagegen local: stopped\n")
    return 0
