"""The ``imagegen`` command line.

Each sub-command lives in its own module with ``register(subparsers)``; modules import their heavy
dependencies inside the command so ``imagegen --help`` stays fast. Errors the user can fix print
one paragraph and exit non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from imagegen_service.errors import ImagegenError, SettingsInvalid

# Order is the order of `imagegen --help`.
COMMAND_MODULES = (
    "imagegen_platform.cli.demo",
    "imagegen_platform.cli.preview",
    "imagegen_platform.cli.policy",
    "imagegen_platform.cli.local",
    "imagegen_platform.cli.emulator",
    "imagegen_platform.cli.client",
    "imagegen_platform.cli.customer",
    "imagegen_platform.cli.doctor",
    "imagegen_platform.cli.cost",
    "imagegen_platform.cli.verify",
)


class CommandError(Exception):
    """A user-facing failure with its exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="imagegen", description="Image generation on Amazon Bedrock: blueprint, runtime, policies.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except CommandError as error:
        sys.stderr.write(f"imagegen {args.command}: {error.message}\n")
        return error.exit_code
    except SettingsInvalid as error:
        sys.stderr.write(f"imagegen {args.command}: {error.message}\n")
        return 2
    except ImagegenError as error:
        sys.stderr.write(f"imagegen {args.command}: {error.message}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"imagegen {args.command}: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`imagegen ... --json | head`): stop quietly, as Unix tools do. Point stdout
        # at /dev/null so the interpreter's final flush does not raise again (Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a killed pipe writer
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
