"""A small client for the HTTP API of CONTRACT.md §3, local (bearer token) or deployed (SigV4).

Deployed stacks authorise with IAM: requests are signed with botocore's ``SigV4Auth`` for the
``execute-api`` service using the AWS profile's credentials. Locally ``imagegen local serve`` takes
the bearer token it printed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT_SECONDS = 60.0


class ApiError(Exception):
    """A non-2xx answer, with the contract's error code, message and field details."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


@dataclass(frozen=True)
class BearerAuth:
    token: str

    def headers(self, method: str, url: str, body: bytes) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class SigV4Auth:
    """IAM authorisation for a deployed API (API Gateway HTTP API with the IAM authoriser)."""

    region: str
    profile: str | None = None

    def headers(self, method: str, url: str, body: bytes) -> dict[str, str]:
        import boto3
        from botocore.auth import SigV4Auth as BotocoreSigV4
        from botocore.awsrequest import AWSRequest

        session = boto3.Session(profile_name=self.profile)
        credentials = session.get_credentials()
        if credentials is None:
            raise ApiError(0, "NoCredentials", "no AWS credentials found for SigV4 signing (set AWS_PROFILE)")
        request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
        BotocoreSigV4(credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(request)
        return dict(request.headers.items())


Auth = BearerAuth | SigV4Auth


class ImagegenClient:
    def __init__(self, base_url: str, auth: Auth, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout

    def request(self, method: str, path: str, payload: Any = None) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        headers.update(self.auth.headers(method, url, body))
        request = urllib.request.Request(url, data=body or None, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return dict(json.loads(answer.read() or b"{}"))
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                problem = json.loads(raw).get("error") or {}
            except (ValueError, AttributeError):
                problem = {}
            if not isinstance(problem, dict):
                problem = {"message": str(problem)}
            raise ApiError(
                error.code,
                str(problem.get("code") or error.reason),
                str(problem.get("message") or raw[:200].decode("utf-8", "replace")),
                problem.get("details") or [],
            ) from None
        except urllib.error.URLError as error:
            raise ApiError(0, "Unreachable", f"cannot reach {self.base_url}: {error.reason}") from None

    # --------------------------------------------------------------------------- the API
    def generate(self, request: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/images: one request, generated synchronously; returns the Job."""
        return dict(self.request("POST", "/v1/images", request)["job"])

    def submit(self, requests: list[dict[str, Any]]) -> dict[str, Any]:
        """POST /v1/jobs with 1–100 requests; returns ``{"batch_id", "jobs": [...]}``."""
        return self.request("POST", "/v1/jobs", {"requests": requests})

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/v1/jobs/{urllib.parse.quote(job_id, safe='')}")["job"])

    def models(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/v1/models")["models"])

    def provenance(self, image_id: str) -> dict[str, Any]:
        """GET /v1/images/{image_id}/provenance: the image's record and its stored manifest, checked."""
        return self.request("GET", f"/v1/images/{urllib.parse.quote(image_id, safe='')}/provenance")


def download(url: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> bytes:
    """Fetch a delivery URL (signed CloudFront URL, or the local CDN route)."""
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310
        return bytes(answer.read())
