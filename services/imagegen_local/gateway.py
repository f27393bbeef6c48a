"""The local HTTP front door: API Gateway (bearer-token auth locally) plus the CDN route.

Binds 127.0.0.1 only. Every API request needs ``Authorization: Bearer TOKEN``; without it the
answer is 401 and the handler is never called. The delivery route (``/cdn/...``) needs no token:
like CloudFront, the URL's signature is the authorisation.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from imagegen_local.apigw import HttpAnswer, Route, build_event, error_answer, find_route, parse_response
from imagegen_local.cdn import CdnOrigin
from imagegen_local.lambda_context import LocalLambdaContext

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API request payload limit
ADMIN_PREFIX = "/_local/"

Handler = Callable[[dict[str, Any], Any], Any]
AdminRoute = Callable[[str, dict[str, Any]], HttpAnswer]


class LocalGateway:
    """An HTTP server on 127.0.0.1 that hands API requests to the real api handler."""

    def __init__(
        self,
        *,
        token: str,
        routes: Sequence[Route],
        api_handler: Handler,
        function_name: str,
        region: str,
        function_timeout_seconds: float = 30.0,
        port: int = 0,
    ) -> None:
        self.token = token
        self.routes = list(routes)
        self._api_handler = api_handler
        self._function_name = function_name
        self._region = region
        self._timeout = function_timeout_seconds
        # One warm Lambda container: handler module state (Powertools metrics, caches) is not
        # shared between concurrent invocations in the cloud, so it is not here either.
        self._invoke_lock = threading.Lock()
        self.cdn: CdnOrigin | None = None
        self.admin: dict[str, AdminRoute] = {}
        self._server = ThreadingHTTPServer((LOOPBACK, port), _make_request_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="imagegen-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    # ----------------------------------------------------------------------------- dispatch
    def authorised(self, header: str | None) -> bool:
        scheme, _, presented = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), self.token.encode())

    def dispatch(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> HttpAnswer:
        path = urlsplit(target).path
        if self.cdn is not None and self.cdn.handles(path):
            return self.cdn.answer(method, target)
        if not self.authorised(next((v for k, v in headers if k.lower() == "authorization"), None)):
            return error_answer(401, "Unauthorized", "missing or wrong bearer token (Authorization: Bearer TOKEN)")
        if path.startswith(ADMIN_PREFIX):
            admin = self.admin.get(f"{method} {path}")
            if admin is None:
                return error_answer(404, "NotFound", f"no local admin route {method} {path}")
            payload = json.loads(body) if body else {}
            return admin(method, payload if isinstance(payload, dict) else {})
        found = find_route(self.routes, method, path)
        if found is None:
            return error_answer(404, "NotFound", f"no route for {method} {path}")
        route, params = found
        event = build_event(
            method=method,
            target=target,
            headers=headers,
            body=body,
            route=route,
            path_parameters=params,
            domain=f"{LOOPBACK}:{self.port}",
        )
        context = LocalLambdaContext(self._function_name, region=self._region, timeout_seconds=self._timeout)
        with self._invoke_lock:
            try:
                result = self._api_handler(event, context)
            except Exception:
                # A Lambda that raises is a 500 "Internal Server Error" from API Gateway; log the cause.
                log.exception("api handler raised on %s %s", method, path)
                return error_answer(500, "InternalError", "Internal Server Error")
        return parse_response(result)


def _make_request_handler(gateway: LocalGateway) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        server_version = "imagegen-local"
        sys_version = ""

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_PAYLOAD_BYTES:
                self._send(error_answer(413, "PayloadTooLarge", f"the request body is over {MAX_PAYLOAD_BYTES} bytes"))
                return
            body = self.rfile.read(length) if length else b""
            try:
                answer = gateway.dispatch(self.command, self.path, list(self.headers.items()), body)
            except json.JSONDecodeError:
                answer = error_answer(400, "ValidationError", "the body is not valid JSON")
            self._send(answer)

        def _send(self, answer: HttpAnswer) -> None:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                if name != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", answer.headers.get("content-length", str(len(answer.body))))
            self.end_headers()
            if answer.body and self.command != "HEAD":
                self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return RequestHandler
