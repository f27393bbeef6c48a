"""`imagegen doctor`: will `pulumi up` and the first generation work in this account?

A read-only preflight of the target account, with the credentials a deploy of the stack would use
(for customer stacks, the deploy role assumed with its external ID and session name, exactly as the
program's provider assumes it). Each check passes, warns or fails and says what to do; the report
fails when any check fails. Only Get/List/Describe calls are made (``DOCTOR_ACTIONS``).

Checks, in order:
- ``deploy-role``: the role can be assumed (customer stacks);
- ``account``: the caller's account is the stack's account, and every ARN in the settings names it;
- per enabled model: ``model-offered`` (ListFoundationModels and the region in
  GetFoundationModelAvailability), ``model-lifecycle`` (GetFoundationModel against the catalogue),
  ``model-access`` (agreement, authorization and entitlement from GetFoundationModelAvailability);
- ``certificate``: ISSUED, in us-east-1, covering the custom domain;
- ``secret``: each secret the stack names exists and holds a value;
- ``quota``: each model's RPM quota code exists, with its value against the planned capacity;
- ``guardrail``: the guardrail's features (image content filters) are offered in the stack region.

Then the go-live steps that cannot be code (Marketplace subscriptions, DNS at another provider), in
the order a partner runs them. Every AWS client honours ``AWS_ENDPOINT_URL_<SERVICE>``, which is how
the tests point it at moto server and the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

from imagegen_service import catalogue, clock
from imagegen_service.errors import SettingsInvalid

from imagegen_platform import capacity
from imagegen_platform.settings import EnabledModel, StackSettings, load_stack

Status = Literal["pass", "warn", "fail"]
CLOUDFRONT_CERTIFICATE_REGION = "us-east-1"  # CloudFront takes ACM certificates only from us-east-1
MARKETPLACE_ACTIONS = ("aws-marketplace:Subscribe", "aws-marketplace:Unsubscribe", "aws-marketplace:ViewSubscriptions")
"""What the first call of a third-party model needs on the calling identity, with a payment method on
the account (Bedrock user guide, "Request access to models")."""
MARKETPLACE_SETUP_MINUTES = 15  # same page: the background subscription takes up to 15 minutes
LEGACY_ACTIVE_USE_DAYS = 15
"""AWS keeps serving a Legacy model to accounts that used it in the last 15 days
(shared/reference/bedrock-api-facts.md §0)."""
LEGACY_POLICY = "legacy-model-in-production"  # the policy pack's rule that reads ``legacyInUse``
BEDROCK_METRICS_NAMESPACE = "AWS/Bedrock"  # Bedrock user guide, "Monitor bedrock-runtime inference …"
INVOCATIONS_METRIC = "Invocations"
DOCTOR_ACTIONS = (
    "sts:AssumeRole",  # by the partner's identity, on the customer's deploy role
    "sts:GetCallerIdentity",  # needs no permission
    "bedrock:ListFoundationModels",
    "bedrock:GetFoundationModel",
    "bedrock:GetFoundationModelAvailability",
    "acm:DescribeCertificate",
    "acm:ListCertificates",
    "secretsmanager:DescribeSecret",
    "servicequotas:GetServiceQuota",
    "cloudwatch:GetMetricStatistics",  # Legacy models only: when the account last invoked them
)
"""Every AWS action doctor calls: all read-only. The deploy role grants those after sts:*."""


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    remediation: str = ""
    subject: str = ""  # the model key, secret field … the check is about

    def as_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class LifecycleEntry:
    """A model's lifecycle as the catalogue and as this account's Bedrock see it (feeds the pack's
    Legacy rule: a Legacy model in prod/customer needs the policy config to record the account uses it)."""

    model: str
    model_id: str
    region: str
    catalogue_status: str
    bedrock_status: str | None  # ACTIVE / LEGACY; None when Bedrock does not offer it
    account_may_use: bool | None  # entitlement and authorization; None when unknown
    checked_on: str
    last_invoked_on: str | None = None  # Legacy models: the last day CloudWatch counted invocations

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def legacy_in_use(self) -> dict[str, str] | None:
        """The policy config's record that this account uses the Legacy model (``legacyInUse`` entry)."""
        if self.last_invoked_on is None:
            return None
        return {"model": self.model, "lastInvokedOn": self.last_invoked_on, "checkedOn": self.checked_on}


