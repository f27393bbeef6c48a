"""Runtime configuration of the Lambda functions, read from the environment.

The Pulumi program (``imagegen_platform``) writes these variables on the functions, the local
platform sets the same ones for its in-process handlers, and the policy pack reads them from the
functions' ``environment.variables`` in the graph. The names below are the single definition.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

ENV_STACK = "IMAGEGEN_STACK"
ENV_ENVIRONMENT = "IMAGEGEN_ENVIRONMENT"
ENV_COMMERCIAL = "IMAGEGEN_COMMERCIAL"  # "true" | "false"
ENV_USER_CONTENT = "IMAGEGEN_USER_CONTENT"  # "true" | "false"
ENV_BUCKET = "IMAGEGEN_BUCKET"
ENV_JOBS_TABLE = "IMAGEGEN_JOBS_TABLE"  # jobs and image metadata
ENV_LICENCE_TABLE = "IMAGEGEN_LICENCE_TABLE"
ENV_IDEMPOTENCY_TABLE = "IMAGEGEN_IDEMPOTENCY_TABLE"
ENV_QUEUE_URL = "IMAGEGEN_QUEUE_URL"
ENV_DLQ_URL = "IMAGEGEN_DLQ_URL"
ENV_MODELS = "IMAGEGEN_MODELS"  # JSON {model_key: {"region": str, "licence_record_id": str}}
ENV_MODERATION_ENABLED = "IMAGEGEN_MODERATION_ENABLED"  # "true" | "false"
ENV_GUARDRAIL_ID = "IMAGEGEN_GUARDRAIL_ID"
ENV_GUARDRAIL_VERSION = "IMAGEGEN_GUARDRAIL_VERSION"
ENV_MIN_CONFIDENCE = "IMAGEGEN_MIN_CONFIDENCE"  # Rekognition MinConfidence, 0–100
ENV_CDN_DOMAIN = "IMAGEGEN_CDN_DOMAIN"  # host name, or a full base URL locally
ENV_SIGNED_URLS = "IMAGEGEN_SIGNED_URLS"  # "true" | "false"
ENV_URL_TTL = "IMAGEGEN_URL_TTL_SECONDS"
ENV_SIGNING_KEY_ID = "IMAGEGEN_SIGNING_KEY_ID"  # CloudFront public key ID
ENV_SIGNING_KEY_SECRET_ARN = "IMAGEGEN_SIGNING_KEY_SECRET_ARN"  # deployed: private key PEM in Secrets Manager
ENV_SIGNING_KEY_FILE = "IMAGEGEN_SIGNING_KEY_FILE"  # local: private key PEM on disk
ENV_C2PA_ENABLED = "IMAGEGEN_C2PA_ENABLED"  # "true" | "false"
ENV_C2PA_SECRET_ARN = "IMAGEGEN_C2PA_SECRET_ARN"  # deployed: {"certs": PEM chain, "key": PEM}
ENV_C2PA_CERT_FILE = "IMAGEGEN_C2PA_CERT_FILE"  # local: leaf + CA chain PEM
ENV_C2PA_KEY_FILE = "IMAGEGEN_C2PA_KEY_FILE"  # local: leaf private key PEM
ENV_PRESETS = "IMAGEGEN_PRESETS"  # JSON {name: Preset fields}
ENV_CHANNEL_FORMATS = "IMAGEGEN_CHANNEL_FORMATS"  # JSON {name: "W:H"}
ENV_ROUTES = "IMAGEGEN_ROUTES"  # JSON {job: {"model", "task", "preset"?, "quality"?}}
ENV_SYNC_TIMEOUT = "IMAGEGEN_SYNC_TIMEOUT_SECONDS"
ENV_MAX_BODY_BYTES = "IMAGEGEN_MAX_BODY_BYTES"
ENV_MAX_RECEIVE_COUNT = "IMAGEGEN_MAX_RECEIVE_COUNT"
ENV_MODEL_RPM = "IMAGEGEN_MODEL_RPM"  # JSON {model_key: rpm}: the stack's quota per model
"""How many containers share ``IMAGEGEN_MODEL_RPM``: the worker's event-source MaximumConcurrency on
Lambda (each container paces to its share, so the fleet never exceeds the quota), 1 locally."""

API_HANDLER = "imagegen_service.handlers.api.handler"  # API Gateway HTTP API payload v2
WORKER_HANDLER = "imagegen_service.handlers.worker.handler"  # SQS, partial batch responses

TRUE = "true"
FALSE = "false"


def flag(value: bool) -> str:
    return TRUE if value else FALSE


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() == TRUE


def _json(name: str) -> Any:
    raw = os.environ.get(name)
    return json.loads(raw) if raw else {}


@dataclass(frozen=True)
class ModelBinding:
    region: str
    licence_record_id: str


@dataclass(frozen=True)
class RuntimeConfig:
    stack: str
    environment: str
    bucket: str
    jobs_table: str
    licence_table: str
    idempotency_table: str
    queue_url: str
    dlq_url: str
    models: dict[str, ModelBinding]
    moderation_enabled: bool = True
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    min_confidence: float = 80.0
    cdn_domain: str = ""
    signed_urls: bool = True
    url_ttl_seconds: int = 3600
    signing_key_id: str | None = None
    signing_key_secret_arn: str | None = None
    signing_key_file: str | None = None
    c2pa_enabled: bool = True
    c2pa_secret_arn: str | None = None
    c2pa_cert_file: str | None = None
    c2pa_key_file: str | None = None
    commercial: bool = True
    user_content: bool = True
    sync_timeout_seconds: int = 29
    max_body_bytes: int = 6 * 1024 * 1024
    max_receive_count: int = 5
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    channel_formats: dict[str, str] = field(default_factory=dict)
    routes: dict[str, dict[str, str]] = field(default_factory=dict)
    model_rpm: dict[str, int] = field(default_factory=dict)  # where the fleet's shared pace starts (pacing.py)

    @classmethod
    def from_env(cls) -> RuntimeConfig:
        env = os.environ
        models = {key: ModelBinding(**value) for key, value in _json(ENV_MODELS).items()}
        return cls(
            stack=env.get(ENV_STACK, ""),
            environment=env.get(ENV_ENVIRONMENT, ""),
            bucket=env.get(ENV_BUCKET, ""),
            jobs_table=env.get(ENV_JOBS_TABLE, ""),
            licence_table=env.get(ENV_LICENCE_TABLE, ""),
            idempotency_table=env.get(ENV_IDEMPOTENCY_TABLE, ""),
            queue_url=env.get(ENV_QUEUE_URL, ""),
            dlq_url=env.get(ENV_DLQ_URL, ""),
            models=models,
            moderation_enabled=_bool(ENV_MODERATION_ENABLED, True),
            guardrail_id=env.get(ENV_GUARDRAIL_ID) or None,
            guardrail_version=env.get(ENV_GUARDRAIL_VERSION) or None,
            min_confidence=float(env.get(ENV_MIN_CONFIDENCE, "80")),
            cdn_domain=env.get(ENV_CDN_DOMAIN, ""),
            signed_urls=_bool(ENV_SIGNED_URLS, True),
            url_ttl_seconds=int(env.get(ENV_URL_TTL, "3600")),
            signing_key_id=env.get(ENV_SIGNING_KEY_ID) or None,
            signing_key_secret_arn=env.get(ENV_SIGNING_KEY_SECRET_ARN) or None,
            signing_key_file=env.get(ENV_SIGNING_KEY_FILE) or None,
            c2pa_enabled=_bool(ENV_C2PA_ENABLED, True),
            c2pa_secret_arn=env.get(ENV_C2PA_SECRET_ARN) or None,
            c2pa_cert_file=env.get(ENV_C2PA_CERT_FILE) or None,
            c2pa_key_file=env.get(ENV_C2PA_KEY_FILE) or None,
            commercial=_bool(ENV_COMMERCIAL, True),
            user_content=_bool(ENV_USER_CONTENT, True),
            sync_timeout_seconds=int(env.get(ENV_SYNC_TIMEOUT, "29")),
            max_body_bytes=int(env.get(ENV_MAX_BODY_BYTES, str(6 * 1024 * 1024))),
            max_receive_count=int(env.get(ENV_MAX_RECEIVE_COUNT, "5")),
            presets=_json(ENV_PRESETS),
            channel_formats=_json(ENV_CHANNEL_FORMATS),
            routes=_json(ENV_ROUTES),
            model_rpm={k: int(v) for k, v in _json(ENV_MODEL_RPM).items()},
        )
