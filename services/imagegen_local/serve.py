"""The local platform: embedded AWS + the real handlers behind the local gateway + the queue worker.

``imagegen local serve`` and ``imagegen demo`` both run this. Order of start-up: the stack's preview
graph → moto and the emulator → the data plane from the graph → the handlers' environment → the
handlers themselves (imported only now, so they read that environment) → gateway → worker.
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imagegen_service import config as cfg

from imagegen_local import dlq, keys
from imagegen_local.apigw import HttpAnswer, error_answer, json_answer
from imagegen_local.cdn import CdnOrigin
from imagegen_local.containers import FunctionPool
from imagegen_local.embedded import CLOUD_ONLY, DUMMY_CREDENTIALS, EmbeddedAws, EmulatorKnobs
from imagegen_local.event_source import QueueEventSource
from imagegen_local.fleet import WorkerFleet
from imagegen_local.gateway import LocalGateway
from imagegen_local.stack_view import StackView

TOKEN_ENV = "IMAGEGEN_LOCAL_TOKEN"
CDN_PATH = "/cdn"


@dataclass
class LocalOptions:
    stack: str = "local"
    config_file: Path | None = None
    port: int = 0
    token: str | None = None  # None: $IMAGEGEN_LOCAL_TOKEN, else random
    knobs: EmulatorKnobs = field(default_factory=EmulatorKnobs)
    url_ttl_seconds: int | None = None  # None: the stack's delivery.url_ttl_seconds
    worker: bool = True
    visibility_timeout: int | None = None  # None: the queue's, as Lambda's event source mapping does
    root: Path | None = None  # where .imagegen/ lives (default: the checkout)
    isolate_api: bool = True  # api invocations in container processes (False: in this process, one at a time)
    fleet: int = 0  # worker containers, each its own process (0: one in-process poller, as the demo uses)


def resolve_token(explicit: str | None, state: Path | None = None) -> str:
    """--token, else $IMAGEGEN_LOCAL_TOKEN, else the one kept in the state directory (made once)."""
    if explicit or os.environ.get(TOKEN_ENV):
        return str(explicit or os.environ.get(TOKEN_ENV))
    return keys.local_token(state) if state is not None else keys.new_token()


class LocalPlatform:
    """The platform of one stack: ``graph`` is its preview graph, ``settings`` its StackSettings and
    ``root`` the checkout (where ``.imagegen/`` lives), all handed in by the CLI layer
    (``imagegen_platform.cli.local.local_platform``): ``services/`` never imports ``imagegen_platform``."""

    def __init__(self, options: LocalOptions, *, graph: dict[str, Any], settings: Any, root: Path) -> None:
        self.options = options
        self.token = resolve_token(options.token)
        self.graph = graph
        self.settings = settings
        self.root = root
        self.aws: EmbeddedAws | None = None
        self.gateway: LocalGateway | None = None
        self.worker: QueueEventSource | None = None
        self.fleet: WorkerFleet | None = None
        self.environment: dict[str, str] = {}
        self._saved_env: dict[str, str | None] = {}
        self._api_handler: Any = None
        self._api_pool: FunctionPool | None = None
        self._in_process = threading.Lock()
        self.worker_handler: Any = None

    def __enter__(self) -> LocalPlatform:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    @property
    def view(self) -> StackView:
        assert self.aws is not None
        return self.aws.view

    def start(self) -> None:
        options = self.options
        settings = self.settings
        view = StackView(self.graph)
        state = keys.state_dir(options.root or self.root)
        self.token = resolve_token(options.token, state)
        self.aws = EmbeddedAws(view, settings, state_dir=state, knobs=options.knobs)
        try:
            # Dummy credentials before anything talks to moto: the data plane uses the default chain.
            self._apply_environment({**DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": settings.region})
            self.aws.start()
            self._start_serving(view)
        except BaseException:
            self.stop()
            raise

    def _start_serving(self, view: StackView) -> None:
        assert self.aws is not None
        api = view.api_function
        self.gateway = LocalGateway(
            token=self.token,
            routes=view.routes(),
            api_handler=self._invoke_api,
            function_name=api.name,
            region=self.aws.region,
            function_timeout_seconds=api.timeout_seconds,
            integration_timeout_seconds=view.integration_timeout_seconds,
            port=self.options.port,
        )
        cdn_base = f"{self.gateway.url}{CDN_PATH}"
        self.environment = self.aws.handler_environment(
            cdn_base_url=cdn_base, url_ttl_seconds=self.options.url_ttl_seconds
        )
        self._apply_environment(self.environment)
        _, own = view.handler_environments()
        self._apply_environment(own[api.handler])
        if self.options.isolate_api:
            # Each invocation in a warm container process of its own, as Lambda runs them (containers.py).
            self._api_pool = FunctionPool(
                handler_path=api.handler,
                environment=dict(os.environ),
                function_name=api.name,
                region=self.aws.region,
                timeout_seconds=api.timeout_seconds,
            )
        else:
            self._api_handler = _load(api.handler)
        self._apply_environment(own[view.worker_function.handler])
        worker_environment = {**self.environment, **own[view.worker_function.handler]}
        self.worker_handler = _load(view.worker_function.handler)
        assert self.aws.signing_key is not None
        self.gateway.cdn = CdnOrigin(
            base_url=cdn_base,
            s3=self.aws.client("s3"),
            bucket=self.environment[cfg.ENV_BUCKET],
            public_key_pem=self.aws.signing_key.public_key_pem,
            key_pair_id=self.environment.get(cfg.ENV_SIGNING_KEY_ID),
            signed_urls=self.environment.get(cfg.ENV_SIGNED_URLS, cfg.TRUE) == cfg.TRUE,
        )
        self.gateway.admin = {
            "GET /_local/dlq": self._dlq_list,
            "POST /_local/dlq/redrive": self._dlq_redrive,
            "GET /_local/stats": self._stats,
        }
        self.gateway.start()
        if self.options.worker and self.options.fleet > 0:
            self.fleet = self.new_fleet(self.options.fleet, worker_environment)
            self.fleet.start()
        elif self.options.worker:
            self.worker = self.new_worker()
            self.worker.start()

    def new_fleet(self, size: int, environment: dict[str, str], *, log: Any = None) -> WorkerFleet:
        """``size`` worker containers (processes) fed from the jobs queue as the event source mapping feeds them."""
        assert self.aws is not None and self.aws.data_plane is not None
        worker = self.view.worker_function
        plane = self.aws.data_plane
        return WorkerFleet(
            size,
            environment=environment,
            handler=worker.handler,
            function_name=worker.name,
            region=self.aws.region,
            queue_url=plane.queue_url,
            queue_arn=plane.queue_arn,
            batch_size=self.view.batch_size,
            timeout_seconds=worker.timeout_seconds,
            visibility_timeout=self.options.visibility_timeout,
            log=log,
        )

    def new_worker(self, handler: Any = None, *, visibility_timeout: int | None = None) -> QueueEventSource:
        """A poller for the jobs queue with the stack's batch size (tests start their own)."""
        assert self.aws is not None and self.aws.data_plane is not None
        worker = self.view.worker_function
        plane = self.aws.data_plane
        return QueueEventSource(
            sqs=self.aws.client("sqs"),
            queue_url=plane.queue_url,
            queue_arn=plane.queue_arn,
            region=self.aws.region,
            handler=handler or self.worker_handler,
            function_name=worker.name,
            batch_size=self.view.batch_size,
            function_timeout_seconds=worker.timeout_seconds,
            visibility_timeout=visibility_timeout
            if visibility_timeout is not None
            else self.options.visibility_timeout,
        )

    def stop(self) -> None:
        if self.fleet is not None:
            self.fleet.stop()
            self.fleet = None
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self._api_pool is not None:
            self._api_pool.close()
            self._api_pool = None
        if self.aws is not None:
            self.aws.stop()
            self.aws = None
        self._restore_environment()

    # ------------------------------------------------------------------------- environment
    def _apply_environment(self, env: dict[str, str]) -> None:
        for name in (*env, *CLOUD_ONLY):
            self._saved_env.setdefault(name, os.environ.get(name))
        for name in CLOUD_ONLY:
            os.environ.pop(name, None)
        os.environ.update(env)

    def _restore_environment(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def _invoke_api(self, event: dict[str, Any], context: Any) -> Any:
        if self._api_pool is not None:
            return self._api_pool.invoke(event)
        with self._in_process:  # one shared module state: one invocation at a time
            return self._api_handler(event, context)

    # ------------------------------------------------------------------------- local admin routes
    def _dlq_list(self, method: str, payload: dict[str, Any]) -> HttpAnswer:
        assert self.aws is not None and self.aws.data_plane is not None
        messages = dlq.peek(self.aws.client("sqs"), self.aws.data_plane.dlq_url)
        return json_answer(200, {"queue": self.aws.data_plane.dlq_url, "messages": messages})

    def _dlq_redrive(self, method: str, payload: dict[str, Any]) -> HttpAnswer:
        assert self.aws is not None and self.aws.data_plane is not None
        plane = self.aws.data_plane
        result = dlq.move_by_hand(self.aws.client("sqs"), plane.dlq_url, plane.queue_url)
        return json_answer(200, {"method": result.method, "moved": result.moved, "note": result.note})

    def _stats(self, method: str, payload: dict[str, Any]) -> HttpAnswer:
        assert self.aws is not None
        try:
            emulator = self.aws.emulator_stats()
        except OSError as error:
            return error_answer(502, "EmulatorUnreachable", str(error))
        answer: dict[str, Any] | None = None
        if self.fleet is not None:
            answer = {"containers": self.fleet.size, **self.fleet.stats.as_dict()}
        elif self.worker is not None:
            stats = self.worker.stats
            answer = {k: getattr(stats, k) for k in ("batches", "received", "deleted", "failed", "handler_errors")}
        return json_answer(200, {"emulator": emulator, "worker": answer})


def _load(dotted: str) -> Any:
    module_name, _, attribute = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)
