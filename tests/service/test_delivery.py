"""Signed delivery URLs: what UrlSigner makes, verify_signed_url accepts, with only the public key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from imagegen_service.config import RuntimeConfig
from imagegen_service.delivery import DeliveryMisconfigured, UrlSigner, object_url, verify_signed_url

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _config(key_file: Path | None, **overrides: object) -> RuntimeConfig:
    values: dict = dict(
        stack="t", environment="local", bucket="b", jobs_table="j", licence_table="l", idempotency_table="i",
        queue_url="q", dlq_url="d", models={}, cdn_domain="d111.cloudfront.net", signed_urls=True,
        url_ttl_seconds=600, signing_key_id="K1", signing_key_file=str(key_file) if key_file else None,
    )  # fmt: skip
    values.update(overrides)
    return RuntimeConfig(**values)


def _key_pair(tmp_path: Path, kind: str) -> tuple[Path, str]:
    private = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    path = tmp_path / f"{kind}.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public.decode()


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_signed_urls_verify_until_they_expire(tmp_path: Path, kind: str) -> None:
    key_file, public = _key_pair(tmp_path, kind)
    url = UrlSigner(_config(key_file), lambda: None).url("images/ab/abc.png", now=NOW)
    assert url.startswith("https://d111.cloudfront.net/images/ab/abc.png?Expires=")
    assert "Key-Pair-Id=K1" in url
    assert verify_signed_url(url, public, NOW, key_id="K1")
    assert verify_signed_url(url, public, NOW + timedelta(seconds=599))
    assert not verify_signed_url(url, public, NOW + timedelta(seconds=600))
    assert not verify_signed_url(url.replace("abc.png", "abd.png"), public, NOW)
    assert not verify_signed_url(url.replace("Expires=", "Expires=9"), public, NOW)
    (tmp_path / "other").mkdir()
    _, other_public = _key_pair(tmp_path / "other", kind)
    assert not verify_signed_url(url, other_public, NOW)
    assert not verify_signed_url("https://d111.cloudfront.net/images/ab/abc.png", public, NOW)
    assert not verify_signed_url(url + "&Signature=zzz", public, NOW)


def test_unsigned_mode_and_local_base_urls(tmp_path: Path) -> None:
    assert (
        UrlSigner(_config(None, signed_urls=False), lambda: None).url("images/x.png")
        == "https://d111.cloudfront.net/images/x.png"
    )
    assert object_url("http://127.0.0.1:8080/cdn/", "images/x.png") == "http://127.0.0.1:8080/cdn/images/x.png"


def test_signing_without_a_key_is_an_operator_error(tmp_path: Path) -> None:
    with pytest.raises(DeliveryMisconfigured):
        UrlSigner(_config(None), lambda: None).url("images/x.png")
    with pytest.raises(DeliveryMisconfigured):
        UrlSigner(_config(tmp_path / "k.pem", signing_key_id=None), lambda: None).url("images/x.png")
