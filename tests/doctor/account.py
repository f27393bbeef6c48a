"""An offline customer account for `imagegen doctor`: moto server (STS, ACM, Secrets Manager) plus the
emulator (Bedrock control plane, Bedrock's Service Quotas), with states a test can set.

The account is built the way a partner builds it, through boto3 over HTTP with the deploy role's
assumed credentials (moto keeps one backend per account, keyed by the assumed role's account). Two
moto limits are bridged here, and only here:
- ACM invents certificate ARNs, while the stack file names one: the imported certificate is re-keyed
  to the stack's ARN inside moto's backend (what AWS would have answered for the real certificate).
- A Secrets Manager ARN ends in a random six-character suffix; moto resolves a full ARN by its last
  segment, so the secret is created under that segment (``imagegen/c2pa-AbCdEf``).
"""

from __future__ import annotations

import datetime
import json
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERTIFICATE_REGION = "us-east-1"


@dataclass(frozen=True)
class Endpoints:
    moto: str
    emulator: str


def self_signed(domain: str) -> tuple[bytes, bytes]:
    """A certificate for ``domain`` and its key, PEM (what a partner imports into ACM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


class OfflineAccount:
    """One customer account behind the deploy role; each method injects one state."""

    def __init__(self, endpoints: Endpoints, role_arn: str, external_id: str) -> None:
        self.endpoints = endpoints
        self.account_id = role_arn.split(":")[4]
        sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoints.moto)
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="fixture", ExternalId=external_id)["Credentials"]
        self.session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def _client(self, service: str, region: str) -> Any:
        return self.session.client(service, region_name=region, endpoint_url=self.endpoints.moto)

    def put_secret(self, arn: str, value: str = "secret material") -> None:
        region, name = arn.split(":")[3], arn.split(":", 6)[6]
        self._client("secretsmanager", region).create_secret(Name=name, SecretString=value)

    def import_certificate(self, domain: str, region: str, *, as_arn: str | None = None) -> str:
        cert, key = self_signed(domain)
        arn = str(self._client("acm", region).import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"])
        return arn if as_arn is None else self._rekey(arn, region, as_arn)

    def request_certificate(self, domain: str, region: str, *, as_arn: str) -> str:
        """An ACM-issued certificate awaiting DNS validation (moto: PENDING_VALIDATION for its first 60 s)."""
        acm = self._client("acm", region)
        arn = str(acm.request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"])
        return self._rekey(arn, region, as_arn)

    def schedule_deletion(self, arn: str) -> None:
        region, name = arn.split(":")[3], arn.split(":", 6)[6]
        self._client("secretsmanager", region).delete_secret(SecretId=name, RecoveryWindowInDays=7)

    def _rekey(self, arn: str, region: str, as_arn: str) -> str:
        from moto.acm.models import acm_backends

        backend = acm_backends[self.account_id][region]
        bundle = backend._certificates.pop(arn)
        bundle.arn = as_arn
        backend._certificates[as_arn] = bundle
        return as_arn

    def record_invocations(self, model_id: str, region: str, day: datetime.date, count: int = 3) -> None:
        """What Bedrock publishes when the account invokes a model (AWS/Bedrock Invocations by ModelId)."""
        when = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
        self._client("cloudwatch", region).put_metric_data(
            Namespace="AWS/Bedrock",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "ModelId", "Value": model_id}],
                    "Timestamp": when,
                    "Value": float(count),
                    "Unit": "Count",
                }
            ],
        )

    def set_bedrock(self, state: dict[str, Any]) -> None:
        """The account's Bedrock view (``imagegen_emulator.control.AccountState`` JSON), over HTTP."""
        request = urllib.request.Request(
            f"{self.endpoints.emulator}/_emulator/account",
            data=json.dumps(state).encode(),
            method="POST",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
