"""The customer deploy role lets `imagegen doctor` read what it checks, and nothing more than reads."""

from __future__ import annotations

from pathlib import Path

import yaml
from imagegen_platform.doctor import DOCTOR_ACTIONS
from imagegen_platform.settings import StackSettings

from tests.unit.test_customers_deploy_role import ACCOUNT, _allowed, _CfnLoader

TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "customer-deploy-role.yaml"
READ_VERBS = ("Get", "List", "Describe")


def test_doctor_only_reads() -> None:
    for action in DOCTOR_ACTIONS:
        if action == "sts:AssumeRole":  # the partner's identity, on the deploy role: not the role's own grant
            continue
        assert action.split(":", 1)[1].startswith(READ_VERBS), action


def test_the_deploy_role_grants_every_doctor_read(acme_settings: StackSettings) -> None:
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    # The ARNs doctor reads for customer-acme, moved into the template test's account.
    secret = (acme_settings.delivery.private_key_secret_arn or "").replace("111122223333", ACCOUNT)
    certificate = (acme_settings.delivery.certificate_arn or "").replace("111122223333", ACCOUNT)
    resources = {
        "bedrock:ListFoundationModels": "*",
        "bedrock:GetFoundationModel": "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0",
        "bedrock:GetFoundationModelAvailability": "*",
        "acm:DescribeCertificate": certificate,
        "acm:ListCertificates": "*",
        "secretsmanager:DescribeSecret": secret,
        "servicequotas:GetServiceQuota": f"arn:aws:servicequotas:us-west-2:{ACCOUNT}:bedrock/L-7DBB06FD",
        "cloudwatch:GetMetricStatistics": "*",
    }
    for action in DOCTOR_ACTIONS:
        if action.startswith("sts:"):  # AssumeRole is the partner's; GetCallerIdentity needs no permission
            continue
        assert _allowed(template, action, resources[action]), action
