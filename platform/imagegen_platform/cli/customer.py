"""`imagegen customer new|list`: stand up a customer stack from flags, and see every customer stack.

``new`` writes ``stacks/Pulumi.customer-<name>.yaml`` and ``policies/config/customer-<name>.json``
(validated, atomically, never over an existing stack without ``--force``) or names every problem
and exits 2. ``list`` shows each customer stack's account, region, models and policy status from the
offline preview. ``--root`` (or ``IMAGEGEN_ROOT``) points both at another checkout; ``--stacks-dir``
and ``--policy-config-dir`` point at the two folders separately.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from imagegen_platform.cli import CommandError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("customer", help="create and list customer stacks (partners)")
    commands = parser.add_subparsers(dest="customer_command", metavar="ACTION")
    commands.required = True

    new = commands.add_parser("new", help="write a validated customer stack and its policy config")
    new.add_argument("--name", required=True, help="customer slug; the stack is customer-<name>")
    new.add_argument("--account-id", required=True, help="the customer's 12-digit AWS account ID")
    new.add_argument("--region", required=True, help="stack region; must offer every chosen model")
    new.add_argument("--deploy-role-arn", required=True, help="role in the customer account the partner assumes")
    new.add_argument("--external-id", required=True, help="sts:ExternalId the deploy role's trust policy requires")
    new.add_argument("--session-name", default="imagegen-deploy", help="STS session name (default: imagegen-deploy)")
    new.add_argument("--model", action="append", default=[], metavar="KEY", help="catalogue model key (repeatable)")
    new.add_argument("--budget", required=True, type=_number("--budget"), metavar="USD", help="monthly budget in USD")
    new.add_argument("--contact", action="append", default=[], metavar="EMAIL", help="budget alert e-mail (repeatable)")
    new.add_argument(
        "--accept",
        action="append",
        default=[],
        metavar="MODEL=EMAIL@YYYY-MM-DD[:TERMS]",
        help="licence acceptance per model: who accepted, when, and optionally the terms version",
    )
    new.add_argument(
        "--accept-eula", action="append", default=[], metavar="MODEL", help="EULA accepted (Stability models)"
    )
    new.add_argument("--domain-name", help="custom CDN host name (with --certificate-arn; viewers then get TLS 1.2+)")
    new.add_argument(
        "--certificate-arn", help="ACM certificate for --domain-name, in us-east-1 in the customer account"
    )
    new.add_argument(
        "--hosted-zone-id",
        help="Route 53 hosted zone of --domain-name in the customer account: the stack writes the A/AAAA alias records",
    )
    new.add_argument(
        "--quota-rpm",
        action="append",
        default=[],
        metavar="MODEL=RPM",
        help="request a Bedrock RPM quota increase (repeatable)",
    )
    new.add_argument(
        "--quota-code",
        action="append",
        default=[],
        metavar="MODEL=L-XXXXXXXX",
        help="quota code where the catalogue has none",
    )
    new.add_argument("--partner", required=True, help="partner name (cost-allocation tag)")
    new.add_argument("--cost-centre", required=True, help="customer cost centre (cost-allocation tag)")
    new.add_argument("--public-key-file", type=Path, metavar="PEM", help="CloudFront public key for signed URLs")
    new.add_argument("--signing-key-secret-arn", help="Secrets Manager secret holding the CloudFront private key")
    new.add_argument("--c2pa-secret-arn", help="Secrets Manager secret holding the C2PA signing certificate and key")
    new.add_argument("--commercial", action=argparse.BooleanOptionalAction, default=True, help="commercial use")
    new.add_argument("--force", action="store_true", help="replace an existing stack of that name")
    new.add_argument("--root", type=Path, help="repository root (default: IMAGEGEN_ROOT or this checkout)")
    new.add_argument("--stacks-dir", type=Path, help="folder of Pulumi.<stack>.yaml files (default: ROOT/stacks)")
    new.add_argument("--policy-config-dir", type=Path, help="folder of policy configs (default: ROOT/policies/config)")
    new.set_defaults(handler=run_new)

    deploy = commands.add_parser(
        "deploy", help="pulumi preview/up of a customer stack via the Automation API (needs the pulumi CLI)"
    )
    deploy.add_argument("name", help="customer name or stack (acme or customer-acme)")
    deploy.add_argument("--up", action="store_true", help="update the stack (default: preview only)")
    deploy.add_argument(
        "--skip-doctor", action="store_true", help="do not run imagegen doctor first (logged; not recommended)"
    )
    deploy.add_argument("--root", type=Path, help="repository root (default: IMAGEGEN_ROOT or this checkout)")
    deploy.set_defaults(handler=run_deploy)

    listing = commands.add_parser("list", help="customer stacks with account, region, models and policy status")
    listing.add_argument("--json", action="store_true", help="one JSON object on stdout")
    listing.add_argument("--no-policies", action="store_true", help="skip the offline preview (faster)")
    listing.add_argument("--root", type=Path, help="repository root (default: IMAGEGEN_ROOT or this checkout)")
    listing.add_argument("--stacks-dir", type=Path, help="folder of Pulumi.<stack>.yaml files (default: ROOT/stacks)")
    listing.add_argument(
        "--policy-config-dir", type=Path, help="folder of policy configs (default: ROOT/policies/config)"
    )
    listing.set_defaults(handler=run_list)


def _number(flag: str) -> Any:
    def parse(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: {text!r} is not a number") from None

    return parse


def _root(args: argparse.Namespace) -> Path:
    from imagegen_platform.settings import repo_root

    return Path(args.root) if args.root else repo_root()


def _layout(args: argparse.Namespace) -> Any:
    from imagegen_platform.customers import Layout

    return Layout.of(_root(args), args.stacks_dir, args.policy_config_dir)


def _request(args: argparse.Namespace) -> Any:
    from imagegen_platform.customers import Acceptance, CustomerRequest, parse_acceptance

    problems: list[str] = []
    acceptances: dict[str, Acceptance] = {}
    for text in args.accept:
        try:
            model, acceptance = parse_acceptance(text)
        except ValueError as error:
            problems.append(f"--accept: {error}")
            continue
        acceptances[model] = acceptance
    quota_rpm: dict[str, int] = {}
    for text in args.quota_rpm:
        model, sep, value = text.partition("=")
        if not sep or not value.strip().isdigit():
            problems.append(f"--quota-rpm: {text!r} is not MODEL=RPM (a whole number)")
            continue
        quota_rpm[model.strip()] = int(value)
    quota_codes: dict[str, str] = {}
    for text in args.quota_code:
        model, sep, value = text.partition("=")
        if not sep:
            problems.append(f"--quota-code: {text!r} is not MODEL=L-XXXXXXXX")
            continue
        quota_codes[model.strip()] = value.strip()
    public_key: str | None = None
    if args.public_key_file is not None:
        try:
            public_key = Path(args.public_key_file).read_text()
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"--public-key-file: cannot read {args.public_key_file} ({error.__class__.__name__})")
    return CustomerRequest(
        name=args.name,
        account_id=args.account_id,
        region=args.region,
        deploy_role_arn=args.deploy_role_arn,
        external_id=args.external_id,
        models=list(args.model),
        budget_usd=args.budget,
        contacts=list(args.contact),
        acceptances=acceptances,
        eula_accepted=set(args.accept_eula),
        partner=args.partner,
        cost_centre=args.cost_centre,
        public_key_pem=public_key,
        signing_key_secret_arn=args.signing_key_secret_arn,
        c2pa_secret_arn=args.c2pa_secret_arn,
        commercial=args.commercial,
        session_name=args.session_name,
        domain_name=args.domain_name,
        certificate_arn=args.certificate_arn,
        hosted_zone_id=args.hosted_zone_id,
        quota_rpm=quota_rpm,
        quota_codes=quota_codes,
        problems=problems,
    )


def run_new(args: argparse.Namespace) -> int:
    from imagegen_platform.customers import CustomerInvalid, create_customer

    try:
        created = create_customer(_request(args), root=_layout(args), force=args.force)
    except CustomerInvalid as error:
        raise CommandError(error.message, exit_code=2) from None
    except OSError as error:
        raise CommandError(f"could not write the customer stack ({error}); nothing was changed", exit_code=1) from None
    verb = "replaced" if created.replaced else "wrote"
    print(f"imagegen customer: {verb} {created.stack_file} and {created.policy_config}")
    print(f"  next: imagegen preview --stack {created.stack}   then   pulumi up --stack {created.stack}")
    for note in legacy_notes(created.settings):
        print(f"  note: {note}")
    return 0


def legacy_notes(settings: Any) -> list[str]:
    """Models the provider marks Legacy today: allowed, but the policy pack warns (advisory)."""
    from imagegen_service import catalogue, clock

    today = clock.today()
    return [
        f"{m.spec.name} ({m.model}) is Legacy since {m.spec.lifecycle.legacy_since}; plan a replacement"
        for m in settings.models
        if m.spec.lifecycle.status_on(today) is catalogue.Status.LEGACY
    ]


def run_list(args: argparse.Namespace) -> int:
    from imagegen_platform.customers import describe_customers

    rows = describe_customers(_layout(args), with_policies=not args.no_policies)
    if args.json:
        print(json.dumps({"customers": [row.as_json() for row in rows]}, indent=2))
        return 0
    import sys

    from rich.console import Console
    from rich.table import Table

    table = Table(title="Customer stacks")
    for column in ("stack", "account", "region", "models", "partner", "policies"):
        table.add_column(column)
    for row in rows:
        style = "green" if row.mandatory_violations == 0 else "red"
        table.add_row(
            row.stack,
            row.account_id or "-",
            row.region or "-",
            ", ".join(row.models) or "-",
            row.partner or "-",
            f"[{style}]{row.policy_status}[/{style}]",
        )
    # Wide when piped, so account IDs and stack names are never truncated in logs.
    (Console() if sys.stdout.isatty() else Console(width=160)).print(table)
    if not rows:
        print("no customer stacks yet: imagegen customer new --help")
    return 0


def run_deploy(args: argparse.Namespace) -> int:
    from pulumi.automation.errors import CommandError as PulumiFailed

    from imagegen_platform import automation

    preflight(automation.stack_name(args.name), _root(args), skip=args.skip_doctor)
    try:
        result = automation.deploy(args.name, "up" if args.up else "preview", root=_root(args))
    except PulumiFailed as error:
        raise CommandError(f"pulumi failed for {automation.stack_name(args.name)}: {error}", exit_code=1) from None
    except automation.DeployRefused as error:
        raise CommandError(error.message, exit_code=2) from None
    except FileNotFoundError:
        raise CommandError(
            "the pulumi CLI is not installed: the Automation API runs it for every operation "
            "(install it from pulumi.com, or run `imagegen preview --stack "
            f"{automation.stack_name(args.name)}` for the offline preview)",
            exit_code=1,
        ) from None
    changes = ", ".join(f"{op} {count}" for op, count in sorted(result.changes.items())) or "no changes"
    print(
        f"imagegen customer: {result.operation} of {result.stack} {'succeeded' if result.succeeded else 'FAILED'} ({changes})"
    )
    return 0 if result.succeeded else 1


def preflight(stack: str, root: Path, *, skip: bool) -> None:
    """`imagegen doctor` before any deploy: stop on a failed check unless the partner skips it (logged)."""
    import logging
    import sys

    from imagegen_platform.cli.doctor import print_report
    from imagegen_platform.doctor import run_doctor

    if skip:
        message = f"doctor SKIPPED for {stack} (--skip-doctor): the target account was not checked"
        logging.getLogger("imagegen.deploy").warning(message)
        sys.stderr.write(f"imagegen customer: {message}\n")
        return
    report = run_doctor(stack, config_file=root / "stacks" / f"Pulumi.{stack}.yaml")
    print_report(report, sys.stderr)
    if not report.ok:
        names = ", ".join(sorted({f"{c.name} [{c.subject}]" if c.subject else c.name for c in report.failures}))
        raise CommandError(
            f"doctor found {len(report.failures)} failure(s) in the account for {stack} ({names}); nothing was "
            "deployed. Fix them (each has its remedy above) or pass --skip-doctor",
            exit_code=1,
        )
