"""The functions' environment: the runtime contract (names from ``imagegen_service.config``).

A pure function of the settings and the physical references the program resolves, so the program
declares it and the deploy constraints (``constraints``) can size it from the settings alone,
before any resource exists (Lambda refuses an environment over 4 KB).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import pulumi
from imagegen_service import config as env

from imagegen_platform import capacity
from imagegen_platform.components.access import METRICS_NAMESPACE
from imagegen_platform.components.names import PhysicalNames
from imagegen_platform.settings import StackSettings

Role = Literal["api", "worker"]


@dataclass(frozen=True)
class RuntimeRefs:
    """What the functions must know of the resources the program declares."""

    bucket: pulumi.Input[str]
    jobs_table: pulumi.Input[str]
    licence_table: pulumi.Input[str]
    idempotency_table: pulumi.Input[str]
    queue_url: pulumi.Input[str]
    dlq_url: pulumi.Input[str]
    cdn_domain: pulumi.Input[str]
    signing_key_id: pulumi.Input[str]
    guardrail_id: pulumi.Input[str] | None = None
    guardrail_version: pulumi.Input[str] | None = None


def _models_binding(settings: StackSettings) -> str:
    return json.dumps(
        {
            m.model: {"region": settings.model_region(m), "licence_record_id": m.licence.record_id}
            for m in settings.models
        },
        sort_keys=True,
    )


def runtime_environment(settings: StackSettings, stack: str, refs: RuntimeRefs) -> dict[str, pulumi.Input[str]]:
    """The variables both functions read."""
    variables: dict[str, pulumi.Input[str]] = {
        env.ENV_STACK: stack,
        env.ENV_ENVIRONMENT: settings.environment,
        env.ENV_COMMERCIAL: env.flag(settings.commercial),
        env.ENV_USER_CONTENT: env.flag(settings.user_generated_content),
        env.ENV_BUCKET: refs.bucket,
        env.ENV_JOBS_TABLE: refs.jobs_table,
        env.ENV_LICENCE_TABLE: refs.licence_table,
        env.ENV_IDEMPOTENCY_TABLE: refs.idempotency_table,
        env.ENV_QUEUE_URL: refs.queue_url,
        env.ENV_DLQ_URL: refs.dlq_url,
        env.ENV_MODELS: _models_binding(settings),
        env.ENV_MODEL_RPM: json.dumps(capacity.models_rpm(settings), sort_keys=True),
        env.ENV_MODERATION_ENABLED: env.flag(settings.moderation.enabled),
        env.ENV_MIN_CONFIDENCE: f"{settings.moderation.image_min_confidence:g}",
        env.ENV_CDN_DOMAIN: refs.cdn_domain,
        env.ENV_SIGNED_URLS: env.flag(settings.delivery.signed_urls),
        env.ENV_URL_TTL: str(settings.delivery.url_ttl_seconds),
        env.ENV_C2PA_ENABLED: env.flag(settings.provenance.c2pa_enabled),
        env.ENV_PRESETS: json.dumps(
            {name: preset.model_dump(mode="json", exclude_none=True) for name, preset in settings.presets.items()},
            sort_keys=True,
        ),
        env.ENV_CHANNEL_FORMATS: json.dumps(settings.channel_formats, sort_keys=True),
        env.ENV_SYNC_TIMEOUT: str(settings.api.sync_timeout_seconds),
        env.ENV_MAX_BODY_BYTES: str(settings.api.max_body_bytes),
        env.ENV_MAX_RECEIVE_COUNT: str(settings.worker.max_receive_count),
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    }
    if settings.moderation.enabled and refs.guardrail_id is not None and refs.guardrail_version is not None:
        variables[env.ENV_GUARDRAIL_ID] = refs.guardrail_id
        variables[env.ENV_GUARDRAIL_VERSION] = refs.guardrail_version
    if settings.delivery.signed_urls:
        variables[env.ENV_SIGNING_KEY_ID] = refs.signing_key_id
    if settings.delivery.private_key_secret_arn:
        variables[env.ENV_SIGNING_KEY_SECRET_ARN] = settings.delivery.private_key_secret_arn
    if settings.provenance.signing_secret_arn:
        variables[env.ENV_C2PA_SECRET_ARN] = settings.provenance.signing_secret_arn
    return variables


def function_environment(
    settings: StackSettings, stack: str, refs: RuntimeRefs, role: Role
) -> dict[str, pulumi.Input[str]]:
    """One function's environment: the shared contract plus what differs by function."""
    names = PhysicalNames(settings.name_prefix, stack)
    variables = {**runtime_environment(settings, stack, refs), "POWERTOOLS_SERVICE_NAME": names.function(role)}
    if role == "api":
        # Only the API resolves "job" to a route (before anything is queued): the worker's 4 KB stays free.
        variables[env.ENV_ROUTES] = json.dumps(
            {job: r.as_runtime() for job, r in settings.routes.items()}, sort_keys=True, separators=(",", ":")
        )
    return variables
