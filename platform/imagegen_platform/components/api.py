"""HttpApi: the public HTTP API of CONTRACT.md §3 in front of the ``api`` function.

Every route needs authorisation: SigV4 (AWS_IAM) by default, a JWT authoriser when the stack says
so. The stage throttles the default route (capacity from the model quotas) and writes access logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
from imagegen_platform.components.names import PhysicalNames
from pulumi_aws import apigatewayv2, cloudwatch, lambda_

ROUTES = (
    "POST /v1/images",
    "POST /v1/jobs",
    "GET /v1/jobs/{job_id}",
    "GET /v1/models",
    "GET /v1/batches/{batch_id}",  # beyond the contract: a batch's jobs (the api handler serves it)
    "GET /v1/images/{image_id}/provenance",
)
"""CONTRACT.md §3, plus the batch listing."""
STAGE = "$default"
MAX_INTEGRATION_MS = 30_000
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "caller": "$context.identity.caller",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    }
)


@dataclass(frozen=True)
class HttpApiArgs:
    names: PhysicalNames
    function_arn: pulumi.Input[str]
    function_name: pulumi.Input[str]
    auth: str  # "iam" | "jwt"
    jwt_issuer: str | None
    jwt_audience: tuple[str, ...]
    throttle_rate_per_second: float
    throttle_burst: int
    sync_timeout_seconds: int
    log_retention_days: int


class HttpApi(pulumi.ComponentResource):
    api: apigatewayv2.Api
    stage: apigatewayv2.Stage
    url: pulumi.Output[str]

    def __init__(self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagegen:api:HttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        api_name = args.names.of("api")

        self.api = apigatewayv2.Api(
            f"{name}-api",
            name=api_name,
            protocol_type="HTTP",
            description="imagegen HTTP API (CONTRACT.md §3)",
            opts=child,
        )
        self.integration = apigatewayv2.Integration(
            f"{name}-lambda",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=args.function_arn,
            integration_method="POST",
            payload_format_version="2.0",
            timeout_milliseconds=min(MAX_INTEGRATION_MS, (args.sync_timeout_seconds + 1) * 1000),
            opts=child,
        )
        self.authorizer: apigatewayv2.Authorizer | None = None
        if args.auth == "jwt":
            self.authorizer = apigatewayv2.Authorizer(
                f"{name}-jwt",
                api_id=self.api.id,
                name=args.names.of("jwt"),
                authorizer_type="JWT",
                identity_sources=["$request.header.Authorization"],
                jwt_configuration=apigatewayv2.AuthorizerJwtConfigurationArgs(
                    issuer=args.jwt_issuer, audiences=list(args.jwt_audience)
                ),
                opts=child,
            )
        self.routes = [self._route(name, key) for key in ROUTES]

        self.access_logs = cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/aws/apigateway/{api_name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.stage = apigatewayv2.Stage(
            f"{name}-stage",
            api_id=self.api.id,
            name=STAGE,
            auto_deploy=True,
            default_route_settings=apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=args.throttle_rate_per_second,
                throttling_burst_limit=args.throttle_burst,
                detailed_metrics_enabled=True,
            ),
            access_log_settings=apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.routes),
        )
        # Only this API's /v1 routes may invoke the function (any stage, any method).
        self.permission = lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=args.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(self.api.execution_arn, "/*/*/v1/*"),
            opts=child,
        )
        self.url = self.api.api_endpoint
        self.register_outputs({"apiUrl": self.url, "apiId": self.api.id})

    def _route(self, name: str, route_key: str) -> apigatewayv2.Route:
        method, path = route_key.split(" ", 1)
        slug = path.strip("/").replace("/", "-").replace("{", "").replace("}", "")
        jwt = self.authorizer is not None
        return apigatewayv2.Route(
            f"{name}-{method.lower()}-{slug}",
            api_id=self.api.id,
            route_key=route_key,
            target=pulumi.Output.concat("integrations/", self.integration.id),
            authorization_type="JWT" if jwt else "AWS_IAM",
            authorizer_id=self.authorizer.id if self.authorizer is not None else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
