"""`imagegen emulator serve` as a user runs it: ready line, a boto3 call, clean shutdown, knob errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from imagegen_platform.cli import main

from tests.emulator.conftest import runtime_client

IMAGEGEN = str(Path(sys.executable).parent / "imagegen")


def test_serve_prints_the_url_answers_boto3_and_stops_on_sigterm() -> None:
    env = {**os.environ, "IMAGEGEN_TODAY": "2026-06-01"}
    process = subprocess.Popen(
        [IMAGEGEN, "emulator", "serve", "--port", "0", "--rpm", "titan-image-v1=100", "--faults", "throttle=0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("imagegen emulator: http://127.0.0.1:")
        url = line.removeprefix("imagegen emulator: ")
        body = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a fox"}}
        response = runtime_client(url).invoke_model(modelId="amazon.titan-image-generator-v1", body=json.dumps(body))
        assert len(json.loads(response["body"].read())["images"]) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    assert code == 0


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--rpm", "titan-image-v1"], "--rpm"),
        (["--rpm", "dall-e=5"], "--rpm"),
        (["--rpm", "titan-image-v1=-3"], "--rpm"),
        (["--faults", "meteor=0.1"], "--faults"),
        (["--faults", "throttle=1.5"], "--faults"),
        (["--latency-ms", "soon"], "--latency-ms"),
    ],
)
def test_bad_knobs_exit_2_naming_the_knob(args: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    # In-process: the same main() the console script runs (no server starts: knobs fail first)
    assert main(["emulator", "serve", *args]) == 2
    assert named in capsys.readouterr().err


def test_bad_environment_knob_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMAGEGEN_EMULATOR_FAULTS", "throttle=abc")
    assert main(["emulator", "serve"]) == 2
    assert "IMAGEGEN_EMULATOR_FAULTS" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ('{"models": {"sd3-5-large": {"agreement": "SIGNED"}}}', "models.sd3-5-large.agreement"),
        ('{"models": {"dall-e": {}}}', "models.dall-e"),
    ],
)
def test_bad_account_file_exits_2_naming_the_field(
    content: str | None, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account = tmp_path / "account.json"
    if content is not None:
        account.write_text(content)
    assert main(["emulator", "serve", "--account", str(account)]) == 2
    err = capsys.readouterr().err
    assert "--account" in err and named in err
