"""Stack settings: one pydantic model for everything a stack can set.

The Pulumi program, the policy pack, the local platform and the CLI all read the same validated
object. Bad settings fail before any resource is declared, with one message naming every invalid
field (``SettingsInvalid``; the CLI exits 2).

A stack file (``stacks/Pulumi.<stack>.yaml``) holds ``aws:region`` and ``imagegen:settings``.
Whatever the policy pack judges (moderation off in prod, a Stability EULA not accepted …) stays
expressible here on purpose: settings check shape and facts, the pack checks compliance.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from imagegen_service import catalogue
from imagegen_service.errors import SettingsInvalid
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT = "imagegen"
SETTINGS_KEY = f"{PROJECT}:settings"
REGION_KEY = "aws:region"

Environment = Literal["local", "dev", "staging", "prod", "customer"]

# The Rekognition confidence a stack may set: below 50 Rekognition returns nothing extra
# (its default floor), above 90 too much unsafe content would pass.
MIN_CONFIDENCE_FLOOR = 50.0
MIN_CONFIDENCE_CEILING = 90.0
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
LOCAL_GENERATED_KEY = "generate-local"
"""``delivery.public_key_pem`` value for the ``local`` stack: the local platform makes a key pair
under ``.imagegen/`` (git-ignored), so no private key is ever committed."""

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_REGION = re.compile(r"^(us|eu|ap|ca|sa|me|af|il|mx)(-gov)?-(north|south|east|west|central|northeast|southeast|northwest|southwest)-\d$")  # fmt: skip
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
_SECRET_ARN = re.compile(r"^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$")
_POLICY_ARN = re.compile(r"^arn:aws:iam::(\d{12}|aws):policy/[\w+=,.@/-]{1,512}$")
_CERT_ARN = re.compile(r"^arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$")
_RATIO = re.compile(r"^(\d{1,2}):(\d{1,2})$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError(f"{value!r} is not an AWS region name (like us-east-1)")
    return value


Email = Annotated[str, AfterValidator(_email)]
Region = Annotated[str, AfterValidator(_region)]


ModelKey = Annotated[str, AfterValidator(catalogue.model_key)]
"""A catalogue key; a Bedrock model ID is accepted and normalised to its key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class LicenceRecord(_Model):
    """Who accepted which provider terms, when. Written to DynamoDB and stamped on every image."""

    record_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")
    provider: str = Field(min_length=1)
    terms_version: str = Field(min_length=1)
    terms_url: str = Field(pattern=r"^https://\S+$")
    commercial_use: bool
    accepted_by: Email
    accepted_at: date
    eula_accepted: bool = False

    @field_validator("accepted_at")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError(f"acceptance date {value} is in the future")
        return value


class EnabledModel(_Model):
    model: ModelKey
    region: Region | None = None  # None: the stack region (must offer the model)
    licence: LicenceRecord
    quota_request_rpm: int | None = Field(default=None, gt=0, le=100_000)
    quota_code: str | None = Field(default=None, pattern=r"^L-[0-9A-F]{8}$")
    # Where the fleet's pace for this model starts (RPM) without asking AWS for anything: the controller
    # learns the real rate from throttles but never goes below a quarter of its start (pacing.FLOOR_SHARE),
    # so an account that serves far less than the requested or default figure wants this set near it.
    pace_start_rpm: int | None = Field(default=None, gt=0, le=100_000)

    @property
    def spec(self) -> catalogue.ModelSpec:
        return catalogue.MODELS[self.model]

    @model_validator(mode="after")
    def _quota_code_known(self) -> EnabledModel:
        if self.quota_request_rpm is not None:
            spec = self.spec
            if not spec.quota.adjustable:
                raise ValueError(f"quota_request_rpm: the {spec.name} quota is not adjustable")
            if self.quota_code is None and spec.quota.code is None:
                raise ValueError(
                    "quota_code: the catalogue has no confirmed quota code for "
                    f"{spec.name}; look it up (aws service-quotas list-service-quotas --service-code bedrock)"
                )
        return self

    @property
    def effective_quota_code(self) -> str | None:
        return self.quota_code or self.spec.quota.code


