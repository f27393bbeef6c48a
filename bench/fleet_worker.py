"""One container of the bench's controller fleet: ``python -m bench.fleet_worker CONFIG_JSON``.

It calls the emulator through the real model client (``BedrockImageClient``) with the real fleet
controller (``FleetPacer`` on a DynamoDB table in moto), as the worker's model-call path does, until
``stop_at``. A deferral (no slot before the call's deadline) puts that model aside for the wait the
controller chose, as the queue would, and the container takes another model's work meanwhile.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def main() -> int:
    config: dict[str, Any] = json.loads(sys.argv[1])
    import boto3
    from imagegen_service.bedrock import BedrockImageClient, RetryPolicy
    from imagegen_service.errors import ImagegenError, PacingDeferred, Throttled
    from imagegen_service.pacing import DynamoPaceStore, FleetPacer
    from imagegen_service.requests import parse_request

    session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
    dynamodb = session.client("dynamodb", endpoint_url=config["dynamodb_url"])
    pacer = FleetPacer(DynamoPaceStore(dynamodb, config["table"]), config["start_rpm"])
    client = BedrockImageClient(
        session=session, endpoint_url=config["emulator_url"], pacer=pacer, retry=RetryPolicy(max_total_s=5.0)
    )
    models: list[str] = config["models"]
    not_before = dict.fromkeys(models, 0.0)
    count = 0
    while time.time() < config["stop_at"]:
        now = time.time()
        ready = [m for m in models if not_before[m] <= now]
        if not ready:
            time.sleep(min(0.5, max(0.0, min(not_before.values()) - now)))
            continue
        model = ready[count % len(ready)]
        count += 1
        body: dict[str, Any] = {"model": model, "prompt": f"bench fleet {config['worker']}-{count}"}
        if model.startswith("titan"):
            body |= {"width": 512, "height": 512, "seed": count}
        try:
            client.invoke(parse_request(body), region="us-east-1", deadline_s=config["deadline_s"])
        except PacingDeferred as deferred:
            not_before[model] = time.time() + deferred.wait_s
        except Throttled:
            not_before[model] = time.time() + 1.0
        except ImagegenError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