@dataclass
class DoctorReport:
    stack: str
    region: str
    account: str | None = None
    checks: list[Check] = field(default_factory=list)
    lifecycle: list[LifecycleEntry] = field(default_factory=list)
    go_live: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def ok(self) -> bool:
        return not self.failures

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.checks if c.status == s) for s in ("pass", "warn", "fail")}

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "account": self.account,
            "ok": self.ok,
            "counts": self.counts(),
            "checks": [c.as_json() for c in self.checks],
            "lifecycle": [e.as_json() for e in self.lifecycle],
            "go_live": list(self.go_live),
            "policy_config": self.policy_config(),
        }

    def policy_config(self) -> dict[str, Any]:
        """What the stack's policy config should record from this check (the Legacy models in use)."""
        records = [record for entry in self.lifecycle if (record := entry.legacy_in_use()) is not None]
        return {LEGACY_POLICY: {"legacyInUse": records}} if records else {}


class _Aws:
    """Clients for one set of credentials; every client honours ``AWS_ENDPOINT_URL_<SERVICE>``."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        if (service, region) not in self._clients:  # a client costs tens of ms to build
            self._clients[service, region] = self.session.client(service, region_name=region)
        return self._clients[service, region]


def _error(error: Exception) -> tuple[str, str]:
    """(code, message) of a botocore error."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        return str(err.get("Code", type(error).__name__)), str(err.get("Message", error))
    return type(error).__name__, str(error)


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


ASK_REMEDIATION = (
    "check the credentials and that the identity may call the doctor's read actions "
    "(docs/customer-deploy-role.yaml grants them to the deploy role)"
)


# --------------------------------------------------------------------------- credentials and account


def _credentials(settings: StackSettings, base_session: Any, report: DoctorReport) -> _Aws | None:
    customer = settings.customer
    if customer is None:
        return _Aws(base_session)
    sts = base_session.client("sts", region_name=settings.region)
    try:
        answer = sts.assume_role(
            RoleArn=customer.deploy_role_arn, RoleSessionName=customer.session_name, ExternalId=customer.external_id
        )
    except _aws_errors() as error:
        code, message = _error(error)
        report.checks.append(
            Check(
                "deploy-role",
                "fail",
                f"cannot assume {customer.deploy_role_arn} with external ID {customer.external_id}: {code}: {message}",
                "create the role from docs/customer-deploy-role.yaml in the customer account, with your partner "
                "account as principal and this external ID in its trust policy; then run doctor again",
                subject=customer.deploy_role_arn,
            )
        )
        return None
    creds = answer["Credentials"]
    import boto3

    session = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=settings.region,
    )
    report.checks.append(
        Check(
            "deploy-role",
            "pass",
            f"assumed {customer.deploy_role_arn} as session {customer.session_name}",
            subject=customer.deploy_role_arn,
        )
    )
    return _Aws(session)


def _settings_arns(settings: StackSettings) -> Iterator[tuple[str, str]]:
    named = {
        "delivery.certificate_arn": settings.delivery.certificate_arn,
        "delivery.private_key_secret_arn": settings.delivery.private_key_secret_arn,
        "provenance.signing_secret_arn": settings.provenance.signing_secret_arn,
        "iam.permissions_boundary_arn": settings.iam.permissions_boundary_arn,
        "customer.deploy_role_arn": settings.customer.deploy_role_arn if settings.customer else None,
    }
    for name, arn in named.items():
        if arn:
            yield name, arn


def _check_account(aws: _Aws, settings: StackSettings, report: DoctorReport) -> bool:
    try:
        caller = aws.client("sts", settings.region).get_caller_identity()
    except _aws_errors() as error:
        code, message = _error(error)
        report.checks.append(Check("account", "fail", f"GetCallerIdentity failed: {code}: {message}", ASK_REMEDIATION))
        return False
    account = str(caller["Account"])
    report.account = account
    problems: list[str] = []
    if settings.customer is not None and settings.customer.account_id != account:
        problems.append(f"customer.account_id is {settings.customer.account_id}")
    for name, arn in _settings_arns(settings):
        arn_account = arn.split(":")[4]
        if arn_account not in ("", "aws", account):
            problems.append(f"{name} names account {arn_account}")
    if problems:
        report.checks.append(
            Check(
                "account",
                "fail",
                f"the deploy would run in account {account}, but " + "; ".join(problems),
                "use the credentials of the stack's account, or correct the account IDs in the stack file",
            )
        )
        return False
    report.checks.append(Check("account", "pass", f"caller account {account} is the stack's account"))
    return True


