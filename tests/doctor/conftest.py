"""Fixtures for `imagegen doctor`: moto server + the emulator, and the customer-acme account on them.

The doctor reaches AWS only through the standard endpoint variables: ``AWS_ENDPOINT_URL`` (moto: STS,
ACM, Secrets Manager), ``AWS_ENDPOINT_URL_BEDROCK`` and ``AWS_ENDPOINT_URL_SERVICE_QUOTAS`` (the
emulator: moto has no Bedrock control plane and knows only VPC quotas). Each test starts from empty
accounts: moto is reset and the emulator's account state cleared.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imagegen_platform.settings import StackSettings, load_stack
from moto.server import ThreadedMotoServer

from tests.doctor.account import CERTIFICATE_REGION, Endpoints, OfflineAccount

STACK = "customer-acme"


@pytest.fixture(scope="session")
def servers() -> Iterator[Endpoints]:
    from imagegen_emulator import server

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    emulator = server.start(port=0, use_env=False)
    yield Endpoints(moto=f"http://{host}:{port}", emulator=emulator.url)
    emulator.stop()
    moto.stop()


@pytest.fixture
def aws(servers: Endpoints, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Endpoints:
    """The partner's shell: credentials, endpoints, no profile files; fresh accounts."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ENDPOINT_URL": servers.moto,
        "AWS_ENDPOINT_URL_BEDROCK": servers.emulator,
        "AWS_ENDPOINT_URL_SERVICE_QUOTAS": servers.emulator,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    _post(f"{servers.moto}/moto-api/reset")
    _post(f"{servers.emulator}/_emulator/account", b"{}")
    return servers


def _post(url: str, data: bytes = b"") -> None:
    request = urllib.request.Request(url, data=data, method="POST", headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture(scope="session")
def acme_settings() -> StackSettings:
    return load_stack(STACK)[1]


@pytest.fixture
def acme_account(aws: Endpoints, acme_settings: StackSettings) -> OfflineAccount:
    """customer-acme's account behind its deploy role, empty: tests add what they need."""
    customer = acme_settings.customer
    assert customer is not None
    return OfflineAccount(aws, customer.deploy_role_arn, customer.external_id)


def make_healthy(account: OfflineAccount, settings: StackSettings, *, skip: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Everything the stack names exists, where it should; ``skip`` leaves parts out."""
    delivery, provenance = settings.delivery, settings.provenance
    assert delivery.private_key_secret_arn and provenance.signing_secret_arn and delivery.certificate_arn
    assert delivery.domain_name
    if "delivery.private_key_secret_arn" not in skip:
        account.put_secret(delivery.private_key_secret_arn, "-----BEGIN PRIVATE KEY-----…")
    if "provenance.signing_secret_arn" not in skip:
        account.put_secret(provenance.signing_secret_arn, '{"chain": "…", "key": "…"}')
    if "certificate" not in skip:
        account.import_certificate(delivery.domain_name, CERTIFICATE_REGION, as_arn=delivery.certificate_arn)


def by_name(report: dict[str, Any], name: str, subject: str | None = None) -> list[dict[str, Any]]:
    return [c for c in report["checks"] if c["name"] == name and (subject is None or c["subject"] == subject)]
