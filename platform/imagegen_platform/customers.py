"""Customer stacks: what a partner needs to stand up a customer account, checked before anything is written.

``imagegen customer new`` turns flags into a ``CustomerRequest``; ``create_customer`` names every
problem at once (``CustomerInvalid``) or writes ``stacks/Pulumi.customer-<name>.yaml`` and
``policies/config/customer-<name>.json`` together (temp files, then two renames). The stack file has
the same shape as ``stacks/Pulumi.customer-acme.yaml`` and is validated by ``StackSettings`` before
it is written, so ``pulumi up --stack customer-<name>`` needs no hand edits.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from imagegen_service import catalogue, clock
from imagegen_service.errors import SettingsInvalid
from pydantic import ValidationError

from imagegen_platform import settings as stack_settings

STACK_PREFIX = "customer-"
TEMPLATE_POLICY_CONFIGS = ("customer.json", "customer-acme.json")
"""The policy engineer's customer template (``customer.json``), else the example customer's config."""
DEFAULT_CERTIFICATE_EXCEPTION: tuple[str, dict[str, Any]] = ("cdn-tls-minimum", {"allowDefaultCertificate": True})
ALL_MANDATORY: dict[str, Any] = {"all": "mandatory"}
"""Pulumi policy config: every policy of the pack at ``mandatory`` (used until the policy engineer's
customer template exists)."""


@dataclass(frozen=True)
class ProviderTerms:
    url: str
    version: str


# Where each provider's terms live, and the version a partner accepts unless the acceptance names
# another. Licence facts, not model facts: the catalogue has none, so they live here, once.
PROVIDER_TERMS: dict[str, ProviderTerms] = {
    "Amazon": ProviderTerms("https://aws.amazon.com/service-terms/", "current"),
    "Stability AI": ProviderTerms("https://stability.ai/community-license-agreement", "2025-07"),
}

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
_SECRET_ARN = re.compile(r"^arn:aws:secretsmanager:([a-z0-9-]+):(\d{12}):secret:[\w/+=.@-]+$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_RECORD_ID_MAX = 64
_CERT_ARN = re.compile(
    r"^arn:aws:acm:us-east-1:(\d{12}):certificate/[0-9a-f-]{36}$"
)  # settings' rule, plus the account
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HOSTED_ZONE = re.compile(r"^Z[A-Z0-9]{1,31}$")  # settings' rule
_QUOTA_CODE = re.compile(r"^L-[0-9A-F]{8}$")
_MAX_QUOTA_RPM = 100_000  # EnabledModel.quota_request_rpm's bound
_DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


class CustomerInvalid(SettingsInvalid):
    """The flags of ``customer new`` are wrong; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"refusing to write the customer stack ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class Acceptance:
    """Who accepted a model's provider terms, on which day, for which terms version."""

    accepted_by: str
    accepted_at: date
    terms_version: str | None = None


@dataclass
class CustomerRequest:
    name: str
    account_id: str
    region: str
    deploy_role_arn: str
    external_id: str
    models: list[str]
    budget_usd: float
    contacts: list[str]
    acceptances: dict[str, Acceptance]
    eula_accepted: set[str]
    partner: str
    cost_centre: str
    public_key_pem: str | None
    signing_key_secret_arn: str | None
    c2pa_secret_arn: str | None
    commercial: bool = True
    session_name: str = "imagegen-deploy"
    domain_name: str | None = None
    """Custom CDN host name; with ``certificate_arn`` (ACM, us-east-1) viewers get TLS 1.2+."""
    certificate_arn: str | None = None
    hosted_zone_id: str | None = None
    """Route 53 zone of ``domain_name``: the stack adds the alias records (else DNS is a go-live step)."""
    quota_rpm: dict[str, int] = field(default_factory=dict)
    """Service Quotas increase to request per model (requests per minute)."""
    quota_codes: dict[str, str] = field(default_factory=dict)
    """Quota code per model, where the catalogue does not know it."""
    problems: list[str] = field(default_factory=list)
    """Problems found while parsing the flags (unreadable key file, malformed --accept …)."""

    @property
    def stack(self) -> str:
        return f"{STACK_PREFIX}{self.name}"