# --------------------------------------------------------------------------- models


def _offered_ids(aws: _Aws, region: str, cache: dict[str, set[str] | Exception]) -> set[str] | Exception:
    if region not in cache:
        try:
            answer = aws.client("bedrock", region).list_foundation_models(byOutputModality="IMAGE")
            cache[region] = {summary["modelId"] for summary in answer.get("modelSummaries", [])}
        except _aws_errors() as error:
            cache[region] = error
    return cache[region]


def _check_model(
    aws: _Aws,
    settings: StackSettings,
    *,
    index: int,
    enabled: EnabledModel,
    today: date,
    report: DoctorReport,
    offered_cache: dict[str, set[str] | Exception],
) -> None:
    spec = enabled.spec
    region = settings.model_region(enabled)
    model_id = spec.foundation_model_id
    key = enabled.model
    where = f"{spec.name} ({model_id}) in {region}"
    catalogue_status = spec.lifecycle.status_on(today)
    bedrock = aws.client("bedrock", region)

    # Offered: listed in the region, and the account's region availability.
    offered = _offered_ids(aws, region, offered_cache)
    availability: dict[str, Any] | None = None
    try:
        availability = bedrock.get_foundation_model_availability(modelId=model_id)
    except _aws_errors() as error:
        code, message = _error(error)
        report.checks.append(
            Check(
                "model-access",
                "fail",
                f"{where}: GetFoundationModelAvailability failed: {code}: {message}",
                ASK_REMEDIATION,
                subject=key,
            )
        )
    if isinstance(offered, Exception):
        code, message = _error(offered)
        report.checks.append(
            Check(
                "model-offered",
                "fail",
                f"{where}: ListFoundationModels failed: {code}: {message}",
                ASK_REMEDIATION,
                subject=key,
            )
        )
        listed = False
    else:
        listed = model_id in offered
        region_available = availability is None or availability.get("regionAvailability") == "AVAILABLE"
        if listed and region_available:
            report.checks.append(Check("model-offered", "pass", f"{where} is offered", subject=key))
        else:
            elsewhere = [r for r in spec.regions if r != region]
            report.checks.append(
                Check(
                    "model-offered",
                    "fail",
                    f"{where}: Bedrock does not offer this model in {region} to this account",
                    f"set models[{index}].region to a region that offers it"
                    + (f" (the catalogue lists {', '.join(elsewhere)})" if elsewhere else "")
                    + ", or enable another model",
                    subject=key,
                )
            )

    # Lifecycle: what Bedrock says now against the catalogue.
    bedrock_status: str | None = None
    if listed:
        try:
            details = bedrock.get_foundation_model(modelIdentifier=model_id)["modelDetails"]
            bedrock_status = str(details.get("modelLifecycle", {}).get("status", "ACTIVE"))
        except _aws_errors() as error:
            code, message = _error(error)
            report.checks.append(
                Check(
                    "model-lifecycle",
                    "fail",
                    f"{where}: GetFoundationModel failed: {code}: {message}",
                    "the model may have reached its end of life: enable another model",
                    subject=key,
                )
            )
    may_use: bool | None = None
    if availability is not None:
        may_use = (
            availability.get("entitlementAvailability") == "AVAILABLE"
            and availability.get("authorizationStatus") == "AUTHORIZED"
        )
    last_invoked = _last_invoked(aws, region, spec, today) if bedrock_status == "LEGACY" else None
    entry = LifecycleEntry(
        key, model_id, region, catalogue_status.value, bedrock_status, may_use, today.isoformat(), last_invoked
    )
    report.lifecycle.append(entry)
    if bedrock_status == "LEGACY":
        if may_use is False:
            report.checks.append(
                Check(
                    "model-lifecycle",
                    "fail",
                    f"{where}: Bedrock marks it Legacy and this account may not use it "
                    f"(entitlement {availability.get('entitlementAvailability') if availability else '?'}, "
                    f"authorization {availability.get('authorizationStatus') if availability else '?'})",
                    "AWS keeps Legacy models only for accounts that already use them: enable an Active model instead",
                    subject=key,
                )
            )
        else:
            record = entry.legacy_in_use()
            used = (
                f"last invoked {last_invoked}"
                if last_invoked
                else f"but CloudWatch shows no invocation in the last {LEGACY_ACTIVE_USE_DAYS} days, after which "
                "AWS stops serving it to the account"
            )
            report.checks.append(
                Check(
                    "model-lifecycle",
                    "warn",
                    f"{where}: Bedrock marks it Legacy; this account may still use it ({used})",
                    (
                        f"record the account's use in policies/config/{report.stack}.json, as the pack's "
                        f"{LEGACY_POLICY} rule reads it: "
                        f"{json.dumps({LEGACY_POLICY: {'legacyInUse': [record]}})}; "
                        "and plan a replacement before its end of life"
                    )
                    if record
                    else "invoke it now if the stack must keep it, then run doctor again; better, enable an Active model",
                    subject=key,
                )
            )
    elif bedrock_status == "ACTIVE":
        if catalogue_status is catalogue.Status.ACTIVE:
            report.checks.append(Check("model-lifecycle", "pass", f"{where} is Active", subject=key))
        else:
            report.checks.append(
                Check(
                    "model-lifecycle",
                    "warn",
                    f"{where}: Bedrock reports it Active, the catalogue says {catalogue_status.value}",
                    "confirm the model card and update services/imagegen_service/catalogue.py",
                    subject=key,
                )
            )

    if availability is not None:
        _check_access(availability, where, key, spec, report)


