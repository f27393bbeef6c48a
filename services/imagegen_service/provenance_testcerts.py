"""A throw-away C2PA certificate chain (test CA + ES256 leaf) for local stacks and tests.

C2PA refuses a self-signed certificate as the signer (c2pa-rs #1474): the signer must be an
end-entity certificate with the emailProtection or documentSigning extended key usage, issued by a
CA. Deployed stacks keep a real chain in Secrets Manager (``{"certs", "key"}``); this module only
makes the local equivalent. Manifests signed with it read back valid but untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = timedelta(days=365)
# documentSigning (RFC 9336) is not in every cryptography release's ExtendedKeyUsageOID.
_DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


@dataclass(frozen=True)
class TestChain:
    """PEM texts: ``certs`` is leaf then CA (what c2pa wants), ``key`` the leaf's PKCS#8 private key."""

    certs: str
    key: str
    ca_cert: str


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "imagegen local (untrusted)"),
        ]
    )


def make_test_chain(common_name: str = "imagegen local provenance", validity: timedelta = _VALIDITY) -> TestChain:
    """A fresh CA and an ES256 leaf issued by it, valid from yesterday for ``validity`` (a year)."""
    now = datetime.now(UTC) - timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{common_name} test CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, _DOCUMENT_SIGNING]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    leaf_pem = leaf_cert.public_bytes(pem).decode()
    ca_pem = ca_cert.public_bytes(pem).decode()
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return TestChain(certs=leaf_pem + ca_pem, key=key_pem, ca_cert=ca_pem)


def write_test_chain(directory: Path) -> tuple[Path, Path]:
    """Write ``c2pa-certs.pem`` and ``c2pa-key.pem`` (0600) under ``directory``; returns (cert, key) paths."""
    directory.mkdir(parents=True, exist_ok=True)
    chain = make_test_chain()
    cert_path = directory / "c2pa-certs.pem"
    key_path = directory / "c2pa-key.pem"
    cert_path.write_text(chain.certs)
    key_path.touch(mode=0o600)
    key_path.write_text(chain.key)
    return cert_path, key_path
