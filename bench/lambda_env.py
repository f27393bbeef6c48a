"""The environment a deployed function sees, for children that import or run the handlers.

Names come from ``imagegen_service.config`` (the single definition); the values are plausible
placeholders: importing a handler must not need any AWS endpoint to answer.
"""

from __future__ import annotations

import json

from imagegen_service import config


def lambda_like_env(stack: str = "bench") -> dict[str, str]:
    prefix = f"imagegen-{stack}"
    return {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "imagegen",
        "POWERTOOLS_METRICS_NAMESPACE": "imagegen",
        "POWERTOOLS_TRACE_DISABLED": "true",
        config.ENV_STACK: stack,
        config.ENV_ENVIRONMENT: "dev",
        config.ENV_BUCKET: f"{prefix}-images-bench",
        config.ENV_JOBS_TABLE: f"{prefix}-jobs",
        config.ENV_LICENCE_TABLE: f"{prefix}-licences",
        config.ENV_IDEMPOTENCY_TABLE: f"{prefix}-idempotency",
        config.ENV_QUEUE_URL: f"https://sqs.us-east-1.amazonaws.com/123456789012/{prefix}-jobs",
        config.ENV_DLQ_URL: f"https://sqs.us-east-1.amazonaws.com/123456789012/{prefix}-jobs-dlq",
        config.ENV_MODELS: json.dumps({"titan-image-v1": {"region": "us-east-1", "licence_record_id": "bench-titan"}}),
        config.ENV_MODEL_RPM: json.dumps({"titan-image-v1": 60}),
        config.ENV_C2PA_ENABLED: config.flag(False),
        config.ENV_MODERATION_ENABLED: config.flag(True),
    }
