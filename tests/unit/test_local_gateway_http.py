"""The local gateway as an HTTP server (issue 11, findings 3 and 4): framing, concurrency, timeouts.

The attacker's view: raw sockets sending what a broken or hostile client sends. Expected answers come
from HTTP itself (RFC 9112: a bad Content-Length is a 400; chunked bodies are bodies) and from API
Gateway (HTTP API quotas: 10 MB payload, 30 s maximum integration timeout; a method no route declares
gets no HTML page).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from imagegen_local.apigw import parse_route_key
from imagegen_local.gateway import MAX_PAYLOAD_BYTES, LocalGateway

TOKEN = "t0ken"
AUTH = f"Authorization: Bearer {TOKEN}\r\n"


class Handler:
    """An api function that records bodies; ``/v1/jobs/slow`` waits until released."""

    def __init__(self) -> None:
        self.bodies: list[str | None] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["rawPath"] == "/v1/jobs/slow":
            self.entered.set()
            self.release.wait(30)
        self.bodies.append(event.get("body"))
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps({"ok": True})}


@pytest.fixture
def served() -> Iterator[tuple[LocalGateway, Handler]]:
    handler = Handler()
    gateway = LocalGateway(
        token=TOKEN,
        routes=[parse_route_key("POST /v1/jobs"), parse_route_key("GET /v1/jobs/{job_id}")],
        api_handler=handler,
        function_name="imagegen-test-api",
        region="us-east-1",
        integration_timeout_seconds=1.5,
        read_timeout_seconds=1,
    )
    gateway.start()
    yield gateway, handler
    handler.release.set()
    gateway.stop()


def raw(gateway: LocalGateway, data: bytes, *, timeout: float = 10) -> bytes:
    """Send ``data`` on a fresh connection; everything the server answers before it closes."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("length", [b"-1", b"abc", b"1e3", b"12, 13"])
def test_a_bad_content_length_gets_a_400_not_silence(served: tuple[LocalGateway, Handler], length: bytes) -> None:
    gateway, handler = served
    answer = raw(
        gateway, b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\n" + AUTH.encode() + b"Content-Length: " + length + b"\r\n\r\n{}"
    )
    assert status_of(answer) == 400, answer[:200]
    assert handler.bodies == []


def test_a_chunked_body_reaches_the_handler(served: tuple[LocalGateway, Handler]) -> None:
    gateway, handler = served
    body = b'{"model": "titan-image-v1"}'
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer = raw(
        gateway,
        b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\n" + AUTH.encode() + b"Transfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n" + chunked,
    )
    assert status_of(answer) == 200, answer[:200]
    assert handler.bodies == [body.decode()]


def test_a_body_over_the_payload_limit_is_a_413_and_never_reaches_the_handler(
    served: tuple[LocalGateway, Handler],
) -> None:
    gateway, handler = served
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    body = b"x" * (MAX_PAYLOAD_BYTES + 1)
    try:
        connection.request("POST", "/v1/jobs", body=body, headers={"Authorization": f"Bearer {TOKEN}"})
        answer = connection.getresponse()
        assert answer.status == 413
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the gateway reset the connection instead of answering 413")
    finally:
        connection.close()
    assert handler.bodies == []


def test_options_is_a_json_405_not_an_html_501(served: tuple[LocalGateway, Handler]) -> None:
    gateway, _ = served
    answer = raw(gateway, b"OPTIONS /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 405
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "MethodNotAllowed"


def test_a_stalled_client_is_cut_off_and_holds_no_worker(served: tuple[LocalGateway, Handler]) -> None:
    gateway, handler = served
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as stalled:
        # Headers promise 100 bytes that never come.
        stalled.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\n" + AUTH.encode() + b"Content-Length: 100\r\n\r\n{")
        started = time.monotonic()
        others = [_get(gateway, "/v1/jobs/abc") for _ in range(20)]  # more than the worker threads
        assert others == [200] * 20
        assert time.monotonic() - started < 5
        # The server closes the stalled connection after its read timeout (1 s here) …
        stalled.settimeout(10)
        assert stalled.recv(1024) == b""
        closed_after = time.monotonic() - started
    assert closed_after < 10
    assert len(handler.bodies) == 20  # … and the half-sent request never reached the handler


def test_clients_that_hang_up_leave_no_traceback(
    served: tuple[LocalGateway, Handler], caplog: pytest.LogCaptureFixture
) -> None:
    gateway, _ = served
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
            sock.sendall(b"GET /v1/jobs/x HTTP/1.1\r\nHost: x\r\n" + AUTH.encode() + b"\r\n")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
    assert _get(gateway, "/v1/jobs/after") == 200
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]


def _get(gateway: LocalGateway, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _in_thread(action: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.update(value=action()))
    thread.start()
    return thread, out


def test_a_slow_invocation_does_not_hold_up_the_others(served: tuple[LocalGateway, Handler]) -> None:
    gateway, handler = served
    thread, _ = _in_thread(lambda: _get(gateway, "/v1/jobs/slow"))
    assert handler.entered.wait(10)
    started = time.monotonic()
    assert _get(gateway, "/v1/jobs/quick") == 200
    assert time.monotonic() - started < 1.0
    handler.release.set()
    thread.join(10)


def test_the_integration_timeout_is_enforced_with_api_gateways_504(served: tuple[LocalGateway, Handler]) -> None:
    gateway, _ = served
    started = time.monotonic()
    assert _get(gateway, "/v1/jobs/slow") == 504
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 5, elapsed


def test_the_integration_timeout_never_exceeds_http_apis_30_s() -> None:
    gateway = LocalGateway(
        token=TOKEN, routes=[], api_handler=lambda e, c: {}, function_name="f", region="us-east-1",
        integration_timeout_seconds=300,
    )  # fmt: skip
    try:
        assert gateway.integration_timeout == 30.0
    finally:
        gateway.stop()