@dataclass(frozen=True)
class CreatedCustomer:
    stack: str
    stack_file: Path
    policy_config: Path
    settings: stack_settings.StackSettings
    replaced: bool


def parse_acceptance(text: str) -> tuple[str, Acceptance]:
    """``MODEL=EMAIL[@YYYY-MM-DD][:TERMS_VERSION]`` → (model, acceptance). The date defaults to today."""
    model, sep, rest = text.partition("=")
    if not sep or not model.strip() or not rest.strip():
        raise ValueError(f"{text!r} is not MODEL=EMAIL@YYYY-MM-DD[:TERMS_VERSION]")
    rest, _, terms = rest.partition(":")
    email, when = rest, None
    head, _, tail = rest.rpartition("@")
    if head and _DATE_LIKE.match(tail):
        email, when = head, tail
    try:
        day = date.fromisoformat(when) if when else clock.today()
    except ValueError:
        raise ValueError(f"{text!r}: {when!r} is not a date (YYYY-MM-DD)") from None
    return model.strip(), Acceptance(email.strip(), day, terms.strip() or None)


# --------------------------------------------------------------------------- checks


def _check_flags(request: CustomerRequest, today: date) -> list[str]:
    """Every problem a partner can fix with a flag, each naming the flag and the rule."""
    problems = list(request.problems)
    if not _SLUG.match(request.name):
        problems.append(f"--name: {request.name!r} must be lower-case letters, digits and dashes (1–32 characters)")
    account_ok = bool(_ACCOUNT.match(request.account_id))
    if not account_ok:
        problems.append(f"--account-id: {request.account_id!r} is not a 12-digit AWS account ID")
    role = _ROLE_ARN.match(request.deploy_role_arn)
    if role is None:
        problems.append(
            f"--deploy-role-arn: {request.deploy_role_arn!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        )
    elif account_ok and role.group(1) != request.account_id:
        problems.append(
            f"--deploy-role-arn: the role is in account {role.group(1)}, not the customer account {request.account_id}"
        )
    if not _EXTERNAL_ID.match(request.external_id):
        problems.append("--external-id: 2–1224 characters of letters, digits and +=,.@:/-")
    if not _SESSION_NAME.match(request.session_name):
        problems.append("--session-name: 2–64 characters of letters, digits and +=,.@- (STS RoleSessionName)")
    try:
        stack_settings._region(request.region)
        region_ok = True
    except ValueError as error:
        problems.append(f"--region: {error}")
        region_ok = False
    problems += _check_models(request, today, region_ok)
    problems += _check_quotas(request)
    if not request.budget_usd > 0:
        problems.append(f"--budget: {request.budget_usd:g} must be more than 0 USD a month")
    if not request.contacts:
        problems.append("--contact: at least one e-mail address for budget alerts")
    for contact in request.contacts:
        problems += _email_problem("--contact", contact)
    for flag, value in (("--partner", request.partner), ("--cost-centre", request.cost_centre)):
        if not value.strip():
            problems.append(f"{flag}: must not be empty (it becomes a cost-allocation tag)")
    if request.public_key_pem is None:
        if not any(p.startswith("--public-key-file") for p in problems):
            problems.append(
                "--public-key-file: signed URLs need the CloudFront public key (RSA-2048 or ECDSA P-256 PEM)"
            )
    else:
        try:
            stack_settings.check_cloudfront_public_key(request.public_key_pem)
        except ValueError as error:
            problems.append(f"--public-key-file: {error}")
    for flag, arn in (
        ("--signing-key-secret-arn", request.signing_key_secret_arn),
        ("--c2pa-secret-arn", request.c2pa_secret_arn),
    ):
        problems += _secret_problem(flag, arn, request.account_id if account_ok else None)
    problems += _check_domain(request, request.account_id if account_ok else None)
    return problems


def _check_domain(request: CustomerRequest, account_id: str | None) -> list[str]:
    if (request.domain_name is None) != (request.certificate_arn is None):
        return ["--domain-name/--certificate-arn: give both (the CDN host name and its ACM certificate) or neither"]
    problems: list[str] = []
    if request.hosted_zone_id is not None:
        if request.domain_name is None:
            problems.append("--hosted-zone-id: DNS records need --domain-name (and --certificate-arn)")
        elif not _HOSTED_ZONE.match(request.hosted_zone_id):
            problems.append(f"--hosted-zone-id: {request.hosted_zone_id!r} is not a Route 53 hosted zone ID (Z…)")
    if request.domain_name is not None and not _DOMAIN.match(request.domain_name):
        problems.append(f"--domain-name: {request.domain_name!r} is not a lower-case DNS host name")
    if request.certificate_arn is not None:
        match = _CERT_ARN.match(request.certificate_arn)
        if match is None:
            problems.append(
                f"--certificate-arn: {request.certificate_arn!r} is not an ACM certificate ARN in us-east-1 "
                "(CloudFront only takes certificates from us-east-1)"
            )
        elif account_id is not None and match.group(1) != account_id:
            problems.append(
                f"--certificate-arn: the certificate is in account {match.group(1)}, not the customer account {account_id}"
            )
    return problems


def _check_models(request: CustomerRequest, today: date, region_ok: bool) -> list[str]:
    problems: list[str] = []
    if not request.models:
        problems.append("--model: choose at least one model (catalogue keys: " + ", ".join(catalogue.MODELS) + ")")
    known: list[catalogue.ModelSpec] = []
    for key in request.models:
        try:
            known.append(catalogue.lookup(key))
        except catalogue.UnknownModel:
            problems.append(f"--model: unknown model {key!r}; the catalogue has: {', '.join(catalogue.MODELS)}")
    seen: set[str] = set()
    for spec in known:
        if spec.key in seen:
            problems.append(f"--model: {spec.key} is given twice")
            continue
        seen.add(spec.key)
        if region_ok and request.region not in spec.regions:
            problems.append(
                f"--region: {spec.name} ({spec.key}) is not offered in {request.region}; it is in {', '.join(spec.regions)}"
            )
        end = spec.lifecycle.end_of_life
        if spec.lifecycle.status_on(today) is catalogue.Status.END_OF_LIFE and end is not None:
            problems.append(f"--model: {spec.name} ({spec.key}) reached end of life on {end.isoformat()}")
        elif spec.lifecycle.status_on(today) is catalogue.Status.LEGACY:
            unconfirmed = "" if spec.lifecycle.confirmed else " (UNCONFIRMED; the catalogue takes the safe side)"
            problems.append(
                f"--model: {spec.name} ({spec.key}) is Legacy since {spec.lifecycle.legacy_since}{unconfirmed}: AWS "
                "does not let a new account start on a Legacy model (policy legacy-model-in-production); choose an Active model"
            )
        acceptance = request.acceptances.get(spec.key) or request.acceptances.get(spec.model_id)
        if acceptance is None:
            problems.append(f"--accept: no licence acceptance for {spec.key} (--accept {spec.key}=EMAIL@YYYY-MM-DD)")
        else:
            problems += _email_problem(f"--accept {spec.key}", acceptance.accepted_by)
            if acceptance.accepted_at > today:
                problems.append(f"--accept {spec.key}: acceptance date {acceptance.accepted_at} is in the future")
        if spec.requires_eula and not ({spec.key, spec.model_id} & request.eula_accepted):
            problems.append(
                f"--accept-eula: {spec.key} is a {spec.provider} model; its EULA must be accepted (--accept-eula {spec.key})"
            )
    chosen = {spec.key for spec in known} | {spec.model_id for spec in known}
    for key in request.acceptances:
        if key not in chosen and key not in request.models:
            problems.append(f"--accept: {key} is not one of the chosen --model values")
    for key in sorted(request.eula_accepted):
        if key not in chosen and key not in request.models:
            problems.append(f"--accept-eula: {key} is not one of the chosen --model values")
    return problems


def _check_quotas(request: CustomerRequest) -> list[str]:
    """Quota increases: only for chosen, adjustable models, above the default, with a known quota code."""
    problems: list[str] = []
    chosen: dict[str, catalogue.ModelSpec] = {}
    for key in request.models:
        try:
            spec = catalogue.lookup(key)
        except catalogue.UnknownModel:
            continue
        chosen[key] = chosen[spec.key] = spec
    for key, code in request.quota_codes.items():
        if key not in chosen:
            problems.append(f"--quota-code: {key} is not one of the chosen --model values")
        elif not _QUOTA_CODE.match(code):
            problems.append(f"--quota-code {key}: {code!r} is not a quota code like L-7DBB06FD")
    for key, rpm in request.quota_rpm.items():
        if key not in chosen:
            problems.append(f"--quota-rpm: {key} is not one of the chosen --model values")
            continue
        spec = chosen[key]
        if not spec.quota.adjustable:
            problems.append(
                f"--quota-rpm {key}: the {spec.name} quota ({spec.quota.default_rpm} RPM) is not adjustable"
            )
        elif not spec.quota.default_rpm < rpm <= _MAX_QUOTA_RPM:
            problems.append(
                f"--quota-rpm {key}: {rpm} must be above the default {spec.quota.default_rpm} RPM "
                f"(only increases can be requested) and at most {_MAX_QUOTA_RPM:,}"
            )
        elif spec.quota.code is None and key not in request.quota_codes and spec.key not in request.quota_codes:
            problems.append(
                f"--quota-code: {key} needs its quota code (the catalogue has none); look it up with "
                "aws service-quotas list-service-quotas --service-code bedrock"
            )
    return problems


def _email_problem(flag: str, value: str) -> list[str]:
    try:
        stack_settings._email(value)
    except ValueError as error:
        return [f"{flag}: {error}"]
    return []


def _secret_problem(flag: str, arn: str | None, account_id: str | None) -> list[str]:
    if arn is None:
        return [f"{flag}: required (a Secrets Manager secret ARN in the customer account)"]
    match = _SECRET_ARN.match(arn)
    if match is None:
        return [f"{flag}: {arn!r} is not a Secrets Manager secret ARN"]
    # The functions read it with their own role: a secret in another account would need a resource
    # policy and a customer-managed KMS key, which this blueprint does not create.
    if account_id is not None and match.group(2) != account_id:
        return [f"{flag}: the secret is in account {match.group(2)}, not the customer account {account_id}"]
    return []


# --------------------------------------------------------------------------- the stack document


def record_id(name: str, model: str) -> str:
    """Licence record id; long names keep a readable prefix plus a hash so ids stay unique and ≤ 64."""
    full = f"{STACK_PREFIX}{name}-{model}"
    if len(full) <= _RECORD_ID_MAX:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: _RECORD_ID_MAX - 9].rstrip('-')}-{digest}"


