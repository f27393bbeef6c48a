"""`imagegen policy report --format json`: the contract's keys, digests a reviewer can recompute, a signature."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imagegen_platform.cli import main
from imagegen_platform.settings import repo_root, stack_file
from imagegen_policies import registry

TOP_KEYS = {"generated_at", "commit", "dirty", "pack", "tools", "catalogue_date", "lifecycle_date", "stacks"}
STACK_KEYS = {
    "name",
    "settings_sha256",
    "policy_config_sha256",
    "verdict",
    "mandatory_violations",
    "advisory_violations",
    "licences",
    "moderation",
    "provenance",
    "waivers",
    "policies",
}
LICENCE_KEYS = {
    "model",
    "provider",
    "terms_version",
    "terms_url",
    "accepted_by",
    "accepted_at",
    "eula_accepted",
    "commercial_use",
}


@pytest.fixture
def key_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "keys"
    monkeypatch.setenv("IMAGEGEN_REPORT_KEY_DIR", str(folder))
    yield folder


@pytest.fixture
def prod_report(tmp_path: Path, key_dir: Path) -> tuple[Path, Path, dict[str, Any]]:
    out = tmp_path / "report.json"
    assert main(["policy", "report", "--stack", "prod", "--format", "json", "--output", str(out), "--no-scanner"]) == 0
    return out, out.with_name("report.json.sig"), json.loads(out.read_text())


def test_json_report_carries_every_contract_key_with_values_a_reviewer_can_recompute(
    prod_report: tuple[Path, Path, dict[str, Any]],
) -> None:
    _, _, document = prod_report
    assert set(document) >= TOP_KEYS
    assert set(document["pack"]) == {"name", "version", "sha256"}
    assert {"pulumi", "pulumi_aws", "pulumi_policy", "scanner"} <= set(document["tools"])
    # commit and digests from independent tools: git and hashlib over the files themselves
    head = subprocess.run(
        ["git", "-C", str(repo_root()), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    assert document["commit"] == head.stdout.strip()
    (stack,) = document["stacks"]
    assert set(stack) >= STACK_KEYS
    assert stack["settings_sha256"] == hashlib.sha256(stack_file("prod").read_bytes()).hexdigest()
    config = repo_root() / "policies" / "config" / "prod.json"
    assert stack["policy_config_sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert stack["verdict"] == "ship" and stack["mandatory_violations"] == 0
    # licence records field by field, moderation parameters, provenance
    assert stack["licences"] and all(set(licence) >= LICENCE_KEYS for licence in stack["licences"])
    assert all(licence["accepted_by"] and licence["terms_url"].startswith("https://") for licence in stack["licences"])
    (guardrail,) = stack["moderation"]["guardrails"]
    assert guardrail["filters"] and all(f["input_strength"] for f in guardrail["filters"])
    # where each control runs: the api screens prompts, the worker screens images (both carry the settings)
    handlers = {c["handler"] for c in stack["moderation"]["controls"]}
    assert handlers == {"imagegen_service.handlers.api.handler", "imagegen_service.handlers.worker.handler"}
    assert all(c["enabled"] == "true" for c in stack["moderation"]["controls"])
    assert stack["provenance"]["c2pa"] is True
    # one entry per policy, with what it read
    assert [p["name"] for p in stack["policies"]] == [r.name for r in registry.RULES]
    for policy in stack["policies"]:
        assert policy["level"] in ("mandatory", "advisory", "disabled")
        assert policy["result"] in ("pass", "fail", "n/a")
        assert all("#" in read and read.startswith("urn:pulumi:") for read in policy["read"])
    passed = [p for p in stack["policies"] if p["result"] == "pass"]
    assert passed and all(p["read"] for p in passed)


def test_pack_digest_is_reproducible_from_the_pack_files(prod_report: tuple[Path, Path, dict[str, Any]]) -> None:
    _, _, document = prod_report
    pack_dir = repo_root() / "policies"
    files = [pack_dir / n for n in ("PulumiPolicy.yaml", "__main__.py", "requirements.txt") if (pack_dir / n).exists()]
    files += sorted(p for p in (pack_dir / "imagegen_policies").rglob("*.py") if "__pycache__" not in p.parts)
    lines = "".join(
        f"{p.relative_to(pack_dir).as_posix()}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n" for p in files
    )
    assert document["pack"]["sha256"] == hashlib.sha256(lines.encode()).hexdigest()


def test_signature_verifies_and_one_changed_byte_fails(
    prod_report: tuple[Path, Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path, signature_path, _ = prod_report
    assert main(["policy", "verify", str(report_path), str(signature_path)]) == 0
    # one byte of the report changed
    data = bytearray(report_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(bytes(data))
    assert main(["policy", "verify", str(tampered), str(signature_path)]) == 1
    assert "does not match" in capsys.readouterr().err
    # one byte of the signature changed
    signature = json.loads(signature_path.read_text())
    raw = bytearray(__import__("base64").b64decode(signature["signature"]))
    raw[0] ^= 0x01
    signature["signature"] = __import__("base64").b64encode(bytes(raw)).decode()
    bad_signature = tmp_path / "bad.sig"
    bad_signature.write_text(json.dumps(signature))
    assert main(["policy", "verify", str(report_path), str(bad_signature)]) == 1


def test_signature_from_another_key_fails(
    prod_report: tuple[Path, Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path, signature_path, _ = prod_report
    other = tmp_path / "other"
    assert main(["policy", "keygen", "--key-dir", str(other)]) == 0
    assert (
        main(["policy", "verify", str(report_path), str(signature_path), "--public-key", str(other / "report.pub")])
        == 1
    )
    assert "different key" in capsys.readouterr().err


def test_signature_is_checked_with_an_independent_ed25519_implementation(
    prod_report: tuple[Path, Path, dict[str, Any]], key_dir: Path
) -> None:
    # openssl (not the cryptography package) checks the raw signature over the report bytes
    report_path, signature_path, _ = prod_report
    raw = __import__("base64").b64decode(json.loads(signature_path.read_text())["signature"])
    raw_path = signature_path.with_suffix(".raw")
    raw_path.write_bytes(raw)
    done = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(key_dir / "report.pub"), "-rawin",
         "-in", str(report_path), "-sigfile", str(raw_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Signature Verified Successfully" in done.stdout


def test_config_file_replaces_the_stack_settings_and_its_digest(
    tmp_path: Path, key_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = tmp_path / "Pulumi.prod.yaml"
    changed.write_text(stack_file("prod").read_text() + "\n# reviewed copy\n")
    assert (
        main(["policy", "report", "--stack", "prod", "--config-file", str(changed), "--format", "json", "--no-scanner"])
        == 0
    )
    (stack,) = json.loads(capsys.readouterr().out)["stacks"]
    assert stack["settings_sha256"] == hashlib.sha256(changed.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stack", "all", "--config-file", "x.yaml"], "--config-file replaces one stack's settings"),
        (["--stack", "prod", "--config-file", "/nonexistent/x.yaml"], "no such file"),
        (["--stack", "nope"], "no stack named nope"),
    ],
)
def test_bad_report_arguments_exit_2_with_the_field(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "report", *argv, "--format", "json", "--no-scanner"]) == 2
    assert message in capsys.readouterr().err


def test_verify_of_a_missing_file_exits_1_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "verify", str(tmp_path / "r.json"), str(tmp_path / "r.sig")]) == 1
    err = capsys.readouterr().err
    assert "cannot read" in err and "Traceback" not in err


def test_markdown_and_html_render_the_same_facts_as_the_json(key_dir: Path) -> None:
    import html as html_module

    from imagegen_platform.cli.policy import build_document
    from imagegen_policies import report

    # GIVEN prod's JSON report with a scanner result beside it (waived and unwaived findings, a fix)
    document, previews = build_document(["prod"], None, scanner=False)
    (entry,) = document["stacks"]
    entry["scanner"] = {
        "tool": "checkov 0",
        "resources": 1,
        "passed": 1,
        "passed_checks": ["CKV_AWS_7"],
        "failed": [{"rule": "CKV_AWS_18", "resource": "urn:a"}, {"rule": "CKV_AWS_27", "resource": "urn:b"}],
        "waived": [{"rule": "CKV_AWS_18", "resource": "urn:a", "reason": "needs a `log` bucket"}],
        "unwaived": [{"rule": "CKV_AWS_27", "resource": "urn:b", "title": "SQS queue encrypted", "address": "x"}],
        "fixed": [{"rule": "CKV_AWS_7", "resource": "urn:c", "fix": "rotation on", "result": "pass"}],
    }
    entry["waivers"] = entry["scanner"]["waived"]
    # WHEN rendered both ways
    markdown = report.render_markdown(previews, document)
    page = html_module.unescape(report.render_html(previews, document).replace("<code>", "").replace("</code>", ""))
    # THEN every origin and stack fact of the JSON is in both, verdict line first
    facts = [*report._origin_rows(document), *report._stack_rows(entry)]
    assert len(facts) > 15
    for label, value in facts:
        assert value.replace("|", "\\|") in markdown, label
        assert value.replace("`", "") in page, label
    assert report.verdict_line(entry) in markdown and report.verdict_line(entry) in page
    assert "UNWAIVED CKV_AWS_27" in markdown and "UNWAIVED CKV_AWS_27" in page


def test_a_broken_config_file_exits_2_naming_the_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "Pulumi.prod.yaml"
    broken.write_text("encryptionsalt: x\n")
    argv = ["policy", "report", "--stack", "prod", "--config-file", str(broken), "--format", "json", "--no-scanner"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "top-level 'config:' mapping" in err and "Traceback" not in err


def test_keygen_refuses_to_replace_a_key_without_force(key_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "keygen"]) == 0
    first = (key_dir / "report.pub").read_bytes()
    assert oct((key_dir / "report.key").stat().st_mode & 0o777) == "0o600"
    assert main(["policy", "keygen"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (key_dir / "report.pub").read_bytes() == first
    assert main(["policy", "keygen", "--force"]) == 0
    assert (key_dir / "report.pub").read_bytes() != first
