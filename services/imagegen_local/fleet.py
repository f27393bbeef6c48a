"""The worker fleet of the local platform: N worker containers at once, each its own process.

On Lambda, an SQS event source mapping with MaximumConcurrency N runs up to N invocations at once,
each in its own container with its own module state (its clients, caches and pacing state). Threads
in one process would share all of that; separate processes do not, so the fleet's controller must
really coordinate through DynamoDB here, as deployed. Each container (``container.py``) polls the
queue itself with the mapping's batch size, as one concurrent invocation would be fed.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

from imagegen_local.event_source import DrainStats

START_TIMEOUT_S = 60.0


@dataclass
class FleetStats(DrainStats):
    invocations: int = 0
    invocation_timeouts: int = 0
    longest_invocation_s: float = 0.0
    _extra_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def invoked(self, seconds: float, timed_out: bool) -> None:
        with self._extra_lock:
            self.invocations += 1
            self.invocation_timeouts += int(timed_out)
            self.longest_invocation_s = max(self.longest_invocation_s, seconds)

    def as_dict(self) -> dict[str, Any]:
        names = ("batches", "received", "deleted", "failed", "handler_errors", "invocations", "invocation_timeouts")
        return {
            **{name: getattr(self, name) for name in names},
            "longest_invocation_s": round(self.longest_invocation_s, 3),
        }


class WorkerFleet:
    """``start()`` N containers, ``stats`` across them, ``stop()`` (each finishes the batch in hand)."""

    def __init__(
        self,
        size: int,
        *,
        environment: dict[str, str],
        handler: str,
        function_name: str,
        region: str,
        queue_url: str,
        queue_arn: str,
        batch_size: int,
        timeout_seconds: float,
        visibility_timeout: int | None = None,
        log: IO[Any] | int | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a fleet has at least one container")
        self.size = size
        self._environment = environment
        self._settings = {
            "handler": handler,
            "function_name": function_name,
            "region": region,
            "queue_url": queue_url,
            "queue_arn": queue_arn,
            "batch_size": batch_size,
            "timeout_seconds": timeout_seconds,
            "visibility_timeout": visibility_timeout,
        }
        self._log = log
        self._processes: list[subprocess.Popen[str]] = []
        self._readers: list[threading.Thread] = []
        self._ready = threading.Semaphore(0)
        self.stats = FleetStats()

    @property
    def running(self) -> bool:
        return any(process.poll() is None for process in self._processes)

    def start(self) -> None:
        env = {**os.environ, **self._environment, "PYTHONUNBUFFERED": "1"}
        for _ in range(self.size):
            process = subprocess.Popen(
                [sys.executable, "-m", "imagegen_local.container"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                env=env,
                text=True,
                encoding="utf-8",
            )
            assert process.stdin is not None
            process.stdin.write(json.dumps(self._settings) + "\n")
            process.stdin.flush()
            self._processes.append(process)
            reader = threading.Thread(target=self._read, args=(process,), daemon=True, name=f"fleet-{process.pid}")
            reader.start()
            self._readers.append(reader)
        deadline = time.monotonic() + START_TIMEOUT_S
        for _ in self._processes:
            if not self._ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                self.stop()
                raise OSError(f"a worker container did not start within {START_TIMEOUT_S:g} s")

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("ready"):
                self._ready.release()
            elif "batch" in message:
                counts = message["batch"]
                self.stats.add(batches=1, **{k: int(v) for k, v in counts.items()})
            elif "invocation_s" in message:
                self.stats.invoked(float(message["invocation_s"]), bool(message["timed_out"]))

    def stop(self, timeout: float = 60.0) -> None:
        """Close each container's stdin (it finishes its batch and exits); terminate what lingers."""
        for process in self._processes:
            if process.stdin is not None and not process.stdin.closed:
                with contextlib.suppress(OSError):
                    process.stdin.close()
        deadline = time.monotonic() + timeout
        for process in self._processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for reader in self._readers:
            reader.join(5)
        self._processes.clear()
        self._readers.clear()
