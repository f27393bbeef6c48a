"""Embedded AWS: moto server (S3, SQS, DynamoDB over real HTTP) plus the Bedrock/Rekognition emulator.

Both listen on 127.0.0.1 with ephemeral ports. The data plane is created from the stack's preview
graph: tables exactly as the program declares them, bucket and queues (with the DLQ redrive) through
the service's ``create_data_plane``, and the licence ``TableItem`` items written as declared. The
handlers' environment is the functions' variables from the graph with local overrides for endpoints
and keys only, so the service code reaches "AWS" solely through ``AWS_ENDPOINT_URL*``.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from imagegen_service import config as cfg

from imagegen_local import keys
from imagegen_local.stack_view import StackView, create_table_request, ttl_attribute

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto accepts any
# Variables that would make the service reach real AWS or real secrets: removed for local runs.
CLOUD_ONLY = (
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    cfg.ENV_SIGNING_KEY_SECRET_ARN,
    cfg.ENV_C2PA_SECRET_ARN,
)


@dataclass
class EmulatorKnobs:
    """The emulator's knobs as given on the command line; None falls back to IMAGEGEN_EMULATOR_*."""

    rpm: list[str] | None = None  # ["MODEL=N", ...]
    faults: str | None = None
    latency_ms: float | None = None
    capacity: list[str] | None = None  # ["MODEL=N", ...] units per minute
    schedule: str | None = None  # "SECONDS:MODEL=N;…"


def _client(service: str, endpoint: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 2, "mode": "standard"}),
    )


class EmbeddedAws:
    """moto server + emulator + the stack's data plane. ``start()``/``stop()`` or a ``with`` block."""

    def __init__(self, view: StackView, settings: Any, *, state_dir: Path, knobs: EmulatorKnobs | None = None) -> None:
        self.view = view
        self.settings = settings
        self.region: str = settings.region
        self.state_dir = state_dir
        self.knobs = knobs or EmulatorKnobs()
        self._moto: Any = None
        self._emulator: Any = None
        self.moto_url = ""
        self.emulator_url = ""
        self.data_plane: Any = None
        self.signing_key: keys.SigningKeyPair | None = None
        self.c2pa_files: tuple[Path, Path] | None = None

    # ------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> EmbeddedAws:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.signing_key = keys.cloudfront_signing_key(self.state_dir)
        self.c2pa_files = keys.c2pa_test_chain(self.state_dir)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines drown the useful ones
        self._moto = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        # moto keeps its state per process, not per server: creation below is idempotent, so a second
        # platform in the same process (tests) reuses the same tables, bucket and queues.
        self.moto_url = f"http://{host}:{port}"
        try:
            self._start_emulator()
            self.create_data_plane()
        except BaseException:
            self.stop()
            raise

    def _start_emulator(self) -> None:
        from imagegen_emulator import server

        self._emulator = server.start(
            port=0,
            rpm=self.knobs.rpm or None,
            faults=self.knobs.faults,
            latency_ms=self.knobs.latency_ms,
            capacity=self.knobs.capacity or None,
            schedule=self.knobs.schedule,
            guardrail=self.settings.moderation.guardrail,  # the stack's own guardrail configuration
        )
        self.emulator_url = str(self._emulator.url).rstrip("/")

    def stop(self) -> None:
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None

    def client(self, service: str) -> Any:
        return _client(service, self.moto_url, self.region)

    # ------------------------------------------------------------------------- data plane
    def create_data_plane(self) -> None:
        from imagegen_local.dataplane import DataPlaneNames, create_data_plane

        view = self.view
        names = view.names()
        queue_name = names[cfg.ENV_QUEUE_URL].rstrip("/").rsplit("/", 1)[-1]
        dlq_name = names.get(cfg.ENV_DLQ_URL, f"{queue_name}-dlq").rstrip("/").rsplit("/", 1)[-1]
        jobs_queue = view.queue(queue_name)
        self._create_tables()
        self.data_plane = create_data_plane(
            self.moto_url,
            view.stack,
            self.region,
            DataPlaneNames(
                jobs_table=names[cfg.ENV_JOBS_TABLE],
                licence_table=names[cfg.ENV_LICENCE_TABLE],
                idempotency_table=names[cfg.ENV_IDEMPOTENCY_TABLE],
                bucket=names[cfg.ENV_BUCKET],
                queue=queue_name,
                dlq=dlq_name,
            ),
            visibility_timeout=jobs_queue.visibility_timeout,
            max_receive_count=jobs_queue.max_receive_count or int(self.settings.worker.max_receive_count),
        )
        self._write_licence_items()

    def _create_tables(self) -> None:
        ddb = self.client("dynamodb")
        for inputs in self.view.tables():
            request = create_table_request(inputs)
            try:
                ddb.create_table(**request)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceInUseException":
                    raise
                continue
            attribute = ttl_attribute(inputs)
            if attribute:
                ddb.update_time_to_live(
                    TableName=request["TableName"],
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
                )

    def _write_licence_items(self) -> None:
        ddb = self.client("dynamodb")
        for inputs in self.view.licence_items():
            item = inputs.get("item")
            document = json.loads(item) if isinstance(item, str) else item
            ddb.put_item(TableName=inputs["tableName"], Item=document)

    # ------------------------------------------------------------------------- handlers' environment
    def handler_environment(self, *, cdn_base_url: str, url_ttl_seconds: int | None = None) -> dict[str, str]:
        """Both functions' shared variables from the graph, with local endpoints, keys and resource URLs."""
        assert self.signing_key is not None and self.c2pa_files is not None and self.data_plane is not None
        env, _ = self.view.handler_environments()
        for name in CLOUD_ONLY:
            env.pop(name, None)
        env.update(self.data_plane.env())  # the queue URLs moto made (the graph holds mock URLs)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.emulator_url,
                "AWS_ENDPOINT_URL_REKOGNITION": self.emulator_url,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                **DUMMY_CREDENTIALS,
                cfg.ENV_SIGNING_KEY_FILE: str(self.signing_key.private_key_file),
                cfg.ENV_C2PA_CERT_FILE: str(self.c2pa_files[0]),
                cfg.ENV_C2PA_KEY_FILE: str(self.c2pa_files[1]),
                cfg.ENV_CDN_DOMAIN: cdn_base_url,
            }
        )
        if url_ttl_seconds is not None:
            env[cfg.ENV_URL_TTL] = str(url_ttl_seconds)
        return env

    def emulator_stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.emulator_url}/_emulator/stats", timeout=10) as answer:  # noqa: S310
            return dict(json.loads(answer.read()))
