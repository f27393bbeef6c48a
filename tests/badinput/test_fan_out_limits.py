"""Fan-out and list limits are enforced by the schema before anything proportional to the request is allocated.

Issue 11, finding 1: ``seed_sweep.count`` used to become ``range(count)`` before its 1–50 limit ran, so
10^6 took 39 s and +760 MB and 10^9 ran the server out of memory. Each fan-out parameter is sent at its
limit, at limit + 1 and at 10^9 (a list of 10^9 entries cannot fit the 10 MB body: lists get 10^5
entries instead, the longest that stays well inside the body limit). Memory is the peak the handler
(and the in-process moto server behind it) allocates during the call, measured with ``tracemalloc``.
"""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from imagegen_service.requests import MAX_CHANNELS, MAX_COLORS, MAX_REQUESTS_PER_CALL, MAX_TAGS, SEED_SWEEP_COUNT

Answer = tuple[int, dict[str, Any]]
TITAN: dict[str, Any] = {"model": "titan-image-v1", "prompt": "a lighthouse at dusk", "width": 512, "height": 512}
# Titan Image Generator takes numberOfImages 1–5 (AWS: "Amazon Titan Image Generator G1 models" inference
# parameters, https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-image.html).
TITAN_MAX_IMAGES = 5
HUGE = 10**9
LONG_LIST = 10**5
MAX_SECONDS = 1.0
MAX_PEAK_BYTES = 4 * 1024 * 1024  # "a few MB"
# Decoding the JSON body itself costs memory in proportion to the body (bounded by the 10 MB payload limit):
# an empty object is 56 bytes of Python for the 4 bytes of "{}, ". Only what goes beyond that is ours.
PER_BODY_BYTE = 32
ACCEPTED_PEAK_BYTES = 32 * 1024 * 1024  # one job really written to DynamoDB and SQS (moto runs in this process)


@pytest.fixture(scope="module", autouse=True)
def warm(call_api: Callable[..., Answer]) -> None:
    """First calls import the handler's modules and build its clients: measure warm invocations, as Lambda's."""
    call_api("POST", "/v1/jobs", json.dumps({**TITAN, "count": 0}))
    call_api("POST", "/v1/jobs", json.dumps(TITAN))


def measured(call: Callable[[], Answer]) -> tuple[Answer, float, int]:
    """The answer, its time (untraced: tracemalloc slows allocation several-fold) and its traced peak.

    The time is the CPU time of the thread that runs the handler (the handler runs in it, in-process):
    wall time on a shared two-core machine measures the neighbours as much as the request.
    """
    gc.collect()
    started = time.thread_time()
    answer = call()
    elapsed = time.thread_time() - started
    if answer[0] != 400:
        return answer, elapsed, 0  # not repeatable: the caller measures accepted requests itself
    tracemalloc.start()
    try:
        traced = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert traced[0] == answer[0]
    return answer, elapsed, peak


def post(call_api: Callable[..., Answer], path: str, body: dict[str, Any]) -> tuple[Answer, float, int, int]:
    text = json.dumps(body)
    answer, elapsed, peak = measured(lambda: call_api("POST", path, text))
    return answer, elapsed, peak, len(text)


def fields(payload: dict[str, Any]) -> set[str]:
    return {str(d.get("field")) for d in payload.get("error", {}).get("details", [])}


def assert_cheap(elapsed: float, peak: int, body_bytes: int) -> None:
    assert elapsed < MAX_SECONDS, f"took {elapsed:.2f} s"
    budget = MAX_PEAK_BYTES + PER_BODY_BYTE * body_bytes
    assert peak < budget, f"peak {peak / 1e6:.1f} MB for a {body_bytes:,}-byte body (budget {budget / 1e6:.1f} MB)"


@pytest.mark.parametrize("count", [int(SEED_SWEEP_COUNT.low) - 1, int(SEED_SWEEP_COUNT.high) + 1, HUGE, -HUGE])
def test_seed_sweep_count_outside_its_limit_is_a_400_at_once(
    call_api: Callable[..., Answer], model_calls: Callable[[], int], count: int
) -> None:
    before = model_calls()
    (status, payload), elapsed, peak, size = post(
        call_api, "/v1/jobs", {**TITAN, "seed_sweep": {"start": 0, "count": count}}
    )
    assert status == 400, payload
    assert "seed_sweep.count" in fields(payload), payload
    assert_cheap(elapsed, peak, size)
    assert model_calls() == before


def test_seed_sweep_at_its_limit_queues_exactly_that_many_jobs(call_api: Callable[..., Answer]) -> None:
    limit = int(SEED_SWEEP_COUNT.high)
    (status, payload), elapsed, _peak, _size = post(
        call_api, "/v1/jobs", {**TITAN, "seed_sweep": {"start": 7, "count": limit}}
    )
    assert status == 202, payload
    assert len(payload["jobs"]) == limit
    # 50 jobs are 50 records and 5 SendMessageBatch calls: work in proportion to a limit, not to a number.
    assert elapsed < 5 * MAX_SECONDS, f"took {elapsed:.2f} s"
    status, batch = call_api("GET", f"/v1/batches/{payload['batch_id']}", None)
    assert status == 200 and len(batch["jobs"]) == limit, batch
    assert sorted(job["request"]["seed"] for job in batch["jobs"]) == list(range(7, 7 + limit))


