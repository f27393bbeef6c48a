"""HTTP ↔ API Gateway HTTP API (payload format 2.0) translation, as the deployed API does it.

The local gateway hands the real Lambda handler the same event API Gateway would build, and turns
the handler's answer back into HTTP with API Gateway's rules (a dict without ``statusCode`` is a
200 JSON body). Routes come from the stack's ``aws:apigatewayv2/route:Route`` resources.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account
LOCAL_API_ID = "local"
LOCAL_CALLER_ARN = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:user/imagegen-local"
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}")


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def json_answer(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> HttpAnswer:
    return HttpAnswer(status, {"content-type": "application/json", **(headers or {})}, json.dumps(payload).encode())


def error_answer(status: int, code: str, message: str) -> HttpAnswer:
    """The contract's error body (CONTRACT.md §3) for answers the gateway gives itself."""
    return json_answer(status, {"error": {"code": code, "message": message, "details": []}})


@dataclass(frozen=True)
class Route:
    """One API Gateway route key, e.g. ``GET /v1/jobs/{job_id}``."""

    method: str
    path: str
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        return None if found is None else {name: unquote(value) for name, value in found.groupdict().items()}


def parse_route_key(route_key: str) -> Route:
    method, _, path = route_key.partition(" ")
    if not path.startswith("/"):
        raise ValueError(f"route key {route_key!r} is not 'METHOD /path'")
    regex = ""
    position = 0
    for found in _PARAM.finditer(path):
        regex += re.escape(path[position : found.start()])
        # {name+} is a greedy proxy parameter; {name} stops at the next slash, as in API Gateway.
        regex += f"(?P<{found.group(1)}>.+)" if found.group(2) else f"(?P<{found.group(1)}>[^/]+)"
        position = found.end()
    regex += re.escape(path[position:])
    return Route(method.upper(), path, re.compile(regex))


def find_route(routes: Iterable[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The matching route; literal segments beat parameters (``/v1/jobs`` before ``/v1/jobs/{id}``)."""
    candidates = []
    for route in routes:
        params = route.match(method, path)
        if params is not None:
            candidates.append((len(params), route.method == "ANY", route, params))
    if not candidates:
        return None
    candidates.sort(key=lambda item: (item[0], item[1]))
    return candidates[0][2], candidates[0][3]


def build_event(
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    route: Route,
    path_parameters: Mapping[str, str],
    domain: str,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The payload-2.0 event API Gateway would send for this request."""
    parts = urlsplit(target)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        # API Gateway lower-cases names and joins repeated headers with commas.
        merged[lower] = f"{merged[lower]},{value}" if lower in merged else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": merged,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": LOCAL_API_ID,
            "authorizer": {
                "iam": {
                    "accessKey": "LOCAL",
                    "accountId": LOCAL_ACCOUNT_ID,
                    "callerId": "imagegen-local",
                    "userArn": LOCAL_CALLER_ARN,
                    "userId": "imagegen-local",
                }
            },
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def parse_response(result: Any) -> HttpAnswer:
    """API Gateway's reading of a Lambda proxy answer (payload format 2.0)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Format 2.0 infers a 200 JSON answer from anything that is not a proxy response.
        return json_answer(200, result)
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name).lower()] = ",".join(str(v) for v in values)
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = raw.encode("utf-8") if isinstance(raw, str) else json.dumps(raw).encode()
    headers.setdefault("content-type", "application/json")
    return HttpAnswer(int(result["statusCode"]), headers, body)
