"""Run the emulator: a threaded HTTP server on 127.0.0.1, in-process (``start``) or from the CLI.

    with start(rpm={"titan-image-v1": 60}, faults="throttle=0.1", seed=7) as emulator:
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = emulator.url
        ...

Knobs left as None come from the environment (``IMAGEGEN_EMULATOR_RPM`` / ``_FAULTS`` /
``_LATENCY_MS`` / ``_CAPACITY`` / ``_CAPACITY_SCHEDULE``) unless ``use_env=False``. A stack's guardrail
settings are handed in by the caller (the CLI layer reads the stack): ``services/`` never imports
``imagegen_platform``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

from imagegen_emulator.control import AccountState
from imagegen_emulator.guardrail import GuardrailPolicy
from imagegen_emulator.knobs import (
    CapacityStep,
    Knobs,
    from_env,
    parse_capacity,
    parse_faults,
    parse_latency,
    parse_rpm,
    parse_schedule,
)
from imagegen_emulator.models import EmulatorBackend
from imagegen_emulator.responses import EmulatorHandler

HOST = "127.0.0.1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class RunningEmulator:
    """A started emulator: ``url``, ``backend`` (stats, knobs), ``stop()``; also a context manager."""

    def __init__(self, server: _Server, backend: EmulatorBackend) -> None:
        self._server = server
        self.backend = backend
        self.port = int(server.server_address[1])
        self.url = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def stats(self) -> dict[str, Any]:
        return self.backend.stats_snapshot()

    def reset(self) -> None:
        self.backend.reset()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def knobs_from(
    *,
    rpm: Mapping[str, int] | Iterable[str] | str | None = None,
    faults: Mapping[str, float] | str | None = None,
    latency_ms: float | str | None = None,
    capacity: Mapping[str, float] | Iterable[str] | str | None = None,
    schedule: str | Iterable[CapacityStep] | None = None,
    use_env: bool = True,
) -> Knobs:
    """Explicit values win; the rest come from the environment (or defaults). ``KnobInvalid`` on bad values."""
    base = from_env() if use_env else Knobs()
    return Knobs(
        rpm=base.rpm if rpm is None else parse_rpm(rpm),
        faults=base.faults if faults is None else parse_faults(faults),
        latency_ms=base.latency_ms if latency_ms is None else parse_latency(latency_ms),
        capacity=base.capacity if capacity is None else parse_capacity(capacity),
        schedule=base.schedule if schedule is None else parse_schedule(schedule),
    )


def start(
    port: int = 0,
    *,
    rpm: Mapping[str, int] | Iterable[str] | str | None = None,
    faults: Mapping[str, float] | str | None = None,
    latency_ms: float | str | None = None,
    capacity: Mapping[str, float] | Iterable[str] | str | None = None,
    schedule: str | Iterable[CapacityStep] | None = None,
    guardrail: Any = None,
    seed: int | None = None,
    today: date | Callable[[], date] | None = None,
    use_env: bool = True,
    account: AccountState | Mapping[str, Any] | None = None,
) -> RunningEmulator:
    """Start the emulator on 127.0.0.1:``port`` (0 = any free port) in a background thread.

    ``guardrail``: a ``GuardrailSettings`` or ``GuardrailPolicy`` (a stack's, read by the caller).
    ``seed`` makes injected faults and Stability's random seeds reproducible. ``today`` pins the
    lifecycle date (default: ``clock.today()``, which honours ``IMAGEGEN_TODAY``). ``account``: the
    emulated account's control-plane state (``control.AccountState`` or its JSON form);
    ``AccountStateInvalid`` names a bad field.
    """
    knobs = knobs_from(
        rpm=rpm, faults=faults, latency_ms=latency_ms, capacity=capacity, schedule=schedule, use_env=use_env
    )
    policy: GuardrailPolicy | None
    if isinstance(guardrail, GuardrailPolicy):
        policy = guardrail
    elif guardrail is not None:
        policy = GuardrailPolicy.from_settings(guardrail)
    else:
        policy = None
    backend = EmulatorBackend(knobs, guardrail=policy, seed=seed, today=today)
    if account is not None:
        backend.control.set_state(account if isinstance(account, AccountState) else AccountState.from_json(account))
    handler = type("BoundEmulatorHandler", (EmulatorHandler,), {"backend": backend})
    server = _Server((HOST, port), handler)
    return RunningEmulator(server, backend)
