"""`imagegen policy report --stack NAME [--stack NAME ...|all] [--format md|html] [--output FILE]`.

The compliance reviewer's view: every policy with its rationale, remediation, enforcement level per
stack, result and the evidence (resource and property) behind it. Each stack is previewed offline
under mocks and judged by the policy pack's own gRPC server (``imagegen_policies.offline``).
Exit 0 when the report was written, whatever it says; ``imagegen preview`` is the gate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from imagegen_platform.cli import CommandError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "policy",
        help="the policy pack: compliance report per stack",
        description="Work with the imagegen policy pack (policies/).",
    )
    commands = parser.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    commands.required = True
    report = commands.add_parser(
        "report",
        help="policies x stacks: rationale, enforcement, result and evidence",
        description="Preview each stack offline and write the policy pack's verdict as a compliance report.",
    )
    report.add_argument(
        "--stack",
        action="append",
        required=True,
        metavar="NAME",
        help="a stack in stacks/ (repeat for several, or 'all' for every stack)",
    )
    report.add_argument(
        "--format", choices=("md", "html"), default="md", help="Markdown (default) or one self-contained HTML page"
    )
    report.add_argument("--output", type=Path, help="write here instead of standard output")
    report.set_defaults(handler=run_report)


def _stacks(requested: list[str]) -> list[str]:
    from imagegen_platform.settings import stack_names

    known = stack_names()
    if "all" in requested:
        return known
    unknown = [name for name in requested if name not in known]
    if unknown:
        raise CommandError(
            f"--stack: no stack named {', '.join(unknown)}; stacks/ has {', '.join(known)} (or 'all')", 2
        )
    return list(dict.fromkeys(requested))


def run_report(args: argparse.Namespace) -> int:
    from imagegen_policies import report

    from imagegen_platform.preview import run_preview

    stacks = _stacks(args.stack)
    previews = {stack: run_preview(stack) for stack in stacks}
    text = report.render_html(previews) if args.format == "html" else report.render_markdown(previews)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise CommandError(f"--output: cannot write {args.output}: {error.strerror or error}") from None
    total = sum(p["policies"].get("mandatory_violations", 0) for p in previews.values())
    sys.stderr.write(
        f"imagegen policy report: {args.output} ({len(stacks)} stack(s), {total} mandatory violation(s))\n"
    )
    return 0
