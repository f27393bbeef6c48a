"""The compliance report: policies × stacks, with rationale, remediation and the evidence per result.

Input is what ``imagegen preview --json`` produces per stack (the graph with its ``policies``
verdict); output is Markdown or one self-contained HTML page (inline CSS, no scripts, no fetches).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from imagegen_policies import registry
from imagegen_policies.pack import PACK_NAME

PASS, VIOLATION, ADVISORY, NOT_APPLICABLE, DISABLED = "pass", "violation", "advisory", "not applicable", "disabled"
STATUSES = (PASS, VIOLATION, ADVISORY, NOT_APPLICABLE, DISABLED)
SYMBOL = {
    PASS: "✔ pass",
    VIOLATION: "✘ violation",
    ADVISORY: "⚠ advisory",
    NOT_APPLICABLE: "– n/a",
    DISABLED: "○ disabled",
}


@dataclass
class Cell:
    status: str
    level: str
    findings: list[Mapping[str, Any]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    reason: str = ""
    exceptions: list[str] = field(default_factory=list)
    """Config properties of this stack that differ from the policy's defaults: what a pass relies on."""


def cell(rule: registry.Rule, preview: Mapping[str, Any]) -> Cell:
    """One policy's result in one stack, from that stack's preview (graph + ``policies`` verdict)."""
    verdict = preview["policies"]
    level = verdict.get("levels", {}).get(rule.name, rule.default_enforcement)
    resources = [r for r in preview.get("resources", []) if r["type"] in rule.resource_types]
    evidence = [f"{r['name']} ({r['type'].rsplit(':', 1)[-1]})" for r in resources]
    findings = [v for v in verdict.get("violations", []) if v["policy"] == rule.name]
    not_applicable = [n for n in verdict.get("not_applicable", []) if n["policy"] == rule.name]
    given = verdict.get("properties", {}).get(rule.name, {})
    exceptions = [
        f"{key}={json.dumps(value)}"
        for key, value in sorted(given.items())
        if value != rule.config_schema.get(key, {}).get("default")
    ]
    result = _result(rule, level, resources, findings, not_applicable)
    result.evidence = evidence
    result.exceptions = exceptions
    return result


def _result(
    rule: registry.Rule, level: str, resources: list[Any], findings: list[Any], not_applicable: list[Any]
) -> Cell:
    if level == "disabled":
        return Cell(DISABLED, level, reason="disabled by the stack's policy config")
    if any(f["enforcement"] == "mandatory" for f in findings):
        return Cell(VIOLATION, level, findings)
    if findings:
        return Cell(ADVISORY, level, findings)
    if not resources:
        kinds = ", ".join(t.rsplit(":", 1)[-1] for t in rule.resource_types)
        return Cell(NOT_APPLICABLE, level, reason=f"no {kinds} in the stack")
    if not_applicable and (rule.kind == "stack" or len(not_applicable) >= len(resources)):
        return Cell(NOT_APPLICABLE, level, reason=not_applicable[0]["reason"])
    return Cell(PASS, level)


def matrix(previews: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Cell]]:
    """``{policy: {stack: Cell}}`` in registry order."""
    return {rule.name: {stack: cell(rule, preview) for stack, preview in previews.items()} for rule in registry.RULES}


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --------------------------------------------------------------------------- Markdown


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(previews: Mapping[str, Mapping[str, Any]]) -> str:
    stacks = list(previews)
    cells = matrix(previews)
    lines = [
        f"# Policy report: {PACK_NAME}",
        "",
        f"Stacks: {', '.join(stacks)}. Generated {_stamp()} from the offline preview (Pulumi mocks) evaluated by the pack's own gRPC server.",
        "",
        "## Summary",
        "",
        "| stack | mandatory violations | advisory findings |",
        "|---|---|---|",
    ]
    for stack, preview in previews.items():
        violations = preview["policies"].get("violations", [])
        advisory = sum(1 for v in violations if v["enforcement"] != "mandatory")
        lines.append(f"| {stack} | {preview['policies'].get('mandatory_violations', 0)} | {advisory} |")
    lines += ["", "## Matrix", "", "| policy | " + " | ".join(stacks) + " |", "|---|" + "---|" * len(stacks)]
    for rule in registry.RULES:
        row = [f"{SYMBOL[cells[rule.name][s].status]} ({cells[rule.name][s].level})" for s in stacks]
        lines.append(f"| [{rule.name}](#{rule.name}) | " + " | ".join(row) + " |")
    for category in registry.CATEGORIES:
        lines += ["", f"## {category.capitalize()}"]
        for rule in (r for r in registry.RULES if r.category == category):
            lines += [
                "",
                f"### {rule.name}",
                "",
                f"**{rule.title}** ({rule.kind} policy, severity {rule.severity}). {rule.description}",
                "",
                f"- Why: {rule.rationale}",
                f"- Remediation: {rule.remediation}",
                f"- Reads: {'; '.join(rule.properties)}",
                "",
                "| stack | level | result | evidence |",
                "|---|---|---|---|",
            ]
            for stack in stacks:
                c = cells[rule.name][stack]
                lines.append(f"| {stack} | {c.level} | {SYMBOL[c.status]} | {_md(_evidence_text(c))} |")
    return "\n".join(lines) + "\n"


