"""Lambda entry points: ``api.handler`` (API Gateway HTTP API, payload v2) and ``worker.handler`` (SQS)."""
