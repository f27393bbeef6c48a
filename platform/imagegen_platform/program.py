"""The Pulumi program: settings → one provider → one component per concern → stack outputs.

``main()`` is what ``pulumi up`` runs (platform/__main__.py) and what ``imagegen preview`` runs under
the SDK's mocks. Settings are read once and validated before any resource is declared.
"""

from __future__ import annotations

import pulumi

from imagegen_platform import capacity
from imagegen_platform.components import access
from imagegen_platform.components.api import STAGE, HttpApi, HttpApiArgs
from imagegen_platform.components.cost_guard import CostGuard, CostGuardArgs, ThrottleWatch
from imagegen_platform.components.delivery import ImageDelivery, ImageDeliveryArgs
from imagegen_platform.components.generators import (
    API_HANDLER,
    API_MEMORY_MB,
    WORKER_HANDLER,
    FunctionSpec,
    ImageGenerators,
    ImageGeneratorsArgs,
)
from imagegen_platform.components.licensing import LicenceRecords, LicenceRecordsArgs
from imagegen_platform.components.metadata import MetadataTables, MetadataTablesArgs
from imagegen_platform.components.moderation import ContentModeration, ContentModerationArgs
from imagegen_platform.components.names import PhysicalNames
from imagegen_platform.components.queue import JobQueue, JobQueueArgs
from imagegen_platform.components.quotas import ModelQuotas, ModelQuotasArgs, QuotaRequest
from imagegen_platform.components.storage import ImageStore, ImageStoreArgs
from imagegen_platform.environment import RuntimeRefs, function_environment
from imagegen_platform.packaging import code_archive, layer_archive
from imagegen_platform.settings import PROJECT, REGION_KEY, SETTINGS_KEY, StackSettings, settings_from_config

METRICS_NAMESPACE = access.METRICS_NAMESPACE


def read_settings() -> StackSettings:
    """The stack's settings, validated (``SettingsInvalid`` names every bad field)."""
    config: dict[str, object] = {SETTINGS_KEY: pulumi.Config(PROJECT).require_object("settings")}
    region = pulumi.Config("aws").get("region")
    if region is not None:  # else the settings' own region (validated either way)
        config[REGION_KEY] = region
    from imagegen_platform import constraints

    source = f"stack {pulumi.get_stack()}"
    settings = settings_from_config(config, source=source)
    constraints.check_settings(settings, pulumi.get_stack(), source=source)
    return settings


def stack_tags(settings: StackSettings, stack: str) -> dict[str, str]:
    tags = {**settings.tags, "project": PROJECT, "stack": stack, "environment": settings.environment}
    if settings.customer is not None:
        tags |= {
            "customer": settings.customer.name,
            "partner": settings.customer.partner,
            "cost-centre": settings.customer.cost_centre,
        }
    return tags


def aws_provider(settings: StackSettings, stack: str) -> pulumi.ProviderResource:
    """Every resource goes through this provider: uniform tags, and for customers the assumed role."""
    from pulumi_aws._inputs import ProviderAssumeRoleArgs, ProviderDefaultTagsArgs
    from pulumi_aws.provider import Provider

    customer = settings.customer
    return Provider(
        f"{settings.name_prefix}-{stack}",
        region=settings.region,
        default_tags=ProviderDefaultTagsArgs(tags=stack_tags(settings, stack)),
        # A customer stack can only ever touch the customer's account, through the role they granted.
        # Any stack whose settings name an account only ever touches that account: a stack file
        # whose ARNs name one account cannot be applied with credentials of another.
        allowed_account_ids=[settings.account_id] if settings.account_id else None,
        assume_roles=[
            ProviderAssumeRoleArgs(
                role_arn=customer.deploy_role_arn,
                external_id=customer.external_id,
                session_name=customer.session_name,
            )
        ]
        if customer
        else None,
    )


def account_id(settings: StackSettings, provider: pulumi.ProviderResource) -> pulumi.Output[str]:
    if settings.customer is not None:
        return pulumi.Output.from_input(settings.customer.account_id)
    from pulumi_aws.get_caller_identity import get_caller_identity_output

    return get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id


def quota_requests(settings: StackSettings) -> tuple[QuotaRequest, ...]:
    requests = []
    for enabled in settings.models:
        code = enabled.effective_quota_code
        if enabled.quota_request_rpm is not None and code is not None:  # settings refuse a request without a code
            requests.append(
                QuotaRequest(
                    model_key=enabled.model,
                    service_code=enabled.spec.quota.service_code,
                    quota_code=code,
                    region=settings.model_region(enabled),
                    rpm=enabled.quota_request_rpm,
                )
            )
    return tuple(requests)