PERMISSIONS_BOUNDARY_NAME = "imagegen-permissions-boundary"
"""The managed policy in the customer's account that caps the function roles (created with the deploy role)."""


def stack_document(request: CustomerRequest) -> dict[str, Any]:
    """The stack file as data: ``config: {aws:region, imagegen:settings}``, like customer-acme."""
    models = []
    for key in request.models:
        spec = catalogue.lookup(key)
        acceptance = request.acceptances.get(spec.key) or request.acceptances[spec.model_id]
        terms = PROVIDER_TERMS[spec.provider]
        quota: dict[str, Any] = {}
        rpm = request.quota_rpm.get(spec.key) or request.quota_rpm.get(key)
        if rpm is not None:
            quota["quota_request_rpm"] = rpm
            code = request.quota_codes.get(spec.key) or request.quota_codes.get(key)
            if code is not None:
                quota["quota_code"] = code
        models.append(
            {
                "model": spec.key,
                **quota,
                "licence": {
                    "record_id": record_id(request.name, spec.key),
                    "provider": spec.provider,
                    "terms_version": acceptance.terms_version or terms.version,
                    "terms_url": terms.url,
                    "commercial_use": request.commercial,
                    "accepted_by": acceptance.accepted_by,
                    "accepted_at": acceptance.accepted_at,
                    "eula_accepted": bool({spec.key, spec.model_id} & request.eula_accepted),
                },
            }
        )
    imagegen: dict[str, Any] = {
        "environment": "customer",
        "commercial": request.commercial,
        "models": models,
        "budget": {"monthly_usd": request.budget_usd, "emails": list(request.contacts)},
        "delivery": {
            "signed_urls": True,
            "url_ttl_seconds": 3600,
            "private_key_secret_arn": request.signing_key_secret_arn,
            "public_key_pem": request.public_key_pem,
            **(
                {
                    "domain_name": request.domain_name,
                    "certificate_arn": request.certificate_arn,
                    **({"hosted_zone_id": request.hosted_zone_id} if request.hosted_zone_id else {}),
                }
                if request.certificate_arn
                else {}
            ),
        },
        "moderation": {"enabled": True, "image_min_confidence": 80, "guardrail": {"filter_strength": "HIGH"}},
        "provenance": {"c2pa_enabled": True, "signing_secret_arn": request.c2pa_secret_arn},
        # Customer stacks must carry a permissions boundary (policy iam-permissions-boundary, customer.json).
        "iam": {"permissions_boundary_arn": f"arn:aws:iam::{request.account_id}:policy/{PERMISSIONS_BOUNDARY_NAME}"},
        "customer": {
            "name": request.name,
            "account_id": request.account_id,
            "deploy_role_arn": request.deploy_role_arn,
            "external_id": request.external_id,
            "session_name": request.session_name,
            "partner": request.partner,
            "cost_centre": request.cost_centre,
        },
    }
    return {"config": {stack_settings.REGION_KEY: request.region, stack_settings.SETTINGS_KEY: imagegen}}


