"""Fixtures the unit tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def everything_on(settings: dict[str, Any]) -> None:
    """customer-acme with every optional feature a customer stack may turn on."""
    settings["models"].append(
        {
            "model": "titan-image-v1",
            "region": "eu-west-1",  # a model region other than the stack's: regional alert topic
            "licence": {**settings["models"][0]["licence"], "record_id": "customer-acme-titan-image-v1",
                        "provider": "Amazon", "terms_url": "https://aws.amazon.com/service-terms/"},
        }
    )  # fmt: skip
    settings["models"][0] |= {"quota_request_rpm": 500, "quota_code": "L-0A1B2C3D"}  # a quota increase request
    settings["api"] = {"auth": "jwt", "jwt_issuer": "https://id.acme.example", "jwt_audience": ["imagegen"]}
    settings["iam"] = {"permissions_boundary_arn": "arn:aws:iam::111122223333:policy/partner-boundary"}
    settings["delivery"] |= {
        "domain_name": "images.acme.example",
        "certificate_arn": "arn:aws:acm:us-east-1:111122223333:certificate/0b5c6a2e-3f4d-4e8a-9b1c-2d3e4f5a6b7c",
        "hosted_zone_id": "Z0123456789EXAMPLEACM",
    }


@pytest.fixture(scope="session")
def graphs(stack_graph: Callable[[str], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every shipped stack's graph, plus customer-acme with every optional feature on (the deploy role's
    tests: what any customer stack may need)."""
    from tests.unit.program_graph import STACKS, preview_mutated

    found = {stack: stack_graph(stack) for stack in STACKS}
    found["customer-acme+everything"] = preview_mutated(
        tmp_path_factory.mktemp("everything"), everything_on, stack="customer-acme"
    )
    return found
