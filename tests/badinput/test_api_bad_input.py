"""Hypothesis-generated bad requests to the real api handler.

Every answer must be a 4xx (400 naming the offending field in ``error.details``, 413 for an
oversized body, 415 for a body that is not JSON), never a 5xx, and the model is never called.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

Answer = tuple[int, dict[str, Any]]
BASE: dict[str, Any] = {"model": "titan-image-v1", "prompt": "a lighthouse at dusk", "width": 512, "height": 512}
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PATHS = ("/v1/images", "/v1/jobs")

STRING_FIELDS = ("model", "task", "prompt", "negative_prompt", "quality", "style", "output_format", "idempotency_key")
NUMBER_FIELDS = ("seed", "cfg_scale", "width", "height", "count", "similarity_strength")
not_a_string = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.booleans(),
)
not_a_number = st.one_of(
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.booleans(),
)


def png(size: tuple[int, int], mode: str = "RGB", fill: Any = (200, 120, 40)) -> str:
    buffer = io.BytesIO()
    Image.new(mode, size, fill).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def named(payload: dict[str, Any]) -> set[str]:
    return {str(d.get("field", "")) for d in payload.get("error", {}).get("details", [])}


# Titan takes sizes as width×height pairs from a list: a bad side is reported on the pair.
SAME_RULE = {"width": {"width", "height"}, "height": {"width", "height"}}


def check(answer: Answer, field: str | None, calls_before: int, model_calls: Callable[[], int]) -> None:
    status, payload = answer
    assert 400 <= status < 500, (status, payload)
    assert isinstance(payload.get("error"), dict) and payload["error"].get("code"), payload
    if status == 400 and field is not None:
        accepted = SAME_RULE.get(field, {field})
        reported = {f.split(".")[0].split("[")[0] for f in named(payload)} | named(payload)
        assert reported & accepted, (field, payload)
    assert model_calls() == calls_before, "a bad request reached the model"


def post(call_api: Callable[..., Answer], path: str, request: dict[str, Any]) -> Answer:
    return call_api("POST", path, json.dumps(request))


@FAST
@given(field=st.sampled_from(STRING_FIELDS), value=not_a_string, path=st.sampled_from(PATHS))
def test_wrong_type_for_a_text_field(call_api: Any, model_calls: Any, field: str, value: Any, path: str) -> None:
    before = model_calls()
    check(post(call_api, path, {**BASE, field: value}), field, before, model_calls)


@FAST
@given(field=st.sampled_from(NUMBER_FIELDS), value=not_a_number, path=st.sampled_from(PATHS))
def test_wrong_type_for_a_number_field(call_api: Any, model_calls: Any, field: str, value: Any, path: str) -> None:
    before = model_calls()
    check(post(call_api, path, {**BASE, field: value}), field, before, model_calls)


@FAST
@given(
    field=st.sampled_from(("seed", "cfg_scale", "width", "height", "count", "similarity_strength")),
    value=st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**31),
        st.floats(min_value=1e6, allow_infinity=False),
        st.floats(max_value=-1e-9, allow_infinity=False),
    ),
)
def test_negative_and_overflowing_numbers(call_api: Any, model_calls: Any, field: str, value: float) -> None:
    before = model_calls()
    check(post(call_api, "/v1/images", {**BASE, field: value}), field, before, model_calls)


@FAST
@given(
    field=st.sampled_from(("prompt", "negative_prompt")),
    length=st.integers(min_value=513, max_value=200_000),
    char=st.characters(min_codepoint=32, max_codepoint=0xD7FF),  # below the surrogates
)
def test_huge_strings(call_api: Any, model_calls: Any, field: str, length: int, char: str) -> None:
    before = model_calls()
    check(post(call_api, "/v1/images", {**BASE, field: char * length}), field, before, model_calls)


@FAST
@given(
    name=st.text(min_size=1, max_size=40).filter(
        lambda n: (
            n
            not in {
                *STRING_FIELDS,
                *NUMBER_FIELDS,
                "source_image",
                "mask_prompt",
                "mask_image",
                "colors",
                "control",
                "outpainting_mode",
                "tags",
                "aspect_ratio",
                "seed_sweep",
                "preset",
                "subject",
                "channel",
                "left",
                "right",
                "up",
                "down",
                "requests",
            }
        )
    ),
    value=st.text(max_size=20),
)
def test_unknown_fields_with_any_unicode_name(call_api: Any, model_calls: Any, name: str, value: str) -> None:
    before = model_calls()
    check(post(call_api, "/v1/images", {**BASE, name: value}), name, before, model_calls)


@FAST
@given(text=st.text(min_size=1, max_size=30))
def test_unicode_model_and_style_names(call_api: Any, model_calls: Any, text: str) -> None:
    before = model_calls()
    check(post(call_api, "/v1/images", {**BASE, "model": f"{text}☃"}), "model", before, model_calls)
    check(post(call_api, "/v1/images", {**BASE, "style": f"{text}☃"}), "style", before, model_calls)


@FAST
@given(body=st.one_of(st.text(max_size=200), st.binary(max_size=200)).filter(lambda b: not _is_json_object(b)))
def test_broken_json_bodies(call_api: Any, model_calls: Any, body: str | bytes) -> None:
    before = model_calls()
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    for path in PATHS:
        check(call_api("POST", path, raw, base64_body=True), "body", before, model_calls)


def _is_json_object(body: str | bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


@FAST
@given(
    content_type=st.sampled_from(
        (
            "text/plain",
            "application/xml",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "image/png",
        )
    )
)
def test_wrong_content_types(call_api: Any, model_calls: Any, content_type: str) -> None:
    before = model_calls()
    status, payload = call_api("POST", "/v1/images", json.dumps(BASE), content_type=content_type)
    check((status, payload), None, before, model_calls)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=4096).filter(lambda b: not b.startswith((b"\x89PNG", b"\xff\xd8"))))
def test_source_images_that_are_not_png_or_jpeg(call_api: Any, model_calls: Any, data: bytes) -> None:
    before = model_calls()
    request = {**BASE, "task": "image-variation", "source_image": {"base64": base64.b64encode(data).decode()}}
    check(post(call_api, "/v1/images", request), "source_image", before, model_calls)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grey=st.integers(min_value=1, max_value=254))
def test_masks_that_are_not_black_and_white(call_api: Any, model_calls: Any, grey: int) -> None:
    before = model_calls()
    request = {
        "model": "titan-image-v1",
        "task": "inpainting",
        "prompt": "a red door",
        "source_image": {"base64": png((512, 512))},
        "mask_image": {"base64": png((512, 512), "L", grey)},
    }
    check(post(call_api, "/v1/images", request), "mask_image", before, model_calls)


def test_a_huge_base64_image_is_refused(call_api: Any, model_calls: Any) -> None:
    before = model_calls()
    # 5.5 MB decoded: over the 5 MB image limit, still under the 6 MB request limit
    request = {
        **BASE,
        "task": "image-variation",
        "source_image": {"base64": base64.b64encode(b"\x89PNG" + b"\0" * 4_100_000).decode()},
    }
    status, payload = post(call_api, "/v1/images", request)
    check((status, payload), "source_image", before, model_calls)
    # over the request limit: 413
    oversized = {**BASE, "task": "image-variation", "source_image": {"base64": "A" * (7 * 1024 * 1024)}}
    status, payload = post(call_api, "/v1/images", oversized)
    assert status == 413, (status, payload)
    assert model_calls() == before


def test_a_lone_surrogate_in_the_prompt_is_a_400(call_api: Any, model_calls: Any) -> None:
    before = model_calls()
    body = '{"model": "titan-image-v1", "prompt": "a lighthouse \\ud800 at dusk", "width": 512, "height": 512}'
    status, payload = call_api("POST", "/v1/images", body)
    # the API checks the whole body for unpaired surrogate escapes before reading fields: "body" is named
    check((status, payload), "body", before, model_calls)
    assert status == 400


def test_a_batch_with_one_bad_request_names_it(call_api: Any, model_calls: Any) -> None:
    before = model_calls()
    batch = {"requests": [BASE, {**BASE, "seed": -5}]}
    status, payload = post(call_api, "/v1/jobs", batch)
    check((status, payload), None, before, model_calls)
    assert status == 400 and any("seed" in f for f in named(payload)), payload


@FAST
@given(
    field=st.sampled_from(("prompt", "negative_prompt", "style", "idempotency_key")),
    text=st.text(max_size=30),
    surrogate=st.integers(min_value=0xD800, max_value=0xDFFF),
)
def test_unpaired_surrogates_in_any_text_field(
    call_api: Any, model_calls: Any, field: str, text: str, surrogate: int
) -> None:
    before = model_calls()
    body = json.dumps({**BASE, field: text + chr(surrogate) + text})  # json.dumps writes it as a \\udXXX escape
    status, payload = call_api("POST", "/v1/images", body)
    check((status, payload), "body", before, model_calls)
    assert status == 400
