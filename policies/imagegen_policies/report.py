"""The compliance report: policies × stacks, with rationale, remediation and the evidence per result.

Input is what ``imagegen preview --json`` produces per stack (the graph with its ``policies``
verdict); output is Markdown or one self-contained HTML page (inline CSS, no scripts, no fetches).
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
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
    # What the rule actually read (recorded by the pack, imagegen_policies.reads), shown as name#path.
    evidence = [short_read(read) for read in verdict.get("reads", {}).get(rule.name, [])]
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


def short_read(read: str) -> str:
    """``urn#path`` → ``name#path`` (the URN's last segment is the resource's name)."""
    urn, _, path = read.partition("#")
    return f"{urn.rsplit('::', 1)[-1]}#{path}"


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


def render_markdown(previews: Mapping[str, Mapping[str, Any]], document: Mapping[str, Any] | None = None) -> str:
    stacks = list(previews)
    cells = matrix(previews)
    lines = [f"# Policy report: {PACK_NAME}", ""]
    if document is not None:
        lines += [f"- **{_md(verdict_line(entry))}**" for entry in document["stacks"]]
        lines += ["", *_md_origin(document)]
    lines += [
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
    if document is not None:
        for entry in document["stacks"]:
            lines += _md_stack(entry)
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
        text = "read: " + (", ".join(c.evidence) or "nothing")
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


def _inline(text: Any) -> str:
    """Escaped text with the registry's Markdown code spans (`x`) as <code> elements, no literal backticks."""
    parts = html.escape(str(text), quote=True).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: keep the text, drop the stray mark
        return "".join(parts)
    return "".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts))


def _css_class(status: str) -> str:
    return status.replace(" ", "-")