def _validated(document: dict[str, Any], source: str) -> stack_settings.StackSettings:
    """The same validation ``load_stack`` applies, on the document before it is written."""
    # Round-trip through YAML so dates and strings are exactly what the file will hold.
    config = yaml.safe_load(render_stack_file(document, source))["config"]
    from imagegen_platform import constraints

    try:
        validated = stack_settings.settings_from_config(config, source=source)
    except SettingsInvalid as error:
        raise CustomerInvalid([error.message]) from None
    except ValidationError as error:  # pragma: no cover - parse_settings converts these already
        raise CustomerInvalid([str(error)]) from None
    stack = f"{STACK_PREFIX}{validated.customer.name}" if validated.customer else source
    problems = constraints.settings_problems(validated, stack)
    if problems:
        raise CustomerInvalid(problems)
    return validated


class _BlockLiteralDumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockLiteralDumper.add_representer(str, _str_representer)


def render_stack_file(document: dict[str, Any], stack: str) -> str:
    header = f"# Stack '{stack}': written by `imagegen customer new`; validated by imagegen_platform.settings.StackSettings.\n"
    body = yaml.dump(document, Dumper=_BlockLiteralDumper, sort_keys=False, default_flow_style=False, width=200)
    return header + body


# --------------------------------------------------------------------------- writing


