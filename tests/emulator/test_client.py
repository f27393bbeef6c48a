"""BedrockImageClient against the emulator: typed errors, the retry policy's budget, pacing."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from imagegen_emulator.server import RunningEmulator
from imagegen_service import catalogue
from imagegen_service.bedrock import BedrockImageClient, RateLimiter, RetryPolicy, map_client_error
from imagegen_service.errors import (
    AccessDenied,
    ModelFailed,
    ModelTimeout,
    ModelUnavailable,
    OutputBlocked,
    PromptBlocked,
    RequestInvalid,
    Throttled,
)
from imagegen_service.requests import parse_request

from tests.emulator.conftest import session

TITAN = parse_request({"model": "titan-image-v1", "prompt": "a lighthouse", "width": 512, "height": 512})
REGION = "us-east-1"


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client_for(
    emulator: RunningEmulator, retry: RetryPolicy, fake: FakeTime | None = None, **kw: Any
) -> BedrockImageClient:
    timing: dict[str, Any] = {"sleep": fake.sleep, "clock": fake.clock} if fake else {}
    return BedrockImageClient(
        session=session(), endpoint_url=emulator.url, retry=retry, rng=random.Random(1), **timing, **kw
    )


def test_over_quota_is_throttled_and_retries_stop_at_max_attempts(
    fresh_emulator: Callable[..., RunningEmulator],
) -> None:
    # GIVEN a quota of 2 requests per minute for Titan
    emulator = fresh_emulator(rpm={"amazon.titan-image-generator-v1": 2})
    fake = FakeTime()
    client = client_for(emulator, RetryPolicy(max_attempts=3, base_delay_s=0.01, max_total_s=60), fake)
    # WHEN three generations are asked for within the minute
    client.invoke(TITAN, region=REGION)
    client.invoke(TITAN, region=REGION)
    with pytest.raises(Throttled) as caught:
        client.invoke(TITAN, region=REGION)
    # THEN the third is throttled after exactly max_attempts calls, with jittered sleeps in between
    assert caught.value.status == 429
    assert client.attempts["titan-image-v1"] == 2 + 3
    assert len(fake.sleeps) == 2 and all(0 <= s <= 0.02 for s in fake.sleeps)
    stats = emulator.stats()
    assert stats["throttled"]["amazon.titan-image-generator-v1"] == 3
    assert stats["invocations"]["amazon.titan-image-generator-v1"] == 2


def test_throttle_retries_stop_within_the_time_budget(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(faults={"throttle": 1.0}, seed=3)
    fake = FakeTime()
    policy = RetryPolicy(max_attempts=50, base_delay_s=1.0, max_delay_s=4.0, max_total_s=6.0)
    client = client_for(emulator, policy, fake)
    with pytest.raises(Throttled):
        client.invoke(TITAN, region=REGION)
    # Every sleep fitted in the budget, and the attempt count is bounded by it (not by max_attempts)
    assert sum(fake.sleeps) <= 6.0
    assert client.attempts["titan-image-v1"] == len(fake.sleeps) + 1 < 50
    assert emulator.stats()["faults"]["throttle"] == client.attempts["titan-image-v1"]


def test_throttle_then_success_is_retried_transparently(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(faults={"throttle": 0.5}, seed=11)
    client = client_for(emulator, RetryPolicy(max_attempts=20, base_delay_s=0.0, max_total_s=5), FakeTime())
    for _ in range(5):
        assert len(client.invoke(TITAN, region=REGION).images) == 1
    assert client.outcomes["ok"] == 5
    assert client.outcomes["throttled"] == emulator.stats()["faults"]["throttle"] > 0


def test_model_timeout_is_not_retried_by_default(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(faults={"timeout": 1.0})
    client = client_for(emulator, RetryPolicy(), FakeTime())
    with pytest.raises(ModelTimeout):
        client.invoke(TITAN, region=REGION)
    assert client.attempts["titan-image-v1"] == 1


def test_timeout_retry_can_be_switched_on_and_is_bounded_to_one(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(faults={"timeout": 1.0})
    client = client_for(emulator, RetryPolicy(retry_timeouts=True), FakeTime())
    with pytest.raises(ModelTimeout):
        client.invoke(TITAN, region=REGION)
    assert client.attempts["titan-image-v1"] == 2


def test_read_timeout_is_a_model_timeout(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(latency_ms=1500)
    client = client_for(emulator, RetryPolicy(), read_timeout_s=0.3)
    with pytest.raises(ModelTimeout):
        client.invoke(TITAN, region=REGION)
    assert client.attempts["titan-image-v1"] == 1


def test_internal_error_is_retried_once(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(faults={"internal": 1.0})
    client = client_for(emulator, RetryPolicy(base_delay_s=0.0), FakeTime())
    with pytest.raises(ModelFailed) as caught:
        client.invoke(TITAN, region=REGION)
    assert caught.value.retryable
    assert client.attempts["titan-image-v1"] == 2
    assert emulator.stats()["faults"]["internal"] == 2


def test_deadline_caps_the_retry_budget(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(faults={"throttle": 1.0}, seed=5)
    fake = FakeTime()
    client = client_for(emulator, RetryPolicy(max_attempts=100, base_delay_s=0.5, max_total_s=60), fake)
    with pytest.raises(Throttled):
        client.invoke(TITAN, region=REGION, deadline_s=2.0)
    assert sum(fake.sleeps) <= 2.0


def test_end_of_life_model_is_unavailable(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(today=date(2026, 10, 1))  # Nova Canvas EOL 2026-09-30
    client = client_for(emulator, RetryPolicy())
    with pytest.raises(ModelUnavailable) as caught:
        client.invoke(parse_request({"model": "nova-canvas", "prompt": "x"}), region=REGION)
    assert "end of its life" in caught.value.message
    assert caught.value.status == 503


def test_pinned_date_before_end_of_life_serves_the_model(image_client: BedrockImageClient) -> None:
    output = image_client.invoke(parse_request({"model": "nova-canvas", "prompt": "x"}), region=REGION)
    assert len(output.images) == 1


@pytest.mark.parametrize("model", ["nova-canvas", "titan-image-v1", "stable-image-ultra", "stability-search-replace"])
def test_blocked_input_is_prompt_blocked(image_client: BedrockImageClient, model: str) -> None:
    raw: dict[str, Any] = {"model": model, "prompt": "EMULATOR_BLOCK_INPUT a fox"}
    if model == "stability-search-replace":
        from tests.emulator.cases import SOURCE

        raw |= {"search_prompt": "x", "source_image": {"base64": SOURCE}}
    with pytest.raises(PromptBlocked) as caught:
        image_client.invoke(parse_request(raw), region=REGION)
    assert caught.value.status == 422
    assert "blocked by our content filters" in caught.value.message


@pytest.mark.parametrize("model", ["nova-canvas", "titan-image-v2", "sd3-5-large"])
def test_blocked_output_is_output_blocked(image_client: BedrockImageClient, model: str) -> None:
    with pytest.raises(OutputBlocked):
        image_client.invoke(parse_request({"model": model, "prompt": "EMULATOR_BLOCK_OUTPUT"}), region=REGION)


def test_stability_seed_is_reported_back(image_client: BedrockImageClient) -> None:
    output = image_client.invoke(parse_request({"model": "stable-image-ultra", "prompt": "x"}), region="us-west-2")
    assert output.images[0].seed is not None and output.images[0].seed > 0


def test_amazon_seeds_are_known_only_for_one_image_calls(image_client: BedrockImageClient) -> None:
    # Bedrock echoes no seed; one image was drawn with the seed sent, a multi-image call's are unknown
    output = image_client.invoke(parse_request({"model": "nova-canvas", "prompt": "x", "seed": 40, "count": 3, "width": 512, "height": 512}), region=REGION)  # fmt: skip
    assert [image.seed for image in output.images] == [None, None, None]
    assert len({image.sha256 for image in output.images}) == 3
    single = image_client.invoke(parse_request({"model": "nova-canvas", "prompt": "x", "seed": 40, "width": 512, "height": 512}), region=REGION)  # fmt: skip
    assert [image.seed for image in single.images] == [40]


@pytest.mark.parametrize(
    ("code", "message", "error"),
    [
        ("ThrottlingException", "Too many requests", Throttled),
        ("ModelNotReadyException", "not ready", Throttled),
        ("ServiceQuotaExceededException", "quota", Throttled),
        ("ModelTimeoutException", "timed out", ModelTimeout),
        ("ValidationException", "width must be", RequestInvalid),
        ("ValidationException", "This request has been blocked by our content filters. Please adjust", PromptBlocked),
        ("ResourceNotFoundException", "This model version has reached the end of its life", ModelUnavailable),
        ("AccessDeniedException", "You don't have access to the model with the specified model ID.", ModelUnavailable),
        ("AccessDeniedException", "User is not authorized to perform: bedrock:InvokeModel", AccessDenied),
        ("ModelErrorException", "boom", ModelFailed),
        ("InternalServerException", "boom", ModelFailed),
        ("ServiceUnavailableException", "boom", ModelFailed),
    ],
)
def test_every_bedrock_exception_maps_to_a_typed_error(code: str, message: str, error: type[Exception]) -> None:
    mapped = map_client_error(catalogue.MODELS["nova-canvas"], code, message)
    assert type(mapped) is error


def test_rate_limiter_paces_to_the_rpm_quota() -> None:
    # GIVEN 60 RPM (one a second) with a fake clock
    fake = FakeTime()
    limiter = RateLimiter({"amazon.titan-image-generator-v1": 60}, clock=fake.clock, sleep=fake.sleep)
    # WHEN five calls go out back to back
    waits = [limiter.acquire("titan-image-v1") for _ in range(5)]
    # THEN the first goes at once and the rest one second apart; unknown models are not paced
    assert waits == pytest.approx([0, 1, 1, 1, 1])
    assert fake.now == pytest.approx(4)
    assert limiter.acquire("nova-canvas") == 0


def test_rate_limiter_is_thread_safe() -> None:
    # GIVEN a frozen clock (sleeps are only recorded): each caller reserves its own slot
    sleeps: list[float] = []
    limiter = RateLimiter({"titan-image-v1": 60}, clock=lambda: 0.0, sleep=sleeps.append)
    waits: list[float] = []
    threads = [threading.Thread(target=lambda: waits.append(limiter.acquire("titan-image-v1"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN no two callers got the same slot
    assert sorted(waits) == pytest.approx([0, 1, 2, 3, 4, 5, 6, 7])


def test_rate_limiter_paces_real_calls_to_the_emulator(fresh_emulator: Callable[..., RunningEmulator]) -> None:
    emulator = fresh_emulator(rpm={"titan-image-v1": 600})  # 10 per second
    client = client_for(emulator, RetryPolicy(max_attempts=1), rate_limiter=RateLimiter({"titan-image-v1": 600}))
    started = time.monotonic()
    for _ in range(6):
        client.invoke(TITAN, region=REGION)
    assert time.monotonic() - started >= 0.45  # five gaps of 0.1 s
    assert emulator.stats()["throttled_total"] == 0


def test_one_boto3_client_per_region(image_client: BedrockImageClient) -> None:
    assert image_client.client_for("us-east-1") is image_client.client_for("us-east-1")
    assert image_client.client_for("us-west-2") is not image_client.client_for("us-east-1")
    assert image_client.client_for("us-west-2").meta.region_name == "us-west-2"
