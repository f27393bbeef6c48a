"""`imagegen policy report`: a self-contained HTML page and Markdown whose cells match the evaluation."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from imagegen_platform.cli import main
from imagegen_policies import registry, report


class _Page(HTMLParser):
    """Collects the matrix cells, the policy sections and anything that would fetch from the network."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], dict[str, str]] = {}
        self.sections: set[str] = set()
        self.fetches: list[str] = []
        self.findings: list[str] = []
        self.verdicts: dict[str, str] = {}
        self._in_section: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "td" and "cell" in a.get("class", ""):
            self.cells[(a["data-policy"], a["data-stack"])] = a
        if tag == "section" and "policy" in a.get("class", ""):
            self.sections.add(a["data-policy"])
        if tag == "li" and "verdict" in a.get("class", ""):
            self.verdicts[a["data-stack"]] = a["data-verdict"]
        if tag == "li" and "finding" in a.get("class", ""):
            self.findings.append(a.get("data-urn", ""))
        if tag in ("script", "link", "img", "iframe") or (tag != "a" and ("src" in a or "href" in a)):
            self.fetches.append(tag)
        if tag == "a" and not a.get("href", "").startswith("#"):
            self.fetches.append(a.get("href", ""))

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    @property
    def text(self) -> str:
        return "".join(self._text)


@pytest.fixture(autouse=True)
def signing_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A written report is signed: with a key made for the test, never the reviewer's own."""
    monkeypatch.setenv("IMAGEGEN_REPORT_KEY_DIR", str(tmp_path / "keys"))


def test_html_report_for_prod_is_self_contained_and_matches_the_evaluation(
    tmp_path: Path, prod_preview: dict[str, Any]
) -> None:
    # GIVEN the report command for prod as HTML
    out = tmp_path / "report.html"
    # WHEN it runs
    argv = ["policy", "report", "--stack", "prod", "--format", "html", "--output", str(out), "--no-scanner"]
    assert main(argv) == 0
    text = out.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    # THEN it is one file with no fetches, every policy has a cell and a section with its rationale
    assert page.fetches == []
    assert "<style>" in text
    assert page.sections == {r.name for r in registry.RULES}
    for rule in registry.RULES:
        assert rule.rationale.replace("`", "") in page.text and rule.remediation.replace("`", "") in page.text
    # ... Markdown code spans became <code>, no literal backtick is left anywhere on the page
    assert "`" not in text
    # ... the verdict per stack comes first, before the matrix
    assert page.verdicts == {"prod": "ship"}
    assert text.index('id="verdicts"') < text.index('id="matrix"')
    # ... and each cell says what the pack said for prod
    expected = {name: row["prod"] for name, row in report.matrix({"prod": prod_preview}).items()}
    for rule in registry.RULES:
        cell = page.cells[(rule.name, "prod")]
        assert cell["data-status"] == expected[rule.name].status
        assert cell["data-level"] == prod_preview["policies"]["levels"][rule.name]
    assert page.cells[("model-not-legacy", "prod")]["data-status"] == "pass"  # prod enables only Active models
    assert page.cells[("storage-public-access-blocked", "prod")]["data-status"] == report.PASS
    # ... with the resource behind each finding
    assert set(page.findings) == {v["urn"] for v in prod_preview["policies"]["violations"]}


def test_matrix_marks_violations_and_not_applicable(prod_preview: dict[str, Any], prod_graph: dict[str, Any]) -> None:
    from imagegen_policies.offline import evaluate

    # GIVEN prod with an open route and without user content
    for resource in prod_graph["resources"]:
        if resource["type"] == registry.ROUTE:
            resource["inputs"]["authorizationType"] = "NONE"
        variables = (resource["inputs"].get("environment") or {}).get("variables") or {}
        if "IMAGEGEN_USER_CONTENT" in variables:
            variables["IMAGEGEN_USER_CONTENT"] = "false"
    # (with a config that lets the flag decide: the pack's own default pins user content on)
    import json

    from imagegen_policies.offline import config_path

    relaxed = json.loads(config_path("prod").read_text()) | {
        name: {"requireUserContent": False} for name in ("cdn-signed-urls", "moderation-guardrail-wired")
    }
    mutated = {**prod_graph, "policies": evaluate(prod_graph, "prod", config=relaxed)}
    # WHEN rendered THEN the cells say violation / not applicable, and the Markdown names the resource
    cells = report.matrix({"prod": mutated})
    assert cells["api-routes-authorised"]["prod"].status == report.VIOLATION
    assert cells["cdn-signed-urls"]["prod"].status == report.NOT_APPLICABLE
    assert cells["moderation-guardrail-wired"]["prod"].status == report.NOT_APPLICABLE
    markdown = report.render_markdown({"prod": mutated})
    assert re.search(r"http-api-post-v1-jobs \(Route\) authorizationType is 'NONE'", markdown)


def test_markdown_report_for_two_stacks_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "report", "--stack", "prod", "--stack", "local", "--no-scanner"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Policy report: imagegen-policies")
    # a verdict line per stack at the top
    first, second = text.splitlines()[2:4]
    assert re.fullmatch(r"- \*\*prod: SHIP: 0 mandatory violation\(s\), \d+ advisory\*\*", first)
    assert re.fullmatch(r"- \*\*local: SHIP: 0 mandatory violation\(s\), \d+ advisory\*\*", second)
    assert "| policy | prod | local |" in text
    assert "| model-not-end-of-life |" not in text  # rows link to their sections
    assert "[model-not-end-of-life](#model-not-end-of-life) | ✔ pass (mandatory) | ✔ pass (advisory) |" in text


def test_unknown_stack_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "report", "--stack", "nope"]) == 2
    error = capsys.readouterr().err
    assert "no stack named nope" in error and "prod" in error and "Traceback" not in error


def test_report_shows_the_config_exceptions_a_pass_relies_on(prod_graph: dict[str, Any]) -> None:
    from imagegen_policies.offline import CONFIG_DIR, evaluate

    # GIVEN a stack judged with a config that allows the default CloudFront certificate (staging's)
    judged = {**prod_graph, "policies": evaluate(prod_graph, "prod", config=CONFIG_DIR / "staging.json")}
    # WHEN rendered THEN the exception is shown next to the result, and prod's own config has none
    cells = report.matrix({"staging-config": judged})
    assert cells["cdn-tls-minimum"]["staging-config"].exceptions == ["allowDefaultCertificate=true"]
    assert "stack config: allowDefaultCertificate=true" in report.render_html({"staging-config": judged})
    own = {**prod_graph, "policies": evaluate(prod_graph, "prod")}
    assert all(not row["prod"].exceptions for row in report.matrix({"prod": own}).values())