class DeniedTopic(_Model):
    name: str = Field(min_length=1, max_length=100)
    definition: str = Field(min_length=1, max_length=200)
    examples: list[str] = Field(default_factory=list, max_length=5)


class GuardrailSettings(_Model):
    filter_strength: Literal["LOW", "MEDIUM", "HIGH"] = "HIGH"
    denied_topics: list[DeniedTopic] = Field(default_factory=list, max_length=30)
    blocked_words: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list)
    profanity_filter: bool = True
    blocked_input_message: str = Field(default="This request was blocked by the content policy.", max_length=500)
    blocked_output_message: str = Field(default="The response was blocked by the content policy.", max_length=500)


class ModerationSettings(_Model):
    enabled: bool = True
    guardrail: GuardrailSettings = GuardrailSettings()
    image_min_confidence: float = Field(default=80.0, ge=0, le=100)
    """Rekognition DetectModerationLabels MinConfidence; the policy pack judges the allowed range."""


class DeliverySettings(_Model):
    signed_urls: bool = True
    public_key_pem: str | None = None
    private_key_secret_arn: str | None = None
    url_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_100"
    domain_name: str | None = Field(
        default=None, max_length=253, pattern=r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
    )
    """Custom CDN host name. Without it CloudFront's default certificate pins viewers to TLSv1,
    whatever minimum protocol version is set, so production stacks need one (the policy pack checks)."""
    certificate_arn: str | None = None
    """ACM certificate for ``domain_name``; CloudFront only takes certificates in us-east-1."""
    hosted_zone_id: str | None = Field(default=None, pattern=r"^Z[A-Z0-9]{1,31}$")
    """Route 53 hosted zone of ``domain_name``: the program adds the A/AAAA alias records to the
    distribution. Without it the DNS record is a go-live step at the partner's DNS provider."""

    @field_validator("public_key_pem")
    @classmethod
    def _cloudfront_key(cls, value: str | None) -> str | None:
        if value is None or value == LOCAL_GENERATED_KEY:
            return value
        check_cloudfront_public_key(value)
        # str_strip_whitespace removed the PEM's final newline; CloudFront stores the key with it
        # (aws.cloudfront.PublicKey docs: "encoded_key … needs a newline at the end"), and a key
        # without it is read back as a diff and replaced on every deploy (new key ID: signed URLs 403).
        return value + "\n"

    @field_validator("private_key_secret_arn")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None and not _SECRET_ARN.match(value):
            raise ValueError(f"{value!r} is not a Secrets Manager secret ARN")
        return value

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str | None) -> str | None:
        if value is not None and not _CERT_ARN.match(value):
            raise ValueError(f"{value!r} is not an ACM certificate ARN in us-east-1 (CloudFront needs us-east-1)")
        return value

    @model_validator(mode="after")
    def _key_when_signing(self) -> DeliverySettings:
        if (self.domain_name is None) != (self.certificate_arn is None):
            raise ValueError("domain_name and certificate_arn go together: set both or neither")
        if self.hosted_zone_id is not None and self.domain_name is None:
            raise ValueError("hosted_zone_id: a DNS record needs domain_name (and its certificate_arn)")
        if self.signed_urls and self.public_key_pem is None:
            raise ValueError("public_key_pem: signed URLs need the CloudFront public key (RSA-2048 or ECDSA P-256 PEM)")
        return self