def policy_config_for_customer(config_dir: Path) -> dict[str, Any]:
    """The customer policy template when the policy engineer has written one, else every policy mandatory."""
    for name in TEMPLATE_POLICY_CONFIGS:
        template = config_dir / name
        if template.exists():
            loaded = json.loads(template.read_text())
            if isinstance(loaded, dict):
                return loaded
    return dict(ALL_MANDATORY)


@dataclass(frozen=True)
class Layout:
    """Where stack files and policy configs live: ``<root>/stacks`` and ``<root>/policies/config`` by default."""

    stacks_dir: Path
    policy_config_dir: Path

    @classmethod
    def of(cls, root: Path, stacks_dir: Path | None = None, policy_config_dir: Path | None = None) -> Layout:
        return cls(stacks_dir or root / "stacks", policy_config_dir or root / "policies" / "config")


def create_customer(request: CustomerRequest, *, root: Path | Layout, force: bool = False) -> CreatedCustomer:
    """Check everything, then write the stack file and its policy config together, or nothing."""
    layout = root if isinstance(root, Layout) else Layout.of(root)
    stacks_dir, config_dir = layout.stacks_dir, layout.policy_config_dir
    stack_path = stacks_dir / f"Pulumi.{request.stack}.yaml"
    policy_path = config_dir / f"{request.stack}.json"
    problems = _check_flags(request, clock.today())
    exists = stack_path.exists()
    if exists and not force:
        problems.append(f"--name: {stack_path} already exists; pass --force to replace it")
    if problems:
        raise CustomerInvalid(problems)
    document = stack_document(request)
    validated = _validated(document, str(stack_path))
    stack_text = render_stack_file(document, request.stack)
    policy_config = policy_config_for_customer(config_dir)
    if (
        request.certificate_arn is not None
        and policy_config.get(DEFAULT_CERTIFICATE_EXCEPTION[0]) == DEFAULT_CERTIFICATE_EXCEPTION[1]
    ):
        # The template lets customer stacks use CloudFront's default certificate until they have a
        # domain; this one has its own certificate, so it is held to TLS 1.2+ like customer-acme.
        del policy_config[DEFAULT_CERTIFICATE_EXCEPTION[0]]
    policy_text = json.dumps(policy_config, indent=2, sort_keys=True) + "\n"
    _write_together([(stack_path, stack_text), (policy_path, policy_text)])
    return CreatedCustomer(request.stack, stack_path, policy_path, validated, replaced=exists)


