"""Bad stack settings: `imagegen preview --config-file` exits 2 and names every bad field, never a traceback."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from imagegen_platform.cli import main as imagegen

from tests.unit.program_graph import stack_document, write_stack

ROOT = Path(__file__).resolve().parents[2]
Settings = dict[str, Any]


def _rsa_1024_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()  # fmt: skip


def _set(path: str, value: Any) -> Callable[[Settings], None]:
    def mutate(settings: Settings) -> None:
        *parents, last = path.split(".")
        node: Any = settings
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _drop_accepted_at(settings: Settings) -> None:
    del settings["models"][0]["licence"]["accepted_at"]


# (mutation of stacks/Pulumi.prod.yaml, words the message must contain)
BAD: dict[str, tuple[Callable[[Settings], None], tuple[str, ...]]] = {
    "unknown model": (_set("models.0.model", "dall-e-3"), ("models.0.model", "unknown model 'dall-e-3'")),
    "budget 0": (_set("budget.monthly_usd", 0), ("budget.monthly_usd", "greater than 0")),
    "bad e-mail": (_set("budget.emails", ["finops-at-example"]), ("budget.emails.0", "not an e-mail")),
    "licence without accepted_at": (_drop_accepted_at, ("models.0.licence.accepted_at", "Field required")),
    "RSA-1024 key": (_set("delivery.public_key_pem", _rsa_1024_pem()), ("delivery.public_key_pem", "RSA-2048")),
    "region without the model": (
        _set("models.1.region", "us-east-1"),
        ("models[1].region", "not offered in us-east-1"),
    ),
    "quota request without code": (_set("models.1.quota_request_rpm", 50), ("models.1", "quota_code")),
    "pace start 0": (_set("models.0.pace_start_rpm", 0), ("models.0.pace_start_rpm", "greater than 0")),
    "customer env without customer": (_set("environment", "customer"), ("customer", "needs the customer block")),
    "jwt without issuer": (_set("api", {"auth": "jwt", "jwt_audience": ["x"]}), ("api", "jwt_issuer")),
    "bad log retention": (
        _set("storage.log_retention_days", 45),
        ("storage.log_retention_days", "CloudWatch accepts only"),
    ),
    "boundary not a policy ARN": (
        _set("iam.permissions_boundary_arn", "arn:aws:iam::123456789012:role/not-a-policy"),
        ("iam.permissions_boundary_arn", "not an IAM managed policy ARN"),
    ),
    "bad aspect ratio": (
        _set("channel_formats", {"square": "1x1"}),
        ("channel_formats.square", "not an aspect ratio"),
    ),
    "worker timeout over Lambda's": (_set("worker.timeout_seconds", 5000), ("worker.timeout_seconds", "900")),
    "unknown setting": (_set("budget.monthly_limit", 10), ("budget.monthly_limit", "Extra inputs are not permitted")),
    "bad confidence": (_set("moderation.image_min_confidence", 150), ("moderation.image_min_confidence", "100")),
}


def bad_stack_file(directory: Path, *mutations: Callable[[Settings], None]) -> Path:
    document = copy.deepcopy(stack_document("prod"))
    for mutate in mutations:
        mutate(document["config"]["imagegen:settings"])
    return write_stack(directory, document, "Pulumi.bad.yaml")


@pytest.mark.parametrize("case", sorted(BAD))
def test_one_bad_setting_exits_2_naming_the_field(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the prod stack file with one mistake
    mutate, expected = BAD[case]
    path = bad_stack_file(tmp_path, mutate)
    # WHEN it is previewed
    code = imagegen(["preview", "--stack", "prod", "--config-file", str(path), "--json"])
    # THEN exit 2, nothing on stdout, and the message names the field and the rule
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("imagegen preview: ")
    for words in expected:
        assert words in err, err
    assert "Traceback" not in err


def test_several_problems_are_all_named_by_the_real_process(tmp_path: Path) -> None:
    cases = ("unknown model", "budget 0", "bad e-mail", "bad log retention", "bad aspect ratio", "RSA-1024 key")
    path = bad_stack_file(tmp_path, *(BAD[case][0] for case in cases))
    result = subprocess.run(
        [str(Path(sys.executable).with_name("imagegen")), "preview", "--stack", "prod", "--config-file", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "6 problem(s)" in result.stderr
    for case in cases:
        assert BAD[case][1][0] in result.stderr, case
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("config: [unclosed", "not valid YAML"),
        ("just: text\n", "top-level 'config:' mapping"),
        ("config:\n  aws:region: us-west-2\n", "imagegen:settings is missing"),
    ],
)
def test_broken_stack_files_exit_2(
    content: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(content)
    assert imagegen(["preview", "--stack", "broken", "--config-file", str(path)]) == 2
    assert expected in capsys.readouterr().err


def test_the_program_itself_refuses_bad_settings_before_declaring_anything(tmp_path: Path) -> None:
    # The same validation runs inside the Pulumi program (what `pulumi up` executes).
    from imagegen_platform.preview import run_program
    from imagegen_service.errors import SettingsInvalid

    document = stack_document("prod")
    document["config"]["imagegen:settings"]["budget"]["monthly_usd"] = 0
    with pytest.raises(SettingsInvalid, match=r"budget\.monthly_usd"):
        run_program("prod", document["config"], "us-west-2", "123456789012")
