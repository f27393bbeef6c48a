"""Detached Ed25519 signatures for compliance reports (``imagegen policy report`` / ``policy verify``).

The key pair belongs to the reviewer, not to the project: it lives outside the checkout, in
``$IMAGEGEN_REPORT_KEY_DIR`` or else ``~/.config/imagegen/report-signing/`` (``report.key``: PKCS#8
PEM, mode 0600; ``report.pub``: SubjectPublicKeyInfo PEM). ``imagegen policy keygen`` creates it; a
signed report created without one creates it first (and says so). A reviewer who wants the author
of a report to sign with the reviewer's key hands over nothing: the reviewer runs the report.
A reviewer who receives a report from someone else verifies it with that person's ``report.pub``
(``--public-key``), obtained out of band.

The signature file is JSON: ``{"algorithm": "Ed25519", "key_id": "<sha256 of the raw public key>",
"signed_sha256": "<sha256 of the report bytes>", "signature": "<base64 of the 64-byte signature>"}``.
Only ``signature`` is trusted: it is checked against the report's exact bytes with the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from imagegen_service.errors import ImagegenError

ALGORITHM = "Ed25519"
KEY_DIR_ENV = "IMAGEGEN_REPORT_KEY_DIR"
PRIVATE_NAME, PUBLIC_NAME = "report.key", "report.pub"


class SigningError(ImagegenError):
    status = 400
    code = "SigningError"


def key_dir() -> Path:
    override = os.environ.get(KEY_DIR_ENV)
    if override:
        return Path(override)
    return Path.home() / ".config" / "imagegen" / "report-signing"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class KeyPair:
    private: Ed25519PrivateKey
    directory: Path
    created: bool

    @property
    def public_path(self) -> Path:
        return self.directory / PUBLIC_NAME


def generate(directory: Path | None = None, *, overwrite: bool = False) -> KeyPair:
    """A new key pair in ``directory``; refuses to replace an existing one unless ``overwrite``."""
    directory = directory or key_dir()
    private_path, public_path = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    if private_path.exists() and not overwrite:
        raise SigningError(f"{private_path} already exists (pass --force to replace it; old signatures stop verifying)")
    key = Ed25519PrivateKey.generate()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        public_path.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    except OSError as error:
        raise SigningError(f"cannot write the signing key to {directory}: {error.strerror or error}") from None
    return KeyPair(key, directory, created=True)


def load_or_create(directory: Path | None = None) -> KeyPair:
    directory = directory or key_dir()
    private_path = directory / PRIVATE_NAME
    if not private_path.exists():
        return generate(directory)
    try:
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except (OSError, ValueError) as error:
        raise SigningError(f"{private_path}: not a readable PEM private key ({error})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{private_path}: not an Ed25519 private key")
    return KeyPair(key, directory, created=False)


def sign(data: bytes, pair: KeyPair) -> str:
    """The detached signature file's text for ``data``."""
    return (
        json.dumps(
            {
                "algorithm": ALGORITHM,
                "key_id": key_id(pair.private.public_key()),
                "signed_sha256": hashlib.sha256(data).hexdigest(),
                "signature": base64.b64encode(pair.private.sign(data)).decode("ascii"),
            },
            indent=2,
        )
        + "\n"
    )


def load_public(path: Path | None = None) -> Ed25519PublicKey:
    path = path or key_dir() / PUBLIC_NAME
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise SigningError(
            f"{path}: no public key (run `imagegen policy keygen`, or pass --public-key with the signer's report.pub)"
        ) from None
    except (OSError, ValueError) as error:
        raise SigningError(f"{path}: not a readable PEM public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path}: not an Ed25519 public key")
    return key


def verify(data: bytes, signature_text: str, public: Ed25519PublicKey) -> tuple[bool, str]:
    """(valid, why): the signature must be Ed25519 over exactly ``data`` by ``public``."""
    try:
        document = json.loads(signature_text)
        raw = base64.b64decode(document["signature"], validate=True)
        algorithm = document.get("algorithm")
    except (ValueError, KeyError, TypeError):
        return False, "the signature file is not an imagegen report signature (JSON with a base64 'signature')"
    if algorithm != ALGORITHM:
        return False, f"algorithm {algorithm!r} is not {ALGORITHM}"
    if document.get("key_id") not in (None, key_id(public)):
        return False, "signed with a different key than the public key given"
    try:
        public.verify(raw, data)
    except InvalidSignature:
        return False, "the signature does not match the report (the report or the signature was changed)"
    return True, f"valid {ALGORITHM} signature by key {key_id(public)[:16]}"
