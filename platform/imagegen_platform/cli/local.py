"""`imagegen local serve`: the whole pipeline on 127.0.0.1, with no AWS account.

Starts moto server and the emulator, creates the data plane from the stack's preview graph, serves
the HTTP API (CONTRACT.md §3) through the real api handler with bearer-token auth, and drains the
jobs queue in the background with a fleet of worker containers (``--fleet N`` processes, each with its
own module state) running the real worker handler. Prints exactly two lines when ready:
``imagegen local: http://127.0.0.1:P token=TOKEN`` then ``imagegen emulator: http://127.0.0.1:P``.
Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import math
import os
import re
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
        "--fleet",
        type=int,
        metavar="N",
        help="worker containers at once, each its own process (default: the stack's event-source "
        f"MaximumConcurrency, at most {fleet_cap()} on this machine)",
    )
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
    parser.add_argument(
        "--capacity",
        action="append",
        default=[],
        metavar="MODEL=N",
        help="hidden per-model capacity in units (default-size images) per minute, shared by every caller; repeatable",
    )
    parser.add_argument(
        "--capacity-schedule", metavar="SPEC", help="capacity changes during the run, e.g. 60:titan-image-v1=15"
    )


def fleet_cap() -> int:
    """Worker processes this machine runs usefully at once: two per core, between 2 and 8."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


def default_fleet(graph: dict[str, Any]) -> int:
    """The stack's event-source MaximumConcurrency, capped for this machine."""
    from imagegen_local.stack_view import StackView

    scaling = StackView(graph).worker_trigger().get("scalingConfig") or {}
    wanted = scaling.get("maximumConcurrency") if isinstance(scaling, dict) else None
    return min(fleet_cap(), int(wanted)) if isinstance(wanted, (int, float)) and not math.isnan(wanted) else fleet_cap()


def emulator_knobs(args: argparse.Namespace) -> Any:
    """Flags → EmulatorKnobs, checked by the emulator's own parsers (exit 2 naming the knob)."""
    from imagegen_emulator.knobs import KnobInvalid
    from imagegen_emulator.server import knobs_from
    from imagegen_local.embedded import EmulatorKnobs

    knobs = EmulatorKnobs(
        rpm=list(args.rpm) or None,
        faults=args.faults,
        latency_ms=args.latency_ms,
        capacity=list(args.capacity) or None,
        schedule=args.capacity_schedule,
    )
    try:
        knobs_from(
            rpm=knobs.rpm,
            faults=knobs.faults,
            latency_ms=knobs.latency_ms,
            capacity=knobs.capacity,
            schedule=knobs.schedule,
        )
    except KnobInvalid as error:
        flag = {
            "IMAGEGEN_EMULATOR_RPM": "--rpm",
            "IMAGEGEN_EMULATOR_FAULTS": "--faults",
            "IMAGEGEN_EMULATOR_CAPACITY_SCHEDULE": "--capacity-schedule",
            "IMAGEGEN_EMULATOR_CAPACITY": "--capacity",
        }
        message = str(error)
        for env_name, flag_name in flag.items():
            if re.match(rf"{env_name}\b(?!_)", message):  # the message starts with the knob it names
                message = f"{flag_name} (or {env_name})" + message[len(env_name) :]
                break
        raise CommandError(message.replace("IMAGEGEN_EMULATOR_LATENCY_MS", "--latency-ms"), 2) from None
    return knobs


def local_platform(options: Any, *, graph: dict[str, Any] | None = None) -> Any:
    """A LocalPlatform for ``options.stack``, given what it needs from this layer: the stack's preview
    graph (the data plane needs the graph only: the policy verdict is `imagegen preview`'s job), its
    settings and the checkout."""
    from imagegen_local.serve import LocalPlatform

    from imagegen_platform.preview import run_preview
    from imagegen_platform.settings import load_stack, repo_root

    if graph is None:
        graph = run_preview(options.stack, options.config_file, policies=False)
    _, settings = load_stack(options.stack, options.config_file)
    return LocalPlatform(options, graph=graph, settings=settings, root=repo_root())


def run_serve(args: argparse.Namespace) -> int:
    from imagegen_local.serve import LocalOptions
    from imagegen_local.stack_view import GraphIncomplete

    if not 0 <= args.port <= 65535:
        raise CommandError("--port: must be between 0 and 65535", 2)
    if args.url_ttl is not None and args.url_ttl < 1:
        raise CommandError("--url-ttl: must be at least 1 second", 2)
    if args.fleet is not None and not 1 <= args.fleet <= 64:
        raise CommandError(f"--fleet: {args.fleet} is not a number of worker containers between 1 and 64", 2)
    options = LocalOptions(
        stack=args.stack,
        config_file=args.config_file,
        port=args.port,
        knobs=emulator_knobs(args),
        url_ttl_seconds=args.url_ttl,
        fleet=args.fleet or 0,
    )
    stop = threading.Event()
    ready = threading.Event()

    def on_signal(*_: object) -> None:
        stop.set()
        if not ready.is_set():
            raise KeyboardInterrupt  # still starting: abandon start-up (LocalPlatform.start cleans up)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        platform = local_platform(options)
    except GraphIncomplete as error:
        raise CommandError(f"cannot start the local platform: {error}", 1) from None
    if not options.fleet:
        assert platform.graph is not None
        options.fleet = default_fleet(platform.graph)
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
        assert platform.aws is not None
        ready_line.write(f"imagegen local: {platform.url} token={platform.token}\n")
        ready_line.write(f"imagegen emulator: {platform.aws.emulator_url}\n")
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