def _write_together(files: Sequence[tuple[Path, str]]) -> None:
    """Write each file to a temp file beside it, then rename them all (same directory: atomic renames).

    If a later rename fails, the earlier ones are rolled back to what was there before, so a failed
    ``customer new`` leaves a stack without its policy config (or the reverse) never.
    """
    staged: list[tuple[Path, Path]] = []
    previous: dict[Path, str | None] = {}
    renamed: list[Path] = []
    try:
        for path, text in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(handle, "w") as stream:
                stream.write(text)
            staged.append((Path(temp_name), path))
            previous[path] = path.read_text() if path.is_file() else None
        try:
            for temp, path in staged:
                os.replace(temp, path)
                renamed.append(path)
        except OSError:
            for path in renamed:
                before = previous[path]
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_text(before)
            raise
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class CustomerStack:
    stack: str
    account_id: str | None
    region: str | None
    models: list[str]
    partner: str | None
    policy_status: str
    """``compliant``, ``N mandatory violation(s)``, ``invalid settings`` or ``preview unavailable``."""
    mandatory_violations: int | None
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "account_id": self.account_id,
            "region": self.region,
            "models": self.models,
            "partner": self.partner,
            "policy_status": self.policy_status,
            "mandatory_violations": self.mandatory_violations,
            "problem": self.problem,
        }


def customer_stacks(stacks_dir: Path) -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stacks_dir.glob(f"Pulumi.{STACK_PREFIX}*.yaml")
    )


def describe_customers(root: Path | Layout, *, with_policies: bool = True) -> list[CustomerStack]:
    """Every customer stack (``Pulumi.customer-*.yaml``) with its account, region, models and policy status."""
    layout = root if isinstance(root, Layout) else Layout.of(root)
    rows = []
    for stack in customer_stacks(layout.stacks_dir):
        path = layout.stacks_dir / f"Pulumi.{stack}.yaml"
        try:
            _, settings = stack_settings.load_stack(stack, path)
        except SettingsInvalid as error:
            rows.append(CustomerStack(stack, None, None, [], None, "invalid settings", None, error.message))
            continue
        customer = settings.customer
        policy_config = layout.policy_config_dir / f"{stack}.json"
        status, violations, problem = (
            _policy_status(stack, path, policy_config) if with_policies else ("not checked", None, None)
        )
        rows.append(
            CustomerStack(
                stack=stack,
                account_id=customer.account_id if customer else None,
                region=settings.region,
                models=[m.model for m in settings.models],
                partner=customer.partner if customer else None,
                policy_status=status,
                mandatory_violations=violations,
                problem=problem,
            )
        )
    return rows


def _policy_status(stack: str, path: Path, policy_config: Path) -> tuple[str, int | None, str | None]:
    """Run the offline preview (program under mocks + policy pack) and count mandatory violations."""
    try:
        from imagegen_platform import preview
    except ImportError:
        return "preview unavailable", None, "imagegen_platform.preview is not installed"
    try:
        result = preview.run_preview(stack, config_file=path)
    except SettingsInvalid as error:
        return "invalid settings", None, error.message
    policies = result["policies"]
    if policy_config.exists() and policies.get("config") != str(policy_config):
        # The pack reads the config/ of its own checkout; judge this stack by the config beside it.
        from imagegen_policies.offline import evaluate

        policies = evaluate({k: result[k] for k in ("stack", "resources", "outputs")}, stack, config=policy_config)
    violations = int(policies["mandatory_violations"])
    status = "compliant" if violations == 0 else f"{violations} mandatory violation(s)"
    return status, violations, None
