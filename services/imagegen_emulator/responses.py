"""Wire parsing only: HTTP requests → backend calls → HTTP responses in each protocol's error format.

Routes (what boto3 sends):
- ``POST /model/{modelId}/invoke`` — bedrock-runtime InvokeModel (REST-JSON; modelId URL-encoded)
- ``POST /guardrail/{id}/version/{version}/apply`` — bedrock-runtime ApplyGuardrail
- ``POST /`` with ``X-Amz-Target: RekognitionService.DetectModerationLabels`` — Rekognition (JSON 1.1)
- ``GET /foundation-models``, ``GET /foundation-models/{id}``, ``GET /foundation-model-availability/{id}`` —
  the bedrock control plane (ListFoundationModels, GetFoundationModel, GetFoundationModelAvailability),
  answered for the region in the request's SigV4 credential scope (``control.py``)
- ``POST /`` with ``X-Amz-Target: ServiceQuotasV20190624.GetServiceQuota`` — Bedrock's quotas (JSON 1.1)
- ``GET|POST /_emulator/account`` — read or replace the emulated account's state (``control.AccountState``)
- ``GET /_emulator/stats``, ``POST /_emulator/reset`` — for tests and benchmarks
"""

from __future__ import annotations

import json
import re
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote

from imagegen_emulator import exceptions as exc
from imagegen_emulator.control import AccountState, AccountStateInvalid
from imagegen_emulator.models import EmulatorBackend

REKOGNITION_TARGET = "RekognitionService.DetectModerationLabels"
SERVICE_QUOTAS_TARGET = "ServiceQuotasV20190624.GetServiceQuota"
DEFAULT_REGION = "us-east-1"
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/")
BEDROCK_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"


class EmulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its pooled connections
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall per call
    server_version = "imagegen-emulator"
    backend: EmulatorBackend  # set on the subclass made by the server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and benchmarks read stdout
        return

    # ------------------------------------------------------------------ verbs
    def do_GET(self) -> None:
        self._read_body()
        path, _, query = self.path.partition("?")
        parts = path.split("/")
        control = self.backend.control
        try:
            if path == "/_emulator/stats":
                self._json(200, self.backend.stats_snapshot())
            elif path == "/_emulator/account":
                self._json(200, {"account": _account_json(control.state)})
            elif path == "/foundation-models":
                self._json(200, control.list_foundation_models(self._region(), dict(parse_qsl(query))))
            elif len(parts) == 3 and parts[1] == "foundation-models":
                self._json(200, control.get_foundation_model(unquote(parts[2]), self._region()))
            elif len(parts) == 3 and parts[1] == "foundation-model-availability":
                self._json(200, control.get_foundation_model_availability(unquote(parts[2]), self._region()))
            elif path == "/guardrails":
                self._json(200, {"guardrails": []})  # ListGuardrails: the emulated account has none yet
            else:
                raise exc.UnknownOperation(f"No route for GET {self.path}")
        except exc.EmulatorError as error:
            self._bedrock_error(error)

    def do_POST(self) -> None:
        raw = self._read_body()
        path = self.path.split("?")[0]
        target = self.headers.get("X-Amz-Target", "")
        try:
            if target == SERVICE_QUOTAS_TARGET:
                self._service_quotas(raw)
                return
            if target:
                self._rekognition(target, raw)
                return
            parts = path.split("/")  # split before decoding: an ARN model id holds an encoded "/"
            if path == "/_emulator/reset":
                self.backend.reset()
                self._json(200, {"reset": True})
            elif path == "/_emulator/account":
                try:
                    state = AccountState.from_json(_json_body(raw))
                except AccountStateInvalid as error:
                    raise exc.ValidationException(str(error)) from None
                self.backend.control.set_state(state)
                self._json(200, {"account": _account_json(state)})
            elif len(parts) == 4 and parts[1] == "model" and parts[3] == "invoke":
                self._json(200, self.backend.invoke_model(unquote(parts[2]), raw))
            elif len(parts) == 6 and parts[1] == "guardrail" and parts[3] == "version" and parts[5] == "apply":
                body = _json_body(raw)
                self._json(200, self.backend.apply_guardrail(unquote(parts[2]), unquote(parts[4]), body))
            else:
                raise exc.UnknownOperation(f"No route for POST {path}")
        except exc.EmulatorError as error:
            self._bedrock_error(error)
        except Exception as error:  # an emulator bug must still be an answer boto3 can read, not a dropped socket
            self._bedrock_error(exc.InternalServerException(f"emulator error: {type(error).__name__}: {error}"))

    # ------------------------------------------------------------------ protocols
    def _rekognition(self, target: str, raw: bytes) -> None:
        try:
            if target != REKOGNITION_TARGET:
                raise exc.UnknownOperation(f"The emulator does not implement {target}")
            result = self.backend.detect_moderation_labels(_json_body(raw))
        except exc.EmulatorError as error:
            body = {"__type": error.code, "Message": error.message}
            self._send(error.status, json.dumps(body).encode(), "application/x-amz-json-1.1")
            return
        self._send(200, json.dumps(result).encode(), "application/x-amz-json-1.1")

    def _service_quotas(self, raw: bytes) -> None:
        try:
            result = self.backend.control.get_service_quota(_json_body(raw), self._region())
        except exc.EmulatorError as error:
            body = {"__type": error.code, "Message": error.message}
            self._send(error.status, json.dumps(body).encode(), "application/x-amz-json-1.1")
            return
        self._send(200, json.dumps(result).encode(), "application/x-amz-json-1.1")

    def _region(self) -> str:
        """The region the caller signed for (SigV4 credential scope): one emulator serves every region."""
        match = _CREDENTIAL_SCOPE.search(self.headers.get("Authorization", ""))
        return match.group(1) if match else DEFAULT_REGION

    def _bedrock_error(self, error: exc.EmulatorError) -> None:
        body = json.dumps({"message": error.message}).encode()
        self._send(
            error.status, body, "application/json", {"x-amzn-ErrorType": f"{error.code}:{BEDROCK_ERROR_NAMESPACE}"}
        )

    # ------------------------------------------------------------------ plumbing
    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise exc.ValidationException("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise exc.ValidationException("The request body must be a JSON object.")
    return body


def _account_json(state: AccountState) -> dict[str, Any]:
    models = {
        key: {
            "not_offered_in": sorted(view.not_offered_in),
            "lifecycle": view.lifecycle,
            "agreement": view.agreement,
            "agreement_error": view.agreement_error,
            "authorization": view.authorization,
            "entitlement": view.entitlement,
            "quota_code": view.quota_code,
        }
        for key, view in state.models.items()
    }
    return {"models": models, "quotas": {region: dict(codes) for region, codes in state.quotas.items()}}
