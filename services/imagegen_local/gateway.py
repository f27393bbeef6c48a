"""The local HTTP front door: API Gateway (bearer-token auth locally) plus the CDN route.

Binds 127.0.0.1 only. Every API request needs ``Authorization: Bearer TOKEN``; without it the
answer is 401 and the handler is never called. The delivery route (``/cdn/...``) needs no token:
like CloudFront, the URL's signature is the authorisation.

HTTP is served by waitress (a maintained WSGI server): it reads whole request bodies (chunked or
``Content-Length``) before a worker thread sees the request, answers malformed framing with a 400
itself, refuses bodies over the payload limit with a 413, closes connections that stall for
``READ_TIMEOUT_S`` and shrugs off clients that disconnect. A stalled client therefore never holds a
worker thread. Requests are handled concurrently; like API Gateway, the gateway stops waiting for the
integration after the stack's integration timeout and answers 504 itself.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from imagegen_local.apigw import HttpAnswer, Route, build_event, error_answer, find_route, parse_response
from imagegen_local.cdn import CdnOrigin
from imagegen_local.lambda_context import LocalLambdaContext

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API request payload limit
# API Gateway HTTP API: "Maximum integration timeout: 30 seconds" (Amazon API Gateway quotas,
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html); the stack may set less.
MAX_INTEGRATION_TIMEOUT_S = 30.0
DRAIN_LIMIT_BYTES = 4 * MAX_PAYLOAD_BYTES
READ_TIMEOUT_S = 30.0  # a client that sends nothing for this long is disconnected
DEFAULT_THREADS = 16
ADMIN_PREFIX = "/_local/"
ALLOWED_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")

Handler = Callable[[dict[str, Any], Any], Any]
AdminRoute = Callable[[str, dict[str, Any]], HttpAnswer]
StartResponse = Callable[..., Any]


class LocalGateway:
    """An HTTP server on 127.0.0.1 that hands API requests to the api function."""

    def __init__(
        self,
        *,
        token: str,
        routes: Sequence[Route],
        api_handler: Handler,
        function_name: str,
        region: str,
        function_timeout_seconds: float = 30.0,
        integration_timeout_seconds: float = MAX_INTEGRATION_TIMEOUT_S,
        port: int = 0,
        threads: int = DEFAULT_THREADS,
        read_timeout_seconds: float = READ_TIMEOUT_S,
    ) -> None:
        from waitress.server import create_server

        self.token = token
        self.routes = list(routes)
        self._api_handler = api_handler
        self._function_name = function_name
        self._region = region
        self._timeout = function_timeout_seconds
        self.integration_timeout = min(integration_timeout_seconds, MAX_INTEGRATION_TIMEOUT_S)
        self.cdn: CdnOrigin | None = None
        self.admin: dict[str, AdminRoute] = {}
        self._server = create_server(
            self.wsgi,
            host=LOOPBACK,
            port=port,
            threads=threads,
            ident="imagegen-local",
            # Bodies up to this are read in full, so an over-limit one gets its 413 after it was drained
            # (a 413 sent mid-upload reaches the client as a connection reset); past it, waitress cuts off.
            max_request_body_size=DRAIN_LIMIT_BYTES,
            channel_timeout=max(1, int(read_timeout_seconds)),
            cleanup_interval=max(1, int(read_timeout_seconds)),
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=True,
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="imagegen-gateway", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(OSError):  # the listening socket was closed under the loop by stop()
            self._server.run()

    def stop(self) -> None:
        self._server.close()
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    # ----------------------------------------------------------------------------- WSGI
    def wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ["REQUEST_METHOD"]).upper()
        # The request target as sent (PATH_INFO is percent-decoded: an escaped "/" in an id would split it).
        target = str(environ.get("REQUEST_URI") or "")
        if not target.startswith("/"):
            target = quote(environ.get("PATH_INFO", ""), safe="/%:@!$&'()*+,;=-._~")
            if environ.get("QUERY_STRING"):
                target += f"?{environ['QUERY_STRING']}"
        headers = [
            (key[5:].replace("_", "-").title(), str(value)) for key, value in environ.items() if key.startswith("HTTP_")
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append(("Content-Type", str(environ["CONTENT_TYPE"])))
        if method not in ALLOWED_METHODS:
            # API Gateway matches no route for a method none declares (no CORS configured): a JSON 404/405.
            answer = error_answer(405, "MethodNotAllowed", f"{method} is not allowed here")
            answer.headers["allow"] = ", ".join(ALLOWED_METHODS)
        elif int(environ.get("CONTENT_LENGTH") or 0) > MAX_PAYLOAD_BYTES:
            answer = error_answer(413, "PayloadTooLarge", f"the request body is over {MAX_PAYLOAD_BYTES:,} bytes")
        else:
            body = environ["wsgi.input"].read() if method not in ("GET", "HEAD") else b""
            if len(body) > MAX_PAYLOAD_BYTES:  # a chunked body announces no length
                answer = error_answer(413, "PayloadTooLarge", f"the request body is over {MAX_PAYLOAD_BYTES:,} bytes")
            else:
                try:
                    answer = self.dispatch(method, target, headers, body)
                except json.JSONDecodeError:
                    answer = error_answer(400, "ValidationError", "the body is not valid JSON")
        out = [(name, value) for name, value in answer.headers.items() if name != "content-length"]
        out.append(("Content-Length", answer.headers.get("content-length", str(len(answer.body)))))
        start_response(f"{answer.status} {_reason(answer.status)}", out)
        return [b""] if method == "HEAD" else [answer.body]

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
        return self._integrate(event, method, path)

    def _integrate(self, event: dict[str, Any], method: str, path: str) -> HttpAnswer:
        """Invoke the function; like API Gateway, stop waiting after the integration timeout."""
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def invoke() -> None:
            context = LocalLambdaContext(self._function_name, region=self._region, timeout_seconds=self._timeout)
            try:
                outcome["result"] = self._api_handler(event, context)
            except Exception as error:
                outcome["error"] = error
            finally:
                done.set()

        threading.Thread(target=invoke, name="imagegen-invoke", daemon=True).start()
        if not done.wait(self.integration_timeout):
            log.warning("integration timeout after %.1f s on %s %s", self.integration_timeout, method, path)
            return error_answer(
                504,
                "IntegrationTimeout",
                f"the api function did not answer within the integration timeout ({self.integration_timeout:g} s)",
            )
        if "error" in outcome:
            # A Lambda that raises is a 500 "Internal Server Error" from API Gateway; log the cause.
            log.error("api handler failed on %s %s: %s", method, path, outcome["error"])
            return error_answer(500, "InternalError", "Internal Server Error")
        return parse_response(outcome["result"])


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
