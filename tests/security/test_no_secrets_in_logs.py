"""An end-to-end run of ``imagegen local serve`` never writes the bearer token or a private key to its logs.

The platform runs as a user would start it (its own process, ``IMAGEGEN_LOCAL_TOKEN`` set); the test
drives sync and async generation, a job lookup, an image download, a bad request and a request with
a wrong token, stops it, and searches everything it printed (stdout, stderr: the gateway's, the
emulator's and the service's structured logs) for the token and for the signing and C2PA private keys.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from imagegen_local import keys
from imagegen_local.client import ApiError, BearerAuth, ImagegenClient, download

from tests.security.secrets import scan_text

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _key_fragments(pem: str) -> list[str]:
    """The body lines of a PEM: any one of them in a log is a leak."""
    return [line.strip() for line in pem.splitlines() if line.strip() and "-----" not in line]


def test_logs_of_a_local_run_hold_no_token_and_no_private_key(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(24)
    stderr_file = tmp_path / "serve.stderr"
    command = [str(Path(sys.executable).parent / "imagegen"), "local", "serve", "--port", "0"]
    env = {
        **os.environ,
        "IMAGEGEN_LOCAL_TOKEN": token,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    with stderr_file.open("w") as stderr:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        stdout_lines: list[str] = []
        try:
            assert server.stdout is not None
            ready = server.stdout.readline()
            stdout_lines.append(ready)
            assert ready.startswith("imagegen local: http://127.0.0.1:"), (ready, stderr_file.read_text()[-2000:])
            reader = threading.Thread(target=lambda: stdout_lines.extend(server.stdout or []), daemon=True)
            reader.start()
            url = ready.split()[2]
            # GIVEN a running local platform, WHEN it serves the whole API
            client = ImagegenClient(url, BearerAuth(token), timeout=60)
            job = client.generate(
                {"model": "titan-image-v1", "prompt": "a brass telescope", "width": 512, "height": 512}
            )
            assert job["status"] == "succeeded", job
            download(job["images"][0]["url"])
            batch = client.submit(
                [
                    {"model": "titan-image-v1", "prompt": f"a paper crane #{i}", "width": 512, "height": 512}
                    for i in range(2)
                ]
            )
            deadline = time.monotonic() + 60
            pending = {j["job_id"] for j in batch["jobs"]}
            while pending and time.monotonic() < deadline:
                pending = {j for j in pending if client.job(j)["status"] in ("queued", "running")}
                time.sleep(0.2)
            assert not pending
            with pytest.raises(ApiError):
                client.generate({"model": "titan-image-v1", "prompt": 7})
            with pytest.raises(ApiError) as refused:
                ImagegenClient(url, BearerAuth(token[::-1])).models()
            assert refused.value.status in (401, 403)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
    # THEN nothing it printed holds the token or a private key
    logs = "".join(stdout_lines[1:]) + stderr_file.read_text()
    assert len(logs) > 1000, "the run printed almost nothing: the search would prove nothing"
    assert token not in logs
    state = keys.state_dir(ROOT)
    signing_pem = keys.cloudfront_signing_key(state).private_key_file.read_text()
    c2pa_key = keys.c2pa_test_chain(state)[1].read_text()
    for pem in (signing_pem, c2pa_key):
        assert "PRIVATE KEY" in pem
        leaked = [fragment for fragment in _key_fragments(pem) if fragment in logs]
        assert leaked == []
    assert scan_text(logs, "local serve logs") == []
