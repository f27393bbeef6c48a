"""The image store and its delivery: private bucket, OAC-only reads of images/*, HTTPS, signed URLs."""

from __future__ import annotations

import re

import pytest

from tests.unit.program_graph import (
    STACKS,
    account_of,
    as_list,
    base_name,
    by_urn,
    of_type,
    one,
    preview_mutated,
    settings_of,
    statements,
)

BUCKET = "aws:s3/bucket:Bucket"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


@pytest.mark.parametrize("stack", STACKS)
def test_bucket_policy_lets_only_this_distribution_read_served_images(stack_graph, stack: str) -> None:
    # GIVEN the preview graph of the stack
    graph = stack_graph(stack)
    bucket = one(graph, BUCKET)
    distribution = one(graph, DISTRIBUTION)
    policy = one(graph, "aws:s3/bucketPolicy:BucketPolicy")
    account = account_of(stack)

    # THEN the policy is the bucket's and is built from the distribution's ARN
    assert policy["property_dependencies"]["bucket"] == [bucket["urn"]]
    assert distribution["urn"] in policy["property_dependencies"]["policy"]
    allows = [s for s in statements(policy) if s["Effect"] == "Allow"]
    assert len(allows) == 1
    allow = allows[0]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert as_list(allow["Action"]) == ["s3:GetObject"]
    assert as_list(allow["Resource"]) == [f"arn:aws:s3:::{graph['outputs']['bucketName']}/images/*"]
    source_arn = allow["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert re.fullmatch(rf"arn:aws:cloudfront::{account}:distribution/E[0-9A-F]+", source_arn)


@pytest.mark.parametrize("stack", STACKS)
def test_bucket_refuses_plain_http(stack_graph, stack: str) -> None:
    policy = one(stack_graph(stack), "aws:s3/bucketPolicy:BucketPolicy")
    denies = [s for s in statements(policy) if s["Effect"] == "Deny"]
    assert [d["Condition"] for d in denies] == [{"Bool": {"aws:SecureTransport": "false"}}]
    assert denies[0]["Principal"] == "*"


@pytest.mark.parametrize("stack", STACKS)
def test_bucket_is_private_owner_enforced_encrypted_versioned(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    bucket_urn = one(graph, BUCKET)["urn"]
    block = one(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(block["inputs"][flag] is True for flag in flags)
    ownership = one(graph, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["inputs"]["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    sse = one(graph, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    versioning = one(graph, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    for sibling in (block, ownership, sse, versioning):
        assert sibling["property_dependencies"]["bucket"] == [bucket_urn]
    assert one(graph, BUCKET)["inputs"]["bucketPrefix"] == f"{base_name(stack)}-images-"


@pytest.mark.parametrize("stack", STACKS)
def test_lifecycle_expires_drafts_quarantine_and_inputs_as_configured(stack_graph, stack: str) -> None:
    storage = settings_of(stack).storage
    rules = one(stack_graph(stack), "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["inputs"][
        "rules"
    ]
    expiry = {r["filter"]["prefix"]: r["expiration"]["days"] for r in rules if "expiration" in r}
    # issue 13: caller-supplied source images (inputs/) used to live forever.
    assert expiry == {
        "drafts/": storage.draft_expiry_days,
        "quarantine/": storage.quarantine_expiry_days,
        "inputs/": storage.inputs_expiry_days,
    }
    assert all(r["status"] == "Enabled" for r in rules)


@pytest.mark.parametrize("stack", STACKS)
def test_distribution_reads_the_bucket_through_oac_over_https_only(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    oac = one(graph, "aws:cloudfront/originAccessControl:OriginAccessControl")["inputs"]
    assert (oac["signingProtocol"], oac["signingBehavior"], oac["originAccessControlOriginType"]) == ("sigv4", "always", "s3")  # fmt: skip
    distribution = one(graph, DISTRIBUTION)
    inputs = distribution["inputs"]
    (origin,) = inputs["origins"]
    assert "s3OriginConfig" not in origin
    assert origin["originAccessControlId"]
    assert origin["domainName"] == f"{graph['outputs']['bucketName']}.s3.{settings_of(stack).region}.amazonaws.com"
    behaviour = inputs["defaultCacheBehavior"]
    assert behaviour["viewerProtocolPolicy"] == "redirect-to-https"
    assert set(behaviour["allowedMethods"]) == {"GET", "HEAD"}
    assert "orderedCacheBehaviors" not in inputs


@pytest.mark.parametrize("stack", STACKS)
def test_custom_domain_gets_its_certificate_and_becomes_the_cdn_host(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    delivery = settings_of(stack).delivery
    inputs = one(graph, DISTRIBUTION)["inputs"]
    certificate = inputs["viewerCertificate"]
    if delivery.domain_name is None:
        assert certificate["cloudfrontDefaultCertificate"] is True
        # CloudFront API reference, ViewerCertificate.MinimumProtocolVersion: with the default
        # certificate "CloudFront automatically sets the security policy to TLSv1 regardless of the
        # value that you set here"; declaring anything else is a diff on every deploy.
        assert certificate["minimumProtocolVersion"] == "TLSv1"
        assert "aliases" not in inputs
        assert graph["outputs"]["cdnDomain"].endswith(".cloudfront.net")
    else:
        assert inputs["aliases"] == [delivery.domain_name]
        assert certificate == {
            "acmCertificateArn": delivery.certificate_arn,
            "sslSupportMethod": "sni-only",
            "minimumProtocolVersion": "TLSv1.2_2021",
        }
        assert graph["outputs"]["cdnDomain"] == delivery.domain_name


@pytest.mark.parametrize("stack", STACKS)
def test_cache_key_is_the_path_only_for_a_year(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    cache = one(graph, "aws:cloudfront/cachePolicy:CachePolicy")
    params = cache["inputs"]["parametersInCacheKeyAndForwardedToOrigin"]
    assert params["queryStringsConfig"]["queryStringBehavior"] == "none"
    assert params["cookiesConfig"]["cookieBehavior"] == "none"
    assert params["headersConfig"]["headerBehavior"] == "none"
    assert cache["inputs"]["defaultTtl"] == cache["inputs"]["maxTtl"] == 31_536_000
    distribution = one(graph, DISTRIBUTION)
    deps = distribution["property_dependencies"]["defaultCacheBehavior"]
    headers = one(graph, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    assert cache["urn"] in deps and headers["urn"] in deps
    security = headers["inputs"]["securityHeadersConfig"]
    assert security["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31_536_000
    assert security["contentTypeOptions"]["override"] is True
    assert security["frameOptions"]["frameOption"] == "DENY"
    assert security["referrerPolicy"]["referrerPolicy"]


@pytest.mark.parametrize("stack", STACKS)
def test_signed_urls_trust_only_the_configured_key(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    delivery = settings_of(stack).delivery
    assert delivery.signed_urls  # every committed stack signs
    key = one(graph, "aws:cloudfront/publicKey:PublicKey")
    group = one(graph, "aws:cloudfront/keyGroup:KeyGroup")
    if delivery.public_key_pem != "generate-local":
        assert key["inputs"]["encodedKey"] == delivery.public_key_pem
    assert group["property_dependencies"]["items"] == [key["urn"]]
    behaviour = one(graph, DISTRIBUTION)["inputs"]["defaultCacheBehavior"]
    assert len(behaviour["trustedKeyGroups"]) == 1
    assert group["urn"] in one(graph, DISTRIBUTION)["property_dependencies"]["defaultCacheBehavior"]
    assert graph["outputs"]["signingKeyId"].startswith("K")


def test_no_trusted_key_group_when_signing_is_off(tmp_path) -> None:
    graph = preview_mutated(tmp_path, lambda s: s["delivery"].update(signed_urls=False))
    behaviour = one(graph, DISTRIBUTION)["inputs"]["defaultCacheBehavior"]
    assert "trustedKeyGroups" not in behaviour
    assert of_type(graph, "aws:cloudfront/keyGroup:KeyGroup") == []
    assert graph["outputs"]["signingKeyId"] == ""


def test_graph_urns_are_unique(stack_graph) -> None:
    graph = stack_graph("prod")
    assert len(by_urn(graph)) == len(graph["resources"])
