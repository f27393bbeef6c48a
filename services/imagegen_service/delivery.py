"""Delivery URLs: CloudFront signed URLs (canned policy) for images, and their verifier.

Signing uses ``botocore.signers.CloudFrontSigner`` with the private key of the stack's CloudFront
key group: from Secrets Manager when deployed (read once per container, then cached), from
``signing_key_file`` locally. CloudFront's canned policy is signed with SHA-1 (RSA PKCS#1 v1.5),
as botocore documents. ``verify_signed_url`` needs only the public key: the local platform serves an
image only when this returns True, which is what CloudFront's trusted key group does deployed.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from imagegen_service.config import RuntimeConfig

_SIGNED_PARAMS = ("Expires", "Signature", "Key-Pair-Id")
_KEY_CACHE: dict[str, Any] = {}
_KEY_LOCK = threading.Lock()


class DeliveryMisconfigured(RuntimeError):
    """Signed URLs are on but no key id or private key is configured: an operator error."""


def object_url(cdn_domain: str, key: str) -> str:
    """``cdn_domain`` is a host name (deployed) or a full base URL (local)."""
    base = cdn_domain if "://" in cdn_domain else f"https://{cdn_domain}"
    return f"{base.rstrip('/')}/{key}"


# --------------------------------------------------------------------------- CloudFront's URL-safe base64
def _cf_b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode().replace("+", "-").replace("=", "_").replace("/", "~")


def _cf_b64decode(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"), validate=True)


def canned_policy(resource: str, expires: int) -> bytes:
    """The canned policy CloudFront checks (key order is significant; same bytes botocore signs)."""
    policy = {"Statement": [{"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}]}
    return json.dumps(policy, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- signing
def _load_private_key(pem: bytes) -> Any:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise DeliveryMisconfigured("the CloudFront signing key must be RSA-2048 or ECDSA P-256")
    return key


def _pem_from_secret(secret_string: str) -> bytes:
    text = secret_string.strip()
    if text.startswith("{"):  # JSON secret: {"private_key": PEM} or {"key": PEM}
        document = json.loads(text)
        text = document.get("private_key") or document.get("key") or ""
    return text.encode()


def private_key(config: RuntimeConfig, secrets_client: Callable[[], Any]) -> Any:
    """The signing key, loaded once per container (Secrets Manager is a network call per read)."""
    source = config.signing_key_secret_arn or config.signing_key_file
    if not source:
        raise DeliveryMisconfigured("signed URLs need IMAGEGEN_SIGNING_KEY_SECRET_ARN or IMAGEGEN_SIGNING_KEY_FILE")
    with _KEY_LOCK:
        cached = _KEY_CACHE.get(source)
        if cached is None:
            if config.signing_key_secret_arn:
                secret = secrets_client().get_secret_value(SecretId=config.signing_key_secret_arn)
                pem = _pem_from_secret(secret["SecretString"])
            else:
                with open(source, "rb") as handle:
                    pem = handle.read()
            cached = _KEY_CACHE[source] = _load_private_key(pem)
    return cached


def _signer_for(key: Any) -> Callable[[bytes], bytes]:
    if isinstance(key, rsa.RSAPrivateKey):
        return lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303  # CloudFront requires SHA-1
    # UNCONFIRMED: CloudFront's ECDSA signed-URL hash; SHA-1 mirrors the RSA canned-policy rule.
    return lambda message: key.sign(message, ec.ECDSA(hashes.SHA1()))  # noqa: S303


class UrlSigner:
    """Turns object keys into delivery URLs for one stack configuration."""

    def __init__(self, config: RuntimeConfig, secrets_client: Callable[[], Any]) -> None:
        self._config = config
        self._secrets_client = secrets_client

    def url(self, key: str, *, now: datetime | None = None) -> str:
        url = object_url(self._config.cdn_domain, key)
        if not self._config.signed_urls:
            return url
        if not self._config.signing_key_id:
            raise DeliveryMisconfigured("signed URLs need IMAGEGEN_SIGNING_KEY_ID (the CloudFront public key ID)")
        from botocore.signers import CloudFrontSigner

        signer = CloudFrontSigner(
            self._config.signing_key_id, _signer_for(private_key(self._config, self._secrets_client))
        )
        expires = (now or datetime.now(UTC)) + timedelta(seconds=self._config.url_ttl_seconds)
        signed: str = signer.generate_presigned_url(url, date_less_than=expires)
        return signed


# --------------------------------------------------------------------------- verifying
def verify_signed_url(url: str, public_key_pem: str | bytes, now: datetime, *, key_id: str | None = None) -> bool:
    """True when ``url`` carries a valid, unexpired canned-policy signature by the key's private half.

    Checks what CloudFront checks for a canned policy: the signature over
    ``{"Statement":[{"Resource": <url without the signing parameters>, "Condition": {"DateLessThan":
    {"AWS:EpochTime": Expires}}}]}``, ``now < Expires``, and (when given) the Key-Pair-Id.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    if any(name not in params for name in _SIGNED_PARAMS):
        return False
    if key_id is not None and params["Key-Pair-Id"] != key_id:
        return False
    try:
        expires = int(params["Expires"])
        signature = _cf_b64decode(params["Signature"])
    except ValueError:
        return False
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if now.timestamp() >= expires:
        return False
    # The signed resource is the URL as it was before the signer appended its three parameters.
    kept = [part for part in parts.query.split("&") if part.split("=", 1)[0] not in _SIGNED_PARAMS]
    resource = urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), ""))
    policy = canned_policy(resource, expires)
    public_key = serialization.load_pem_public_key(
        public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
    )
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, policy, ec.ECDSA(hashes.SHA1()))  # noqa: S303
        else:
            return False
    except InvalidSignature:
        return False
    return True