def check_cloudfront_public_key(pem: str) -> None:
    """CloudFront takes RSA 2048 or ECDSA P-256 public keys in PEM (API_PublicKey)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        raise ValueError("not a PEM public key (expected '-----BEGIN PUBLIC KEY-----')") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048:
        return
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return
    raise ValueError("CloudFront accepts only RSA-2048 or ECDSA P-256 public keys")


class ApiSettings(_Model):
    auth: Literal["iam", "jwt"] = "iam"
    jwt_issuer: str | None = Field(default=None, pattern=r"^https://\S+$")
    jwt_audience: list[str] = Field(default_factory=list)
    throttle_rate_per_second: float | None = Field(default=None, gt=0, le=10_000)
    throttle_burst: int | None = Field(default=None, gt=0, le=5_000)
    sync_timeout_seconds: int = Field(default=29, ge=3, le=29)  # API Gateway's integration ceiling
    max_body_bytes: int = Field(default=6 * 1024 * 1024, ge=1024, le=6 * 1024 * 1024)  # Lambda payload limit

    @model_validator(mode="after")
    def _jwt_complete(self) -> ApiSettings:
        if self.auth == "jwt" and (self.jwt_issuer is None or not self.jwt_audience):
            raise ValueError("jwt_issuer and jwt_audience are required when auth is 'jwt'")
        return self


class BudgetSettings(_Model):
    monthly_usd: float = Field(gt=0)
    emails: list[Email] = Field(min_length=1)
    actual_thresholds_pct: list[Annotated[float, Field(gt=0, le=1000)]] = Field(default_factory=lambda: [80.0, 100.0])
    forecast_thresholds_pct: list[Annotated[float, Field(gt=0, le=1000)]] = Field(default_factory=lambda: [100.0])


class WorkerSettings(_Model):
    timeout_seconds: int = Field(default=120, ge=30, le=900)
    memory_mb: int = Field(default=2048, ge=512, le=10_240)
    batch_size: int = Field(default=5, ge=1, le=10)
    max_concurrency: int | None = Field(default=None, ge=2, le=1000)
    """None: derived from the enabled models' RPM quotas (see ``quotas.worker_concurrency``)."""
    max_receive_count: int = Field(default=5, ge=1, le=1000)


class IamSettings(_Model):
    permissions_boundary_arn: str | None = None
    """Managed policy set as the permissions boundary of the function roles: whoever can deploy can
    edit the roles' inline policies, the boundary caps what any edit can grant (partner deploys)."""

    @field_validator("permissions_boundary_arn")
    @classmethod
    def _policy_arn(cls, value: str | None) -> str | None:
        if value is not None and not _POLICY_ARN.match(value):
            raise ValueError(f"{value!r} is not an IAM managed policy ARN (arn:aws:iam::<account>:policy/<name>)")
        return value


class ProvenanceSettings(_Model):
    c2pa_enabled: bool = True
    signing_secret_arn: str | None = None
    """Secrets Manager secret with the C2PA leaf certificate chain and key (deployed stacks)."""

    @field_validator("signing_secret_arn")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None and not _SECRET_ARN.match(value):
            raise ValueError(f"{value!r} is not a Secrets Manager secret ARN")
        return value


INPUTS_MIN_EXPIRY_DAYS = 5
"""Caller-supplied images (``inputs/``) must outlive the jobs queue's 4-day message retention
(components/queue.py ``JOBS_RETENTION_SECONDS``; a test keeps the two in step) plus a day."""


class StorageSettings(_Model):
    draft_expiry_days: int = Field(default=30, ge=1, le=3650)
    quarantine_expiry_days: int = Field(default=90, ge=1, le=3650)
    inputs_expiry_days: int = Field(default=7, ge=INPUTS_MIN_EXPIRY_DAYS, le=3650)
    log_retention_days: int = 30

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch accepts only {', '.join(map(str, LOG_RETENTION_DAYS))}")
        return value


