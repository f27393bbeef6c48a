"""Warm containers for the local api function: one invocation per process at a time, as Lambda runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imagegen_local.containers import ContainerCrashed, FunctionPool, FunctionTimedOut

HANDLER = "tests.unit.container_handlers.handler"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pool() -> Iterator[FunctionPool]:
    running = FunctionPool(
        handler_path=HANDLER,
        environment={"CONTAINER_TEST_MARKER": "from-the-stack", "PATH": "/usr/bin:/bin"},
        function_name="imagegen-test-api",
        region="us-east-1",
        timeout_seconds=2,
        max_containers=3,
    )
    yield running
    running.close()


def test_a_container_gets_the_functions_environment_and_stays_warm(pool: FunctionPool) -> None:
    first = pool.invoke({})
    second = pool.invoke({})
    assert first["marker"] == "from-the-stack"
    assert second["pid"] == first["pid"] and second["invocations"] == 2  # warm: same process, its own state
    assert 0 < first["remaining_ms"] <= 2000


def _together(pool: FunctionPool, n: int, event: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(pool.invoke(event))) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_invocations_run_in_separate_containers(pool: FunctionPool) -> None:
    cold = _together(pool, 3, {"sleep": 0.2})
    assert len({r["pid"] for r in cold}) == 3
    assert all(r["invocations"] == 1 for r in cold)  # no state shared between them
    # Warm, they overlap: three 1 s invocations take about 1 s, not the 3 s of one container.
    started = time.monotonic()
    warm = _together(pool, 3, {"sleep": 1.0})
    assert time.monotonic() - started < 2.5
    assert {r["pid"] for r in warm} == {r["pid"] for r in cold}


def test_a_timed_out_invocation_kills_its_container_and_the_next_one_is_fresh(pool: FunctionPool) -> None:
    before = pool.invoke({})
    with pytest.raises(FunctionTimedOut):
        pool.invoke({"sleep": 10})
    after = pool.invoke({})
    assert after["pid"] != before["pid"] and after["invocations"] == 1


def test_a_handler_that_raises_keeps_its_container(pool: FunctionPool) -> None:
    before = pool.invoke({})
    with pytest.raises(RuntimeError, match="asked to fail"):
        pool.invoke({"raise": True})
    assert pool.invoke({})["pid"] == before["pid"]


def test_a_container_that_dies_is_reported_and_replaced(pool: FunctionPool) -> None:
    with pytest.raises(ContainerCrashed):
        pool.invoke({"exit": True})
    assert pool.invoke({})["invocations"] == 1


def test_a_script_without_a_main_guard_is_not_run_again_in_its_containers(tmp_path: Path) -> None:
    # multiprocessing would import the parent's __main__ in each container (`python -m bench` has no guard).
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from imagegen_local.containers import FunctionPool\n"
        "print('MAIN RUN', flush=True)\n"
        f"pool = FunctionPool(handler_path={HANDLER!r}, environment={{}}, function_name='f', region='r', timeout_seconds=10)\n"
        "print('invocations', pool.invoke({})['invocations'], flush=True)\n"
        "pool.close()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.stdout.count("MAIN RUN") == 1, done.stdout + done.stderr
    assert "invocations 1" in done.stdout, done.stderr
