"""The image store: content-addressed objects in the private bucket.

Keys (AGENTS.md): served images ``images/<sha256[:2]>/<sha256>.<ext>``, moderated-out images
``quarantine/<sha256>.<ext>`` (never served: CloudFront may read only ``images/*``). The same bytes
always land on the same key, so a re-run never duplicates an object and every object is immutable:
``Cache-Control: public, max-age=31536000, immutable``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from imagegen_service.errors import NotFound
from imagegen_service.imagefiles import ImageFile, describe

IMMUTABLE = "public, max-age=31536000, immutable"
QUARANTINE_CACHE = "private, no-store"
SERVED_PREFIX = "images/"
QUARANTINE_PREFIX = "quarantine/"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def served_key(sha256: str, extension: str) -> str:
    return f"{SERVED_PREFIX}{sha256[:2]}/{sha256}.{extension}"


def quarantine_key(sha256: str, extension: str) -> str:
    return f"{QUARANTINE_PREFIX}{sha256}.{extension}"


@dataclass(frozen=True)
class StoredImage:
    key: str
    sha256: str
    bytes: int
    file: ImageFile
    quarantined: bool


class ImageStore:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def put(self, data: bytes, file: ImageFile, *, quarantine: bool, metadata: dict[str, str]) -> StoredImage:
        """Write the bytes under their content address. Idempotent: same bytes, same key, same object."""
        raw_digest = hashlib.sha256(data).digest()
        digest = raw_digest.hex()
        key = quarantine_key(digest, file.extension) if quarantine else served_key(digest, file.extension)
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentType=file.content_type,
            CacheControl=QUARANTINE_CACHE if quarantine else IMMUTABLE,
            # S3 checks the body against this (content-MD5 equivalent) and keeps it for audits.
            ChecksumSHA256=base64.b64encode(raw_digest).decode(),
            Metadata=metadata,
        )
        return StoredImage(key=key, sha256=digest, bytes=len(data), file=file, quarantined=quarantine)

    def put_key(self, key: str, data: bytes, file: ImageFile) -> None:
        """An object at a caller-chosen key (caller-supplied input images under ``inputs/``; never served)."""
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=data, ContentType=file.content_type, CacheControl=QUARANTINE_CACHE
        )

    def get(self, key: str) -> bytes:
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            raise NotFound(f"image object {key} does not exist") from None
        body: bytes = response["Body"].read()
        return body


__all__ = ["IMMUTABLE", "ImageStore", "StoredImage", "describe", "quarantine_key", "served_key", "sha256_hex"]
