"""No private key or AWS credential is committed in stack or policy configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.secrets import scan_files, scan_text

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIRS = ("stacks", "policies/config")


def config_files() -> list[Path]:
    files = [p for d in CONFIG_DIRS for p in sorted((ROOT / d).rglob("*")) if p.is_file()]
    files += sorted(ROOT.glob("Pulumi*.yaml")) + sorted((ROOT / "policies").glob("*.yaml"))
    return files


def test_stack_and_policy_config_hold_no_secret() -> None:
    # GIVEN every stack file and policy configuration file
    files = config_files()
    assert any(p.name == "Pulumi.prod.yaml" for p in files)
    # WHEN they are scanned for private keys and AWS credentials
    leaks = scan_files(files)
    # THEN nothing is found (public keys and secret ARNs are fine)
    assert leaks == [], leaks


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("key: |\n  -----BEGIN PRIVATE KEY-----\n  MIIE...", "private key"),
        ("pem: '-----BEGIN RSA PRIVATE KEY-----'", "private key"),
        ("pem: '-----BEGIN EC PRIVATE KEY-----'", "private key"),
        ("aws_access_key_id: AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS secret access key"),
        ('"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"', "AWS secret access key"),
    ],
)
def test_the_scanner_finds_planted_secrets(text: str, kind: str) -> None:
    assert [leak.kind for leak in scan_text(text, "planted")] == [kind]


def test_the_scanner_lets_public_keys_and_arns_pass() -> None:
    prod = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
    assert "BEGIN PUBLIC KEY" in prod
    assert scan_text(prod, "prod") == []
