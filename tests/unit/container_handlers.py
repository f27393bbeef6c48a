"""Tiny api functions for the container-pool tests (imported inside the container processes)."""

from __future__ import annotations

import os
import time
from typing import Any

STATE = {"invocations": 0}  # module state: per container, as in a Lambda execution environment


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    STATE["invocations"] += 1
    if event.get("sleep"):
        time.sleep(float(event["sleep"]))
    if event.get("raise"):
        raise ValueError("asked to fail")
    if event.get("exit"):
        os._exit(3)
    return {
        "pid": os.getpid(),
        "invocations": STATE["invocations"],
        "marker": os.environ.get("CONTAINER_TEST_MARKER"),
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