def _last_invoked(aws: _Aws, region: str, spec: catalogue.ModelSpec, today: date) -> str | None:
    """The last day in the Legacy window on which CloudWatch counted invocations of the model."""
    start = datetime.combine(today - timedelta(days=LEGACY_ACTIVE_USE_DAYS), time.min, tzinfo=UTC)
    try:
        answer = aws.client("cloudwatch", region).get_metric_statistics(
            Namespace=BEDROCK_METRICS_NAMESPACE,
            MetricName=INVOCATIONS_METRIC,
            Dimensions=[{"Name": "ModelId", "Value": spec.model_id}],
            StartTime=start,
            EndTime=start + timedelta(days=LEGACY_ACTIVE_USE_DAYS + 1),
            Period=86_400,
            Statistics=["Sum"],
        )
    except _aws_errors():
        return None  # unknown: the check then asks for an invocation rather than guessing one
    days = [point["Timestamp"] for point in answer.get("Datapoints", []) if point.get("Sum", 0) > 0]
    return max(days).date().isoformat() if days else None


def _check_access(
    availability: dict[str, Any], where: str, key: str, spec: catalogue.ModelSpec, report: DoctorReport
) -> None:
    agreement = availability.get("agreementAvailability", {}) or {}
    status = agreement.get("status", "AVAILABLE")
    subscribe = (
        f"a person with {', '.join(MARKETPLACE_ACTIONS)} in this account (and a payment method on it) "
        f"subscribes to the {spec.provider} offer: open the model in the Bedrock console's model catalog and "
        "run one request (the worker role deliberately has no Marketplace permissions)"
    )
    problems: list[tuple[Status, str, str]] = []
    if status == "PENDING":
        problems.append(
            (
                "warn",
                f"the Marketplace agreement for {spec.provider} is PENDING",
                f"the subscription takes up to {MARKETPLACE_SETUP_MINUTES} minutes: run doctor again then",
            )
        )
    elif status in ("NOT_AVAILABLE", "ERROR"):
        detail = f" ({agreement['errorMessage']})" if agreement.get("errorMessage") else ""
        problems.append(("fail", f"no Marketplace agreement for {spec.provider}: {status}{detail}", subscribe))
    if availability.get("authorizationStatus") == "NOT_AUTHORIZED":
        problems.append(
            (
                "fail",
                "the caller is NOT_AUTHORIZED for this model",
                "an IAM or SCP deny on bedrock:InvokeModel for this model: lift it for the stack's roles",
            )
        )
    if availability.get("entitlementAvailability") == "NOT_AVAILABLE":
        problems.append(
            (
                "fail",
                "the account is not entitled to this model (entitlement NOT_AVAILABLE)",
                subscribe if spec.requires_eula else "enable an Active model the account is entitled to",
            )
        )
    if not problems:
        report.checks.append(
            Check("model-access", "pass", f"{where}: agreement, authorization and entitlement in place", subject=key)
        )
    for severity, message, remediation in problems:
        report.checks.append(Check("model-access", severity, f"{where}: {message}", remediation, subject=key))


