"""Stack routes: job → model, task, preset, tier; validated against the catalogue and the stack's licences."""

from __future__ import annotations

import json
from typing import Any

import pytest
from imagegen_platform.cli import main
from imagegen_platform.settings import (
    GUIDE_JOBS,
    REGION_KEY,
    SETTINGS_KEY,
    load_stack,
    parse_settings,
    read_stack_file,
    stack_file,
)
from imagegen_service import catalogue, clock
from imagegen_service.errors import SettingsInvalid

DEFAULT_STACKS = ("local", "dev", "staging", "prod")


def stack_document_for_tests(stack: str) -> dict[str, Any]:
    config = read_stack_file(stack_file(stack))
    return {**config[SETTINGS_KEY], "region": config[REGION_KEY]}


@pytest.mark.parametrize("stack", DEFAULT_STACKS)
def test_default_stacks_route_the_guides_seven_jobs_to_active_models(stack: str) -> None:
    # The guide's table: cut-outs, hero imagery, composition-locked packshots, thumbnails, typography,
    # edit-in-place, provenance required.
    _, settings = load_stack(stack)
    assert set(GUIDE_JOBS) <= set(settings.routes)
    for job, route in settings.routes.items():
        spec = route.spec
        enabled = settings.enabled(route.model)
        assert enabled is not None, job
        assert settings.model_region(enabled) in spec.regions, job
        assert spec.lifecycle.status_on(clock.today()) is catalogue.Status.ACTIVE, (job, route.model)
        assert spec.supports(route.effective_task), job


def test_the_guides_jobs_get_the_tools_the_guide_names() -> None:
    _, settings = load_stack("prod")
    tasks = {job: route.effective_task for job, route in settings.routes.items()}
    assert tasks["cut-out"] is catalogue.Task.BACKGROUND_REMOVAL  # "Native background removal"
    assert tasks["composition-locked"] is catalogue.Task.CONTROL_STRUCTURE  # "Conditioning keeps layout"
    assert tasks["edit-in-place"] is catalogue.Task.SEARCH_REPLACE  # edits addressed by words ("text masks")
    assert settings.routes["typography"].model == "sd3-5-large"  # "Best text rendering of the families"


def _settings_with(**routes: Any) -> dict[str, Any]:
    raw = stack_document_for_tests("prod")
    raw["routes"] = routes
    return raw


BAD_ROUTES = [
    ({"hero": {"model": "stable-image-ultra"}}, "routes.hero.model: stable-image-ultra is not enabled in this stack"),
    ({"hero": {"model": "dall-e-3"}}, "unknown model 'dall-e-3'"),
    ({"cut-out": {"model": "sd3-5-large", "task": "background-removal"}}, "routes.cut-out.task: Stable Diffusion 3.5 Large does not do background-removal"),
    ({"hero": {"model": "sd3-5-large", "preset": "poster"}}, "routes.hero.preset: unknown preset 'poster'"),
    ({"hero": {"model": "sd3-5-large", "tier": "premium"}}, "routes.hero.tier: Stable Diffusion 3.5 Large has no quality tiers"),
    ({"Hero Shot": {"model": "sd3-5-large"}}, "routes.Hero Shot"),
]  # fmt: skip


@pytest.mark.parametrize(("routes", "fragment"), BAD_ROUTES, ids=[r[1][:40] for r in BAD_ROUTES])
def test_bad_route_names_the_field_and_the_rule(routes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SettingsInvalid) as caught:
        parse_settings(_settings_with(**routes), source="prod")
    assert fragment in caught.value.message


def test_route_to_a_model_past_end_of_life_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = stack_document_for_tests("prod")
    raw["region"] = "us-east-1"
    raw["models"] = [m for m in raw["models"] if m["model"].startswith("stability-")] + [
        {**raw["models"][0], "model": "titan-image-v2", "licence": {**raw["models"][0]["licence"], "provider": "Amazon", "eula_accepted": False}}
    ]  # fmt: skip
    raw["routes"] = {"thumbnail": {"model": "titan-image-v2", "tier": "standard"}}
    with pytest.raises(SettingsInvalid) as caught:
        parse_settings(raw, source="prod")
    assert (
        "routes.thumbnail.model: Amazon Titan Image Generator G1 v2 reached end of life on 2026-06-30"
        in caught.value.message
    )


def test_models_routes_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--routes", "--stack", "prod", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    _, settings = load_stack("prod")
    assert [(r["job"], r["model"], r["task"]) for r in shown["routes"]] == [
        (job, route.model, route.effective_task.value) for job, route in settings.routes.items()
    ]
    assert {r["lifecycle"] for r in shown["routes"]} == {"active"}
    assert main(["models", "--routes", "--stack", "prod"]) == 0
    table = capsys.readouterr().out
    assert "composition-locked  stability-control-structure  control-structure" in table
    assert main(["models", "--routes"]) == 2
    assert "--routes needs --stack" in capsys.readouterr().err


def test_the_program_hands_the_routes_to_the_api_only() -> None:
    from imagegen_platform.preview import run_preview
    from imagegen_service.config import ENV_ROUTES

    _, settings = load_stack("prod")
    graph = run_preview("prod", policies=False)
    functions = {
        r["name"].rsplit("-", 1)[-1]: r for r in graph["resources"] if r["type"] == "aws:lambda/function:Function"
    }
    api = functions["api"]["inputs"]["environment"]["variables"]
    assert json.loads(api[ENV_ROUTES]) == {job: route.as_runtime() for job, route in settings.routes.items()}
    # the worker never resolves a job (the API does, before queueing): its 4 KB environment stays free
    assert ENV_ROUTES not in functions["worker"]["inputs"]["environment"]["variables"]