class CustomerSettings(_Model):
    name: str
    account_id: str
    deploy_role_arn: str
    external_id: str = Field(min_length=2, max_length=1224, pattern=r"^[\w+=,.@:/-]+$")
    session_name: str = Field(default="imagegen-deploy", pattern=r"^[\w+=,.@-]{2,64}$")
    partner: str = Field(min_length=1)
    cost_centre: str = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("must be lower-case letters, digits and dashes (1–32 characters)")
        return value

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        if not _ACCOUNT.match(value):
            raise ValueError(f"{value!r} is not a 12-digit AWS account ID")
        return value

    @model_validator(mode="after")
    def _role_in_account(self) -> CustomerSettings:
        match = _ROLE_ARN.match(self.deploy_role_arn)
        if match is None:
            raise ValueError(f"deploy_role_arn: {self.deploy_role_arn!r} is not an IAM role ARN")
        if match.group(1) != self.account_id:
            raise ValueError(f"deploy_role_arn: the role is in account {match.group(1)}, not {self.account_id}")
        return self


class Preset(_Model):
    """A product line's prompt recipe, in the guide's order: subject → composition → lighting → medium → quality."""

    template: str = Field(min_length=1, max_length=2000)
    negative_prompt: str | None = Field(default=None, max_length=10_000)
    cfg_scale: float | None = None
    style: str | None = None
    quality: catalogue.Quality | None = None

    @field_validator("template")
    @classmethod
    def _has_subject(cls, value: str) -> str:
        if "{subject}" not in value:
            raise ValueError("the template needs a {subject} placeholder")
        return value


def _aspect_ratio(value: str) -> str:
    match = _RATIO.match(value)
    if match is None or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise ValueError(f"{value!r} is not an aspect ratio like 16:9")
    return value


AspectRatio = Annotated[str, AfterValidator(_aspect_ratio)]

GUIDE_JOBS = (
    "cut-out",
    "hero",
    "composition-locked",
    "thumbnail",
    "typography",
    "edit-in-place",
    "provenance",
)
"""The guide's "which model for which job" rows: ecommerce cut-outs at volume, hero / lifestyle
marketing imagery, composition-locked product shots, high-volume thumbnails, in-image typography,
edit-in-place workflows, provenance / watermark required."""
_JOB_NAME = r"^[a-z][a-z0-9-]{0,31}$"


class Route(_Model):
    """A job type's model, task, preset and quality tier: callers send ``"job": "hero"``, not a model key."""

    model: ModelKey
    task: catalogue.Task | None = None
    """None: the model's only task, or text-to-image."""
    preset: str | None = None
    tier: catalogue.Quality | None = None
    """Amazon quality tier (standard | premium); only for models that take one."""

    @property
    def spec(self) -> catalogue.ModelSpec:
        return catalogue.MODELS[self.model]

    @property
    def effective_task(self) -> catalogue.Task:
        if self.task is not None:
            return self.task
        spec = self.spec
        return spec.tasks[0] if len(spec.tasks) == 1 else catalogue.Task.TEXT_TO_IMAGE

    def as_runtime(self) -> dict[str, str]:
        """What the API reads (``IMAGEGEN_ROUTES``): plain strings, defaults resolved."""
        out = {"model": self.model, "task": self.effective_task.value}
        if self.preset is not None:
            out["preset"] = self.preset
        if self.tier is not None:
            out["quality"] = self.tier.value
        return out


