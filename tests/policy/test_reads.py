"""What each policy read: recorded by the pack itself (``imagegen_policies.reads``), per policy, as urn#path."""

from __future__ import annotations

from typing import Any

from imagegen_policies import reads, registry


def test_recording_view_notes_present_missing_nested_and_whole_reads() -> None:
    # GIVEN a resource's props behind a recording view
    sink = reads._Sink()
    props = reads.RecordingMapping(
        {"environment": {"variables": {"A": "1"}}, "rules": [{"x": 1}, {"x": 2}], "name": "n"}, "urn:r", "", sink
    )
    # WHEN a rule reads a nested value, a missing key, one list item and enumerates a map
    assert props["environment"]["variables"].get("A") == "1"
    assert props.get("absent") is None
    assert props["rules"][1]["x"] == 2
    assert list(props["environment"]["variables"]) == ["A"]
    # THEN each read is noted with its path (a missing key included), and prune keeps the deepest
    assert reads.prune(sink.paths) == [
        "urn:r#absent",
        "urn:r#environment.variables.A",
        "urn:r#rules[1].x",
    ]


def _reads_of(preview: dict[str, Any], policy: str) -> list[str]:
    return list(preview["policies"]["reads"][policy])


def _urn(preview: dict[str, Any], resource_type: str) -> list[str]:
    return [r["urn"] for r in preview["resources"] if r["type"] == resource_type]


def test_pack_reports_the_properties_a_rule_inspected_not_every_resource_of_a_type(
    prod_preview: dict[str, Any],
) -> None:
    # GIVEN prod judged by the pack over gRPC
    read = _reads_of(prod_preview, "storage-public-access-blocked")
    (block,) = _urn(prod_preview, registry.BUCKET_PAB)
    # THEN the public-access rule read the four S3 PublicAccessBlockConfiguration flags
    # (names from the S3 API reference, PublicAccessBlockConfiguration: BlockPublicAcls, IgnorePublicAcls,
    # BlockPublicPolicy, RestrictPublicBuckets; camelCase as pulumi-aws spells the inputs)
    for flag in ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"):
        assert f"{block}#{flag}" in read
    # ... and nothing on resources it has no business with (no function, no queue)
    unrelated = set(_urn(prod_preview, registry.FUNCTION)) | set(_urn(prod_preview, registry.QUEUE))
    assert not [r for r in read if r.split("#", 1)[0] in unrelated]


def test_every_policy_that_passed_in_prod_read_something(prod_preview: dict[str, Any]) -> None:
    levels = prod_preview["policies"]["levels"]
    failed = {v["policy"] for v in prod_preview["policies"]["violations"]}
    silent = [
        name
        for name in levels
        if levels[name] != "disabled" and name not in failed and not prod_preview["policies"]["reads"].get(name)
    ]
    assert silent == []


def test_a_changed_input_is_read_under_the_same_path(prod_graph: dict[str, Any]) -> None:
    from imagegen_policies.offline import evaluate

    # GIVEN prod with its public access block turned off for one flag
    block = next(r for r in prod_graph["resources"] if r["type"] == registry.BUCKET_PAB)
    block["inputs"]["restrictPublicBuckets"] = False
    # WHEN the pack judges it
    verdict = evaluate(prod_graph, "prod")
    # THEN the violation names the flag and the read shows the rule looked exactly there
    assert any(v["policy"] == "storage-public-access-blocked" for v in verdict["violations"])
    assert f"{block['urn']}#restrictPublicBuckets" in verdict["reads"]["storage-public-access-blocked"]


def test_inputs_no_policy_read_do_not_change_any_verdict(prod_preview: dict[str, Any]) -> None:
    """The reads are complete: strip every input no policy read, and every policy says the same."""
    import copy

    from imagegen_policies.offline import evaluate

    read_keys = {
        (read.split("#", 1)[0], read.split("#", 1)[1].split(".", 1)[0].split("[", 1)[0])
        for reads_of_policy in prod_preview["policies"]["reads"].values()
        for read in reads_of_policy
    }
    graph = copy.deepcopy(prod_preview)
    graph.pop("policies")
    stripped = 0
    for resource in graph["resources"]:
        for key in list(resource["inputs"]):
            if (resource["urn"], key) not in read_keys:
                del resource["inputs"][key]
                stripped += 1
    assert stripped > 100  # most inputs are judged by no policy: the test strips something
    verdict = evaluate(graph, "prod")

    def outcome(v: dict[str, Any]) -> set[tuple[str, str | None, str]]:
        return {(x["policy"], x["urn"], x["message"]) for x in v["violations"]}

    assert outcome(verdict) == outcome(prod_preview["policies"])
    assert verdict["not_applicable"] == prod_preview["policies"]["not_applicable"]
