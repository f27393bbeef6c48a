"""Every shipped stack passes its policy config with zero mandatory violations, and the config is what docs say."""

from __future__ import annotations

import json
from typing import Any

import pytest
from imagegen_platform import capacity
from imagegen_platform.settings import stack_names
from imagegen_policies import registry
from imagegen_policies.offline import CONFIG_DIR, config_path


@pytest.mark.parametrize("stack", stack_names())
def test_shipped_stack_has_no_mandatory_violation(stack: str, prod_preview: dict[str, Any]) -> None:
    from imagegen_platform.preview import run_preview

    verdict = (prod_preview if stack == "prod" else run_preview(stack))["policies"]
    assert verdict["pack"] == "imagegen-policies"
    assert verdict["mandatory_violations"] == 0, [v for v in verdict["violations"] if v["enforcement"] == "mandatory"]
    # every policy had something to judge: none silently skipped for want of resources
    assert set(verdict["levels"]) == {r.name for r in registry.RULES}


def test_prod_is_judged_by_every_policy(prod_preview: dict[str, Any]) -> None:
    verdict = prod_preview["policies"]
    assert verdict["not_applicable"] == []
    # prod enables only Active models (titan-image-v1 is Legacy and left prod): nothing to flag, not even advice
    assert verdict["violations"] == []


@pytest.mark.parametrize("stack", stack_names())
def test_every_stack_has_a_policy_config(stack: str) -> None:
    assert config_path(stack).exists()


@pytest.mark.parametrize("name", ["prod.json", "customer-acme.json", "customer.json", "staging.json"])
def test_production_configs_make_every_policy_mandatory_but_legacy(name: str) -> None:
    config = json.loads((CONFIG_DIR / name).read_text())
    assert config["all"] == "mandatory"
    relaxed = {
        k
        for k, v in config.items()
        if k != "all" and (v if isinstance(v, str) else v.get("enforcementLevel", "mandatory")) != "mandatory"
    }
    assert relaxed == {"model-not-legacy"}


def test_cost_policy_defaults_follow_the_programs_capacity_model() -> None:
    schema = registry.rule("worker-concurrency-within-quota").config_schema
    assert schema["callSeconds"]["default"] == capacity.EXPECTED_CALL_SECONDS
    assert schema["minimumConcurrency"]["default"] == capacity.MIN_WORKER_CONCURRENCY


def test_confidence_defaults_follow_the_settings_bounds() -> None:
    from imagegen_platform.settings import MIN_CONFIDENCE_CEILING, MIN_CONFIDENCE_FLOOR

    schema = registry.rule("moderation-confidence-range").config_schema
    assert (schema["minConfidence"]["default"], schema["maxConfidence"]["default"]) == (
        MIN_CONFIDENCE_FLOOR,
        MIN_CONFIDENCE_CEILING,
    )


def test_docs_describe_every_policy() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text()
    missing = [r.name for r in registry.RULES if f"`{r.name}`" not in docs or r.rationale not in docs]
    assert missing == []