class StackSettings(_Model):
    environment: Environment
    region: Region
    name_prefix: str = Field(default=PROJECT, pattern=r"^[a-z][a-z0-9-]{1,20}$")
    commercial: bool = True
    user_generated_content: bool = True
    """The stack takes prompts or images from end users: moderation and signed delivery apply."""
    models: list[EnabledModel] = Field(min_length=1)
    moderation: ModerationSettings = ModerationSettings()
    delivery: DeliverySettings
    api: ApiSettings = ApiSettings()
    budget: BudgetSettings
    worker: WorkerSettings = WorkerSettings()
    provenance: ProvenanceSettings = ProvenanceSettings()
    iam: IamSettings = IamSettings()
    storage: StorageSettings = StorageSettings()
    customer: CustomerSettings | None = None
    presets: dict[str, Preset] = Field(default_factory=dict)
    routes: dict[Annotated[str, Field(pattern=_JOB_NAME)], Route] = Field(default_factory=dict)
    """Job type → model, task, preset and tier (``GUIDE_JOBS`` are the guide's seven)."""
    channel_formats: dict[str, AspectRatio] = Field(
        default_factory=lambda: {"square": "1:1", "story": "9:16", "banner": "21:9", "wide": "16:9"}
    )
    tags: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _cross_field(self) -> StackSettings:
        problems: list[str] = []
        seen: set[str] = set()
        for index, enabled in enumerate(self.models):
            if enabled.model in seen:
                problems.append(f"models[{index}].model: {enabled.model} is enabled twice")
            seen.add(enabled.model)
            region = enabled.region or self.region
            if region not in enabled.spec.regions:
                where = "region" if enabled.region else "region (defaults to the stack region)"
                problems.append(
                    f"models[{index}].{where}: {enabled.spec.name} is not offered in {region}; "
                    f"it is in {', '.join(enabled.spec.regions)}"
                )
        if self.environment == "customer" and self.customer is None:
            problems.append("customer: a customer stack needs the customer block (account, deploy role, external id)")
        if self.environment != "customer" and self.customer is not None:
            problems.append("customer: only stacks with environment 'customer' may set a customer block")
        problems += self._route_problems()
        if self.delivery.public_key_pem == LOCAL_GENERATED_KEY and self.environment != "local":
            problems.append(f"delivery.public_key_pem: {LOCAL_GENERATED_KEY!r} is only for the local stack")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def arn_accounts(self) -> dict[str, str]:
        """The account each account-bearing ARN of the settings names, by field."""
        found: dict[str, str] = {}
        for where, arn in (
            ("delivery.private_key_secret_arn", self.delivery.private_key_secret_arn),
            ("delivery.certificate_arn", self.delivery.certificate_arn),
            ("provenance.signing_secret_arn", self.provenance.signing_secret_arn),
            ("iam.permissions_boundary_arn", self.iam.permissions_boundary_arn),
            ("customer.deploy_role_arn", self.customer.deploy_role_arn if self.customer else None),
        ):
            parts = arn.split(":") if arn else []
            if len(parts) > 4 and _ACCOUNT.match(parts[4]):  # AWS-managed policies name "aws"
                found[where] = parts[4]
        return found

    @property
    def account_id(self) -> str | None:
        """The one account this stack deploys to: the customer's, else the one its ARNs name.

        The provider refuses every other account (``allowed_account_ids``), so a stack file whose
        ARNs name one account can never be applied with credentials of another; ARNs the program
        builds take the account from the caller identity (or the customer block).
        """
        if self.customer is not None:
            return self.customer.account_id
        return next(iter(self.arn_accounts().values()), None)

    def account_problems(self) -> list[str]:
        """ARNs naming an account other than the stack's (a deploy constraint, ``constraints``).

        Not a validation error of the settings themselves: ``imagegen doctor`` loads such a stack
        and reports the mismatch as a failed check against the caller's account.
        """
        expected = self.customer.account_id if self.customer else None
        problems = []
        for where, account in self.arn_accounts().items():
            if expected is None:
                expected = account
            elif account != expected:
                owner = "the customer account" if self.customer else "the stack's other ARNs"
                problems.append(f"{where}: names account {account}, but {owner} is {expected} (one stack, one account)")
        return problems

    def _route_problems(self) -> list[str]:
        """Each route must target a model this stack enables (its licence record), that can do the task."""
        from imagegen_service import clock

        problems: list[str] = []
        today = clock.today()
        for job, route in self.routes.items():
            where = f"routes.{job}"
            spec, enabled = route.spec, self.enabled(route.model)
            if enabled is None:
                problems.append(
                    f"{where}.model: {route.model} is not enabled in this stack (no licence record under models)"
                )
                continue
            # Commercial use of the licence is the policy pack's to judge (licence rules), like any model's.
            if not spec.supports(route.effective_task):
                tasks = ", ".join(t.value for t in spec.tasks)
                problems.append(f"{where}.task: {spec.name} does not do {route.effective_task.value}; it does: {tasks}")
            if route.preset is not None and route.preset not in self.presets:
                known = ", ".join(sorted(self.presets)) or "none"
                problems.append(f"{where}.preset: unknown preset {route.preset!r}; this stack has: {known}")
            if route.tier is not None and route.tier not in spec.limits.qualities:
                problems.append(f"{where}.tier: {spec.name} has no quality tiers; leave tier out")
            if spec.lifecycle.status_on(today) is catalogue.Status.END_OF_LIFE:
                problems.append(f"{where}.model: {spec.name} reached end of life on {spec.lifecycle.end_of_life}")
        return problems

    def model_region(self, enabled: EnabledModel) -> str:
        return enabled.region or self.region

    def enabled(self, key: str) -> EnabledModel | None:
        return next((m for m in self.models if m.model == key), None)

    @property
    def is_production(self) -> bool:
        return self.environment in ("prod", "customer")


