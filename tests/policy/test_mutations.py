"""Mutated prod stacks: each mutation is caught by exactly the policies it targets, as MANDATORY.

Two kinds: a mutated copy of stacks/Pulumi.prod.yaml previewed with ``run_preview(stack, config_file)``
(what a user could really write), or, where settings cannot express the fault, a mutated preview
graph (what a bug in the program would produce). Every mutation must also pass every policy it does
not target: the set of mandatory violations equals the targets, and no new advisory appears.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from imagegen_platform.settings import stack_file
from imagegen_policies.offline import evaluate

from tests.policy.conftest import edit_json, find

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
TABLE_ITEM = "aws:dynamodb/tableItem:TableItem"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


@dataclass(frozen=True)
class Mutation:
    id: str
    targets: frozenset[str]
    settings: Callable[[dict[str, Any]], None] | None = None
    graph: Callable[[dict[str, Any]], None] | None = None
    advisory: frozenset[str] = frozenset()


def _model(settings: dict[str, Any], key: str) -> dict[str, Any]:
    return next(m for m in settings["models"] if m["model"] == key)


def _licence(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": key,
        "licence": {
            "record_id": f"prod-{key}",
            "provider": "Amazon" if key.startswith(("titan", "nova")) else "Stability AI",
            "terms_version": "2026-06",
            "terms_url": "https://example.com/terms",
            "commercial_use": True,
            "accepted_by": "legal@example.com",
            "accepted_at": "2026-10-01",
            "eula_accepted": True,
            **extra,
        },
    }


def _statements(
    graph: dict[str, Any], role: str, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
) -> None:
    policy = find(graph, ROLE_POLICY, f"{role}-policy")
    edit_json(policy, "policy", lambda doc: {**doc, "Statement": change(doc["Statement"])})


def _without_sid(sid: str) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    return lambda statements: [s for s in statements if s.get("Sid") != sid]


def _env(graph: dict[str, Any], function: str) -> dict[str, Any]:
    variables: dict[str, Any] = find(graph, FUNCTION, f"generators-{function}")["inputs"]["environment"]["variables"]
    return variables


def _drop(graph: dict[str, Any], resource_type: str, name_part: str) -> None:
    victim = find(graph, resource_type, name_part)
    graph["resources"].remove(victim)


def _item(graph: dict[str, Any], key: str, **changes: Any) -> None:
    def change(item: dict[str, Any]) -> None:
        for name, value in changes.items():
            item[name] = value

    edit_json(find(graph, TABLE_ITEM, f"licences-{key}"), "item", change)


def _bucket_statements(graph: dict[str, Any], change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    edit_json(find(graph, BUCKET_POLICY), "policy", lambda doc: {**doc, "Statement": change(doc["Statement"])})


def _cdn(graph: dict[str, Any]) -> dict[str, Any]:
    inputs: dict[str, Any] = find(graph, DISTRIBUTION)["inputs"]
    return inputs


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(settings: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = settings
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    return apply


def _add_model(entry: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda settings: settings["models"].append(entry)


def _licence_field(key: str, field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda settings: _model(settings, key)["licence"].__setitem__(field, value)


def _drop_setting(path: str) -> Callable[[dict[str, Any]], None]:
    def apply(settings: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = settings
        for part in parents:
            node = node[part]
        node.pop(leaf)

    return apply


def _public_principal(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    allow = copy.deepcopy(next(s for s in statements if s["Effect"] == "Allow"))
    allow.update(Sid="Anyone", Principal="*")
    allow.pop("Condition")
    return [*statements, allow]


def _no_source_arn(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for s in statements:
        if s["Effect"] == "Allow":
            s.pop("Condition")
    return statements


def _ordered_http(graph: dict[str, Any]) -> None:
    behaviour = copy.deepcopy(_cdn(graph)["defaultCacheBehavior"])
    behaviour.update(pathPattern="legacy/*", viewerProtocolPolicy="allow-all")
    _cdn(graph)["orderedCacheBehaviors"] = [behaviour]


def _set_input(resource_type: str, name_part: str, path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(graph: dict[str, Any]) -> None:
        node = find(graph, resource_type, name_part)["inputs"]
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value

    return apply


def _queue_redrive(count: int) -> Callable[[dict[str, Any]], None]:
    return lambda graph: edit_json(
        find(graph, "aws:sqs/queue:Queue", "jobs"), "redrivePolicy", lambda d: {**d, "maxReceiveCount": count}
    )


M = Mutation
S = frozenset
MUTATIONS: tuple[Mutation, ...] = (
    # ---------------------------------------------------------------- settings a user could write
    M(
        "settings-licence-not-commercial",
        S({"licence-commercial-use"}),
        settings=_licence_field("stable-image-core", "commercial_use", False),
    ),
    M(
        "settings-eula-not-accepted",
        S({"licence-eula-accepted"}),
        settings=_licence_field("sd3-5-large", "eula_accepted", False),
    ),
    M(
        "settings-confidence-too-high",
        S({"moderation-confidence-range"}),
        settings=_set("moderation.image_min_confidence", 95),
    ),
    M(
        "settings-confidence-too-low",
        S({"moderation-confidence-range"}),
        settings=_set("moderation.image_min_confidence", 30),
    ),
    M(
        "settings-moderation-off",
        S({"moderation-enabled", "moderation-guardrail-wired"}),
        settings=_set("moderation.enabled", False),
    ),
    M("settings-c2pa-off", S({"provenance-c2pa-signing"}), settings=_set("provenance.c2pa_enabled", False)),
    M(
        "settings-c2pa-no-secret",
        S({"provenance-c2pa-signing"}),
        settings=_drop_setting("provenance.signing_secret_arn"),
    ),
    M(
        "settings-end-of-life-model",
        S({"model-not-end-of-life"}),
        settings=_add_model(_licence("titan-image-v2", eula_accepted=False)),
        advisory=S({"model-not-legacy"}),
    ),
    M("settings-receive-count-10", S({"queue-dead-letter"}), settings=_set("worker.max_receive_count", 10)),
    M("settings-concurrency-500", S({"worker-concurrency-within-quota"}), settings=_set("worker.max_concurrency", 500)),
    M("settings-unsigned-urls", S({"cdn-signed-urls"}), settings=_set("delivery.signed_urls", False)),
    # ---------------------------------------------------------------- graphs a program bug could produce
    M(
        "graph-licence-record-missing",
        S({"licence-record-per-model"}),
        graph=lambda g: _drop(g, TABLE_ITEM, "licences-stable-image-core"),
    ),
    M(
        "graph-licence-accepted-by-blank",
        S({"licence-record-per-model"}),
        graph=lambda g: _item(g, "stable-image-core", accepted_by={"S": ""}),
    ),
    M(
        "graph-unknown-model-invocable",
        S({"licence-record-per-model"}),
        graph=lambda g: _statements(
            g,
            "worker",
            lambda ss: [
                *ss,
                {
                    "Effect": "Allow",
                    "Action": "bedrock:InvokeModel",
                    "Resource": "arn:aws:bedrock:us-west-2::foundation-model/acme.secret-model-v9",
                },
            ],
        ),
    ),
    M(
        "graph-guardrail-not-granted",
        S({"moderation-guardrail-wired"}),
        graph=lambda g: _statements(g, "api", _without_sid("ScreenPrompts")),
    ),
    M(
        "graph-guardrail-env-missing",
        S({"moderation-guardrail-wired"}),
        graph=lambda g: _env(g, "api").pop("IMAGEGEN_GUARDRAIL_ID"),
    ),
    M(
        "graph-rekognition-not-granted",
        S({"moderation-image-scan"}),
        graph=lambda g: _statements(g, "worker", _without_sid("ImageModeration")),
    ),
    M(
        "graph-moderation-flag-off",
        S({"moderation-enabled"}),
        graph=lambda g: _env(g, "worker").update(IMAGEGEN_MODERATION_ENABLED="false"),
    ),
    M(
        "graph-public-access-flag-off",
        S({"storage-public-access-blocked"}),
        graph=_set_input("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "", "blockPublicPolicy", False),
    ),
    M(
        "graph-public-access-block-missing",
        S({"storage-public-access-blocked"}),
        graph=lambda g: _drop(g, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", ""),
    ),
    M(
        "graph-object-writer",
        S({"storage-owner-enforced"}),
        graph=_set_input(
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "", "rule.objectOwnership", "ObjectWriter"
        ),
    ),
    M(
        "graph-no-encryption",
        S({"storage-encrypted"}),
        graph=lambda g: _drop(
            g, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", ""
        ),
    ),
    M(
        "graph-no-tls-deny",
        S({"storage-tls-only"}),
        graph=lambda g: _bucket_statements(g, lambda ss: [s for s in ss if s["Effect"] != "Deny"]),
    ),
    M(
        "graph-bucket-public-principal",
        S({"storage-cdn-only-access"}),
        graph=lambda g: _bucket_statements(g, _public_principal),
    ),
    M(
        "graph-bucket-no-source-arn",
        S({"storage-cdn-only-access"}),
        graph=lambda g: _bucket_statements(g, _no_source_arn),
    ),
    M(
        "graph-origin-access-identity",
        S({"cdn-origin-access-control"}),
        graph=lambda g: _cdn(g)["origins"][0].update(
            s3OriginConfig={"originAccessIdentity": "origin-access-identity/cloudfront/E2QWRUHAPOMQZL"}
        ),
    ),
    M(
        "graph-oac-signing-never",
        S({"cdn-origin-access-control"}),
        graph=_set_input("aws:cloudfront/originAccessControl:OriginAccessControl", "", "signingBehavior", "never"),
    ),
    M(
        "graph-website-endpoint",
        S({"cdn-origin-access-control"}),
        graph=lambda g: _cdn(g)["origins"][0].update(
            domainName="imagegen-prod-images.s3-website-us-west-2.amazonaws.com"
        ),
    ),
    M(
        "graph-allow-all-viewers",
        S({"cdn-https-only"}),
        graph=_set_input(DISTRIBUTION, "", "defaultCacheBehavior.viewerProtocolPolicy", "allow-all"),
    ),
    M("graph-ordered-behaviour-http", S({"cdn-https-only"}), graph=_ordered_http),
    M(
        "graph-tls-1-0",
        S({"cdn-tls-minimum"}),
        graph=_set_input(DISTRIBUTION, "", "viewerCertificate.minimumProtocolVersion", "TLSv1_2016"),
    ),
    M(
        "graph-default-certificate",
        S({"cdn-tls-minimum"}),
        graph=_set_input(
            DISTRIBUTION,
            "",
            "viewerCertificate",
            {"cloudfrontDefaultCertificate": True, "minimumProtocolVersion": "TLSv1.2_2021"},
        ),
    ),
    M(
        "graph-no-trusted-key-groups",
        S({"cdn-signed-urls"}),
        graph=lambda g: _cdn(g)["defaultCacheBehavior"].pop("trustedKeyGroups"),
    ),
    M(
        "graph-no-redrive",
        S({"queue-dead-letter"}),
        graph=lambda g: find(g, "aws:sqs/queue:Queue", "jobs")["inputs"].pop("redrivePolicy"),
    ),
    M("graph-redrive-count-50", S({"queue-dead-letter"}), graph=_queue_redrive(50)),
    M(
        "graph-short-visibility",
        S({"queue-visibility-timeout"}),
        graph=_set_input("aws:sqs/queue:Queue", "jobs", "visibilityTimeoutSeconds", 60),
    ),
    M(
        "graph-no-partial-batch",
        S({"queue-partial-batch-failures"}),
        graph=_set_input("aws:lambda/eventSourceMapping:EventSourceMapping", "", "functionResponseTypes", []),
    ),
    M(
        "graph-pitr-off",
        S({"dynamodb-pitr"}),
        graph=_set_input("aws:dynamodb/table:Table", "jobs", "pointInTimeRecovery.enabled", False),
    ),
    M(
        "graph-budget-silent",
        S({"budget-notification"}),
        graph=_set_input("aws:budgets/budget:Budget", "", "notifications", []),
    ),
    M("graph-budget-missing", S({"budget-notification"}), graph=lambda g: _drop(g, "aws:budgets/budget:Budget", "")),
    M(
        "graph-quota-request-missing",
        S({"quota-requests-present"}),
        # the worker paces Stable Image Core above its default quota with no ServiceQuota request behind it
        graph=lambda g: _env(g, "worker").update(
            IMAGEGEN_MODEL_RPM=json.dumps(
                {**json.loads(_env(g, "worker")["IMAGEGEN_MODEL_RPM"]), "stable-image-core": 300}
            )
        ),
    ),
    M(
        "graph-concurrency-uncapped",
        S({"worker-concurrency-within-quota"}),
        graph=lambda g: find(g, "aws:lambda/eventSourceMapping:EventSourceMapping")["inputs"].pop("scalingConfig"),
    ),
    M(
        "graph-star-action",
        S({"iam-no-wildcard-actions", "iam-bedrock-invoke-scoped"}),
        graph=lambda g: _statements(
            g, "worker", lambda ss: [*ss, {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::x"}]
        ),
    ),
    M(
        "graph-service-star-action",
        S({"iam-no-wildcard-actions", "iam-sensitive-actions-scoped"}),
        graph=lambda g: _statements(
            g, "api", lambda ss: [*ss, {"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]
        ),
    ),
    M(
        "graph-invoke-any-model",
        S({"iam-bedrock-invoke-scoped"}),
        graph=lambda g: _statements(
            g, "api", lambda ss: [*ss, {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]
        ),
    ),
    M(
        "graph-open-route",
        S({"api-routes-authorised"}),
        graph=_set_input("aws:apigatewayv2/route:Route", "post-v1-jobs", "authorizationType", "NONE"),
    ),
    M(
        "graph-jwt-without-authoriser",
        S({"api-routes-authorised"}),
        graph=_set_input("aws:apigatewayv2/route:Route", "get-v1-models", "authorizationType", "JWT"),
    ),
)


def _verdict(mutation: Mutation, prod_graph: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    if mutation.settings is not None:
        from imagegen_platform.preview import run_preview

        document = yaml.safe_load(stack_file("prod").read_text())
        mutation.settings(document["config"]["imagegen:settings"])
        path = tmp_path / "Pulumi.prod.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        verdict: dict[str, Any] = run_preview("prod", path)["policies"]
        return verdict
    assert mutation.graph is not None
    mutation.graph(prod_graph)
    return evaluate(prod_graph, "prod")


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_mutation_is_caught_by_exactly_its_policies(
    mutation: Mutation, prod_graph: dict[str, Any], prod_preview: dict[str, Any], tmp_path: Path
) -> None:
    # GIVEN the shipped prod stack with one fault put in
    baseline_advisory = {v["policy"] for v in prod_preview["policies"]["violations"]}
    # WHEN the pack judges it with prod's policy config
    verdict = _verdict(mutation, prod_graph, tmp_path)
    # THEN exactly the targeted policies report MANDATORY violations ...
    mandatory = {v["policy"] for v in verdict["violations"] if v["enforcement"] == "mandatory"}
    assert mandatory == set(mutation.targets), verdict["violations"]
    # ... each naming the resource and property behind it ...
    named = {f"{r['name']} ({r['type'].rsplit(':', 1)[-1]})" for r in prod_preview["resources"]}
    for violation in verdict["violations"]:
        if violation["policy"] in mutation.targets:
            message = violation["message"]
            # "<resource> (<Type>) <property> ..." or, when the resource is missing, the type the stack lacks
            assert any(n in message for n in named) or "aws:" in message, violation
    # ... and nothing else turns up, not even as advice
    advisory = {v["policy"] for v in verdict["violations"] if v["enforcement"] == "advisory"}
    assert advisory <= baseline_advisory | set(mutation.advisory), advisory


def test_at_least_25_mutations_cover_every_mandatory_prod_policy() -> None:
    from imagegen_policies import registry

    from tests.policy.test_mutations_meaning import MUTATIONS as MEANING

    covered = set().union(*(m.targets for m in MUTATIONS), *(m.targets for m in MEANING))
    # the Legacy rules have their own test (a Legacy model needs a settings change, not a fault)
    mandatory_in_prod = {
        r.name for r in registry.RULES if r.name not in ("model-not-legacy", "legacy-model-in-production")
    }
    assert len(MUTATIONS) >= 25
    assert mandatory_in_prod <= covered, mandatory_in_prod - covered


def _prod_with_titan(tmp_path: Path) -> Path:
    document = yaml.safe_load(stack_file("prod").read_text())
    document["config"]["imagegen:settings"]["models"].append(_licence("titan-image-v1"))
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_legacy_model_blocks_prod_unless_the_account_already_uses_it(tmp_path: Path) -> None:
    from imagegen_platform.preview import run_preview
    from imagegen_policies.offline import config_path

    # GIVEN prod granting a Legacy model (titan-image-v1, Legacy since 2026-06-30 in the catalogue; today 2026-11-25)
    graph = run_preview("prod", _prod_with_titan(tmp_path), policies=False)
    prod = json.loads(config_path("prod").read_text())
    # WHEN judged with prod's config THEN it blocks: AWS serves Legacy models only to accounts already using them
    verdict = evaluate(graph, "prod", config=prod)
    blocked = [v for v in verdict["violations"] if v["enforcement"] == "mandatory"]
    assert {v["policy"] for v in blocked} == {"legacy-model-in-production"}
    assert "records no use of it by this account" in blocked[0]["message"]
    # WHEN the config records the account's use, checked recently, last call inside AWS's 15-day window
    # THEN only the advisory Legacy flag remains
    used = {"legacyInUse": [{"model": "titan-image-v1", "lastInvokedOn": "2026-11-20", "checkedOn": "2026-11-24"}]}
    verdict = evaluate(graph, "prod", config=prod | {"legacy-model-in-production": used})
    assert verdict["mandatory_violations"] == 0
    assert {v["policy"] for v in verdict["violations"]} == {"model-not-legacy"}
    # WHEN the record is stale (checked > 30 days ago) or shows a lapse (> 15 days between use and check) THEN it blocks
    for entry, reason in (
        ({"lastInvokedOn": "2026-10-01", "checkedOn": "2026-10-10"}, "over 30 days ago"),
        ({"lastInvokedOn": "2026-11-01", "checkedOn": "2026-11-20"}, "more than 15 days before the check"),
        ({"lastInvokedOn": "2026-11-20", "checkedOn": "2026-12-01"}, "impossible"),
    ):
        config = prod | {"legacy-model-in-production": {"legacyInUse": [{"model": "titan-image-v1", **entry}]}}
        verdict = evaluate(graph, "prod", config=config)
        messages = [v["message"] for v in verdict["violations"] if v["enforcement"] == "mandatory"]
        assert messages and all(reason in m for m in messages), (entry, messages)


def test_legacy_model_outside_production_is_only_flagged(tmp_path: Path) -> None:
    from imagegen_platform.preview import run_preview

    # GIVEN staging (not a production environment) granting the Legacy titan-image-v1, as shipped
    verdict = run_preview("staging")["policies"]
    # THEN the production rule stays silent and the advisory flag remains
    assert "legacy-model-in-production" not in {v["policy"] for v in verdict["violations"]}
    assert "model-not-legacy" in {v["policy"] for v in verdict["violations"]}
