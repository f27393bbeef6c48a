"""One error hierarchy for the service: each error carries its HTTP status and API code.

The API handler turns any ``ImagegenError`` into the contract's error body
(``{"error": {"code", "message", "details"}}``); anything else is a bug and becomes a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    """One offending field and the rule it broke."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ImagegenError(Exception):
    """Root of every error the service raises on purpose."""

    status: int = 500
    code: str = "InternalError"
    retryable: bool = False

    def __init__(self, message: str, *, details: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[FieldProblem] = list(details or [])

    def as_body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": [d.as_dict() for d in self.details],
            }
        }


class RequestInvalid(ImagegenError):
    """400: the request broke a schema or model limit; ``details`` names every field."""

    status = 400
    code = "ValidationError"

    @classmethod
    def from_problems(cls, problems: list[FieldProblem]) -> RequestInvalid:
        summary = "; ".join(f"{p.field}: {p.message}" for p in problems)
        return cls(f"invalid request: {summary}", details=problems)


class Unauthorized(ImagegenError):
    status = 401
    code = "Unauthorized"


class Forbidden(ImagegenError):
    status = 403
    code = "Forbidden"


class NotFound(ImagegenError):
    status = 404
    code = "NotFound"


class MethodNotAllowed(ImagegenError):
    status = 405
    code = "MethodNotAllowed"


class InProgress(ImagegenError):
    """409: the same request (fingerprint) is being generated right now by another call: retry shortly."""

    status = 409
    code = "InProgress"
    retryable = True


class IdempotencyKeyReused(ImagegenError):
    """422: an Idempotency-Key already used for a different payload (IETF httpapi Idempotency-Key draft)."""

    status = 422
    code = "IdempotencyKeyReused"


class PayloadTooLarge(ImagegenError):
    status = 413
    code = "PayloadTooLarge"


class UnsupportedMediaType(ImagegenError):
    status = 415
    code = "UnsupportedMediaType"


class PromptBlocked(ImagegenError):
    """422: the guardrail or the model's own input filter refused the prompt or input image."""

    status = 422
    code = "PromptBlocked"


class OutputBlocked(ImagegenError):
    """The model's output filter withheld every image (a 200 from Bedrock, not an exception)."""

    status = 422
    code = "OutputBlocked"


class Throttled(ImagegenError):
    status = 429
    code = "Throttled"
    retryable = True


class PacingDeferred(Throttled):
    """The fleet's model-call controller has no slot early enough: try again in ``wait_s`` seconds.

    The worker puts the job back on the queue with that delay (as a fresh message, so pacing never
    counts towards maxReceiveCount); the sync API answers 429."""

    def __init__(self, message: str, *, wait_s: float) -> None:
        super().__init__(message)
        self.wait_s = wait_s


class ModelUnavailable(ImagegenError):
    """503: the model is not enabled in this stack, is past end-of-life, or access is not granted."""

    status = 503
    code = "ModelUnavailable"


class ModelTimeout(ImagegenError):
    """The model did not answer in time. Retrying may bill twice: see ``client.RetryPolicy``."""

    status = 504
    code = "ModelTimeout"
    retryable = True


class ModelFailed(ImagegenError):
    """The model or Bedrock failed on its side (ModelErrorException, InternalServerException …)."""

    status = 502
    code = "ModelError"
    retryable = True


class AccessDenied(ImagegenError):
    """Our own IAM or model access is wrong: an operator problem, never the caller's."""

    status = 503
    code = "AccessDenied"


class SettingsInvalid(ImagegenError):
    """Stack settings failed validation; the message names every invalid field (CLI exit 2)."""

    status = 400
    code = "SettingsInvalid"


@dataclass
class ErrorRecord:
    """What a job record stores about its failure."""

    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)