@pytest.mark.parametrize("count", [0, TITAN_MAX_IMAGES + 1, HUGE])
def test_images_per_call_outside_the_model_limit(call_api: Callable[..., Answer], count: int) -> None:
    for path in ("/v1/images", "/v1/jobs"):
        (status, payload), elapsed, peak, size = post(call_api, path, {**TITAN, "count": count})
        assert status == 400 and "count" in fields(payload), payload
        assert_cheap(elapsed, peak, size)


def test_images_per_call_at_the_model_limit_is_accepted(call_api: Callable[..., Answer]) -> None:
    text = json.dumps({**TITAN, "count": TITAN_MAX_IMAGES})
    tracemalloc.start()
    try:
        status, payload = call_api("POST", "/v1/jobs", text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 202 and len(payload["jobs"]) == 1, payload
    assert peak < ACCEPTED_PEAK_BYTES, peak


LISTS = {
    # field: (limit, a valid entry, a request that takes the field)
    "channels": (MAX_CHANNELS, "instagram-square", {"model": "stability-outpaint", "source_image": {"image_id": "x"}}),
    "colors": (MAX_COLORS, "#a0b0c0", {**TITAN, "task": "color-guided"}),
}


@pytest.mark.parametrize("name", sorted(LISTS))
@pytest.mark.parametrize("length", ["limit+1", "long"])
def test_list_fields_over_their_limit(call_api: Callable[..., Answer], name: str, length: str) -> None:
    limit, entry, base = LISTS[name]
    n = limit + 1 if length == "limit+1" else LONG_LIST
    (status, payload), elapsed, peak, size = post(call_api, "/v1/jobs", {**base, name: [entry] * n})
    assert status == 400 and name in fields(payload), payload
    assert any(str(limit) in d["message"] for d in payload["error"]["details"]), payload
    assert_cheap(elapsed, peak, size)


def test_lists_at_their_limit_pass_the_schema() -> None:
    from imagegen_service.requests import parse_shape

    colours = [f"#{i:02x}{i:02x}{i:02x}" for i in range(MAX_COLORS)]
    parse_shape({**TITAN, "task": "color-guided", "colors": colours})
    parse_shape({**TITAN, "channels": [f"c{i}" for i in range(MAX_CHANNELS)]})
    parse_shape({**TITAN, "tags": {f"k{i}": "v" for i in range(MAX_TAGS)}})


@pytest.mark.parametrize("n", [MAX_TAGS + 1, LONG_LIST])
def test_tags_over_the_limit(call_api: Callable[..., Answer], n: int) -> None:
    (status, payload), elapsed, peak, size = post(
        call_api, "/v1/jobs", {**TITAN, "tags": {f"k{i}": "v" for i in range(n)}}
    )
    assert status == 400 and "tags" in fields(payload), payload
    assert_cheap(elapsed, peak, size)


@pytest.mark.parametrize("n", [MAX_REQUESTS_PER_CALL + 1, LONG_LIST])
def test_batches_over_the_limit(call_api: Callable[..., Answer], n: int) -> None:
    (status, payload), elapsed, peak, size = post(call_api, "/v1/jobs", {"requests": [{}] * n})
    assert status == 400 and "requests" in fields(payload), payload
    assert_cheap(elapsed, peak, size)


def test_fan_out_is_counted_across_a_batch_before_expanding(call_api: Callable[..., Answer]) -> None:
    # 3 × 50 seeds = 150 jobs > 100 per call: refused without writing 150 records first.
    swept = {**TITAN, "seed_sweep": {"start": 0, "count": int(SEED_SWEEP_COUNT.high)}}
    (status, payload), elapsed, peak, size = post(call_api, "/v1/jobs", {"requests": [swept] * 3})
    assert status == 400 and "requests" in fields(payload), payload
    assert "150 jobs" in payload["error"]["details"][0]["message"]
    assert_cheap(elapsed, peak, size)


@pytest.mark.parametrize("prompt", [" ", "\t\n", "\u3000"])
def test_whitespace_only_prompt_is_refused_before_it_is_paid_for(
    call_api: Callable[..., Answer], model_calls: Callable[[], int], prompt: str
) -> None:
    before = model_calls()
    for path in ("/v1/images", "/v1/jobs"):
        status, payload = call_api("POST", path, json.dumps({**TITAN, "prompt": prompt}))
        assert status == 400 and "prompt" in fields(payload), payload
        assert "blank" in payload["error"]["details"][0]["message"]
    assert model_calls() == before


def test_the_cli_uses_the_same_schema() -> None:
    from imagegen_service.errors import RequestInvalid
    from imagegen_service.requests import parse_request, parse_shape

    bad = {**TITAN, "seed_sweep": {"start": 0, "count": HUGE}}
    for parse in (parse_shape, parse_request):
        with pytest.raises(RequestInvalid) as raised:
            parse(bad)
        assert "seed_sweep.count" in {d.field for d in raised.value.details}
