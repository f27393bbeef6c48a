"""Capacity from quotas: pure functions over settings and the catalogue."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from imagegen_platform import capacity

from tests.unit.program_graph import settings_of


def test_prod_concurrency_follows_its_models_quotas() -> None:
    settings = settings_of("prod")
    rpm = capacity.models_rpm(settings)
    assert rpm["stable-image-core"] == 10  # catalogue default (no increase requested in prod)
    assert set(rpm) == {m.model for m in settings.models}
    expected = math.ceil(sum(rpm.values()) / 60 * capacity.EXPECTED_CALL_SECONDS)
    assert capacity.worker_max_concurrency(settings) == expected


def test_a_pace_start_is_where_the_fleet_starts_whatever_the_quota_figures() -> None:
    # GIVEN prod, whose first model has a quota increase requested, told to start its pace at 4 RPM
    settings = settings_of("prod")
    first = settings.models[0].model_copy(update={"quota_request_rpm": 500, "pace_start_rpm": 4})
    started = settings.model_copy(update={"models": [first, *settings.models[1:]]})
    # THEN the plan (the worker's IMAGEGEN_MODEL_RPM, the fleet's size) starts from 4, not from 500
    assert capacity.models_rpm(started)[first.model] == 4
    unset = settings.model_copy(
        update={"models": [first.model_copy(update={"pace_start_rpm": None}), *settings.models[1:]]}
    )
    assert capacity.models_rpm(unset)[first.model] == 500
    assert capacity.worker_max_concurrency(started) < capacity.worker_max_concurrency(unset)


def test_explicit_worker_concurrency_wins() -> None:
    settings = settings_of("prod")
    pinned = settings.model_copy(update={"worker": settings.worker.model_copy(update={"max_concurrency": 7})})
    assert capacity.worker_max_concurrency(pinned) == 7


@given(rpm=st.integers(min_value=1, max_value=100_000))
def test_concurrency_stays_within_what_lambda_accepts(rpm: int) -> None:
    settings = settings_of("prod")
    model = settings.models[0].model_copy(update={"quota_request_rpm": rpm})
    one_model = settings.model_copy(update={"models": [model]})
    assert 2 <= capacity.worker_max_concurrency(one_model) <= 1000


def test_api_throttle_follows_quota_unless_set() -> None:
    settings = settings_of("prod")
    derived = capacity.api_throttle(settings)
    assert derived.rate_per_second == math.ceil(capacity.total_rpm(settings) / 60 * capacity.API_HEADROOM)
    assert derived.burst >= derived.rate_per_second
    api = settings.api.model_copy(update={"throttle_rate_per_second": 3.0, "throttle_burst": 9})
    assert capacity.api_throttle(settings.model_copy(update={"api": api})) == capacity.ApiThrottle(3.0, 9)