# --------------------------------------------------------------------------- certificate, secrets


def _covers(domain: str, names: list[str]) -> bool:
    for listed in names:
        name = listed.lower()
        if name == domain:
            return True
        if name.startswith("*.") and domain.count(".") >= 2 and domain.split(".", 1)[1] == name[2:]:
            return True
    return False


def _certificate_names(described: dict[str, Any]) -> list[str]:
    cert = described.get("Certificate", {})
    names = [cert.get("DomainName", ""), *cert.get("SubjectAlternativeNames", [])]
    return [name for name in dict.fromkeys(names) if name]  # the domain name is usually a SAN too


def _check_certificate(aws: _Aws, settings: StackSettings, report: DoctorReport) -> None:
    domain, arn = settings.delivery.domain_name, settings.delivery.certificate_arn
    if domain is None or arn is None:
        report.checks.append(Check("certificate", "pass", "no custom domain: CloudFront's default certificate"))
        return
    acm = aws.client("acm", CLOUDFRONT_CERTIFICATE_REGION)
    try:
        described = acm.describe_certificate(CertificateArn=arn)
    except _aws_errors() as error:
        code, message = _error(error)
        if code != "ResourceNotFoundException":
            report.checks.append(
                Check(
                    "certificate",
                    "fail",
                    f"DescribeCertificate failed: {code}: {message}",
                    ASK_REMEDIATION,
                    subject=arn,
                )
            )
            return
        elsewhere = _certificate_elsewhere(aws, settings.region, domain)
        found = f"; a certificate for {domain} exists in {settings.region} ({elsewhere})" if elsewhere else ""
        report.checks.append(
            Check(
                "certificate",
                "fail",
                f"{arn} does not exist in {CLOUDFRONT_CERTIFICATE_REGION}{found}; "
                f"CloudFront uses only certificates in {CLOUDFRONT_CERTIFICATE_REGION}",
                f"request or import a certificate for {domain} in {CLOUDFRONT_CERTIFICATE_REGION} and set "
                "delivery.certificate_arn to its ARN",
                subject=arn,
            )
        )
        return
    cert = described.get("Certificate", {})
    names = _certificate_names(described)
    status = cert.get("Status")
    if status != "ISSUED":
        report.checks.append(
            Check(
                "certificate",
                "fail",
                f"{arn} is {status}, not ISSUED",
                f"add the certificate's DNS validation CNAME for {domain} at the domain's DNS provider and wait "
                "for ISSUED (aws acm describe-certificate --region us-east-1 shows the record)",
                subject=arn,
            )
        )
    elif not _covers(domain, names):
        report.checks.append(
            Check(
                "certificate",
                "fail",
                f"{arn} covers {', '.join(names)}, not {domain}",
                f"request a certificate whose name or SANs cover {domain}",
                subject=arn,
            )
        )
    else:
        report.checks.append(
            Check(
                "certificate",
                "pass",
                f"{arn} is ISSUED in {CLOUDFRONT_CERTIFICATE_REGION} and covers {domain}",
                subject=arn,
            )
        )


def _certificate_elsewhere(aws: _Aws, region: str, domain: str) -> str | None:
    if region == CLOUDFRONT_CERTIFICATE_REGION:
        return None
    try:
        acm = aws.client("acm", region)
        for summary in acm.list_certificates().get("CertificateSummaryList", []):
            described = acm.describe_certificate(CertificateArn=summary["CertificateArn"])
            if _covers(domain, _certificate_names(described)):
                return str(summary["CertificateArn"])
    except _aws_errors():
        return None
    return None


