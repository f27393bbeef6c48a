"""Emulator speed: boto3 ``invoke_model`` of one 1024×1024 text-to-image against the running emulator.

``measure(runs)`` starts the emulator in-process (zero latency, no faults), warms up, then times
``runs`` calls end to end (boto3 serialisation, HTTP on 127.0.0.1, validation, drawing, PNG encoding,
base64, parsing). Also reports the server-side time alone, without boto3 and HTTP.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import date
from typing import Any

BODY: dict[str, Any] = {
    "taskType": "TEXT_IMAGE",
    "textToImageParams": {"text": "a lighthouse on a cliff at dusk, oil painting"},
    "imageGenerationConfig": {"width": 1024, "height": 1024, "numberOfImages": 1, "cfgScale": 6.5},
}
MODEL_ID = "amazon.nova-canvas-v1:0"
WARM_UP = 3


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def measure(runs: int = 30) -> dict[str, float]:
    import boto3
    from botocore.config import Config
    from imagegen_emulator.server import start

    with start(today=date(2026, 6, 1), use_env=False) as emulator:  # before Nova Canvas's end of life
        client = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
        ).client("bedrock-runtime", endpoint_url=emulator.url, config=Config(retries={"total_max_attempts": 1}))
        timings: list[float] = []
        server_side: list[float] = []
        for index in range(WARM_UP + runs):
            body = {**BODY, "imageGenerationConfig": {**BODY["imageGenerationConfig"], "seed": index}}
            raw = json.dumps(body)
            started = time.perf_counter()
            response = client.invoke_model(modelId=MODEL_ID, body=raw)
            payload = json.loads(response["body"].read())
            elapsed = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            emulator.backend.invoke_model(MODEL_ID, raw.encode())
            backend = (time.perf_counter() - started) * 1000
            assert len(payload["images"]) == 1
            if index >= WARM_UP:
                timings.append(elapsed)
                server_side.append(backend)
    return {
        "emulator_invoke_ms_p50": round(statistics.median(timings), 2),
        "emulator_invoke_ms_p90": round(_percentile(timings, 0.9), 2),
        "emulator_server_ms_p50": round(statistics.median(server_side), 2),
        "emulator_runs": float(runs),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
