"""Fixtures for the policy pack's tests: a pinned date, the prod preview, and no leftover pack processes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

TODAY = "2026-11-25"
"""Lifecycle verdicts depend on the date; pin it so Legacy/EOL results do not drift."""


@pytest.fixture(scope="module", autouse=True)
def pinned_today_and_pool() -> Iterator[None]:
    from imagegen_policies.offline import close_pool

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMAGEGEN_TODAY", TODAY)
        yield
        close_pool()  # every pack process this module started


_PROD_PREVIEW: dict[str, Any] = {}
"""The shipped prod preview, computed once per test process (it depends on code and the pinned date only)."""


@pytest.fixture
def prod_preview(pinned_today_and_pool: None) -> dict[str, Any]:
    from imagegen_platform.preview import run_preview

    if not _PROD_PREVIEW:
        _PROD_PREVIEW.update(run_preview("prod"))
    return copy.deepcopy(_PROD_PREVIEW)


@pytest.fixture
def prod_graph(prod_preview: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy of the prod graph (without its verdict) for one mutation."""
    graph = copy.deepcopy(prod_preview)
    graph.pop("policies", None)
    return graph


def find(graph: dict[str, Any], resource_type: str, name_part: str = "") -> dict[str, Any]:
    matches = [r for r in graph["resources"] if r["type"] == resource_type and name_part in r["name"]]
    assert matches, f"no {resource_type} named *{name_part}* in the graph"
    return matches[0]


def edit_json(resource: dict[str, Any], key: str, change: Callable[[Any], Any]) -> None:
    """Edit an input holding a JSON document (IAM policy, redrive policy, DynamoDB item)."""
    document = json.loads(resource["inputs"][key])
    result = change(document)
    resource["inputs"][key] = json.dumps(document if result is None else result)