def main() -> None:
    settings = read_settings()
    stack = pulumi.get_stack()
    names = PhysicalNames(settings.name_prefix, stack)
    provider = aws_provider(settings, stack)
    within = pulumi.ResourceOptions(providers=[provider])
    account = account_id(settings, provider)

    tables = MetadataTables("metadata", MetadataTablesArgs(names=names, deletion_protection=settings.is_production), within)  # fmt: skip
    store = ImageStore(
        "image-store",
        ImageStoreArgs(
            names=names,
            draft_expiry_days=settings.storage.draft_expiry_days,
            quarantine_expiry_days=settings.storage.quarantine_expiry_days,
            inputs_expiry_days=settings.storage.inputs_expiry_days,
            force_destroy=settings.environment in ("local", "dev"),
        ),
        within,
    )
    delivery = ImageDelivery(
        "delivery",
        ImageDeliveryArgs(
            names=names,
            bucket_regional_domain_name=store.regional_domain_name,
            price_class=settings.delivery.price_class,
            signed_urls=settings.delivery.signed_urls,
            public_key_pem=settings.delivery.public_key_pem,
            domain_name=settings.delivery.domain_name,
            certificate_arn=settings.delivery.certificate_arn,
            hosted_zone_id=settings.delivery.hosted_zone_id,
        ),
        within,
    )
    store.serve_through(delivery.distribution_arn)
    queue = JobQueue(
        "job-queue",
        JobQueueArgs(
            names=names,
            region=settings.region,
            account_id=account,
            worker_timeout_seconds=settings.worker.timeout_seconds,
            max_receive_count=settings.worker.max_receive_count,
        ),
        within,
    )
    moderation = (
        ContentModeration(
            "moderation", ContentModerationArgs(names=names, guardrail=settings.moderation.guardrail), within
        )
        if settings.moderation.enabled
        else None
    )
    LicenceRecords(
        "licences",
        LicenceRecordsArgs(stack=stack, models=tuple(settings.models), table_name=tables.licences.name),
        within,
    )

    refs = RuntimeRefs(
        bucket=store.bucket_name,
        jobs_table=tables.jobs.name,
        licence_table=tables.licences.name,
        idempotency_table=tables.idempotency.name,
        queue_url=queue.queue.url,
        dlq_url=queue.dead_letter_queue.url,
        cdn_domain=delivery.domain_name,
        signing_key_id=delivery.signing_key_id,
        guardrail_id=moderation.guardrail.guardrail_id if moderation else None,
        guardrail_version=moderation.version.version if moderation else None,
    )
    c2pa_secrets = tuple(arn for arn in [settings.provenance.signing_secret_arn] if arn)
    signing_secrets = tuple(arn for arn in [settings.delivery.private_key_secret_arn] if arn)
    generators = ImageGenerators(
        "generators",
        ImageGeneratorsArgs(
            names=names,
            code=code_archive(),
            layer=layer_archive(),
            log_retention_days=settings.storage.log_retention_days,
            api=FunctionSpec(
                role="api",
                handler=API_HANDLER,
                timeout_seconds=settings.api.sync_timeout_seconds,
                memory_mb=API_MEMORY_MB,
                environment=function_environment(settings, stack, refs, "api"),
                policy=access.api_policy,
                # Sync generation (POST /v1/images) signs provenance and URLs in the api function.
                secret_arns=c2pa_secrets + signing_secrets,
                guardrail_arn=moderation.guardrail.guardrail_arn if moderation else None,
            ),
            worker=FunctionSpec(
                role="worker",
                handler=WORKER_HANDLER,
                timeout_seconds=settings.worker.timeout_seconds,
                memory_mb=settings.worker.memory_mb,
                environment=function_environment(settings, stack, refs, "worker"),
                policy=access.worker_policy,
                secret_arns=c2pa_secrets,
            ),
            model_arns=account.apply(lambda a: access.model_arns(settings, a)),
            jobs_queue_arn=queue.queue.arn,
            table_arns=[table.arn for table in tables.tables],
            bucket_arn=store.bucket_arn,
            moderation=settings.moderation.enabled,
            batch_size=capacity.worker_batch_size(settings),
            max_concurrency=capacity.worker_max_concurrency(settings),
            permissions_boundary_arn=settings.iam.permissions_boundary_arn,
        ),
        within,
    )
    throttle = capacity.api_throttle(settings)
    api = HttpApi(
        "http-api",
        HttpApiArgs(
            names=names,
            function_arn=generators.api.arn,
            function_name=generators.api.name,
            auth=settings.api.auth,
            jwt_issuer=settings.api.jwt_issuer,
            jwt_audience=tuple(settings.api.jwt_audience),
            throttle_rate_per_second=throttle.rate_per_second,
            throttle_burst=throttle.burst,
            sync_timeout_seconds=settings.api.sync_timeout_seconds,
            log_retention_days=settings.storage.log_retention_days,
        ),
        within,
    )
    cost_guard = CostGuard(
        "cost-guard",
        CostGuardArgs(
            names=names,
            account_id=account,
            monthly_usd=settings.budget.monthly_usd,
            emails=tuple(settings.budget.emails),
            actual_thresholds_pct=tuple(settings.budget.actual_thresholds_pct),
            forecast_thresholds_pct=tuple(settings.budget.forecast_thresholds_pct),
            dead_letter_queue_name=queue.dead_letter_queue.name,
            worker_function_name=generators.worker.name,
            api_id=api.api.id,
            api_stage=STAGE,
            throttle_watches=tuple(
                ThrottleWatch(model_key=m.model, model_id=m.spec.model_id, region=settings.model_region(m))
                for m in settings.models
            ),
            region=settings.region,
        ),
        within,
    )
    ModelQuotas("quotas", ModelQuotasArgs(requests=quota_requests(settings)), within)

    pulumi.export("apiUrl", api.url)
    pulumi.export("cdnDomain", delivery.domain_name)
    pulumi.export("bucketName", store.bucket_name)
    pulumi.export("jobsTable", tables.jobs.name)
    pulumi.export("licenceTable", tables.licences.name)
    pulumi.export("idempotencyTable", tables.idempotency.name)
    pulumi.export("queueUrl", queue.queue.url)
    pulumi.export("dlqUrl", queue.dead_letter_queue.url)
    pulumi.export("guardrailId", moderation.guardrail.guardrail_id if moderation else "")
    pulumi.export("guardrailVersion", moderation.version.version if moderation else "")
    pulumi.export("signingKeyId", delivery.signing_key_id)
    pulumi.export("alertsTopicArn", cost_guard.topic.arn)
    pulumi.export("workerMaxConcurrency", capacity.worker_max_concurrency(settings))
