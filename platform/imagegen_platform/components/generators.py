"""ImageGenerators: the ``api`` and ``worker`` Lambda functions, their roles, logs and the queue trigger.

Code archive = the ``imagegen_service`` package; third-party packages come from one layer built for
linux arm64 / CPython 3.12. Each function has its own least-privilege role (``access``), its own log
group with retention, and X-Ray tracing. The worker drains the jobs queue with partial batch
responses and a maximum concurrency derived from the model quotas (``capacity``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from imagegen_platform.components import access
from imagegen_platform.components.names import PhysicalNames
from imagegen_platform.packaging import ARCHITECTURE, RUNTIME
from imagegen_service import config as _runtime
from pulumi_aws import cloudwatch, iam, lambda_

API_HANDLER = _runtime.API_HANDLER
WORKER_HANDLER = _runtime.WORKER_HANDLER
API_MEMORY_MB = 1024


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the two functions."""

    role: str  # "api" | "worker"
    handler: str
    timeout_seconds: int
    memory_mb: int
    environment: Mapping[str, pulumi.Input[str]]
    policy: Callable[[access.FunctionGrants], dict[str, Any]]
    secret_arns: tuple[str, ...] = ()
    guardrail_arn: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class ImageGeneratorsArgs:
    names: PhysicalNames
    code: pulumi.Archive
    layer: pulumi.Archive
    log_retention_days: int
    api: FunctionSpec
    worker: FunctionSpec
    # Resolved into each role's policy document:
    model_arns: Sequence[str] | pulumi.Output[list[str]]
    jobs_queue_arn: pulumi.Input[str]
    table_arns: Sequence[pulumi.Input[str]]
    bucket_arn: pulumi.Input[str]
    moderation: bool
    # The worker's trigger:
    batch_size: int
    max_concurrency: int
    permissions_boundary_arn: str | None = None


@dataclass(frozen=True)
class DeployedFunction:
    function: lambda_.Function
    role: iam.Role
    role_policy: iam.RolePolicy
    log_group: cloudwatch.LogGroup


class ImageGenerators(pulumi.ComponentResource):
    api: lambda_.Function
    worker: lambda_.Function
    layer: lambda_.LayerVersion
    event_source_mapping: lambda_.EventSourceMapping

    def __init__(self, name: str, args: ImageGeneratorsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagegen:generators:ImageGenerators", name, None, opts)
        self._name = name
        self._args = args
        self.layer = lambda_.LayerVersion(
            f"{name}-dependencies",
            layer_name=args.names.of("dependencies"),
            description="Third-party packages of imagegen_service (services/requirements-lambda.txt)",
            code=args.layer,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.api_parts = self._function(args.api)
        self.worker_parts = self._function(args.worker)
        self.api = self.api_parts.function
        self.worker = self.worker_parts.function
        self.event_source_mapping = lambda_.EventSourceMapping(
            f"{name}-worker-trigger",
            event_source_arn=args.jobs_queue_arn,
            function_name=self.worker.arn,
            batch_size=args.batch_size,
            # Failed messages alone return to the queue (and reach the DLQ after maxReceiveCount).
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=args.max_concurrency),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.worker_parts.role_policy]),
        )
        self.register_outputs(
            {
                "apiFunctionArn": self.api.arn,
                "workerFunctionArn": self.worker.arn,
                "layerArn": self.layer.arn,
            }
        )

    def _function(self, spec: FunctionSpec) -> DeployedFunction:
        args = self._args
        name = f"{self._name}-{spec.role}"
        function_name = args.names.function(spec.role)
        child = pulumi.ResourceOptions(parent=self)

        log_group = cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        role = iam.Role(
            f"{name}-role",
            name=function_name,
            description=f"Least privilege for the {function_name} function",
            assume_role_policy=json.dumps(access.lambda_trust_policy()),
            permissions_boundary=args.permissions_boundary_arn,
            opts=child,
        )
        document = pulumi.Output.all(
            log_group.arn,
            args.model_arns,
            args.jobs_queue_arn,
            args.bucket_arn,
            spec.guardrail_arn,
            *args.table_arns,
        ).apply(
            lambda values: json.dumps(
                spec.policy(
                    access.FunctionGrants(
                        log_group_arn=values[0],
                        model_arns=values[1],
                        jobs_queue_arn=values[2],
                        bucket_arn=values[3],
                        guardrail_arn=values[4],
                        table_arns=values[5:],
                        secret_arns=spec.secret_arns,
                        moderation=args.moderation,
                    )
                )
            )
        )
        role_policy = iam.RolePolicy(f"{name}-policy", name=f"{function_name}-least-privilege", role=role.id, policy=document, opts=child)  # fmt: skip

        function = lambda_.Function(
            name,
            name=function_name,
            description=f"imagegen {spec.role}",
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=spec.handler,
            code=args.code,
            layers=[self.layer.arn],
            role=role.arn,
            timeout=spec.timeout_seconds,
            memory_size=spec.memory_mb,
            environment=lambda_.FunctionEnvironmentArgs(variables=dict(spec.environment)),
            tracing_config=lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
            # The role's permissions and the log group exist before the first invocation.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, log_group]),
        )
        return DeployedFunction(function=function, role=role, role_policy=role_policy, log_group=log_group)
