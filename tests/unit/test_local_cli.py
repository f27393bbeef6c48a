"""The local and client commands' argument checks: exit 2 with the flag or field named, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from imagegen_platform.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse errors
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


TARGET = ["--local", "http://127.0.0.1:9", "--token", "t"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "--model", "titan-image-v1", "--prompt", "a"], "no target"),
        (["generate", "--local", "http://127.0.0.1:9", "--model", "titan-image-v1", "--prompt", "a"], "--token"),
        (
            ["generate", *TARGET, "--api-url", "https://x", "--model", "titan-image-v1", "--prompt", "a"],
            "give one target",
        ),
        (["generate", *TARGET, "--model", "nope", "--prompt", "a"], "--model: unknown model"),
        (["generate", *TARGET, "--model", "titan-image-v1", "--prompt", "a", "--seed", "-2"], "--seed: must be within"),
        (["generate", *TARGET, "--model", "titan-image-v1", "--prompt", "a", "--tag", "novalue"], "--tag"),
        (["generate", *TARGET, "--model", "titan-image-v1", "--prompt", "a", "--seed", "x"], "invalid int value"),
        (["generate", "--api-url", "ftp://x", "--model", "titan-image-v1", "--prompt", "a"], "--api-url"),
        (["local", "serve", "--rpm", "nope=5"], "--rpm"),
        (["local", "serve", "--rpm", "titan-image-v1=0"], "--rpm"),
        (["local", "serve", "--faults", "throttle=2"], "--faults"),
        (["local", "serve", "--port", "70000"], "--port"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err


def test_bad_batch_file_exits_2_naming_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text(
        '{"model": "titan-image-v1", "prompt": "a"}\n{"model": "titan-image-v1", "prompt": "a", "count": 9}\n'
    )
    code, _, err = run(["batch", *TARGET, str(path)], capsys)
    assert code == 2 and "jobs.jsonl:2: count" in err


def test_unreachable_api_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["generate", *TARGET, "--model", "titan-image-v1", "--prompt", "a"], capsys)
    assert code == 1 and "Unreachable" in err


def test_models_works_offline_with_lifecycle_as_of_today(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IMAGEGEN_TODAY", "2026-07-01")
    code, out, _ = run(["models", "--json", "--stack", "local"], capsys)
    assert code == 0
    listing = json.loads(out)
    rows = {row["key"]: row for row in listing["models"]}
    assert listing["as_of"] == "2026-07-01"
    assert rows["titan-image-v2"]["status"] == "end-of-life"  # EOL 2026-06-30
    assert rows["nova-canvas"]["status"] == "legacy"  # legacy from 2026-03-30, EOL 2026-09-30
    assert rows["stable-image-core"]["price_per_image_usd"] == "$0.040"
    assert rows["sd3-5-large"]["enabled"] is True and rows["nova-canvas"]["enabled"] is False
    code, out, _ = run(["models"], capsys)
    assert code == 0 and "amazon.titan-image-generator-v1" in out


def test_deployed_target_is_signed_with_sigv4_for_execute_api(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from imagegen_local.client import SigV4Auth
    from imagegen_platform.cli.client import _client

    # GIVEN credentials in the standard chain and a deployed API URL (region in the host name)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "IMAGEGEN_TOKEN", "IMAGEGEN_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    args = argparse.Namespace(
        local=None, token=None, api_url="https://abc123.execute-api.eu-west-1.amazonaws.com", profile=None, region=None
    )
    client = _client(args)
    # THEN requests carry a SigV4 Authorization for execute-api in that region
    assert isinstance(client.auth, SigV4Auth) and client.auth.region == "eu-west-1"
    headers = client.auth.headers("POST", f"{args.api_url}/v1/images", b"{}")
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    assert "X-Amz-Date" in headers


# ----------------------------------------------------------------------------- issue 11, finding 6
def test_generate_refuses_an_unwritable_out_before_paying(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    # Port 9 (discard) would answer "Unreachable" if the request were sent: the check must come first.
    code, _, err = run(["generate", *TARGET, "--model", "titan-image-v1", "--prompt", "a", "--out", str(blocker / "x.png")], capsys)  # fmt: skip
    assert code == 2 and "--out" in err and "Unreachable" not in err


def test_jobs_without_an_action_says_which_action(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["jobs", "--local", "http://127.0.0.1:9"], capsys)
    assert code == 2 and "jobs show JOB_ID" in err and "invalid choice" not in err


def test_a_batch_file_reports_every_bad_line(tmp_path: Path) -> None:
    from imagegen_local.request_files import RequestFileError, read_requests

    good = json.dumps({"model": "titan-image-v1", "prompt": "a"})
    lines = [
        good,
        "{not json",
        json.dumps({"model": "titan-image-v1", "prompt": " "}),
        good,
        json.dumps({"model": "x"}),
    ]
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RequestFileError) as raised:
        read_requests(path)
    message = str(raised.value)
    assert all(f"b.jsonl:{n}:" in message for n in (2, 3, 5)), message
    assert "b.jsonl:1:" not in message and "b.jsonl:4:" not in message


def test_batches_are_split_by_the_jobs_they_expand_to() -> None:
    from imagegen_local.request_files import chunks

    swept = {"model": "titan-image-v1", "prompt": "a", "seed_sweep": {"start": 0, "count": 50}}
    assert [len(c) for c in chunks([swept] * 5)] == [2, 2, 1]  # 100 jobs per call at most


def test_an_unfinished_job_says_what_it_waits_for() -> None:
    from imagegen_platform.cli.client import _pending_reason

    retrying = {"job_id": "j1", "status": "queued", "last_error": {"code": "Throttled", "message": "slow down", "receive_count": 2}}  # fmt: skip
    dead = {**retrying, "dead_lettered": True}
    assert "Throttled: slow down (attempt 2)" in _pending_reason(retrying)
    assert "visibility timeout" in _pending_reason(retrying)
    assert "dlq redrive" in _pending_reason(dead)


def test_json_output_into_a_closed_pipe_exits_quietly() -> None:
    import subprocess
    import sys

    script = "import sys; from imagegen_platform.cli import main; sys.exit(main(['models', '--json']))"
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # `| head -1`
    err = process.stderr.read().decode()
    process.wait(60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_job_ids_are_escaped_in_url_paths() -> None:
    from imagegen_local.apigw import parse_route_key
    from imagegen_local.client import ApiError, BearerAuth, ImagegenClient
    from imagegen_local.gateway import LocalGateway

    seen: list[str] = []

    def handler(event: dict, context: object) -> dict:
        seen.append(event["rawPath"])
        return {"statusCode": 404, "body": json.dumps({"error": {"code": "NotFound", "message": "no", "details": []}})}

    gateway = LocalGateway(
        token="t", routes=[parse_route_key("GET /v1/jobs/{job_id}")], api_handler=handler, function_name="f", region="us-east-1"
    )  # fmt: skip
    gateway.start()
    try:
        with pytest.raises(ApiError):
            ImagegenClient(gateway.url, BearerAuth("t")).job("../models?x=1")
    finally:
        gateway.stop()
    assert seen == ["/v1/jobs/..%2Fmodels%3Fx%3D1"]
