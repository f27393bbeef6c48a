"""Property: whatever the input, parse_request returns a GenerationRequest or raises RequestInvalid."""

from __future__ import annotations

import base64
import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imagegen_service import catalogue
from imagegen_service.errors import RequestInvalid
from imagegen_service.requests import MODEL_FIELDS, GenerationRequest, fingerprint, output_size, parse_request
from PIL import Image


def _png(size: tuple[int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


IMAGES = [_png((64, 64)), _png((320, 320)), "AAAA", "not base64", ""]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["png", "jpeg", "1:1", "16:9", "DEFAULT", "canny-edge", "#FF0000", "standard", "PHOTOREALISM"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=12), inner, max_size=4),
        st.fixed_dictionaries({}, optional={"base64": st.sampled_from(IMAGES), "image_id": st.text(max_size=10)}),
    ),
    max_leaves=8,
)
FIELDS = [*MODEL_FIELDS, "model", "task", "preset", "seed_sweep", "channels", "idempotency_key", "tags"]
models = st.sampled_from([*catalogue.MODELS, *(m.model_id for m in catalogue.all_models()), "nope"])
tasks = st.sampled_from([t.value for t in catalogue.Task])
requests = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8).flatmap(
    lambda raw: st.fixed_dictionaries({"model": models, "task": tasks}).map(lambda head: {**raw, **head})
)


def _check(raw: Any) -> None:
    try:
        req = parse_request(raw)
    except RequestInvalid as error:
        assert error.details, "a RequestInvalid always names at least one field"
        return
    # Valid requests support every helper the service uses
    assert isinstance(req, GenerationRequest)
    fingerprint(req)
    width, height = output_size(req)
    assert width > 0 and height > 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_structured_requests_never_raise_anything_but_request_invalid(raw: dict[str, Any]) -> None:
    _check(raw)


@settings(max_examples=80, deadline=None)
@given(json_values)
def test_any_json_value_never_raises_anything_but_request_invalid(raw: Any) -> None:
    _check(raw)


@settings(max_examples=80, deadline=None)
@given(
    model=st.sampled_from(list(catalogue.MODELS)),
    width=st.integers(-10, 5000),
    height=st.integers(-10, 5000),
    cfg=st.floats(allow_nan=True),
    seed=st.integers(-5, 2**33),
)
def test_numeric_limits_never_crash(model: str, width: int, height: int, cfg: float, seed: int) -> None:
    _check({"model": model, "prompt": "p", "width": width, "height": height, "cfg_scale": cfg, "seed": seed})