def _evidence_text(c: Cell) -> str:
    if c.findings:
        text = "; ".join(f"{f['message']} [{f['urn'] or 'stack'}]" for f in c.findings)
    elif c.reason:
        text = c.reason
    else:
        text = "checked: " + ", ".join(c.evidence)
    if c.exceptions:
        text += f" (stack config: {', '.join(c.exceptions)})"
    return text


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24;max-width:1200px}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de}h3{margin-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.pass{background:#dafbe1}.violation{background:#ffd8d3;font-weight:600}.advisory{background:#fff4c5}
.not-applicable{background:#f6f8fa;color:#57606a}.disabled{background:#eaeef2;color:#57606a}
.exception{color:#9a6700}code{font-family:ui-monospace,Menlo,monospace;font-size:.9em}.muted{color:#57606a}ul{margin:.2rem 0}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _css_class(status: str) -> str:
    return status.replace(" ", "-")


def render_html(previews: Mapping[str, Mapping[str, Any]]) -> str:
    stacks = list(previews)
    cells = matrix(previews)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Policy report: {_e(PACK_NAME)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Policy report: {_e(PACK_NAME)}</h1>",
        f'<p class="muted">Stacks: {_e(", ".join(stacks))}. Generated {_e(_stamp())} from the offline preview '
        "(Pulumi mocks) evaluated by the pack's own gRPC server.</p>",
        '<h2 id="summary">Summary</h2><table id="summary-table"><thead><tr><th>stack</th><th>mandatory violations</th><th>advisory findings</th></tr></thead><tbody>',
    ]
    for stack, preview in previews.items():
        violations = preview["policies"].get("violations", [])
        advisory = sum(1 for v in violations if v["enforcement"] != "mandatory")
        mandatory = preview["policies"].get("mandatory_violations", 0)
        out.append(
            f'<tr data-stack="{_e(stack)}"><td>{_e(stack)}</td><td class="{VIOLATION if mandatory else PASS}">{mandatory}</td><td>{advisory}</td></tr>'
        )
    out.append("</tbody></table>")
    out.append('<h2 id="matrix">Matrix</h2><table id="matrix-table"><thead><tr><th>policy</th>')
    out.extend(f"<th>{_e(s)}</th>" for s in stacks)
    out.append("</tr></thead><tbody>")
    for rule in registry.RULES:
        out.append(f'<tr><th scope="row"><a href="#{_e(rule.name)}">{_e(rule.name)}</a></th>')
        for stack in stacks:
            c = cells[rule.name][stack]
            out.append(
                f'<td class="cell {_css_class(c.status)}" data-policy="{_e(rule.name)}" data-stack="{_e(stack)}" '
                f'data-status="{_e(c.status)}" data-level="{_e(c.level)}">{_e(SYMBOL[c.status])}<br>'
                f'<span class="muted">{_e(c.level)}</span></td>'
            )
        out.append("</tr>")
    out.append("</tbody></table>")
    for category in registry.CATEGORIES:
        out.append(f"<h2>{_e(category.capitalize())}</h2>")
        for rule in (r for r in registry.RULES if r.category == category):
            out += _policy_section(rule, stacks, cells[rule.name])
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _policy_section(rule: registry.Rule, stacks: Sequence[str], row: Mapping[str, Cell]) -> list[str]:
    out = [
        f'<section class="policy" id="{_e(rule.name)}" data-policy="{_e(rule.name)}">',
        f"<h3><code>{_e(rule.name)}</code>: {_e(rule.title)}</h3>",
        f'<p>{_e(rule.description)} <span class="muted">({_e(rule.kind)} policy, severity {_e(rule.severity)})</span></p>',
        f'<p class="rationale"><strong>Why:</strong> {_e(rule.rationale)}</p>',
        f'<p class="remediation"><strong>Remediation:</strong> {_e(rule.remediation)}</p>',
        f"<p><strong>Reads:</strong> {_e('; '.join(rule.properties))}</p>",
        "<table><thead><tr><th>stack</th><th>level</th><th>result</th><th>evidence</th></tr></thead><tbody>",
    ]
    for stack in stacks:
        c = row[stack]
        if c.findings:
            evidence = (
                "<ul>"
                + "".join(
                    f'<li class="finding" data-urn="{_e(f["urn"] or "")}">{_e(f["message"])}<br><code>{_e(f["urn"] or "stack")}</code></li>'
                    for f in c.findings
                )
                + "</ul>"
            )
        elif c.reason:
            evidence = _e(c.reason)
        else:
            evidence = "checked: " + _e(", ".join(c.evidence))
        if c.exceptions:
            evidence += f'<br><span class="exception">stack config: {_e(", ".join(c.exceptions))}</span>'
        out.append(
            f'<tr data-stack="{_e(stack)}"><td>{_e(stack)}</td><td>{_e(c.level)}</td>'
            f'<td class="{_css_class(c.status)}">{_e(SYMBOL[c.status])}</td><td>{evidence}</td></tr>'
        )
    out.append("</tbody></table></section>")
    return out