def render_html(previews: Mapping[str, Mapping[str, Any]], document: Mapping[str, Any] | None = None) -> str:
    stacks = list(previews)
    cells = matrix(previews)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Policy report: {_e(PACK_NAME)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Policy report: {_e(PACK_NAME)}</h1>",
    ]
    if document is not None:
        out.append('<ul id="verdicts">')
        out += [
            f'<li class="verdict {"pass" if e["verdict"] == "ship" else "violation"}" data-stack="{_e(e["name"])}" '
            f'data-verdict="{_e(e["verdict"])}">{_e(verdict_line(e))}</li>'
            for e in document["stacks"]
        ]
        out.append("</ul>")
        out += _html_origin(document)
    out += [
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
    if document is not None:
        for entry in document["stacks"]:
            out += _html_stack(entry)
    for category in registry.CATEGORIES:
        out.append(f"<h2>{_e(category.capitalize())}</h2>")
        for rule in (r for r in registry.RULES if r.category == category):
            out += _policy_section(rule, stacks, cells[rule.name])
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _policy_section(rule: registry.Rule, stacks: Sequence[str], row: Mapping[str, Cell]) -> list[str]:
    out = [
        f'<section class="policy" id="{_e(rule.name)}" data-policy="{_e(rule.name)}">',
        f"<h3><code>{_e(rule.name)}</code>: {_inline(rule.title)}</h3>",
        f'<p>{_inline(rule.description)} <span class="muted">({_e(rule.kind)} policy, severity {_e(rule.severity)})</span></p>',
        f'<p class="rationale"><strong>Why:</strong> {_inline(rule.rationale)}</p>',
        f'<p class="remediation"><strong>Remediation:</strong> {_inline(rule.remediation)}</p>',
        f"<p><strong>Reads:</strong> {_inline('; '.join(rule.properties))}</p>",
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
            evidence = "read: " + (_e(", ".join(c.evidence)) or "nothing")
        if c.exceptions:
            evidence += f'<br><span class="exception">stack config: {_e(", ".join(c.exceptions))}</span>'
        out.append(
            f'<tr data-stack="{_e(stack)}"><td>{_e(stack)}</td><td>{_e(c.level)}</td>'
            f'<td class="{_css_class(c.status)}">{_e(SYMBOL[c.status])}</td><td>{evidence}</td></tr>'
        )
    out.append("</tbody></table></section>")
    return out


# --------------------------------------------------------------------------- JSON (CONTRACT.md §2)

RESULT = {PASS: "pass", VIOLATION: "fail", ADVISORY: "fail", NOT_APPLICABLE: "n/a", DISABLED: "n/a"}
"""The contract's three results: an advisory finding is a failed policy that does not block."""


def _variables(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    environment = (resource.get("inputs") or {}).get("environment") or {}
    variables = environment.get("variables") if isinstance(environment, Mapping) else None
    return variables if isinstance(variables, Mapping) else {}


def _functions(preview: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in preview.get("resources", []) if r["type"] == registry.FUNCTION]


def licences(preview: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The licence records the stack deploys (its licence table's items), field by field."""
    from imagegen_policies import facts

    out = []
    for resource in preview.get("resources", []):
        if resource["type"] != registry.TABLE_ITEM:
            continue
        inputs = resource.get("inputs") or {}
        if not str(inputs.get("tableName", "")).endswith(facts.LICENCE_TABLE_SUFFIX):
            continue
        raw = facts.parse_json(inputs.get("item"))
        item = {k: facts.dynamodb_value(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        out.append(
            {
                "model": item.get("model_id"),
                "provider": item.get("provider"),
                "terms_version": item.get("terms_version"),
                "terms_url": item.get("terms_url"),
                "accepted_by": item.get("accepted_by"),
                "accepted_at": item.get("accepted_at"),
                "eula_accepted": item.get("eula_accepted"),
                "commercial_use": item.get("commercial_use"),
                "record_id": item.get("record_id"),
                "resource": resource["urn"],
            }
        )
    return sorted(out, key=lambda entry: str(entry["model"]))


def moderation(preview: Mapping[str, Any]) -> dict[str, Any]:
    """Guardrail contents as deployed and, per function, which moderation control it runs with what."""
    from imagegen_service import config as env

    guardrails = []
    for resource in preview.get("resources", []):
        if resource["type"] != registry.GUARDRAIL:
            continue
        inputs = resource.get("inputs") or {}
        content = inputs.get("contentPolicyConfig") or {}
        topics = (inputs.get("topicPolicyConfig") or {}).get("topicsConfigs") or []
        words = inputs.get("wordPolicyConfig") or {}
        guardrails.append(
            {
                "resource": resource["urn"],
                "filters": [
                    {
                        "type": f.get("type"),
                        "input_strength": f.get("inputStrength"),
                        "output_strength": f.get("outputStrength"),
                        **({"input_modalities": f["inputModalities"]} if f.get("inputModalities") else {}),
                    }
                    for f in content.get("filtersConfigs") or []
                ],
                "denied_topics": [t.get("name") for t in topics],
                "blocked_words": len(words.get("wordsConfigs") or []),
                "managed_word_lists": [w.get("type") for w in words.get("managedWordListsConfigs") or []],
            }
        )
    controls = []
    for function in _functions(preview):
        variables = _variables(function)
        if not any(k in variables for k in (env.ENV_MODERATION_ENABLED, env.ENV_GUARDRAIL_ID, env.ENV_MIN_CONFIDENCE)):
            continue
        controls.append(
            {
                "function": function["urn"],
                "handler": (function.get("inputs") or {}).get("handler"),
                "enabled": variables.get(env.ENV_MODERATION_ENABLED),
                "guardrail_id": variables.get(env.ENV_GUARDRAIL_ID),
                "guardrail_version": variables.get(env.ENV_GUARDRAIL_VERSION),
                "image_min_confidence": variables.get(env.ENV_MIN_CONFIDENCE),
            }
        )
    thresholds = sorted({str(c["image_min_confidence"]) for c in controls if c["image_min_confidence"] is not None})
    return {"guardrails": guardrails, "image_min_confidence": thresholds, "controls": controls}


def provenance(preview: Mapping[str, Any]) -> dict[str, Any]:
    """C2PA on/off and the signer, as the functions that sign are configured."""
    from imagegen_service import config as env

    signing = [f for f in _functions(preview) if env.ENV_C2PA_ENABLED in _variables(f)]
    enabled = bool(signing) and all(str(_variables(f)[env.ENV_C2PA_ENABLED]).lower() == env.TRUE for f in signing)
    signers = sorted(
        {
            str(_variables(f).get(env.ENV_C2PA_SECRET_ARN) or _variables(f).get(env.ENV_C2PA_CERT_FILE) or "")
            for f in signing
        }
        - {""}
    )
    return {
        "c2pa": enabled,
        "signer": ", ".join(signers) if signers else ("local development certificate" if enabled else None),
        "functions": [f["urn"] for f in signing],
    }


def stack_entry(
    name: str,
    preview: Mapping[str, Any],
    *,
    settings_sha256: str,
    policy_config_sha256: str | None,
    scan: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One stack of the JSON report: verdict, counts, licences, moderation, provenance, waivers, policies."""
    verdict = preview["policies"]
    violations = verdict.get("violations", [])
    mandatory = sum(1 for v in violations if v["enforcement"] == "mandatory")
    advisory = len(violations) - mandatory
    unwaived = list((scan or {}).get("unwaived", []))
    policy_reads = verdict.get("reads", {})
    policies = []
    for rule in registry.RULES:
        c = cell(rule, preview)
        policies.append(
            {
                "name": rule.name,
                "level": c.level if c.level in ("mandatory", "advisory", "disabled") else "mandatory",
                "result": RESULT[c.status],
                "read": [] if c.status == DISABLED else list(policy_reads.get(rule.name, [])),
                "findings": [{"urn": f["urn"], "message": f["message"]} for f in c.findings],
                **({"reason": c.reason} if c.reason else {}),
            }
        )
    return {
        "name": name,
        "settings_sha256": settings_sha256,
        "policy_config_sha256": policy_config_sha256,
        "verdict": "blocked" if mandatory or unwaived else "ship",
        "mandatory_violations": mandatory,
        "advisory_violations": advisory,
        "licences": licences(preview),
        "moderation": moderation(preview),
        "provenance": provenance(preview),
        "waivers": list((scan or {}).get("waived", [])),
        "scanner": dict(scan) if scan is not None else None,
        "policies": policies,
    }


def verdict_line(entry: Mapping[str, Any]) -> str:
    scan = entry.get("scanner") or {}
    unwaived = len(scan.get("unwaived", []))
    text = (
        f"{entry['name']}: {entry['verdict'].upper()}: {entry['mandatory_violations']} mandatory violation(s), "
        f"{entry['advisory_violations']} advisory"
    )
    if scan:
        text += f"; scanner {len(scan.get('failed', []))} finding(s), {len(scan.get('waived', []))} waived, {unwaived} unwaived"
    return text


# --------------------------------------------------------------------------- origin

PACK_FILES = ("PulumiPolicy.yaml", "__main__.py", "requirements.txt")


def pack_files(pack_dir: Path | None = None) -> list[Path]:
    """The files that make the pack: its project file, entry point, requirements and package sources.
    Not ``config/`` (each stack's policy config has its own digest) nor byte-code caches."""
    pack_dir = pack_dir or Path(__file__).resolve().parents[1]
    files = [pack_dir / name for name in PACK_FILES if (pack_dir / name).is_file()]
    files += sorted(p for p in (pack_dir / "imagegen_policies").rglob("*.py") if "__pycache__" not in p.parts)
    return files


def pack_identity(pack_dir: Path | None = None) -> dict[str, str]:
    """``{"name", "version", "sha256"}``; the digest is sha256 over ``"<relative path>\\0<sha256 of file>\\n"``
    lines in path order, so ``sha256sum`` of each file reproduces it (docs/policies.md)."""
    import yaml

    pack_dir = pack_dir or Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in pack_files(pack_dir):
        relative = path.relative_to(pack_dir).as_posix()
        digest.update(f"{relative}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    project = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text()) or {}
    return {"name": PACK_NAME, "version": str(project.get("version", "unknown")), "sha256": digest.hexdigest()}


def tool_versions() -> dict[str, str]:
    """Versions of the Python distributions that ran the preview and the pack (no Pulumi CLI runs)."""
    from importlib import metadata

    out = {}
    for key, distribution in (("pulumi", "pulumi"), ("pulumi_aws", "pulumi-aws"), ("pulumi_policy", "pulumi-policy")):
        try:
            out[key] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            out[key] = "not installed"
    return out


# --------------------------------------------------------------------------- the facts beside the matrix


def _origin_rows(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    pack, tools = document["pack"], document["tools"]
    return [
        ("generated", str(document["generated_at"])),
        ("commit", f"{document['commit']}{' (working tree dirty)' if document['dirty'] else ''}"),
        ("pack", f"{pack['name']} {pack['version']}, sha256 {pack['sha256']}"),
        ("tools", ", ".join(f"{k} {v}" for k, v in tools.items())),
        ("catalogue date", str(document["catalogue_date"])),
        ("lifecycle date", str(document["lifecycle_date"])),
    ]


def _stack_rows(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    moderation_facts = entry["moderation"]
    rows = [
        ("settings sha256", str(entry["settings_sha256"])),
        ("policy config sha256", str(entry["policy_config_sha256"])),
    ]
    for licence in entry["licences"]:
        rows.append(
            (
                f"licence {licence['model']}",
                f"{licence['provider']} terms {licence['terms_version']} ({licence['terms_url']}); accepted by "
                f"{licence['accepted_by']} at {licence['accepted_at']}; EULA accepted {licence['eula_accepted']}; "
                f"commercial use {licence['commercial_use']}",
            )
        )
    for guardrail in moderation_facts["guardrails"]:
        filters = ", ".join(
            f"{f['type']} in {f['input_strength']}/out {f['output_strength']}" for f in guardrail["filters"]
        )
        rows.append(
            (
                "guardrail",
                f"filters: {filters or 'none'}; denied topics: {', '.join(map(str, guardrail['denied_topics'])) or 'none'}; "
                f"blocked words: {guardrail['blocked_words']}; managed word lists: "
                f"{', '.join(map(str, guardrail['managed_word_lists'])) or 'none'}",
            )
        )
    for control in moderation_facts["controls"]:
        rows.append(
            (
                f"moderation in {control['function'].rsplit('::', 1)[-1]}",
                f"enabled {control['enabled']}, guardrail {control['guardrail_id']} v{control['guardrail_version']}, "
                f"image min confidence {control['image_min_confidence']}",
            )
        )
    provenance_facts = entry["provenance"]
    rows.append(
        ("provenance", f"C2PA {'on' if provenance_facts['c2pa'] else 'off'}, signer {provenance_facts['signer']}")
    )
    scan = entry.get("scanner")
    if scan is None:
        rows.append(("scanner", "not run (--no-scanner)"))
    else:
        rows.append(
            (
                "scanner",
                f"{scan['tool']}: {scan['passed']} passed, {len(scan['failed'])} failed "
                f"({len(scan['waived'])} waived, {len(scan['unwaived'])} unwaived); fixed earlier: {len(scan['fixed'])}",
            )
        )
        for finding in scan["unwaived"]:
            rows.append((f"UNWAIVED {finding['rule']}", f"{finding['resource']}: {finding['title']}"))
        for waiver in scan["waived"]:
            rows.append((f"waived {waiver['rule']}", f"{waiver['resource']}: {waiver['reason']}"))
        for fixed in scan["fixed"]:
            rows.append((f"fixed {fixed['rule']}", f"{fixed['resource']}: {fixed['fix']} ({fixed['result']} now)"))
    return rows


def _md_origin(document: Mapping[str, Any]) -> list[str]:
    return ["| origin | |", "|---|---|", *(f"| {k} | {_md(v)} |" for k, v in _origin_rows(document)), ""]


def _md_stack(entry: Mapping[str, Any]) -> list[str]:
    return [
        "",
        f"## Stack {entry['name']}: {entry['verdict']}",
        "",
        "| fact | value |",
        "|---|---|",
        *(f"| {_md(k)} | {_md(v)} |" for k, v in _stack_rows(entry)),
    ]


def _html_origin(document: Mapping[str, Any]) -> list[str]:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _origin_rows(document))
    return [f'<table id="origin"><tbody>{rows}</tbody></table>']


def _html_stack(entry: Mapping[str, Any]) -> list[str]:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_inline(v)}</td></tr>" for k, v in _stack_rows(entry))
    return [
        f'<h2 id="stack-{_e(entry["name"])}">Stack {_e(entry["name"])}: {_e(entry["verdict"])}</h2>',
        f'<table class="stack-facts" data-stack="{_e(entry["name"])}"><tbody>{rows}</tbody></table>',
    ]
