"""Hostile or malformed bodies: always a 4xx with the contract's error body, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.service.conftest import Stack
from tests.service.harness import call_api

BODIES = [
    "[]",
    "null",
    "42",
    '"a string"',
    '{"requests": "not a list"}',
    '{"requests": [1, 2]}',
    '{"requests": [{}]}',
    '{"model": 5}',
    '{"model": "titan-image-v1", "prompt": null}',
    '{"model": "titan-image-v1", "prompt": "x", "seed": 1e400}',
    '{"model": "titan-image-v1", "prompt": "x", "width": "wide"}',
    '{"model": "titan-image-v1", "prompt": "x", "source_image": {"base64": "@@@"}}',
    '{"model": "titan-image-v1", "prompt": "x", "source_image": {"image_id": "nope"}}',
    '{"model": "stable-image-core", "prompt": "x", "preset": 7}',
    '{"model": "stable-image-core", "prompt": "x", "seed_sweep": {"start": -1, "count": 1000}}',
    '{"model": "stability-outpaint", "channels": ["wide"], "source_image": {"image_id": "missing"}}',
    "[" * 5000 + "]" * 5000,
    '{"model": "titan-image-v1", "prompt": "\\ud800"}',
]


@pytest.mark.parametrize("path", ["/v1/images", "/v1/jobs"])
def test_malformed_bodies_are_4xx_with_the_error_body(stack: Stack, path: str) -> None:
    for raw in BODIES:
        status, body = call_api("POST", path, raw_body=raw)
        assert 400 <= status < 500, (raw[:80], status, body)
        assert set(body["error"]) == {"code", "message", "details"}, raw[:80]
        assert json.dumps(body)
    assert stack.stats()["invocations_total"] == 0
