"""End to end: `imagegen local serve` as a subprocess, driven over real HTTP like a user would.

The API, the worker, the signed-URL delivery route and the auth all run as shipped; only the cloud is
embedded (moto server + emulator). The fixture stops the server with SIGTERM and checks that it and
every process it started are gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-token-" + "x" * 8
URL_TTL_S = 4  # short so expiry is testable; the stack's own TTL (3600 s) applies without --url-ttl
READY_TIMEOUT_S = 150  # preview + policy pack + moto + emulator, on a busy 2-core CI runner
CLI = "import sys; from imagegen_platform.cli import main; sys.exit(main())"  # what .venv/bin/imagegen runs
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    children: list[int]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    env = {**os.environ, "IMAGEGEN_LOCAL_TOKEN": TOKEN, "IMAGEGEN_ROOT": str(ROOT)}
    stderr_log = tmp_path_factory.mktemp("serve") / "stderr.log"
    with stderr_log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", CLI, "local", "serve", "--url-ttl", str(URL_TTL_S)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + READY_TIMEOUT_S
            line = ""
            while time.monotonic() < deadline and process.poll() is None:
                line = process.stdout.readline()
                if line:
                    break
            assert line.startswith("imagegen local: http://127.0.0.1:"), (line, stderr_log.read_text()[-3000:])
            url, token = line.split()[2], line.split()[3]
            assert token == f"token={TOKEN}"
            # the second ready line names the emulator it started (CONTRACT §2), and it answers
            emulator_line = process.stdout.readline()
            assert emulator_line.startswith("imagegen emulator: http://127.0.0.1:"), emulator_line
            with urllib.request.urlopen(f"{emulator_line.split()[2]}/_emulator/stats", timeout=10) as answer:
                assert "models" in json.loads(answer.read())
            served = Served(url=url, process=process, children=_children(process.pid))
            yield served
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    # THEN the server exits 0, printed nothing more on stdout, and left no process behind
    assert code == 0, stderr_log.read_text()[-3000:]
    assert process.stdout is not None and process.stdout.read() == ""
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in served.children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in served.children if _alive(pid)]


def call(url: str, *, method: str = "GET", body: Any = None, token: str | None = TOKEN) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            raw = answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def emulator_stats(served: Served) -> dict[str, Any]:
    status, stats = call(f"{served.url}/_local/stats")
    assert status == 200
    return dict(stats["emulator"])


def emulator_calls(served: Served) -> int:
    """Every call that reached the emulated AWS: model invocations, guardrail and moderation checks."""
    stats = emulator_stats(served)
    return int(stats["invocations_total"]) + int(stats["guardrail_calls"]) + int(stats["rekognition_calls"])


def wait_terminal(served: Served, job_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = call(f"{served.url}/v1/jobs/{job_id}")
        assert status == 200, body
        if body["job"]["status"] in ("succeeded", "failed", "blocked"):
            return dict(body["job"])
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def check_generate_then_fetch_the_signed_url(served: Served) -> None:
    # WHEN a valid request is generated synchronously
    status, body = call(
        f"{served.url}/v1/images", method="POST", body={"model": "titan-image-v1", "prompt": "a red kite", "seed": 5}
    )
    # THEN the job succeeded with one image whose signed URL serves PNG bytes
    assert status == 200, body
    job = body["job"]
    assert job["status"] == "succeeded" and job["license_record_id"] == "local-titan-image-v1"
    image = job["images"][0]
    assert image["url"].startswith(f"{served.url}/cdn/images/")
    assert "Signature=" in image["url"] and "Key-Pair-Id=" in image["url"]
    code, data = fetch(image["url"])
    assert code == 200 and data.startswith(PNG_MAGIC) and len(data) == image["bytes"]


def check_tampered_and_expired_urls_are_403(served: Served) -> None:
    status, body = call(
        f"{served.url}/v1/images", method="POST", body={"model": "titan-image-v1", "prompt": "a blue kite", "seed": 6}
    )
    assert status == 200, body
    url = body["job"]["images"][0]["url"]
    for tampered in (url.replace("Signature=", "Signature=A"), url.replace("/images/", "/images/0"), url.split("?")[0]):
        assert fetch(tampered)[0] == 403
    assert fetch(url)[0] == 200
    time.sleep(URL_TTL_S + 1)
    assert fetch(url)[0] == 403  # expired


def check_validation_error_names_the_field(served: Served) -> None:
    status, body = call(
        f"{served.url}/v1/images",
        method="POST",
        body={"model": "titan-image-v1", "prompt": "x", "seed": -1, "colour": "red"},
    )
    assert status == 400
    assert body["error"]["code"] == "ValidationError"
    fields = {d["field"] for d in body["error"]["details"]}
    assert "colour" in fields


def check_blocked_prompts_are_422(served: Served) -> None:
    # GIVEN the stack's guardrail blocks the word "gore" (stacks/Pulumi.local.yaml)
    before = emulator_stats(served)
    status, body = call(
        f"{served.url}/v1/images", method="POST", body={"model": "titan-image-v1", "prompt": "a scene full of gore"}
    )
    assert status == 422 and body["error"]["code"] == "PromptBlocked"
    after = emulator_stats(served)
    # THEN the guardrail intervened and no model was invoked
    assert after["guardrail_interventions"] == before["guardrail_interventions"] + 1
    assert after["invocations_total"] == before["invocations_total"]
    # AND a prompt the model's own input filter rejects is a 422 too
    status, body = call(
        f"{served.url}/v1/images",
        method="POST",
        body={"model": "titan-image-v1", "prompt": "EMULATOR_BLOCK_INPUT a cat"},
    )
    assert status == 422 and body["error"]["code"] == "PromptBlocked"
    assert emulator_stats(served)["input_blocked"] == after["input_blocked"] + 1


def check_quarantined_image_blocks_the_job_and_has_no_url(served: Served) -> None:
    status, body = call(
        f"{served.url}/v1/jobs",
        method="POST",
        body={"model": "stable-image-core", "prompt": "a street at night EMULATOR_UNSAFE", "seed": 3},
    )
    assert status == 202, body
    job = wait_terminal(served, body["jobs"][0]["job_id"])
    assert job["status"] == "blocked"
    assert job["images"] == []
    assert "url" not in json.dumps(job["images"])
    assert job["moderation"]["flagged"] == 1
    assert "Violence" in {label["name"] for label in job["moderation"]["labels"]}


def check_missing_or_wrong_token_is_401_and_nothing_happens(served: Served) -> None:
    before = emulator_calls(served)
    for token in (None, "not-the-token"):
        status, body = call(
            f"{served.url}/v1/images", method="POST", body={"model": "titan-image-v1", "prompt": "a kite"}, token=token
        )
        assert status == 401 and body["error"]["code"] == "Unauthorized"
        status, _ = call(f"{served.url}/v1/models", token=token)
        assert status == 401
    assert emulator_calls(served) == before


def check_end_of_life_model_is_503(served: Served) -> None:
    status, body = call(f"{served.url}/v1/images", method="POST", body={"model": "nova-canvas", "prompt": "a kite"})
    assert status == 503 and body["error"]["code"] == "ModelUnavailable"


def test_local_serve_end_to_end(served: Served) -> None:
    """One server for every check: starting it (preview + moto + emulator) is the expensive part, and
    a module fixture would start one per xdist worker. Each check names what failed."""
    check_missing_or_wrong_token_is_401_and_nothing_happens(served)
    check_generate_then_fetch_the_signed_url(served)
    check_tampered_and_expired_urls_are_403(served)
    check_validation_error_names_the_field(served)
    check_blocked_prompts_are_422(served)
    check_quarantined_image_blocks_the_job_and_has_no_url(served)
    check_end_of_life_model_is_503(served)
