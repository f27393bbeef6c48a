"""HTTP ↔ API Gateway payload 2.0 translation of the local gateway."""

from __future__ import annotations

import base64
import json

import pytest
from imagegen_local.apigw import build_event, find_route, parse_response, parse_route_key

ROUTES = [parse_route_key(k) for k in ("POST /v1/images", "POST /v1/jobs", "GET /v1/jobs/{job_id}", "GET /v1/models")]


def test_routes_match_literal_paths_and_path_parameters() -> None:
    route, params = find_route(ROUTES, "GET", "/v1/jobs/j-123") or (None, None)
    assert route is not None and route.key == "GET /v1/jobs/{job_id}"
    assert params == {"job_id": "j-123"}
    route, params = find_route(ROUTES, "POST", "/v1/jobs") or (None, None)
    assert route is not None and route.key == "POST /v1/jobs" and params == {}
    # a parameter never spans a slash, and the method must match
    assert find_route(ROUTES, "GET", "/v1/jobs/a/b") is None
    assert find_route(ROUTES, "DELETE", "/v1/jobs/x") is None


def test_greedy_parameters_and_bad_route_keys() -> None:
    route = parse_route_key("GET /files/{path+}")
    assert route.match("GET", "/files/a/b.png") == {"path": "a/b.png"}
    with pytest.raises(ValueError, match="METHOD /path"):
        parse_route_key("GET files")


def test_event_has_what_api_gateway_sends() -> None:
    # GIVEN a POST with mixed-case and repeated headers, a query and a JSON body
    route, params = find_route(ROUTES, "GET", "/v1/jobs/j%2F1") or (None, None)
    assert route is not None and params is not None
    event = build_event(
        method="GET",
        target="/v1/jobs/j%2F1?verbose=1&x=a&x=b",
        headers=[("Content-Type", "application/json"), ("X-Tag", "a"), ("X-Tag", "b"), ("Cookie", "c1=1; c2=2")],
        body=b'{"a": 1}',
        route=route,
        path_parameters=params,
        domain="127.0.0.1:8080",
    )
    # THEN it is a payload-2.0 event
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /v1/jobs/{job_id}" == event["requestContext"]["routeKey"]
    assert event["rawPath"] == "/v1/jobs/j%2F1"
    assert event["rawQueryString"] == "verbose=1&x=a&x=b"
    assert event["queryStringParameters"] == {"verbose": "1", "x": "a,b"}
    assert event["pathParameters"] == {"job_id": "j/1"}
    assert event["headers"] == {"content-type": "application/json", "x-tag": "a,b"}
    assert event["cookies"] == ["c1=1", "c2=2"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["stage"] == "$default"
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False


def test_binary_bodies_are_base64_and_empty_bodies_absent() -> None:
    route = ROUTES[0]
    binary = build_event(
        method="POST", target="/v1/images", headers=[], body=b"\xff\x00", route=route, path_parameters={}, domain="d"
    )
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\xff\x00"
    empty = build_event(
        method="POST", target="/v1/images", headers=[], body=b"", route=route, path_parameters={}, domain="d"
    )
    assert "body" not in empty and "pathParameters" not in empty


def test_proxy_responses_become_http_answers() -> None:
    answer = parse_response({"statusCode": 422, "headers": {"Content-Type": "application/json"}, "body": '{"e":1}'})
    assert (answer.status, answer.headers["content-type"], answer.body) == (422, "application/json", b'{"e":1}')
    png = parse_response({"statusCode": 200, "body": base64.b64encode(b"PNG").decode(), "isBase64Encoded": True})
    assert png.body == b"PNG"
    # format 2.0: anything without statusCode is a 200 JSON answer
    inferred = parse_response({"models": []})
    assert inferred.status == 200 and json.loads(inferred.body) == {"models": []}