# --------------------------------------------------------------------------- loading


def format_validation_error(error: ValidationError, *, source: str) -> str:
    """One message naming every invalid field and the rule it broke."""
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "settings"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  - {location}: {message}")
    return f"{source}: the stack settings are invalid ({len(lines)} problem(s)):\n" + "\n".join(lines)


def parse_settings(raw: dict[str, Any], *, source: str = "settings") -> StackSettings:
    try:
        return StackSettings.model_validate(raw)
    except ValidationError as error:
        raise SettingsInvalid(format_validation_error(error, source=source)) from None


def settings_from_config(config: dict[str, Any], *, source: str) -> StackSettings:
    """Build settings from a stack file's ``config:`` block (``aws:region`` + ``imagegen:settings``)."""
    raw = config.get(SETTINGS_KEY)
    if not isinstance(raw, dict):
        raise SettingsInvalid(f"{source}: {SETTINGS_KEY} is missing or not a mapping")
    merged = dict(raw)
    if REGION_KEY in config:
        if "region" in merged and merged["region"] != config[REGION_KEY]:
            raise SettingsInvalid(
                f"{source}: region ({merged['region']}) differs from {REGION_KEY} ({config[REGION_KEY]})"
            )
        merged["region"] = config[REGION_KEY]
    return parse_settings(merged, source=source)


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a Pulumi stack file, with a clear error for a missing or broken file."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SettingsInvalid(f"{path}: no such stack file") from None
    except yaml.YAMLError as error:
        raise SettingsInvalid(f"{path}: not valid YAML ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise SettingsInvalid(f"{path}: a stack file needs a top-level 'config:' mapping")
    return document["config"]


def repo_root() -> Path:
    """The checkout holding Pulumi.yaml (``IMAGEGEN_ROOT`` overrides, for installed copies)."""
    override = os.environ.get("IMAGEGEN_ROOT")
    if override:
        return Path(override)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "Pulumi.yaml").exists():
            return parent
    return Path.cwd()


def stack_file(stack: str) -> Path:
    return repo_root() / "stacks" / f"Pulumi.{stack}.yaml"


def stack_names() -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (repo_root() / "stacks").glob("Pulumi.*.yaml")
    )


def load_stack(stack: str, config_file: Path | None = None) -> tuple[dict[str, Any], StackSettings]:
    """Read and validate a stack: its raw config (for the program's mocks) and its settings."""
    path = config_file or stack_file(stack)
    config = read_stack_file(path)
    return config, settings_from_config(config, source=str(path))
