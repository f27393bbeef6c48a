"""Reading the offline preview graph in tests (shared by tests/unit/test_program*.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from imagegen_platform.settings import StackSettings, load_stack, stack_names

Graph = dict[str, Any]
Resource = dict[str, Any]

STACKS = tuple(stack_names())  # every committed stack file


@cache
def settings_of(stack: str) -> StackSettings:
    return load_stack(stack)[1]


def of_type(graph: Graph, type_token: str) -> list[Resource]:
    return [r for r in graph["resources"] if r["type"] == type_token]


def one(graph: Graph, type_token: str, name_suffix: str = "") -> Resource:
    found = [r for r in of_type(graph, type_token) if r["name"].endswith(name_suffix)]
    assert len(found) == 1, f"expected one {type_token} *{name_suffix}, found {[r['name'] for r in found]}"
    return found[0]


def by_urn(graph: Graph) -> dict[str, Resource]:
    return {r["urn"]: r for r in graph["resources"]}


def document(resource: Resource, key: str = "policy") -> dict[str, Any]:
    value = resource["inputs"][key]
    return json.loads(value) if isinstance(value, str) else value


def statements(resource: Resource, key: str = "policy") -> list[dict[str, Any]]:
    return document(resource, key)["Statement"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def stack_document(stack: str) -> dict[str, Any]:
    import yaml
    from imagegen_platform.settings import stack_file

    loaded: dict[str, Any] = yaml.safe_load(stack_file(stack).read_text())
    return loaded


def write_stack(directory: Path, document: dict[str, Any], name: str = "Pulumi.test.yaml") -> Path:
    import yaml

    path = directory / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def preview_mutated(directory: Path, mutate: Callable[[dict[str, Any]], object], stack: str = "prod") -> Graph:
    """The preview of a committed stack with one change to its settings (policy pack not run)."""
    from imagegen_platform.preview import run_preview

    document = stack_document(stack)
    mutate(document["config"]["imagegen:settings"])
    return run_preview(stack, write_stack(directory, document), policies=False)


def account_of(stack: str) -> str:
    """The account the preview's ARNs name: the customer's, or the mocks' own."""
    customer = settings_of(stack).customer
    return customer.account_id if customer is not None else "123456789012"


def base_name(stack: str) -> str:
    """``{name_prefix}-{stack}``: the start of every physical name in the stack."""
    return f"{settings_of(stack).name_prefix}-{stack}"
