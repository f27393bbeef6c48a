"""The local stand-in for CloudFront in front of the private bucket.

Like the deployed distribution it serves only ``images/*`` (the bucket policy grants CloudFront
nothing else, so ``quarantine/`` and ``drafts/`` are never delivered), and with signed URLs on it
answers 403 unless the URL carries a valid, unexpired canned-policy signature made with the stack's
key pair. The signature check is the service's own ``delivery.verify_signed_url``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from imagegen_local.apigw import HttpAnswer, error_answer

log = logging.getLogger(__name__)

SERVED_PREFIX = "images/"  # mirrors the bucket policy: CloudFront may read images/* only
IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}


class CdnOrigin:
    """Answers ``GET {base_url}/<key>?Expires=…&Signature=…&Key-Pair-Id=…`` from the bucket."""

    def __init__(
        self,
        *,
        base_url: str,
        s3: Any,
        bucket: str,
        public_key_pem: str,
        key_pair_id: str | None,
        signed_urls: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._path_prefix = urlsplit(self.base_url).path.rstrip("/") + "/"
        self._s3 = s3
        self._bucket = bucket
        self._public_key_pem = public_key_pem
        self._key_pair_id = key_pair_id
        self._signed_urls = signed_urls
        self._clock = clock

    def handles(self, path: str) -> bool:
        return path.startswith(self._path_prefix)

    def _signature_ok(self, url: str) -> bool:
        from imagegen_service.delivery import verify_signed_url

        # CloudFront also checks that Key-Pair-Id belongs to the behaviour's trusted key group.
        now = datetime.fromtimestamp(self._clock(), UTC)
        try:
            return bool(verify_signed_url(url, self._public_key_pem, now, key_id=self._key_pair_id))
        except Exception as error:
            log.info("signed URL rejected: %s", error)
            return False

    def answer(self, method: str, target: str) -> HttpAnswer:
        """``target`` is the request line's path and query, exactly as the client sent it."""
        if method not in ("GET", "HEAD"):
            return error_answer(403, "Forbidden", "the delivery route serves GET and HEAD only")
        parts = urlsplit(target)
        key = unquote(parts.path[len(self._path_prefix) :])
        if not key.startswith(SERVED_PREFIX) or ".." in key.split("/"):
            return error_answer(403, "Forbidden", "only images/* are delivered")
        origin = urlsplit(self.base_url)
        url = f"{origin.scheme}://{origin.netloc}{target}"
        if self._signed_urls and not self._signature_ok(url):
            return error_answer(403, "Forbidden", "missing, invalid or expired URL signature")
        try:
            found = self._s3.get_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            return error_answer(404, "NotFound", f"no image at {key}")
        body = found["Body"].read()
        extension = key.rsplit(".", 1)[-1].lower()
        headers = {
            "content-type": found.get("ContentType") or _TYPES.get(extension, "application/octet-stream"),
            "cache-control": found.get("CacheControl") or IMMUTABLE,
            "content-length": str(len(body)),
            "x-content-type-options": "nosniff",
        }
        return HttpAnswer(200, headers, b"" if method == "HEAD" else body)
