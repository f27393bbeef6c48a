"""The emulator's Bedrock control plane and Bedrock quotas, through unmodified boto3 clients.

Expected values come from the reference facts (shared/reference/bedrock-api-facts.md §0: Stable Image
Core is us-west-2 only; Nova Canvas reached end of life on 2026-09-30) and from botocore's service
model (operation names, shapes, enums): boto3 parses every answer with that model.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from botocore.exceptions import ClientError
from imagegen_emulator.server import RunningEmulator

from tests.emulator.conftest import session

AFTER_NOVA_EOL = date(2026, 12, 1)


def control(url: str, region: str) -> Any:
    return session().client("bedrock", region_name=region, endpoint_url=url)


def test_list_foundation_models_is_per_region(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(today=AFTER_NOVA_EOL)
    west = {m["modelId"] for m in control(emulator.url, "us-west-2").list_foundation_models()["modelSummaries"]}
    east = {m["modelId"] for m in control(emulator.url, "us-east-1").list_foundation_models()["modelSummaries"]}
    assert "stability.stable-image-core-v1:1" in west
    assert "stability.stable-image-core-v1:1" not in east  # in-region only, us-west-2
    assert "amazon.nova-canvas-v1:0" not in east  # past end of life: gone from the list
    text_only = control(emulator.url, "us-west-2").list_foundation_models(byOutputModality="TEXT")
    assert text_only["modelSummaries"] == []


def test_get_foundation_model_lifecycle_and_end_of_life(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(today=AFTER_NOVA_EOL)
    details = control(emulator.url, "us-west-2").get_foundation_model(modelIdentifier="stability.sd3-5-large-v1:0")
    assert details["modelDetails"]["modelLifecycle"]["status"] == "ACTIVE"
    assert details["modelDetails"]["providerName"] == "Stability AI"
    with pytest.raises(ClientError) as gone:
        control(emulator.url, "us-east-1").get_foundation_model(modelIdentifier="amazon.nova-canvas-v1:0")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as elsewhere:
        control(emulator.url, "us-east-1").get_foundation_model(modelIdentifier="stability.stable-image-core-v1:1")
    assert elsewhere.value.response["Error"]["Code"] == "ValidationException"


def test_account_state_drives_availability(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(
        account={
            "models": {
                "sd3-5-large": {"agreement": "PENDING", "lifecycle": "LEGACY", "entitlement": "NOT_AVAILABLE"},
                "stable-image-core": {"not_offered_in": ["us-west-2"]},
            }
        }
    )
    bedrock = control(emulator.url, "us-west-2")
    sd3 = bedrock.get_foundation_model_availability(modelId="stability.sd3-5-large-v1:0")
    assert sd3["agreementAvailability"]["status"] == "PENDING"
    assert sd3["entitlementAvailability"] == "NOT_AVAILABLE" and sd3["regionAvailability"] == "AVAILABLE"
    assert (
        bedrock.get_foundation_model(modelIdentifier="stability.sd3-5-large-v1:0")["modelDetails"]["modelLifecycle"][
            "status"
        ]
        == "LEGACY"
    )
    core = bedrock.get_foundation_model_availability(modelId="stability.stable-image-core-v1:1")
    assert core["regionAvailability"] == "NOT_AVAILABLE"
    assert "stability.stable-image-core-v1:1" not in {
        m["modelId"] for m in bedrock.list_foundation_models()["modelSummaries"]
    }


def test_bad_account_state_is_400_naming_the_field(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator()
    request = urllib.request.Request(
        f"{emulator.url}/_emulator/account",
        data=json.dumps({"models": {"sd3-5-large": {"agreement": "SIGNED"}}}).encode(),
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert "models.sd3-5-large.agreement" in json.loads(refused.value.read())["message"]


def test_service_quotas_for_bedrock(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    # The catalogue no longer names Titan G1's RPM row (gone since 2026-05-27): an account that still
    # has a code for it says so itself.
    default = session().client("service-quotas", region_name="us-west-2", endpoint_url=fresh_emulator().url)
    with pytest.raises(ClientError) as gone:
        default.get_service_quota(ServiceCode="bedrock", QuotaCode="L-7DBB06FD")
    assert gone.value.response["Error"]["Code"] == "NoSuchResourceException"
    emulator = fresh_emulator(
        account={
            "models": {"titan-image-v1": {"quota_code": "L-7DBB06FD"}},
            "quotas": {"us-west-2": {"L-7DBB06FD": 120}},
        }
    )
    quotas = session().client("service-quotas", region_name="us-west-2", endpoint_url=emulator.url)
    quota = quotas.get_service_quota(ServiceCode="bedrock", QuotaCode="L-7DBB06FD")["Quota"]
    assert quota["Value"] == 120 and quota["QuotaCode"] == "L-7DBB06FD"
    east = session().client("service-quotas", region_name="us-east-1", endpoint_url=emulator.url)
    assert east.get_service_quota(ServiceCode="bedrock", QuotaCode="L-7DBB06FD")["Quota"]["Value"] == 60
    with pytest.raises(ClientError) as missing:
        quotas.get_service_quota(ServiceCode="bedrock", QuotaCode="L-00000000")
    assert missing.value.response["Error"]["Code"] == "NoSuchResourceException"