def _check_secrets(aws: _Aws, settings: StackSettings, report: DoctorReport) -> None:
    secrets = {
        "delivery.private_key_secret_arn": (settings.delivery.private_key_secret_arn, "the CloudFront private key"),
        "provenance.signing_secret_arn": (settings.provenance.signing_secret_arn, "the C2PA certificate chain and key"),
    }
    for name, (arn, holds) in secrets.items():
        if arn is None:
            continue
        region = arn.split(":")[3]
        try:
            described = aws.client("secretsmanager", region).describe_secret(SecretId=arn)
        except _aws_errors() as error:
            code, message = _error(error)
            missing = code == "ResourceNotFoundException"
            report.checks.append(
                Check(
                    "secret",
                    "fail",
                    f"{name}: {arn} " + ("does not exist" if missing else f"cannot be read: {code}: {message}"),
                    f"create the secret with {holds} in {region} and set {name} to its ARN"
                    if missing
                    else ASK_REMEDIATION,
                    subject=name,
                )
            )
            continue
        if described.get("DeletedDate"):
            report.checks.append(
                Check(
                    "secret",
                    "fail",
                    f"{name}: {arn} is scheduled for deletion",
                    f"restore it (aws secretsmanager restore-secret) or create a new one with {holds}",
                    subject=name,
                )
            )
        elif not any("AWSCURRENT" in stages for stages in (described.get("VersionIdsToStages") or {}).values()):
            report.checks.append(
                Check(
                    "secret",
                    "fail",
                    f"{name}: {arn} has no current value",
                    f"put {holds} in it (aws secretsmanager put-secret-value)",
                    subject=name,
                )
            )
        else:
            report.checks.append(Check("secret", "pass", f"{name}: {arn} exists with a value", subject=name))


# --------------------------------------------------------------------------- quotas, guardrail


def _check_quotas(aws: _Aws, settings: StackSettings, report: DoctorReport) -> None:
    for index, enabled in enumerate(settings.models):
        spec, key = enabled.spec, enabled.model
        region = settings.model_region(enabled)
        planned = capacity.model_rpm(enabled)
        code = enabled.effective_quota_code
        if code is None:
            report.checks.append(
                Check(
                    "quota",
                    "warn",
                    f"{spec.name}: no quota code is known, so its value in {region} cannot be read; capacity is "
                    f"planned for {planned} RPM (catalogue default, unconfirmed)",
                    f"find the code (aws service-quotas list-service-quotas --service-code bedrock --region {region}) "
                    f"and set models[{index}].quota_code",
                    subject=key,
                )
            )
            continue
        try:
            quota = aws.client("service-quotas", region).get_service_quota(
                ServiceCode=spec.quota.service_code, QuotaCode=code
            )["Quota"]
        except _aws_errors() as error:
            err_code, message = _error(error)
            missing = err_code == "NoSuchResourceException"
            report.checks.append(
                Check(
                    "quota",
                    "fail",
                    f"{spec.name}: quota code {code} "
                    + (
                        f"does not exist for {spec.quota.service_code} in {region}"
                        if missing
                        else f"cannot be read: {err_code}: {message}"
                    ),
                    f"correct models[{index}].quota_code (aws service-quotas list-service-quotas "
                    f"--service-code bedrock --region {region})"
                    if missing
                    else ASK_REMEDIATION,
                    subject=key,
                )
            )
            continue
        value = float(quota.get("Value", 0))
        if value >= planned:
            report.checks.append(
                Check(
                    "quota", "pass", f"{spec.name}: {code} is {value:g} RPM in {region}, planned {planned}", subject=key
                )
            )
        else:
            requested = enabled.quota_request_rpm is not None
            report.checks.append(
                Check(
                    "quota",
                    "warn",
                    f"{spec.name}: {code} is {value:g} RPM in {region}, below the planned {planned}",
                    "pulumi up files the increase request the stack asks for; until AWS grants it the worker "
                    "paces to the lower value"
                    if requested
                    else f"request an increase (models[{index}].quota_request_rpm) or plan for {value:g} RPM "
                    f"(models[{index}].pace_start_rpm: {value:g})",
                    subject=key,
                )
            )


def _check_guardrail(settings: StackSettings, report: DoctorReport) -> None:
    region = settings.region
    if not settings.moderation.enabled:
        report.checks.append(Check("guardrail", "pass", "moderation is off: no guardrail is created"))
        return
    source = catalogue.GUARDRAIL_FEATURES_SOURCE
    if region in catalogue.GUARDRAIL_IMAGE_FILTER_REGIONS:
        report.checks.append(
            Check("guardrail", "pass", f"image content filters (all categories) are offered in {region} ({source})")
        )
        return
    if region in catalogue.GUARDRAIL_IMAGE_FILTER_PREVIEW_REGIONS:
        detail = (
            f"image content filters are in preview in {region}, for "
            f"{', '.join(catalogue.GUARDRAIL_IMAGE_FILTER_PREVIEW_CATEGORIES)} only; the guardrail filters images "
            "for MISCONDUCT and PROMPT_ATTACK too"
        )
    else:
        detail = f"image content filters are not listed as offered in {region}"
    report.checks.append(
        Check(
            "guardrail",
            "fail",
            f"{detail} ({source})",
            f"deploy the stack in one of {', '.join(catalogue.GUARDRAIL_IMAGE_FILTER_REGIONS)}",
        )
    )


