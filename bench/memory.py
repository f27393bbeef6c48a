"""Peak memory of the worker processing five 2048×2048 images, in a child process of its own.

The parent starts the local platform for the bench stack (moto, emulator, data plane), submits five
Nova Canvas 2048×2048 jobs through the API, and receives their five SQS messages as one batch (the
stack's batch size). A fresh interpreter then imports the real worker handler and runs that batch
against the same endpoints; it reports ``ru_maxrss`` (peak resident set of the whole process:
interpreter, boto3, Powertools, Pillow, c2pa, and the images) before and after.

Nova Canvas is the only catalogue model that makes 2048×2048 images and it is past its end-of-life
(2026-09-30), so both the runtime and the emulator run with ``IMAGEGEN_TODAY=2026-03-01``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from imagegen_local.event_source import to_sqs_event

from bench.harness import BEFORE_NOVA_EOL, api_client, bench_platform, jobs_by_status, pinned_env
from bench.stats import run_child

IMAGES = 5
SIDE = 2048


def measure(quick: bool) -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with pinned_env({"IMAGEGEN_TODAY": BEFORE_NOVA_EOL}), bench_platform("bench-memory") as platform:
        assert platform.aws is not None and platform.aws.data_plane is not None
        plane = platform.aws.data_plane
        requests = [
            {
                "model": "nova-canvas",
                "prompt": f"memory benchmark image {i}: a harbour at night",
                "seed": i,
                "width": SIDE,
                "height": SIDE,
            }
            for i in range(IMAGES)
        ]
        job_ids = {job["job_id"] for job in api_client(platform).submit(requests)["jobs"]}
        sqs = platform.aws.client("sqs")
        messages: list[dict[str, Any]] = []
        while len(messages) < IMAGES:
            messages += sqs.receive_message(
                QueueUrl=plane.queue_url,
                MaxNumberOfMessages=IMAGES - len(messages),
                VisibilityTimeout=300,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
            ).get("Messages", [])
        event = to_sqs_event(messages, queue_arn=plane.queue_arn, region=platform.aws.region)
        env = {**platform.environment, "IMAGEGEN_TODAY": BEFORE_NOVA_EOL, "POWERTOOLS_LOG_LEVEL": "WARNING"}
        with tempfile.TemporaryDirectory(prefix="imagegen-bench-rss-") as scratch:
            event_file = Path(scratch) / "event.json"
            event_file.write_text(json.dumps(event))
            _, stdout = run_child(
                [sys.executable, "-m", "bench.child", "worker-rss", str(event_file)],
                env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
                timeout=600,
            )
        child = json.loads([line for line in stdout.splitlines() if line.startswith('{"peak_rss_mb"')][-1])
        records = jobs_by_status(platform, job_ids)
    succeeded = sum(1 for r in records.values() if r["status"] == "succeeded")
    if child["failures"] or succeeded != IMAGES:
        raise RuntimeError(f"the worker did not finish the {IMAGES} jobs: {child['failures']} failures, {records}")
    return {
        "worker_peak_rss_mb": child["peak_rss_mb"],
        "worker_rss_after_import_mb": child["rss_after_import_mb"],
        "worker_rss_images": IMAGES,
        "worker_rss_image_side": SIDE,
        "worker_rss_batch_s": child["seconds"],
    }
