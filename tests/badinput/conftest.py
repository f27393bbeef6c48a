"""The real api handler behind the local platform, called with API Gateway v2 events."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from imagegen_local.lambda_context import LocalLambdaContext
from imagegen_local.serve import LocalPlatform

from tests.faults.local import emulator_stats, local_platform

Answer = tuple[int, dict[str, Any]]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    with local_platform("badinput", tmp_path_factory.mktemp("state")) as running:
        yield running


def api_event(
    method: str,
    path: str,
    body: bytes | str | None,
    *,
    content_type: str = "application/json",
    base64_body: bool = False,
) -> dict[str, Any]:
    raw = body.encode() if isinstance(body, str) else body
    text = (
        None
        if raw is None
        else (base64.b64encode(raw).decode() if base64_body else raw.decode("utf-8", "surrogatepass"))
    )
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": content_type} if content_type else {},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "badinput",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": uuid.uuid4().hex,
            "routeKey": f"{method} {path}",
            "stage": "$default",
        },
        "body": text,
        "isBase64Encoded": base64_body,
    }


@pytest.fixture(scope="module")
def call_api(platform: LocalPlatform) -> Callable[..., Answer]:
    from imagegen_service.handlers import api

    def call(method: str, path: str, body: bytes | str | None, **kwargs: Any) -> Answer:
        context = LocalLambdaContext("imagegen-badinput-api", region="us-west-2", timeout_seconds=30)
        response = api.handler(api_event(method, path, body, **kwargs), context)
        status = int(response["statusCode"])
        try:
            payload = json.loads(response.get("body") or "{}")
        except ValueError:
            payload = {"unparseable": response.get("body")}
        return status, payload

    return call


@pytest.fixture(scope="module")
def model_calls(platform: LocalPlatform) -> Callable[[], int]:
    """InvokeModel calls the emulator has seen (answered or not)."""
    return lambda: sum(emulator_stats(platform)["requests"].values())
