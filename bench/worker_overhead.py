"""Per-image worker overhead beside bare boto3 I/O, and C2PA signing, side by side (CONTRACT.md §4).

``measure(samples)`` runs in a child interpreter (the worker prints its JSON logs and EMF metrics to
stdout, which must not mix with ``python -m bench --json``) and returns:

* ``worker_overhead_ms_p50`` — the real worker handler on a one-record SQS event (claim, idempotency
  record, moderation, storage, metadata, job completion, Powertools decorators), minus the time inside
  the model call (emulator, zero latency) and C2PA signing, per 1024×1024 PNG (Titan: no C2PA);
* ``baseline_io_ms_p50`` — bare boto3 ``put_object`` + ``put_item`` + ``DetectModerationLabels`` of the
  same bytes against the same endpoints (moto server + emulator on 127.0.0.1);
* ``c2pa_sign_ms_p50`` — ``provenance.sign`` of the same PNG with an ES256 test chain.

Run it alone: ``python -m bench.worker_overhead [SAMPLES]``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REGION = "us-east-1"
WARMUP = 3


def measure(samples: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="imagegen-overhead-") as scratch:
        out = Path(scratch) / "result.json"
        subprocess.run(
            [sys.executable, "-m", "bench.worker_overhead", str(samples), "--out", str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
            timeout=600,
        )
        result: dict[str, float] = json.loads(out.read_text())
    return result


def _p50(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def _run(samples: int, scratch: Path) -> dict[str, float]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    from imagegen_emulator import server as emulator_server

    emulator = emulator_server.start(port=0, use_env=False)
    try:
        return _measure_with(samples, scratch, "http://{}:{}".format(*moto.get_host_and_port()), emulator.url)
    finally:
        emulator.stop()
        moto.stop()


def _environment(moto_url: str, emulator_url: str, scratch: Path, plane_env: dict[str, str]) -> dict[str, str]:
    from imagegen_service import config as cfg
    from imagegen_service.provenance_testcerts import write_test_chain

    cert, key = write_test_chain(scratch)
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator_url,
        "AWS_ENDPOINT_URL_REKOGNITION": emulator_url,
        "POWERTOOLS_SERVICE_NAME": "imagegen",
        "POWERTOOLS_METRICS_NAMESPACE": "imagegen",
        "POWERTOOLS_TRACE_DISABLED": "true",
        cfg.ENV_STACK: "bench",
        cfg.ENV_ENVIRONMENT: "local",
        cfg.ENV_MODELS: json.dumps({"titan-image-v1": {"region": REGION, "licence_record_id": "bench-titan"}}),
        cfg.ENV_MODERATION_ENABLED: "true",
        cfg.ENV_MIN_CONFIDENCE: "80",
        cfg.ENV_CDN_DOMAIN: "https://cdn.bench.test",
        cfg.ENV_SIGNED_URLS: "false",
        cfg.ENV_C2PA_ENABLED: "true",
        cfg.ENV_C2PA_CERT_FILE: str(cert),
        cfg.ENV_C2PA_KEY_FILE: str(key),
        cfg.ENV_MODEL_RPM: json.dumps({"titan-image-v1": 600_000}),
        **plane_env,
    }


class _Context:
    function_name = "imagegen-bench-worker"
    memory_limit_in_mb = 2048
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:imagegen-bench-worker"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


def _measure_with(samples: int, scratch: Path, moto_url: str, emulator_url: str) -> dict[str, float]:
    import boto3
    from imagegen_local.dataplane import DataPlaneNames, create_data_plane

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION})
    plane = create_data_plane(moto_url, "bench", REGION, DataPlaneNames.for_stack("imagegen", "bench"))
    os.environ.update(_environment(moto_url, emulator_url, scratch, plane.env()))

    from imagegen_service import pipeline, provenance
    from imagegen_service.handlers import api, worker

    step_times: list[dict[str, float]] = []
    real_process_job = worker.process_job

    def timed_process_job(*args: Any, **kwargs: Any) -> Any:
        result = real_process_job(*args, **kwargs)
        step_times.append(dict(result.timer.steps))
        return result

    worker.process_job = timed_process_job
    sqs = boto3.client("sqs", region_name=REGION)
    # Baseline clients: bare boto3, the same endpoints. Each sample runs the worker and then the
    # baseline on the same bytes back to back, so both see the same machine load.
    s3 = boto3.client("s3", region_name=REGION)
    ddb = boto3.client("dynamodb", region_name=REGION)
    rekognition = boto3.client("rekognition", region_name=REGION)
    services = pipeline.services_for(pipeline.RuntimeConfig.from_env())
    worker_ms: list[float] = []
    baseline_ms: list[float] = []
    data = b""
    for index in range(samples + WARMUP):
        body = {
            "model": "titan-image-v1",
            "prompt": f"a ceramic mug, take {index}",
            "seed": index,
            "width": 1024,
            "height": 1024,
        }
        response = api.handler(_api_event(body), _Context())
        assert response["statusCode"] == 202, response["body"]
        received = sqs.receive_message(QueueUrl=plane.queue_url, MaxNumberOfMessages=1, AttributeNames=["All"])[
            "Messages"
        ]
        event = {"Records": [_record(m, plane.queue_arn) for m in received]}
        started = time.perf_counter()
        result = worker.handler(event, _Context())
        elapsed = (time.perf_counter() - started) * 1000
        assert not result.get("batchItemFailures"), result
        steps = step_times[-1]
        sqs.delete_message(QueueUrl=plane.queue_url, ReceiptHandle=received[0]["ReceiptHandle"])
        job = services.jobs.get(json.loads(received[0]["Body"])["job_id"])
        assert job is not None and job["status"] == "succeeded", job
        data = s3.get_object(Bucket=plane.names.bucket, Key=job["images"][0]["key"])["Body"].read()

        started = time.perf_counter()
        s3.put_object(Bucket=plane.names.bucket, Key=f"baseline/{index}.png", Body=data, ContentType="image/png")
        ddb.put_item(
            TableName=plane.names.jobs_table,
            Item={"pk": {"S": f"BASELINE#{index}"}, "sk": {"S": "META"}, "bytes": {"N": str(len(data))}},
        )
        rekognition.detect_moderation_labels(Image={"Bytes": data}, MinConfidence=80)
        baseline = (time.perf_counter() - started) * 1000
        if index >= WARMUP:
            worker_ms.append(elapsed - steps.get("model", 0.0) - steps.get("c2pa", 0.0))
            baseline_ms.append(baseline)

    chain = provenance.load_chain(
        None, os.environ["IMAGEGEN_C2PA_CERT_FILE"], os.environ["IMAGEGEN_C2PA_KEY_FILE"], lambda: None
    )
    facts = provenance.GenerationFacts(
        "stability.sd3-5-large-v1:0", "SD3.5 Large", "Stability AI", 7, "bench", "0" * 64, {}
    )
    # The emulator's palette PNGs are small; a model's 1024×1024 photo is megabytes. Sign a
    # photo-sized PNG (RGB noise: the worst case for its size) so the number is not flattered.
    photo = _photo_png()
    sign_ms: list[float] = []
    for index in range(samples + WARMUP):
        started = time.perf_counter()
        provenance.sign(photo, "image/png", facts, chain, "bench.png")
        if index >= WARMUP:
            sign_ms.append((time.perf_counter() - started) * 1000)
    from imagegen_service.imagefiles import describe

    assert (describe(data).width, describe(data).height) == (1024, 1024)
    assert (describe(photo).width, describe(photo).height) == (1024, 1024)
    return {
        "worker_overhead_ms_p50": _p50(worker_ms),
        "baseline_io_ms_p50": _p50(baseline_ms),
        "c2pa_sign_ms_p50": _p50(sign_ms),
        "worker_image_bytes": float(len(data)),
        "c2pa_image_bytes": float(len(photo)),
    }


def _photo_png() -> bytes:
    import io
    import random

    from PIL import Image

    noise = random.Random(7).randbytes(1024 * 1024 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (1024, 1024), noise).save(out, "PNG")
    return out.getvalue()


def _api_event(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/v1/jobs",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/v1/jobs"}},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


if __name__ == "__main__":
    arguments = sys.argv[1:]
    count = int(arguments[0]) if arguments and arguments[0].isdigit() else 20
    if "--out" in arguments:
        with tempfile.TemporaryDirectory(prefix="imagegen-overhead-") as directory:
            measured = _run(count, Path(directory))
        Path(arguments[arguments.index("--out") + 1]).write_text(json.dumps(measured))
    else:
        print(json.dumps(measure(count), indent=2))
