"""`imagegen doctor --stack NAME [--json]`: read-only preflight of the account a deploy would reach.

Exit 0 when no check fails, 1 otherwise, 2 when the stack settings are invalid. See
``imagegen_platform.doctor`` for the checks and docs/partners-and-costs.md for the walkthrough.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

MARKS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="read-only preflight of the target AWS account (will pulumi up and the first image work?)"
    )
    parser.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
    parser.add_argument("--config-file", type=Path, help="a stack file to use instead of stacks/Pulumi.<stack>.yaml")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from imagegen_platform.doctor import run_doctor

    report = run_doctor(args.stack, config_file=args.config_file)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print_report(report, sys.stdout)
    return 0 if report.ok else 1


def print_report(report: Any, out: TextIO) -> None:
    """The checks, each with its remediation, then the go-live steps in order."""
    out.write(f"imagegen doctor: stack {report.stack}, account {report.account or '?'}, region {report.region}\n")
    for check in report.checks:
        subject = f" [{check.subject}]" if check.subject else ""
        out.write(f"  {MARKS[check.status]}  {check.name}{subject}: {check.message}\n")
        if check.remediation and check.status != "pass":
            out.write(f"        fix: {check.remediation}\n")
    if report.lifecycle:
        out.write("Lifecycle (catalogue / Bedrock / account may use):\n")
        for entry in report.lifecycle:
            may_use = {True: "yes", False: "NO", None: "?"}[entry.account_may_use]
            out.write(
                f"  {entry.model} ({entry.model_id}, {entry.region}): {entry.catalogue_status} / "
                f"{entry.bedrock_status or 'not offered'} / {may_use}\n"
            )
    out.write("Go-live steps that are not code, in order:\n")
    for number, step in enumerate(report.go_live, start=1):
        out.write(f"  {number}. {step}\n")
    counts = report.counts()
    verdict = "ready" if report.ok else "NOT READY"
    out.write(f"imagegen doctor: {verdict}: {counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail\n")
