"""The HTTP API: CONTRACT.md §3 routes, authorised, throttled, logged, and the only caller of the api function."""

from __future__ import annotations

import json

import pytest
from imagegen_platform import capacity

from tests.unit.program_graph import STACKS, of_type, one, preview_mutated, settings_of

ROUTE = "aws:apigatewayv2/route:Route"
CONTRACT_ROUTES = {
    "POST /v1/images",
    "POST /v1/jobs",
    "GET /v1/jobs/{job_id}",
    "GET /v1/models",
    "GET /v1/images/{image_id}/provenance",
}
EXTRA_ROUTES = {"GET /v1/batches/{batch_id}"}


@pytest.mark.parametrize("stack", STACKS)
def test_contract_routes_need_sigv4_by_default(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    api = one(graph, "aws:apigatewayv2/api:Api")
    assert api["inputs"]["protocolType"] == "HTTP"
    routes = of_type(graph, ROUTE)
    assert {r["inputs"]["routeKey"] for r in routes} == CONTRACT_ROUTES | EXTRA_ROUTES
    integration = one(graph, "aws:apigatewayv2/integration:Integration")
    assert integration["inputs"]["payloadFormatVersion"] == "2.0"
    for route in routes:
        assert route["inputs"]["authorizationType"] == "AWS_IAM"
        assert integration["urn"] in route["property_dependencies"]["target"]
    assert of_type(graph, "aws:apigatewayv2/authorizer:Authorizer") == []
    assert graph["outputs"]["apiUrl"].startswith("https://")


@pytest.mark.parametrize("stack", STACKS)
def test_stage_throttles_and_writes_access_logs(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    stage = one(graph, "aws:apigatewayv2/stage:Stage")
    throttle = capacity.api_throttle(settings_of(stack))
    settings = stage["inputs"]["defaultRouteSettings"]
    assert settings["throttlingRateLimit"] == throttle.rate_per_second
    assert settings["throttlingBurstLimit"] == throttle.burst
    logs = one(graph, "aws:cloudwatch/logGroup:LogGroup", "-access-logs")
    assert stage["property_dependencies"]["accessLogSettings"] == [logs["urn"]]
    assert "requestId" in json.loads(stage["inputs"]["accessLogSettings"]["format"])
    assert logs["inputs"]["retentionInDays"] == settings_of(stack).storage.log_retention_days


@pytest.mark.parametrize("stack", STACKS)
def test_only_this_api_may_invoke_the_api_function(stack_graph, stack: str) -> None:
    graph = stack_graph(stack)
    permission = one(graph, "aws:lambda/permission:Permission")
    api = one(graph, "aws:apigatewayv2/api:Api")
    function = one(graph, "aws:lambda/function:Function", "-api")
    assert permission["inputs"]["principal"] == "apigateway.amazonaws.com"
    assert permission["inputs"]["action"] == "lambda:InvokeFunction"
    assert permission["inputs"]["function"] == function["inputs"]["name"]
    assert permission["property_dependencies"]["sourceArn"] == [api["urn"]]
    assert permission["inputs"]["sourceArn"].startswith("arn:aws:execute-api:")
    assert permission["inputs"]["sourceArn"].endswith("/*/*/v1/*")


def test_jwt_auth_puts_a_jwt_authoriser_on_every_route(tmp_path) -> None:
    def use_jwt(settings: dict) -> None:
        settings["api"] = {"auth": "jwt", "jwt_issuer": "https://auth.example.com/", "jwt_audience": ["imagegen"]}

    graph = preview_mutated(tmp_path, use_jwt)
    authorizer = one(graph, "aws:apigatewayv2/authorizer:Authorizer")
    assert authorizer["inputs"]["authorizerType"] == "JWT"
    assert authorizer["inputs"]["jwtConfiguration"] == {
        "issuer": "https://auth.example.com/",
        "audiences": ["imagegen"],
    }
    for route in of_type(graph, ROUTE):
        assert route["inputs"]["authorizationType"] == "JWT"
        assert route["property_dependencies"]["authorizerId"] == [authorizer["urn"]]
