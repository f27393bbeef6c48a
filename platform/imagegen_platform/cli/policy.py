"""`imagegen policy report|verify|keygen`: the compliance report, its signature, the reviewer's key.

``report --stack NAME|all [--config-file F] [--format md|html|json] [--output FILE]``: every policy
with its enforcement level per stack, result and what it actually read, the verdict (ship/blocked)
per stack, the licence records, moderation and provenance as deployed, the independent scanner's
findings (checkov over a Terraform-plan export of the same graph) with their waivers, and where
the report came from (commit, pack digest, tool versions, catalogue and lifecycle dates, digests of
the settings and policy config). Each stack is previewed offline under mocks and judged by the
policy pack's own gRPC server (``imagegen_policies.offline``). With ``--output`` the file is signed
(``FILE.sig``, Ed25519, ``imagegen_policies.signing``). Exit 0 when the report was written, whatever
it says; ``imagegen preview`` is the gate.

``verify REPORT SIGNATURE [--public-key PEM]``: exit 0 when the signature matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imagegen_platform.cli import CommandError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "policy",
        help="the policy pack: compliance report per stack, its signature",
        description="Work with the imagegen policy pack (policies/).",
    )
    commands = parser.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    commands.required = True
    report = commands.add_parser(
        "report",
        help="policies x stacks: verdict, enforcement, result, what each rule read, scanner baseline",
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
        "--config-file",
        type=Path,
        metavar="F",
        help="stack settings replacing stacks/Pulumi.NAME.yaml (one stack only)",
    )
    report.add_argument(
        "--format",
        choices=("md", "html", "json"),
        default="md",
        help="Markdown (default), one self-contained HTML page, or the JSON of CONTRACT.md §2",
    )
    report.add_argument("--output", type=Path, help="write here (and sign it: OUTPUT.sig) instead of standard output")
    report.add_argument(
        "--no-scanner", action="store_true", help="skip the independent baseline (checkov); the report then says so"
    )
    report.set_defaults(handler=run_report)

    verify = commands.add_parser(
        "verify",
        help="check a report's detached signature (exit 0 match, 1 otherwise)",
        description="Verify REPORT against SIGNATURE (written by `policy report --output`) with the reviewer's public key.",
    )
    verify.add_argument("report_file", type=Path, metavar="REPORT")
    verify.add_argument("signature_file", type=Path, metavar="SIGNATURE")
    verify.add_argument(
        "--public-key", type=Path, help="the signer's report.pub (default: the key directory's own, see docs)"
    )
    verify.set_defaults(handler=run_verify)

    keygen = commands.add_parser(
        "keygen",
        help="create the reviewer's Ed25519 report-signing key pair",
        description="Create report.key/report.pub in $IMAGEGEN_REPORT_KEY_DIR or ~/.config/imagegen/report-signing.",
    )
    keygen.add_argument("--key-dir", type=Path, help="where to write the key pair")
    keygen.add_argument("--force", action="store_true", help="replace an existing key pair")
    keygen.set_defaults(handler=run_keygen)


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


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def origin(root: Path, scanner: str) -> dict[str, Any]:
    """Where the report came from: commit, working-tree state, pack digest, tools, dates."""
    from imagegen_policies import report
    from imagegen_service import catalogue, clock

    commit = (_git(root, "rev-parse", "HEAD") or "").strip() or None
    status = _git(root, "status", "--porcelain")
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "dirty": True if status is None else bool(status.strip()),
        "pack": report.pack_identity(),
        "tools": {**report.tool_versions(), "scanner": scanner},
        "catalogue_date": catalogue.PRICES_AS_OF.isoformat(),
        "lifecycle_date": clock.today().isoformat(),
    }


def _policy_config_sha256(source: str | None) -> str | None:
    path = Path(source) if source else None
    return _sha256_file(path) if path is not None and path.is_file() else None


def build_document(
    stacks: list[str], config_file: Path | None, *, scanner: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the JSON report, the previews it was built from)."""
    from imagegen_policies import baseline, report

    from imagegen_platform.preview import run_preview
    from imagegen_platform.settings import repo_root, stack_file

    runner = baseline.Checkov.find() if scanner else None
    if scanner and runner is None:
        raise CommandError(
            f"the independent baseline needs checkov in {baseline.CHECKOV_VENV} (run `make setup`), "
            "or pass --no-scanner to leave it out of the report",
            2,
        )
    previews: dict[str, Any] = {stack: run_preview(stack, config_file) for stack in stacks}
    scans = baseline.scan_many(previews, runner) if runner is not None else {}
    entries = [
        report.stack_entry(
            stack,
            preview,
            settings_sha256=_sha256_file(config_file or stack_file(stack)),
            policy_config_sha256=_policy_config_sha256(preview["policies"].get("config")),
            scan=scans.get(stack),
        )
        for stack, preview in previews.items()
    ]
    document = origin(repo_root(), runner.version if runner is not None else "none (--no-scanner)")
    document["stacks"] = entries
    return document, previews


def run_report(args: argparse.Namespace) -> int:
    from imagegen_policies import report, signing

    stacks = _stacks(args.stack)
    if args.config_file is not None and len(stacks) != 1:
        raise CommandError(f"--config-file replaces one stack's settings; --stack names {len(stacks)} stacks", 2)
    if args.config_file is not None and not args.config_file.is_file():
        raise CommandError(f"--config-file: {args.config_file}: no such file", 2)
    document, previews = build_document(stacks, args.config_file, scanner=not args.no_scanner)
    if args.format == "json":
        text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    elif args.format == "html":
        text = report.render_html(previews, document)
    else:
        text = report.render_markdown(previews, document)
    if args.output is None:
        sys.stdout.write(text)
        sys.stderr.write("imagegen policy report: written to standard output, unsigned (--output FILE signs it)\n")
        return 0
    data = text.encode("utf-8")
    signature_path = args.output.with_name(args.output.name + ".sig")
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(data)
        pair = signing.load_or_create()
        signature_path.write_text(signing.sign(data, pair), encoding="utf-8")
    except OSError as error:
        raise CommandError(f"--output: cannot write {args.output}: {error.strerror or error}") from None
    if pair.created:
        sys.stderr.write(f"imagegen policy report: created the report-signing key pair in {pair.directory}\n")
    blocked = [s["name"] for s in document["stacks"] if s["verdict"] != "ship"]
    sys.stderr.write(
        f"imagegen policy report: {args.output}, signature {signature_path} "
        f"({len(stacks)} stack(s); blocked: {', '.join(blocked) or 'none'})\n"
    )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from imagegen_policies import signing

    try:
        data = args.report_file.read_bytes()
        signature = args.signature_file.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise CommandError(f"cannot read {error.filename}: {error.strerror}", 1) from None
    public = signing.load_public(args.public_key)
    valid, why = signing.verify(data, signature, public)
    stream = sys.stdout if valid else sys.stderr
    stream.write(f"imagegen policy verify: {args.report_file}: {'OK' if valid else 'FAILED'}: {why}\n")
    return 0 if valid else 1


def run_keygen(args: argparse.Namespace) -> int:
    from imagegen_policies import signing

    pair = signing.generate(args.key_dir, overwrite=args.force)
    print(
        f"imagegen policy keygen: wrote {pair.directory / signing.PRIVATE_NAME} (keep private) and {pair.public_path}"
    )
    return 0
