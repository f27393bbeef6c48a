"""Every model × task of the catalogue through the adapters, boto3 and the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from imagegen_service import adapters
from imagegen_service.bedrock import BedrockImageClient
from imagegen_service.catalogue import ModelSpec, Task
from imagegen_service.requests import fields_for, image_count, output_size, parse_request

from tests.emulator.cases import ALL_CASES, CASE_IDS, valid_request
from tests.emulator.conftest import invoke


@pytest.mark.parametrize(("spec", "task"), ALL_CASES, ids=CASE_IDS)
def test_valid_request_gives_images_of_the_right_size_format_and_count(
    image_client: BedrockImageClient, spec: ModelSpec, task: Task
) -> None:
    # GIVEN a valid request for this model and task
    req = parse_request(valid_request(spec, task))
    # WHEN it is invoked through the client (boto3 → emulator)
    output = image_client.invoke(req, region=spec.regions[0])
    # THEN the images have the size output_size() promises, the format asked for, and the count
    assert len(output.images) == image_count(req)
    for image in output.images:
        assert (image.width, image.height) == output_size(req)
        assert image.format == (req.output_format or "png")
        assert decode_bytes_size(image.data) == output_size(req)


def decode_bytes_size(data: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return image.size


SEEDED = [(spec, task) for spec, task in ALL_CASES if "seed" in fields_for(spec, task)]
UNSEEDED = [(spec, task) for spec, task in ALL_CASES if "seed" not in fields_for(spec, task)]


@pytest.mark.parametrize(("spec", "task"), SEEDED, ids=[f"{s.key}:{t.value}" for s, t in SEEDED])
def test_same_seed_reproduces_bytes_and_other_seeds_differ(bedrock: Any, spec: ModelSpec, task: Task) -> None:
    body = adapters.build_body(parse_request(valid_request(spec, task, seed=11)))
    other = adapters.build_body(parse_request(valid_request(spec, task, seed=12)))
    first, again, changed = (invoke(bedrock, spec.model_id, b)["images"][0] for b in (body, body, other))
    assert first == again
    assert first != changed


@pytest.mark.parametrize(("spec", "task"), UNSEEDED, ids=[f"{s.key}:{t.value}" for s, t in UNSEEDED])
def test_seedless_tasks_are_deterministic(bedrock: Any, spec: ModelSpec, task: Task) -> None:
    body = adapters.build_body(parse_request(valid_request(spec, task)))
    assert invoke(bedrock, spec.model_id, body)["images"] == invoke(bedrock, spec.model_id, body)["images"]
