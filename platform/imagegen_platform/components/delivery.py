"""ImageDelivery: CloudFront in front of the private bucket (OAC), HTTPS only, signed URLs.

Served keys are content-addressed (``images/<sha256[:2]>/<sha256>.<ext>``) and never change, so the
cache keeps them for a year and the key carries nothing but the path: signed-URL query strings and
cookies stay out of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from imagegen_platform.components.names import PhysicalNames
from pulumi_aws import cloudfront, route53

ORIGIN_ID = "image-store"
ONE_YEAR_SECONDS = 31_536_000
HSTS_MAX_AGE_SECONDS = 63_072_000  # two years: the preload list's minimum is one
MINIMUM_TLS = "TLSv1.2_2021"
DEFAULT_CERTIFICATE_TLS = "TLSv1"


@dataclass(frozen=True)
class ImageDeliveryArgs:
    names: PhysicalNames
    bucket_regional_domain_name: pulumi.Input[str]
    price_class: str
    signed_urls: bool
    public_key_pem: str | None
    domain_name: str | None = None
    certificate_arn: str | None = None
    """ACM certificate (us-east-1) for ``domain_name``; without one CloudFront's default certificate serves."""
    hosted_zone_id: str | None = None
    """Route 53 zone holding ``domain_name``: alias records point the name at the distribution."""


class ImageDelivery(pulumi.ComponentResource):
    distribution: cloudfront.Distribution
    domain_name: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    signing_key_id: pulumi.Output[str]

    def __init__(self, name: str, args: ImageDeliveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagegen:delivery:ImageDelivery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        names = args.names

        self.origin_access_control = cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=names.of("images-oac"),
            description="CloudFront reads the private image bucket with SigV4 on every request",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        self.cache_policy = cloudfront.CachePolicy(
            f"{name}-immutable-cache",
            name=names.of("immutable-images"),
            comment="Content-addressed images never change: cache for a year, key on the path only",
            # min 0: an origin Cache-Control (e.g. on a withdrawn image) may still shorten it.
            min_ttl=0,
            default_ttl=ONE_YEAR_SECONDS,
            max_ttl=ONE_YEAR_SECONDS,
            parameters_in_cache_key_and_forwarded_to_origin=cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
                cookies_config=cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                    cookie_behavior="none"
                ),
                headers_config=cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                    header_behavior="none"
                ),
                query_strings_config=cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                    query_string_behavior="none"
                ),
                # PNG/JPEG are already compressed.
                enable_accept_encoding_gzip=False,
                enable_accept_encoding_brotli=False,
            ),
            opts=child,
        )
        self.headers_policy = cloudfront.ResponseHeadersPolicy(
            f"{name}-security-headers",
            name=names.of("security-headers"),
            comment="HSTS, nosniff, no framing, no referrer leaks of signed URLs",
            security_headers_config=cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                strict_transport_security=cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                    access_control_max_age_sec=HSTS_MAX_AGE_SECONDS,
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                    override=True
                ),
                frame_options=cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                    frame_option="DENY", override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                    referrer_policy="no-referrer", override=True
                ),
            ),
            opts=child,
        )

        trusted_key_groups: list[pulumi.Input[str]] | None = None
        self.public_key: cloudfront.PublicKey | None = None
        self.key_group: cloudfront.KeyGroup | None = None
        if args.signed_urls:
            if args.public_key_pem is None:  # settings already refuse this; keep the program honest
                raise ValueError("signed URLs need delivery.public_key_pem")
            self.public_key = cloudfront.PublicKey(
                f"{name}-signing-key",
                name=names.of("url-signing"),
                comment="Verifies the API's signed image URLs",
                encoded_key=args.public_key_pem,
                opts=child,
            )
            self.key_group = cloudfront.KeyGroup(
                f"{name}-key-group", name=names.of("url-signers"), items=[self.public_key.id], opts=child
            )
            trusted_key_groups = [self.key_group.id]

        self.distribution = cloudfront.Distribution(
            f"{name}-distribution",
            enabled=True,
            comment=f"{names.base} generated images",
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=args.price_class,
            origins=[
                cloudfront.DistributionOriginArgs(
                    origin_id=ORIGIN_ID,
                    domain_name=args.bucket_regional_domain_name,
                    origin_access_control_id=self.origin_access_control.id,
                )
            ],
            # One behaviour: the bucket policy lets CloudFront read images/* only, so drafts and
            # quarantine answer 403 even to a validly signed URL.
            default_cache_behavior=cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=ORIGIN_ID,
                allowed_methods=["GET", "HEAD"],
                cached_methods=["GET", "HEAD"],
                viewer_protocol_policy="redirect-to-https",
                cache_policy_id=self.cache_policy.id,
                response_headers_policy_id=self.headers_policy.id,
                compress=False,
                trusted_key_groups=trusted_key_groups,
            ),
            restrictions=cloudfront.DistributionRestrictionsArgs(
                geo_restriction=cloudfront.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")
            ),
            aliases=[args.domain_name] if args.domain_name else None,
            viewer_certificate=_viewer_certificate(args.certificate_arn),
            opts=child,
        )

        self.dns_records: list[route53.Record] = []
        if args.domain_name and args.hosted_zone_id:
            # IPv4 and IPv6 (the distribution has IPv6 on). CloudFront alias targets take no health
            # evaluation (Route 53 API, AliasTarget: EvaluateTargetHealth must be false for CloudFront).
            self.dns_records = [
                route53.Record(
                    f"{name}-dns-{kind.lower()}",
                    zone_id=args.hosted_zone_id,
                    name=args.domain_name,
                    type=kind,
                    aliases=[
                        route53.RecordAliasArgs(
                            name=self.distribution.domain_name,
                            zone_id=self.distribution.hosted_zone_id,
                            evaluate_target_health=False,
                        )
                    ],
                    opts=child,
                )
                for kind in ("A", "AAAA")
            ]

        # Image URLs use the custom host when there is one (signed URLs must name the host viewers use).
        self.domain_name = (
            pulumi.Output.from_input(args.domain_name) if args.domain_name else self.distribution.domain_name
        )
        self.distribution_arn = self.distribution.arn
        self.signing_key_id = self.public_key.id if self.public_key is not None else pulumi.Output.from_input("")
        self.register_outputs(
            {
                "domainName": self.domain_name,
                "distributionArn": self.distribution_arn,
                "signingKeyId": self.signing_key_id,
            }
        )


def _viewer_certificate(certificate_arn: str | None) -> cloudfront.DistributionViewerCertificateArgs:
    if certificate_arn is None:
        return cloudfront.DistributionViewerCertificateArgs(
            cloudfront_default_certificate=True,
            # CloudFront API ViewerCertificate: with the *.cloudfront.net certificate "CloudFront
            # automatically sets the security policy to TLSv1 regardless of the value that you set
            # here", so TLSv1.2_2021 here is read back as TLSv1: a diff on every deploy. Declare what
            # AWS stores; stacks that need TLS 1.2+ set a domain (the policy pack judges the exception).
            minimum_protocol_version=DEFAULT_CERTIFICATE_TLS,
        )
    return cloudfront.DistributionViewerCertificateArgs(
        acm_certificate_arn=certificate_arn, ssl_support_method="sni-only", minimum_protocol_version=MINIMUM_TLS
    )
