"""Idempotency keys on POST /v1/images and POST /v1/jobs, as the IETF httpapi draft describes them.

The key comes from the ``Idempotency-Key`` header (draft-ietf-httpapi-idempotency-key-header: an
RFC 8941 sf-string such as ``"8e03978e-40d5"``; a bare value, as Stripe takes it, is accepted too) or
from the body's ``idempotency_key`` (a single request); both at once must agree. The first request
with a key binds it to a fingerprint of its payload (route + body, the key itself left out):

* the same key and payload again: the original answer's jobs (the original ``batch_id`` for a batch),
  as they are now, with ``Idempotent-Replayed: true``;
* the same key with a different payload: 422 ``IdempotencyKeyReused``;
* the same key while the first request is still being answered: 409 ``InProgress`` with ``Retry-After``.

A request refused before it created any job (moderation) releases its key. In a batch body
(``{"requests": [...]}``) each request's ``idempotency_key`` is bound on its own, the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from imagegen_service.errors import FieldProblem, IdempotencyKeyReused, InProgress, RequestInvalid
from imagegen_service.jobs import IDEMPOTENCY_IN_FLIGHT, JobStore
from imagegen_service.requests import MAX_IDEMPOTENCY_KEY

HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
# An in-flight key outlives any live first attempt: API Gateway gives up after at most 30 s and the api
# function's own timeout is of that order; past the lease a dead attempt's key can be taken over.
LEASE_S = 120
RETRY_AFTER_S = 2
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: what a header value and a log line can carry


@dataclass(frozen=True)
class Key:
    value: str
    fingerprint: str
    field: str  # where it came from, for error details


def _fingerprint(scope: str, payload: Any) -> str:
    canonical = json.dumps([scope, payload], sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _header_value(raw: str) -> str:
    import http_sfv

    text = raw.strip()
    if text.startswith('"'):
        item = http_sfv.Item()
        try:
            item.parse(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise _bad_header("is not a valid structured-field string (RFC 8941)") from None
        if not isinstance(item.value, str):
            raise _bad_header("must be a string")
        text = item.value
    if not 1 <= len(text) <= MAX_IDEMPOTENCY_KEY or not _PRINTABLE.match(text):
        raise _bad_header(f"must be 1–{MAX_IDEMPOTENCY_KEY} visible ASCII characters")
    return text


def _bad_header(message: str) -> RequestInvalid:
    return RequestInvalid.from_problems([FieldProblem("Idempotency-Key", message)])


def call_key(headers: dict[str, str], body: Any, scope: str) -> Key | None:
    """The key of this whole call (header, or the body's field of a single request), or None."""
    header = headers.get(HEADER)
    single = isinstance(body, dict) and "requests" not in body
    body_key = body.get("idempotency_key") if single else None
    if header is None:
        if not isinstance(body_key, str):
            return None
        payload = {k: v for k, v in body.items() if k != "idempotency_key"}
        return Key(body_key, _fingerprint(scope, payload), "idempotency_key")
    value = _header_value(header)
    if body_key is not None and body_key != value:
        raise RequestInvalid.from_problems(
            [FieldProblem("idempotency_key", "differs from the Idempotency-Key header; send one key")]
        )
    payload = {k: v for k, v in body.items() if k != "idempotency_key"} if single else body
    return Key(value, _fingerprint(scope, payload), "Idempotency-Key")


def request_key(raw: Any, scope: str, field: str) -> Key | None:
    """The key of one request inside a batch body."""
    value = raw.get("idempotency_key") if isinstance(raw, dict) else None
    if not isinstance(value, str):
        return None
    payload = {k: v for k, v in raw.items() if k != "idempotency_key"}
    return Key(value, _fingerprint(scope, payload), field)


def claim(jobs: JobStore, key: Key) -> dict[str, Any] | None:
    """None: the key is this request's now. Otherwise the earlier binding to replay.

    Raises 422 ``IdempotencyKeyReused`` (another payload) or 409 ``InProgress`` (still being answered).
    """
    bound = jobs.claim_idempotency_key(key.value, fingerprint=key.fingerprint, lease_s=LEASE_S)
    if bound is None:
        return None
    if bound.get("fingerprint") not in (None, key.fingerprint):
        raise IdempotencyKeyReused(
            f"{key.field} {key.value!r} was already used for a different request; use a new key for a new request"
        )
    if bound.get("state") == IDEMPOTENCY_IN_FLIGHT:
        raise InProgress(
            f"the first request with {key.field} {key.value!r} is still being answered; retry in {RETRY_AFTER_S} s"
        )
    return bound
