"""One local "Lambda container" of the worker fleet: its own process, so its own module state.

``imagegen local serve --fleet N`` starts N of these (``fleet.WorkerFleet``). Each reads its settings
as one JSON line on stdin, imports the handler (with the environment the parent gave it), and polls
the jobs queue as the event source mapping feeds one concurrent invocation: a batch of up to the
mapping's batch size, the handler's partial batch response, deletion of the successes. After each
invocation it writes one JSON line of counts on its stats channel (the process's original stdout;
the handler's own logs go to stderr). It stops when stdin closes (the parent stopped or died) or
on SIGTERM, after the batch in hand.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
import time
from typing import IO, Any

from imagegen_local.event_source import QueueEventSource


def _load(dotted: str) -> Any:
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def main() -> int:
    stats_out: IO[str] = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # Powertools logs and EMF metrics print to stdout, as on Lambda: keep them off the channel
    settings = json.loads(sys.stdin.readline())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_parent() -> None:
        sys.stdin.read()  # EOF: the parent closed our stdin or is gone
        stop.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    import boto3

    handler = _load(settings["handler"])
    timeout = float(settings["timeout_seconds"])
    lock = threading.Lock()

    def timed(event: dict[str, Any], context: Any) -> Any:
        started = time.monotonic()
        try:
            return handler(event, context)
        finally:
            elapsed = time.monotonic() - started
            with lock:
                stats_out.write(
                    json.dumps(
                        {
                            "invocation_s": round(elapsed, 3),
                            "timed_out": elapsed > timeout,
                            "records": len(event["Records"]),
                        }
                    )
                    + "\n"
                )

    source = QueueEventSource(
        sqs=boto3.client("sqs", region_name=settings["region"]),
        queue_url=settings["queue_url"],
        queue_arn=settings["queue_arn"],
        region=settings["region"],
        handler=timed,
        function_name=settings["function_name"],
        batch_size=int(settings["batch_size"]),
        function_timeout_seconds=timeout,
        visibility_timeout=settings.get("visibility_timeout"),
        wait_seconds=1,
    )
    stats_out.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    while not stop.is_set():
        before = (source.stats.received, source.stats.deleted, source.stats.failed, source.stats.handler_errors)
        try:
            source.poll_once()
        except Exception as error:  # the queue endpoint hiccuped: back off briefly, as the mapping does
            sys.stderr.write(f"container {os.getpid()}: polling failed: {error}\n")
            stop.wait(1.0)
            continue
        after = (source.stats.received, source.stats.deleted, source.stats.failed, source.stats.handler_errors)
        if after != before:
            counts = dict(
                zip(
                    ("received", "deleted", "failed", "handler_errors"),
                    (a - b for a, b in zip(after, before, strict=False)),
                    strict=False,
                )
            )
            with lock:
                stats_out.write(json.dumps({"batch": counts}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
