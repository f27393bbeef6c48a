"""The local gateway: bearer-token auth, API dispatch, and the signed-URL delivery route (moto S3)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from imagegen_local import keys
from imagegen_local.apigw import parse_route_key
from imagegen_local.cdn import CdnOrigin
from imagegen_local.gateway import LocalGateway
from moto.server import ThreadedMotoServer

TOKEN = "s3cret-token"
KEY_ID = "KLOCALTEST"
BUCKET = "imagegen-gw-test-images-x"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="images/ab/abcd.png", Body=PNG, ContentType="image/png")
    client.put_object(Bucket=BUCKET, Key="quarantine/abcd.png", Body=PNG, ContentType="image/png")
    yield client
    server.stop()


@pytest.fixture(scope="module")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> keys.SigningKeyPair:
    return keys.cloudfront_signing_key(keys.state_dir(tmp_path_factory.mktemp("root")))


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 202, "headers": {"content-type": "application/json"}, "body": json.dumps({"ok": True})}


@pytest.fixture
def gateway(s3: Any, signing_key: keys.SigningKeyPair) -> Iterator[tuple[LocalGateway, Recorder]]:
    recorder = Recorder()
    gw = LocalGateway(
        token=TOKEN,
        routes=[parse_route_key("POST /v1/jobs"), parse_route_key("GET /v1/jobs/{job_id}")],
        api_handler=recorder,
        function_name="imagegen-test-api",
        region="us-east-1",
    )
    gw.cdn = CdnOrigin(
        base_url=f"{gw.url}/cdn", s3=s3, bucket=BUCKET, public_key_pem=signing_key.public_key_pem, key_pair_id=KEY_ID
    )
    gw.start()
    yield gw, recorder
    gw.stop()


def call(url: str, *, method: str = "GET", token: str | None = None, body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def sign(url: str, key_file: Path, expires: datetime, key_id: str = KEY_ID) -> str:
    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    signer = CloudFrontSigner(key_id, lambda m: private.sign(m, padding.PKCS1v15(), hashes.SHA1()))
    return str(signer.generate_presigned_url(url, date_less_than=expires))


def test_gateway_binds_loopback_only(gateway: tuple[LocalGateway, Recorder]) -> None:
    assert gateway[0].url.startswith("http://127.0.0.1:")


def test_missing_or_wrong_token_is_401_and_the_handler_is_never_called(gateway: tuple[LocalGateway, Recorder]) -> None:
    gw, recorder = gateway
    for token in (None, "wrong", TOKEN + "x"):
        status, body = call(f"{gw.url}/v1/jobs", method="POST", token=token, body=b"{}")
        assert status == 401
        assert json.loads(body)["error"]["code"] == "Unauthorized"
    assert recorder.events == []


def test_authorised_requests_reach_the_handler_as_api_gateway_events(gateway: tuple[LocalGateway, Recorder]) -> None:
    gw, recorder = gateway
    status, body = call(f"{gw.url}/v1/jobs", method="POST", token=TOKEN, body=b'{"model": "titan-image-v1"}')
    assert (status, json.loads(body)) == (202, {"ok": True})
    event = recorder.events[-1]
    assert event["routeKey"] == "POST /v1/jobs"
    assert event["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(event["body"]) == {"model": "titan-image-v1"}
    status, _ = call(f"{gw.url}/v1/jobs/j-1", token=TOKEN)
    assert status == 202 and recorder.events[-1]["pathParameters"] == {"job_id": "j-1"}
    status, body = call(f"{gw.url}/v1/nothing", token=TOKEN)
    assert status == 404 and json.loads(body)["error"]["code"] == "NotFound"


def test_signed_url_serves_the_image(gateway: tuple[LocalGateway, Recorder], signing_key: keys.SigningKeyPair) -> None:
    gw, _ = gateway
    url = sign(
        f"{gw.url}/cdn/images/ab/abcd.png", signing_key.private_key_file, datetime.now(UTC) + timedelta(minutes=5)
    )
    with urllib.request.urlopen(url, timeout=10) as answer:  # no bearer token: the signature authorises
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "image/png"
        assert "immutable" in answer.headers["Cache-Control"]
        assert answer.read() == PNG


def test_tampered_expired_unsigned_and_foreign_urls_are_403(
    gateway: tuple[LocalGateway, Recorder], signing_key: keys.SigningKeyPair, tmp_path: Path
) -> None:
    gw, _ = gateway
    base = f"{gw.url}/cdn/images/ab/abcd.png"
    later = datetime.now(UTC) + timedelta(minutes=5)
    good = sign(base, signing_key.private_key_file, later)
    tampered_expiry = good.replace("Expires=", "Expires=9")
    other_path = good.replace("abcd.png", "abce.png")
    expired = sign(base, signing_key.private_key_file, datetime.now(UTC) - timedelta(seconds=1))
    wrong_key_id = sign(base, signing_key.private_key_file, later, key_id="KOTHER")
    foreign = sign(base, keys.cloudfront_signing_key(keys.state_dir(tmp_path)).private_key_file, later)
    for url in (tampered_expiry, other_path, expired, wrong_key_id, foreign, base):
        status, body = call(url)
        assert status == 403, url
        assert b"PNG" not in body


def test_quarantine_is_never_served_even_when_signed(
    gateway: tuple[LocalGateway, Recorder], signing_key: keys.SigningKeyPair
) -> None:
    gw, _ = gateway
    later = datetime.now(UTC) + timedelta(minutes=5)
    for key in ("quarantine/abcd.png", "images/../quarantine/abcd.png"):
        status, _ = call(sign(f"{gw.url}/cdn/{key}", signing_key.private_key_file, later))
        assert status == 403


def test_url_expires_while_the_server_runs(
    gateway: tuple[LocalGateway, Recorder], signing_key: keys.SigningKeyPair
) -> None:
    gw, _ = gateway
    # CloudFront's canned policy carries whole epoch seconds (botocore truncates), so a URL signed for
    # "now + 2 s" may have as little as 1 s left; under a loaded CI that margin flaked. Sign for 4 s and
    # sleep until just past the truncated expiry the URL actually carries.
    expires = datetime.now(UTC) + timedelta(seconds=4)
    url = sign(f"{gw.url}/cdn/images/ab/abcd.png", signing_key.private_key_file, expires)
    assert call(url)[0] == 200
    time.sleep(max(0.0, int(expires.timestamp()) + 0.3 - time.time()))
    assert call(url)[0] == 403


def test_key_pair_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    directory = keys.state_dir(tmp_path)
    first = keys.cloudfront_signing_key(directory)
    second = keys.cloudfront_signing_key(directory)
    assert first == second
    assert first.private_key_file.stat().st_mode & 0o077 == 0
    assert directory.stat().st_mode & 0o077 == 0
    assert "BEGIN PUBLIC KEY" in first.public_key_pem


def test_every_local_token_is_read_by_a_flag_parser_as_the_tokens_value(tmp_path: Path) -> None:
    # GIVEN many fresh tokens (token_urlsafe began with "-" once in 64: `--token -xyz` read as no value)
    import argparse

    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--token")
    tokens = [keys.new_token() for _ in range(2000)]
    # THEN argparse, the CLI's own parser, reads each one as --token's value
    assert all(parser.parse_args(["--token", token]).token == token for token in tokens)
    # AND a kept token that a flag parser would misread is replaced once, then stays stable
    directory = keys.state_dir(tmp_path)
    (directory / keys.LOCAL_TOKEN).write_text("-badstart")
    first = keys.local_token(directory)
    assert not first.startswith("-") and keys.local_token(directory) == first