# --------------------------------------------------------------------------- go-live steps


def go_live_steps(stack: str, settings: StackSettings) -> list[str]:
    """What a partner does by hand, in order, around the deploy: none of it can be code."""
    account = f"account {settings.customer.account_id}" if settings.customer else "the stack's account"
    third_party = [m for m in settings.models if m.spec.requires_eula]
    steps: list[str] = []
    if third_party:
        names = ", ".join(f"{m.spec.name} ({m.spec.foundation_model_id})" for m in third_party)
        steps.append(
            f"Payment method: {account} needs a valid payment method (Billing console); "
            "AWS Marketplace subscriptions to third-party models fail without one."
        )
        steps.append(
            f"Marketplace: a person with {', '.join(MARKETPLACE_ACTIONS)} in {account} subscribes to "
            f"each third-party model: {names}. In the Bedrock console's model catalog open each model and "
            f"run one request; the subscription completes in the background within {MARKETPLACE_SETUP_MINUTES} "
            "minutes (Bedrock user guide, 'Request access to models')."
        )
    domain = settings.delivery.domain_name
    if domain is not None:
        steps.append(
            f"Certificate: request a certificate for {domain} in ACM in us-east-1 (CloudFront's region) and "
            "add its DNS validation CNAME at the domain's DNS provider; wait until it is ISSUED."
        )
    secrets = [
        (arn, holds)
        for arn, holds in (
            (settings.delivery.private_key_secret_arn, "the CloudFront private key (PEM)"),
            (settings.provenance.signing_secret_arn, "the C2PA signing certificate chain and key"),
        )
        if arn
    ]
    for arn, holds in secrets:
        steps.append(f"Secret: put {holds} in {arn}.")
    deploy = (
        f"imagegen customer deploy {settings.customer.name} --up"
        if settings.customer
        else f"pulumi up --stack {stack} --policy-pack policies --policy-pack-config policies/config/{stack}.json"
    )
    steps.append(f"Preflight: imagegen doctor --stack {stack} until nothing fails.")
    steps.append(f"Deploy: {deploy}")
    if domain is not None:
        steps.append(
            f"DNS: at the domain's DNS provider, point {domain} (CNAME, or an alias record) at the stack "
            "output cdnDomain, the CloudFront distribution's domain name."
        )
    steps.append(
        f"First generation: imagegen generate --api-url <apiUrl output> --model {settings.models[0].model} "
        "--prompt '…' --out first.png (the first third-party call completes the Marketplace subscription)."
    )
    return steps


# --------------------------------------------------------------------------- entry point


def run_doctor(
    stack: str,
    *,
    config_file: Path | None = None,
    session: Any = None,
    today: date | None = None,
) -> DoctorReport:
    """Check the account a deploy of ``stack`` would reach. ``SettingsInvalid`` for a bad stack."""
    _, settings = load_stack(stack, config_file)
    if settings.environment == "local":
        raise SettingsInvalid(
            f"stack {stack}: environment 'local' deploys nothing to AWS (imagegen demo / local serve run it); "
            "doctor checks the account of a deployed stack (dev, staging, prod, customer-…)"
        )
    return diagnose(stack, settings, session=session, today=today)


def diagnose(stack: str, settings: StackSettings, *, session: Any = None, today: date | None = None) -> DoctorReport:
    if session is None:
        import boto3

        session = boto3.Session()
    day = today or clock.today()
    report = DoctorReport(stack=stack, region=settings.region)
    report.go_live = go_live_steps(stack, settings)
    aws = _credentials(settings, session, report)
    if aws is None:
        return report
    if not _check_account(aws, settings, report):
        return report  # every later answer would describe the wrong account
    offered_cache: dict[str, set[str] | Exception] = {}
    for index, enabled in enumerate(settings.models):
        _check_model(aws, settings, index=index, enabled=enabled, today=day, report=report, offered_cache=offered_cache)
    steps: tuple[Callable[[], None], ...] = (
        lambda: _check_certificate(aws, settings, report),
        lambda: _check_secrets(aws, settings, report),
        lambda: _check_quotas(aws, settings, report),
        lambda: _check_guardrail(settings, report),
    )
    for step in steps:
        step()
    return report
