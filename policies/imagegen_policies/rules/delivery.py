"""Delivery: CloudFront reads the bucket through OAC, over HTTPS with TLS 1.2+, and signs user content."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from imagegen_service import config as env

from imagegen_policies import facts
from imagegen_policies import registry as t
from imagegen_policies.base import Report, resource_policy, settings_of, stack_policy
from imagegen_policies.facts import where
from imagegen_policies.pins import pinned_flag

HTTPS_POLICIES = ("redirect-to-https", "https-only")
# CloudFront viewer security policies that refuse TLS 1.0/1.1 (API_ViewerCertificate).
TLS12_PLUS = ("TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")


def _is_distribution(args: Any) -> bool:
    return bool(args.resource_type == t.DISTRIBUTION)


def _behaviours(props: Any) -> Iterator[tuple[str, Any]]:
    default = props.get("defaultCacheBehavior")
    if default is not None:
        yield "defaultCacheBehavior", default
    for index, behaviour in enumerate(props.get("orderedCacheBehaviors") or []):
        yield f"orderedCacheBehaviors[{index}]", behaviour


def _is_s3_domain(domain: str) -> bool:
    return ".s3." in domain or ".s3-" in domain or (domain.endswith(".amazonaws.com") and "s3" in domain)


def origin_access_control(args: Any, report: Report) -> None:
    if args.resource_type == t.ORIGIN_ACCESS_CONTROL:
        # An OAC that does not sign every request with SigV4 lets the bucket see unsigned (anonymous) reads.
        for prop, wanted in (
            ("originAccessControlOriginType", "s3"),
            ("signingBehavior", "always"),
            ("signingProtocol", "sigv4"),
        ):
            if args.props.get(prop) != wanted:
                report(f"{where(args, prop)} is {args.props.get(prop)!r} (must be {wanted!r})")
        return
    if not _is_distribution(args):
        return
    for index, origin in enumerate(args.props.get("origins") or []):
        prop = f"origins[{index}]"
        domain = str(origin.get("domainName") or "")
        oai = (origin.get("s3OriginConfig") or {}).get("originAccessIdentity")
        if oai:
            report(
                f"{where(args, prop + '.s3OriginConfig.originAccessIdentity')} is set: use an origin access control, not a legacy OAI"
            )
        if "s3-website" in domain:
            report(f"{where(args, prop + '.domainName')} {domain!r} is an S3 website endpoint (public HTTP)")
        elif _is_s3_domain(domain) and not origin.get("originAccessControlId"):
            report(f"{where(args, prop + '.originAccessControlId')} is not set on the S3 origin {domain!r}")


def https_only(args: Any, report: Report) -> None:
    if not _is_distribution(args):
        return
    for prop, behaviour in _behaviours(args.props):
        policy = behaviour.get("viewerProtocolPolicy")
        if policy not in HTTPS_POLICIES:
            report(
                f"{where(args, prop + '.viewerProtocolPolicy')} is {policy!r} (must be redirect-to-https or https-only)"
            )


def tls_minimum(args: Any, report: Report) -> None:
    if not _is_distribution(args):
        return
    allow_default = bool(settings_of(args, "cdn-tls-minimum")["allowDefaultCertificate"])
    certificate = args.props.get("viewerCertificate") or {}
    version = certificate.get("minimumProtocolVersion")
    default_certificate = certificate.get("cloudfrontDefaultCertificate") is True
    # With the default certificate AWS stores TLSv1 whatever is declared: the version is moot there,
    # and only the stack's explicit exception (allowDefaultCertificate) can let it pass.
    if version not in TLS12_PLUS and not default_certificate:
        report(
            f"{where(args, 'viewerCertificate.minimumProtocolVersion')} is {version!r} (must be TLSv1.2_2018 or newer)"
        )
    if default_certificate and not allow_default:
        report(
            f"{where(args, 'viewerCertificate.cloudfrontDefaultCertificate')} is true: the *.cloudfront.net certificate "
            "negotiates TLSv1 whatever minimumProtocolVersion says (allow it per stack with allowDefaultCertificate)"
        )


def signed_urls(args: Any, report: Report) -> None:
    resources = list(args.resources)
    if not pinned_flag(args, report, "cdn-signed-urls", "requireUserContent", env.ENV_USER_CONTENT):
        args.not_applicable(f"the stack serves no user content ({env.ENV_USER_CONTENT}=false)")
    distributions = facts.of_type(resources, t.DISTRIBUTION)
    if not distributions:
        args.not_applicable("the stack has no CloudFront distribution")
    for distribution in distributions:
        for prop, behaviour in _behaviours(distribution.props):
            if not list(behaviour.get("trustedKeyGroups") or []):
                report(
                    f"{where(distribution, prop + '.trustedKeyGroups')} is empty: user content served without a signed URL",
                    distribution.urn,
                )


POLICIES = [
    resource_policy("cdn-origin-access-control", origin_access_control),
    resource_policy("cdn-https-only", https_only),
    resource_policy("cdn-tls-minimum", tls_minimum),
    stack_policy("cdn-signed-urls", signed_urls),
]
