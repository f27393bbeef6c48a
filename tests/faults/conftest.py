"""Fixtures of the fault-injection suite: one local platform per test module (see local.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from imagegen_local.serve import LocalPlatform

from tests.faults.local import local_platform


@pytest.fixture(scope="module")
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    name = "faults-" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    with local_platform(name, tmp_path_factory.mktemp("state")) as running:
        yield running
