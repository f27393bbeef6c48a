"""Warm Lambda containers for the local gateway: each invocation runs in a process of its own.

Lambda runs one invocation per execution environment at a time and scales out by adding environments;
module state (Powertools metrics and logger keys, client caches) belongs to one environment. Here a
container is a child process that imported the handler once (warm) and serves one invocation at a
time; concurrent requests get more containers, up to ``max_containers`` (then they wait, as Lambda
throttles past its concurrency). Children come from a ``forkserver`` that pre-imports the heavy
third-party libraries, so a new container costs a fork plus the handler's own import, not a cold
interpreter. An invocation that outlives the function timeout is killed with its container, as
Lambda kills a timed-out environment.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)

# Imported once in the fork server (environment-independent third-party code only: the handler itself
# reads its environment at import, so each container imports it after setting its own).
PRELOAD = ["boto3", "botocore.session", "pydantic", "aws_lambda_powertools", "PIL.Image"]
DEFAULT_MAX_CONTAINERS = 8
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


class FunctionTimedOut(Exception):
    """The invocation ran past the function's timeout; its container was killed."""


class ContainerCrashed(Exception):
    """The container died mid-invocation (out of memory, a hard crash)."""


def _container_main(conn: Connection, handler_path: str, environment: dict[str, str], function: dict[str, Any]) -> None:
    os.environ.clear()
    os.environ.update(environment)
    import importlib

    from imagegen_local.lambda_context import LocalLambdaContext

    module_name, _, attribute = handler_path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    conn.send(("ready", None))
    while True:
        try:
            event = conn.recv()
        except (EOFError, OSError):
            return
        context = LocalLambdaContext(
            function["name"], region=function["region"], timeout_seconds=function["timeout_seconds"]
        )
        try:
            conn.send(("ok", handler(event, context)))
        except Exception as error:  # a handler that raises: Lambda reports it; API Gateway answers 500
            logging.getLogger(handler_path).exception("handler raised")
            conn.send(("raised", f"{type(error).__name__}: {error}"))


@dataclass
class _Container:
    process: Any
    conn: Connection
    invocations: int = 0


@dataclass
class FunctionPool:
    """The warm containers of one function."""

    handler_path: str
    environment: dict[str, str]
    function_name: str
    region: str
    timeout_seconds: float
    max_containers: int = DEFAULT_MAX_CONTAINERS
    _idle: list[_Container] = field(default_factory=list)
    _count: int = 0
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _closed: bool = False

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run ``event`` in a free container and return what the handler returned.

        Raises ``RuntimeError`` for a handler that raised, ``FunctionTimedOut`` or ``ContainerCrashed``.
        """
        container = self._acquire()
        healthy = False
        try:
            container.conn.send(event)
            if not container.conn.poll(self.timeout_seconds):
                raise FunctionTimedOut(f"{self.function_name} timed out after {self.timeout_seconds:g} s")
            try:
                kind, value = container.conn.recv()
            except (EOFError, OSError):
                raise ContainerCrashed(f"{self.function_name}'s container exited mid-invocation") from None
            container.invocations += 1
            healthy = True
            if kind == "raised":
                raise RuntimeError(value)
            return value
        finally:
            self._release(container, healthy)

    def _acquire(self) -> _Container:
        with self._lock:
            while True:
                if self._closed:
                    raise RuntimeError(f"{self.function_name}: the gateway is stopping")
                if self._idle:
                    return self._idle.pop()
                if self._count < self.max_containers:
                    self._count += 1
                    break
                self._lock.wait()
        try:
            return self._start()
        except BaseException:
            with self._lock:
                self._count -= 1
                self._lock.notify()
            raise

    def _start(self) -> _Container:
        parent, child = _context.Pipe()
        function = {"name": self.function_name, "region": self.region, "timeout_seconds": self.timeout_seconds}
        process = _context.Process(
            target=_container_main,
            args=(child, self.handler_path, self.environment, function),
            name=f"{self.function_name}-container",
            daemon=True,
        )
        started = time.monotonic()
        with _without_main():
            process.start()
        child.close()
        if not parent.poll(max(60.0, self.timeout_seconds)):
            process.kill()
            raise ContainerCrashed(f"{self.function_name}: a new container did not start")
        try:
            parent.recv()
        except EOFError:
            process.join(5)
            raise ContainerCrashed(
                f"{self.function_name}: a new container failed to import {self.handler_path} "
                f"(exit code {process.exitcode}; see its log above)"
            ) from None
        log.debug("container for %s started in %.2f s", self.function_name, time.monotonic() - started)
        return _Container(process, parent)

    def _release(self, container: _Container, healthy: bool) -> None:
        if not healthy:
            _kill(container)
        with self._lock:
            if healthy and not self._closed:
                self._idle.append(container)
            else:
                self._count -= 1
                if healthy:
                    _kill(container)
            self._lock.notify()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._lock.notify_all()
        for container in idle:
            _kill(container)


_MAIN_SWAP = threading.Lock()


@contextlib.contextmanager
def _without_main() -> Iterator[None]:
    """Start a container without re-running the caller's ``__main__`` in it.

    multiprocessing's spawn/forkserver children import the parent's main module (as ``__mp_main__``); a
    script without an ``if __name__ == "__main__"`` guard (``python -m bench``) would run again inside every
    container. A Lambda container imports only its handler, so the child is given no main module at all.
    """
    with _MAIN_SWAP:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


def _kill(container: _Container) -> None:
    with contextlib.suppress(OSError):
        container.conn.close()
    container.process.kill()
    container.process.join(5)
