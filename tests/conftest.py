"""Shared fixtures. Keep additive: other parts of the suite may add theirs below.

Pulumi's mocks are process-wide; only ``imagegen_platform.preview.run_preview`` sets them, and it
resets the SDK each run, so tests get graphs through it (cached per stack for the session).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

Graph = dict[str, Any]


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server per test process, in-process (a thread), over real HTTP."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def stack_graph() -> Callable[[str], Graph]:
    """The offline preview graph of a committed stack (policy pack not run), computed once per session."""
    from imagegen_platform.preview import run_preview

    cache: dict[str, Graph] = {}

    def graph(stack: str) -> Graph:
        if stack not in cache:
            cache[stack] = run_preview(stack, policies=False)
        return cache[stack]

    return graph
