"""What the local platform needs from a stack's preview graph (CONTRACT.md §2 ``imagegen preview --json``).

The local data plane, the handlers' environment, the routes and the queue trigger are all read
from the resources the Pulumi program declares, so local and deployed stacks cannot drift apart:
there is no second, hand-written description of the stack here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from imagegen_service import config as _runtime
from imagegen_service import config as cfg

from imagegen_local.apigw import Route, parse_route_key

TABLE = "aws:dynamodb/table:Table"
TABLE_ITEM = "aws:dynamodb/tableItem:TableItem"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROUTE = "aws:apigatewayv2/route:Route"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
API_HANDLER = _runtime.API_HANDLER
WORKER_HANDLER = _runtime.WORKER_HANDLER


class GraphIncomplete(ValueError):
    """The preview graph lacks something the local platform needs (a program bug, named precisely)."""


@dataclass(frozen=True)
class FunctionView:
    name: str
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]


@dataclass(frozen=True)
class QueueView:
    name: str
    visibility_timeout: int
    max_receive_count: int | None
    attributes: dict[str, Any]


@dataclass(frozen=True)
class StackView:
    graph: dict[str, Any]

    @property
    def stack(self) -> str:
        return str(self.graph.get("stack", ""))

    def resources(self, type_token: str) -> Iterator[dict[str, Any]]:
        return (r for r in self.graph.get("resources", []) if r.get("type") == type_token)

    def _inputs(self, type_token: str) -> list[dict[str, Any]]:
        return [r.get("inputs") or {} for r in self.resources(type_token)]

    # ------------------------------------------------------------------------- functions
    def function(self, handler: str) -> FunctionView:
        for inputs in self._inputs(FUNCTION):
            if inputs.get("handler") == handler:
                variables = (inputs.get("environment") or {}).get("variables") or {}
                return FunctionView(
                    name=str(inputs.get("name", "")),
                    handler=handler,
                    timeout_seconds=int(inputs.get("timeout", 3)),
                    memory_mb=int(inputs.get("memorySize", 128)),
                    environment={str(k): str(v) for k, v in variables.items()},
                )
        raise GraphIncomplete(f"the graph has no {FUNCTION} with handler {handler}")

    @property
    def api_function(self) -> FunctionView:
        return self.function(API_HANDLER)

    @property
    def worker_function(self) -> FunctionView:
        return self.function(WORKER_HANDLER)

    def handler_environments(self) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        """(shared, own): in one process both handlers share os.environ.

        ``shared`` holds every variable the two functions agree on (or only one sets); ``own`` maps
        each handler path to the variables where they differ (POWERTOOLS_SERVICE_NAME), which the
        local platform applies while importing that handler, when Powertools reads them.
        """
        api, worker = self.api_function, self.worker_function
        shared = {**worker.environment, **api.environment}
        own: dict[str, dict[str, str]] = {api.handler: {}, worker.handler: {}}
        for name in set(api.environment) & set(worker.environment):
            if api.environment[name] != worker.environment[name]:
                shared.pop(name)
                own[api.handler][name] = api.environment[name]
                own[worker.handler][name] = worker.environment[name]
        return shared, own

    # ------------------------------------------------------------------------- queue trigger
    def worker_trigger(self) -> dict[str, Any]:
        worker = self.worker_function.name
        for inputs in self._inputs(EVENT_SOURCE_MAPPING):
            target = str(inputs.get("functionName", ""))  # a function name or its ARN
            if target == worker or target.endswith(f":function:{worker}"):
                return inputs
        raise GraphIncomplete(f"the graph has no {EVENT_SOURCE_MAPPING} for {worker}")

    @property
    def batch_size(self) -> int:
        return int(self.worker_trigger().get("batchSize", 10))

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in (self.worker_trigger().get("functionResponseTypes") or [])

    # ------------------------------------------------------------------------- data plane
    def queue(self, name: str) -> QueueView:
        for inputs in self._inputs(QUEUE):
            if inputs.get("name") == name:
                redrive = inputs.get("redrivePolicy")
                policy = json.loads(redrive) if isinstance(redrive, str) and redrive else (redrive or {})
                count = policy.get("maxReceiveCount")
                return QueueView(
                    name=name,
                    visibility_timeout=int(inputs.get("visibilityTimeoutSeconds", 30)),
                    max_receive_count=None if count is None else int(count),
                    attributes=inputs,
                )
        raise GraphIncomplete(f"the graph has no {QUEUE} named {name}")

    def tables(self) -> list[dict[str, Any]]:
        return self._inputs(TABLE)

    def licence_items(self) -> list[dict[str, Any]]:
        """``TableItem`` inputs: ``tableName``, ``hashKey`` and ``item`` (DynamoDB JSON text)."""
        return self._inputs(TABLE_ITEM)

    @property
    def integration_timeout_seconds(self) -> float:
        """The API integration's ``timeoutMilliseconds`` (API Gateway's default and HTTP API maximum: 30 s)."""
        timeouts = [
            float(i["timeoutMilliseconds"]) / 1000 for i in self._inputs(INTEGRATION) if i.get("timeoutMilliseconds")
        ]
        return min(timeouts, default=30.0)

    def routes(self) -> list[Route]:
        keys = [str(inputs["routeKey"]) for inputs in self._inputs(ROUTE) if inputs.get("routeKey")]
        if not keys:
            raise GraphIncomplete(f"the graph has no {ROUTE}")
        return [parse_route_key(key) for key in keys]

    def names(self) -> dict[str, str]:
        """Physical names as the functions see them (bucket, tables, queues) from their variables."""
        env, _ = self.handler_environments()
        wanted = (
            cfg.ENV_BUCKET,
            cfg.ENV_JOBS_TABLE,
            cfg.ENV_LICENCE_TABLE,
            cfg.ENV_IDEMPOTENCY_TABLE,
            cfg.ENV_QUEUE_URL,
        )
        missing = [name for name in wanted if not env.get(name)]
        if missing:
            raise GraphIncomplete(f"the functions' environment lacks {', '.join(missing)}")
        return {name: env[name] for name in (*wanted, cfg.ENV_DLQ_URL) if env.get(name)}


def create_table_request(inputs: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB CreateTable parameters for a ``aws:dynamodb/table:Table``'s inputs."""
    keys = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
    if inputs.get("rangeKey"):
        keys.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
    request: dict[str, Any] = {
        "TableName": inputs["name"],
        "BillingMode": inputs.get("billingMode", "PAY_PER_REQUEST"),
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs.get("attributes", [])
        ],
        "KeySchema": keys,
    }
    indexes = []
    for index in inputs.get("globalSecondaryIndexes") or []:
        if index.get("keySchemas"):  # pulumi-aws 7: [{attributeName, keyType}]
            index_keys = [{"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in index["keySchemas"]]
        else:  # older shape: hashKey / rangeKey
            index_keys = [{"AttributeName": index["hashKey"], "KeyType": "HASH"}]
            if index.get("rangeKey"):
                index_keys.append({"AttributeName": index["rangeKey"], "KeyType": "RANGE"})
        projection: dict[str, Any] = {"ProjectionType": index.get("projectionType", "ALL")}
        if index.get("nonKeyAttributes"):
            projection["NonKeyAttributes"] = index["nonKeyAttributes"]
        indexes.append({"IndexName": index["name"], "KeySchema": index_keys, "Projection": projection})
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = {
            "ReadCapacityUnits": int(inputs.get("readCapacity", 1)),
            "WriteCapacityUnits": int(inputs.get("writeCapacity", 1)),
        }
    return request


def ttl_attribute(inputs: dict[str, Any]) -> str | None:
    ttl = inputs.get("ttl") or {}
    return str(ttl["attributeName"]) if ttl.get("enabled") and ttl.get("attributeName") else None
