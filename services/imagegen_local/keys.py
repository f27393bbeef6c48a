"""Key material the local stack generates for itself under ``.imagegen/`` (git-ignored, never committed).

The ``local`` stack sets ``delivery.public_key_pem: generate-local``: instead of a committed key, the
local platform makes an RSA-2048 CloudFront signing key pair on first use and keeps it on disk, so
signed URLs survive restarts of ``imagegen local serve``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

STATE_DIR_NAME = ".imagegen"
SIGNING_PRIVATE_KEY = "cloudfront-private-key.pem"
SIGNING_PUBLIC_KEY = "cloudfront-public-key.pem"
RSA_BITS = 2048  # CloudFront accepts RSA-2048 or ECDSA P-256 public keys only


@dataclass(frozen=True)
class SigningKeyPair:
    private_key_file: Path
    public_key_pem: str


def state_dir(root: Path) -> Path:
    """``<root>/.imagegen``, created private to the user (it holds private keys)."""
    path = root / STATE_DIR_NAME
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _write_private(path: Path, data: bytes) -> None:
    # Write-then-rename so two processes starting at once never read half a key.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def cloudfront_signing_key(directory: Path) -> SigningKeyPair:
    """The local CloudFront key pair, generated once and reused."""
    private_path = directory / SIGNING_PRIVATE_KEY
    public_path = directory / SIGNING_PUBLIC_KEY
    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        _write_private(
            private_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
    if not public_path.exists():
        private_key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        public_pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _write_private(public_path, public_pem)
    return SigningKeyPair(private_key_file=private_path, public_key_pem=public_path.read_text())


C2PA_CERTS = "c2pa-certs.pem"
C2PA_KEY = "c2pa-key.pem"
C2PA_RENEW_AFTER_SECONDS = 300 * 24 * 3600  # the test chain is valid for a year: renew well before


def c2pa_test_chain(directory: Path) -> tuple[Path, Path]:
    """The local C2PA signer (test CA + leaf from the service's generator), made once and reused."""
    import time

    from imagegen_service.provenance_testcerts import write_test_chain

    cert, key = directory / C2PA_CERTS, directory / C2PA_KEY
    fresh = cert.exists() and key.exists() and time.time() - cert.stat().st_mtime < C2PA_RENEW_AFTER_SECONDS
    if not fresh:
        return write_test_chain(directory)
    return cert, key


LOCAL_TOKEN = "local-api-token"


def new_token() -> str:
    """192 random bits as hex. Not ``token_urlsafe``: one token in 64 began with "-", and
    ``imagegen generate --token -xyz…`` then read as a missing argument (it failed the suite's e2e test
    about one run in ten, the team's recorded flake)."""
    import secrets

    return secrets.token_hex(24)


def local_token(directory: Path) -> str:
    """The local gateway's bearer token, made once and kept beside the keys: stable across restarts."""
    path = directory / LOCAL_TOKEN
    if not path.exists() or path.read_text().strip().startswith("-"):  # an older token a flag parser misreads
        _write_private(path, new_token().encode())
    return path.read_text().strip()
