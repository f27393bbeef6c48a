"""`imagegen emulator serve`: only the Bedrock + Rekognition emulator, for any boto3 program.

Point clients at it with AWS_ENDPOINT_URL_BEDROCK_RUNTIME / AWS_ENDPOINT_URL_REKOGNITION.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from imagegen_platform.cli import CommandError

READY_LINE = "imagegen emulator: {url}"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("emulator", help="run the local Bedrock/Rekognition emulator")
    commands = parser.add_subparsers(dest="emulator_command", metavar="SUBCOMMAND")
    commands.required = True
    serve = commands.add_parser("serve", help="serve InvokeModel, ApplyGuardrail and DetectModerationLabels")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    serve.add_argument(
        "--rpm", action="append", metavar="MODEL=N", help="per-model requests-per-minute quota (repeatable)"
    )
    serve.add_argument("--faults", metavar="SPEC", help="e.g. throttle=0.2,timeout=0.05,internal=0.05")
    serve.add_argument("--latency-ms", metavar="N", help="simulated model latency per image (ms)")
    serve.add_argument(
        "--capacity",
        action="append",
        metavar="MODEL=N",
        help="hidden per-model capacity in units per minute shared by every caller (repeatable)",
    )
    serve.add_argument(
        "--capacity-schedule", metavar="SPEC", help="capacity changes during the run, e.g. 60:titan-image-v1=15"
    )
    serve.add_argument("--stack", metavar="NAME", help="apply this stack's guardrail settings")
    serve.add_argument("--seed", type=int, default=None, help="seed for injected faults (reproducible runs)")
    serve.add_argument(
        "--account", type=Path, metavar="JSON", help="the emulated account's control-plane state (models offered, "
        "lifecycle, Marketplace agreements, quotas): see imagegen_emulator/control.py"
    )  # fmt: skip
    serve.set_defaults(handler=run)


def stack_guardrail(stack: str) -> Any:
    """The guardrail settings of a stack (read here, in the CLI layer: the emulator never imports the platform)."""
    from imagegen_platform.settings import load_stack

    _, settings = load_stack(stack)
    return settings.moderation.guardrail


def run(args: argparse.Namespace) -> int:
    from imagegen_emulator.control import AccountStateInvalid
    from imagegen_emulator.knobs import (
        KnobInvalid,
        parse_capacity,
        parse_faults,
        parse_latency,
        parse_rpm,
        parse_schedule,
    )
    from imagegen_emulator.server import start

    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port: {args.port} is not a port number (0–65535)", 2)
    try:  # flags win over the environment; each error names the flag or variable it came from
        rpm = parse_rpm(args.rpm, knob="--rpm") if args.rpm else None
        faults = parse_faults(args.faults, knob="--faults") if args.faults is not None else None
        latency = parse_latency(args.latency_ms, knob="--latency-ms") if args.latency_ms is not None else None
        capacity = parse_capacity(args.capacity, knob="--capacity") if args.capacity else None
        schedule = (
            parse_schedule(args.capacity_schedule, knob="--capacity-schedule")
            if args.capacity_schedule is not None
            else None
        )
        guardrail = stack_guardrail(args.stack) if args.stack else None
        account = _account(args.account) if args.account is not None else None
        emulator = start(
            args.port,
            rpm=rpm,
            faults=faults,
            latency_ms=latency,
            capacity=capacity,
            schedule=schedule,
            guardrail=guardrail,
            seed=args.seed,
            account=account,
        )
    except (KnobInvalid, AccountStateInvalid) as error:
        raise CommandError(f"--account: {error}" if isinstance(error, AccountStateInvalid) else str(error), 2) from None
    except OSError as error:
        raise CommandError(f"--port: cannot listen on 127.0.0.1:{args.port} ({error.strerror})", 1) from None
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(READY_LINE.format(url=emulator.url), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    sys.stderr.write("imagegen emulator: stopped\n")
    return 0


def _account(path: Path) -> Any:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"--account: cannot read {path} ({error.__class__.__name__})", 2) from None
    except ValueError as error:
        raise CommandError(f"--account: {path} is not JSON ({error})", 2) from None
