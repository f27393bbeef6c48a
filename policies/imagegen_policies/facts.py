"""Reading the stack's resources as the engine hands them to a policy.

Props arrive wrapped in ``pulumi_policy``'s unknown-checking proxy (Mappings and Sequences, not
dicts and lists); reading a value unknown during preview raises ``UnknownValueError`` and the pack
reports "can't run policy during preview" instead of a pass. Helpers here therefore read lazily and
never swallow that error. JSON documents (IAM policies, redrive policies, DynamoDB items) arrive as
strings and are parsed here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imagegen_service import catalogue
from imagegen_service import config as _runtime
from imagegen_service import config as env

from imagegen_policies import registry as t

API_HANDLER = _runtime.API_HANDLER
WORKER_HANDLER = _runtime.WORKER_HANDLER
LICENCE_TABLE_SUFFIX = "-licences"
INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


def short_type(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def where(resource: Any, prop: str) -> str:
    """How a message names the cause: ``<name> (<Type>) <property>``."""
    return f"{resource.name} ({short_type(resource.resource_type)}) {prop}"


def of_type(resources: Iterable[Any], resource_type: str) -> list[Any]:
    return [r for r in resources if r.resource_type == resource_type]


def of_types(resources: Iterable[Any], resource_types: Sequence[str]) -> list[Any]:
    """Resources of any of ``resource_types`` (a type and its aliases: Bucket and BucketV2 are one AWS bucket)."""
    return [r for r in resources if r.resource_type in resource_types]


def depends_on(resource: Any, prop: str, target: Any) -> bool:
    return any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, []))


def as_list(value: Any) -> list[Any]:
    """IAM's ``"x"`` or ``["x", ...]`` as a list."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def parse_json(value: Any) -> Any:
    """A JSON document given as a string (the provider's input type) or already as an object."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == env.TRUE)


# --------------------------------------------------------------------------- functions


def env_vars(function: Any) -> Mapping[str, Any]:
    environment = function.props.get("environment") or {}
    return environment.get("variables") or {}


def _is_role(function: Any, handler: str, suffix: str) -> bool:
    props = function.props
    name = props.get("name")
    return props.get("handler") == handler or (isinstance(name, str) and name.endswith(suffix))


def is_api(function: Any) -> bool:
    return function.resource_type == t.FUNCTION and _is_role(function, API_HANDLER, "-api")


def is_worker(function: Any) -> bool:
    return function.resource_type == t.FUNCTION and _is_role(function, WORKER_HANDLER, "-worker")


def api_functions(resources: Iterable[Any]) -> list[Any]:
    return [r for r in resources if is_api(r)]


def worker_functions(resources: Iterable[Any]) -> list[Any]:
    return [r for r in resources if is_worker(r)]


def moderating_functions(resources: Iterable[Any]) -> list[Any]:
    """Functions that perform moderation: the api screens prompts and input images, the worker outputs."""
    return [r for r in resources if is_api(r) or is_worker(r)]


def stack_flag(resources: Sequence[Any], name: str, default: bool) -> bool:
    """A stack-wide flag (commercial, user content) as the api function is told it."""
    for function in api_functions(resources):
        value = env_vars(function).get(name)
        if value is not None:
            return truthy(value)
    return default


# --------------------------------------------------------------------------- IAM


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    principal: Any
    condition: Mapping[str, Any]
    index: int


def statements(document: Any) -> list[Statement]:
    doc = parse_json(document)
    if not isinstance(doc, Mapping):
        return []
    out = []
    for index, raw in enumerate(as_list(doc.get("Statement"))):
        if not isinstance(raw, Mapping):
            continue
        out.append(
            Statement(
                effect=str(raw.get("Effect", "")),
                actions=tuple(str(a) for a in as_list(raw.get("Action"))),
                not_actions=tuple(str(a) for a in as_list(raw.get("NotAction"))),
                resources=tuple(str(r) for r in as_list(raw.get("Resource"))),
                principal=raw.get("Principal"),
                condition=raw.get("Condition") or {},
                index=index,
            )
        )
    return out


def action_matches(granted: str, action: str) -> bool:
    """IAM action matching, case-insensitive, with ``*``/``?`` wildcards."""
    import fnmatch

    return fnmatch.fnmatchcase(action.lower(), granted.lower())


def allows(statement: Statement, action: str) -> bool:
    """The statement allows ``action``, by meaning: patterns and ``NotAction`` expanded with AWS's catalogue."""
    from imagegen_policies import iam

    if statement.effect != "Allow":
        return False
    if action.lower() in iam.catalogue():
        return action.lower() in iam.granted(statement.actions, statement.not_actions)
    # An action the catalogue does not know yet: match the spelling (NotAction then allows it).
    if statement.not_actions:
        return not any(action_matches(a, action) for a in statement.not_actions)
    return any(action_matches(a, action) for a in statement.actions)


def policy_documents(resource: Any) -> Iterator[tuple[str, Any]]:
    """(property path, document) for every IAM document a resource carries, inline forms included."""
    if resource.resource_type in (t.ROLE_POLICY, t.IAM_POLICY, t.BUCKET_POLICY, t.QUEUE_POLICY):
        yield "policy", resource.props.get("policy")
    elif resource.resource_type in (*t.BUCKETS, t.QUEUE):
        if resource.props.get("policy"):  # Bucket.policy / BucketV2.policy / Queue.policy: inline side doors
            yield "policy", resource.props.get("policy")
    elif resource.resource_type == t.ROLE:
        for index, inline in enumerate(resource.props.get("inlinePolicies") or []):
            yield f"inlinePolicies[{index}].policy", inline.get("policy")


def stack_accounts(resources: Iterable[Any]) -> set[str]:
    """The account this stack deploys into, as its own functions' role ARNs name it."""
    from imagegen_policies.iam import account_of

    accounts = set()
    for function in of_types(resources, (t.FUNCTION,)):
        role = function.props.get("role")
        if isinstance(role, str) and (account := account_of(role)):
            accounts.add(account)
    return accounts


def role_of_function(function: Any) -> list[Any]:
    return list(function.property_dependencies.get("role", []))


def role_policies_of(resources: Iterable[Any], roles: Sequence[Any]) -> list[Any]:
    """RolePolicies attached to any of ``roles`` (joined through the ``role`` input's dependency)."""
    urns = {role.urn for role in roles}
    return [
        r
        for r in resources
        if r.resource_type == t.ROLE_POLICY and any(dep.urn in urns for dep in r.property_dependencies.get("role", []))
    ]


def function_statements(resources: Sequence[Any], function: Any) -> list[tuple[Any, Statement]]:
    """Every statement of the function's role: its RolePolicies and the role's inline policies."""
    roles = role_of_function(function)
    found: list[tuple[Any, Statement]] = []
    for holder in [*roles, *role_policies_of(resources, roles)]:
        for _prop, document in policy_documents(holder):
            found.extend((holder, s) for s in statements(document))
    return found


# --------------------------------------------------------------------------- queues


def dead_letter_queues(resources: Sequence[Any]) -> list[Any]:
    """This stack's DLQs: queues another queue's redrive policy (inline or RedrivePolicy) sends to.

    A ``redriveAllowPolicy`` alone says who *may* redrive into a queue, not that anything does: it
    does not make a queue a DLQ (a queue given one would otherwise escape the DLQ rule).
    """
    sources: list[tuple[set[str], set[str], set[str]]] = []  # (source queue urns, target urns, target names)
    for holder in of_types(resources, (t.QUEUE, t.REDRIVE)):
        source = {holder.urn} | {d.urn for d in holder.property_dependencies.get("queueUrl", [])}
        target_urns = {dep.urn for dep in holder.property_dependencies.get("redrivePolicy", [])}
        redrive = parse_json(holder.props.get("redrivePolicy"))
        target_names = set()
        if isinstance(redrive, Mapping) and isinstance(redrive.get("deadLetterTargetArn"), str):
            target_names.add(redrive["deadLetterTargetArn"].rsplit(":", 1)[-1])
        sources.append((source, target_urns, target_names))
    return [
        q
        for q in of_type(resources, t.QUEUE)
        if any(
            q.urn not in source and (q.urn in urns or q.props.get("name") in names) for source, urns, names in sources
        )
    ]


# --------------------------------------------------------------------------- buckets: one view per bucket


def bucket_name(bucket: Any) -> str | None:
    name = bucket.props.get("bucket")
    return name if isinstance(name, str) else None


def attached(resources: Iterable[Any], resource_types: Sequence[str], bucket: Any) -> list[Any]:
    """Side resources of ``bucket``: their ``bucket`` input depends on it, or names it literally."""
    name = bucket_name(bucket)
    return [
        r
        for r in of_types(resources, resource_types)
        if depends_on(r, "bucket", bucket) or (name is not None and r.props.get("bucket") == name)
    ]


def inline_sse_algorithms(bucket: Any) -> list[Any] | None:
    """Algorithms of the bucket's inline encryption (Bucket v7 object, BucketV2 list form); None if not set."""
    props = bucket.props
    single = props.get("serverSideEncryptionConfiguration")
    if single:
        rule = single.get("rule") or {}
        return [(rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")]
    configs = props.get("serverSideEncryptionConfigurations")
    if configs:
        return [
            default.get("sseAlgorithm")
            for config in configs
            for rule in config.get("rules") or []
            for default in rule.get("applyServerSideEncryptionByDefaults") or []
        ]
    return None


def inline_versioning(bucket: Any) -> bool | None:
    """The bucket's inline versioning flag (Bucket.versioning / BucketV2.versionings); None if not set."""
    single = bucket.props.get("versioning")
    if single:
        return single.get("enabled") is True
    many = bucket.props.get("versionings")
    if many:
        return all(v.get("enabled") is True for v in many)
    return None


def bucket_policies(resources: Sequence[Any], bucket: Any) -> list[tuple[Any, Any]]:
    """(holder, document) of every policy on the bucket: BucketPolicy resources and the inline ``policy``."""
    found = [(p, p.props.get("policy")) for p in attached(resources, (t.BUCKET_POLICY,), bucket)]
    if bucket.props.get("policy"):
        found.append((bucket, bucket.props.get("policy")))
    return found


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class InvokedModel:
    """A model a role may invoke, as named by one ARN of one policy."""

    arn: str
    model_id: str
    spec: catalogue.ModelSpec | None
    holder: Any  # the RolePolicy/Role/Policy resource granting it


def model_id_of_arn(arn: str) -> str | None:
    """``arn:aws:bedrock:<region>:<acct>:(foundation-model|inference-profile)/<id>`` → ``<id>``."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "bedrock":
        return None
    kind, _, model_id = parts[5].partition("/")
    if kind not in ("foundation-model", "inference-profile") or not model_id:
        return None
    return model_id


def invoked_by(holder: Any) -> list[InvokedModel]:
    found = []
    for _prop, document in policy_documents(holder):
        for statement in statements(document):
            if not any(allows(statement, action) for action in INVOKE_ACTIONS):
                continue
            for arn in statement.resources:
                model_id = model_id_of_arn(arn)
                if model_id is None or "*" in model_id:
                    continue  # unscoped grants are iam-bedrock-invoke-scoped's to judge
                try:
                    spec: catalogue.ModelSpec | None = catalogue.lookup(model_id)
                except catalogue.UnknownModel:
                    spec = None
                found.append(InvokedModel(arn, model_id, spec, holder))
    return found


def invoked_models(resources: Iterable[Any]) -> list[InvokedModel]:
    found: list[InvokedModel] = []
    for resource in resources:
        if resource.resource_type in (t.ROLE_POLICY, t.ROLE, t.IAM_POLICY):
            found.extend(invoked_by(resource))
    return found


def distinct_specs(models: Iterable[InvokedModel]) -> dict[str, tuple[catalogue.ModelSpec, InvokedModel]]:
    """One entry per catalogue model (a profile and its foundation-model ARNs are the same model)."""
    out: dict[str, tuple[catalogue.ModelSpec, InvokedModel]] = {}
    for model in models:
        if model.spec is not None:
            out.setdefault(model.spec.key, (model.spec, model))
    return out


# --------------------------------------------------------------------------- licence records


def dynamodb_value(attribute: Any) -> Any:
    """``{"S": "x"}`` → ``"x"``; ``{"BOOL": true}`` → ``True``; ``{"N": "3"}`` → ``3.0``."""
    if not isinstance(attribute, Mapping) or len(attribute) != 1:
        return None
    (kind, value), *_ = attribute.items()
    if kind == "N":
        return float(value)
    return value


@dataclass(frozen=True)
class LicenceItem:
    resource: Any
    attributes: Mapping[str, Any]

    def get(self, name: str) -> Any:
        return self.attributes.get(name)


def _in_licence_table(item: Any) -> bool:
    name = item.props.get("tableName")
    if isinstance(name, str) and name.endswith(LICENCE_TABLE_SUFFIX):
        return True
    return any(
        isinstance(dep.props.get("name"), str) and dep.props.get("name").endswith(LICENCE_TABLE_SUFFIX)
        for dep in item.property_dependencies.get("tableName", [])
    )


def licence_items(resources: Iterable[Any]) -> list[LicenceItem]:
    items = []
    for resource in of_type(resources, t.TABLE_ITEM):
        if not _in_licence_table(resource):
            continue
        raw = parse_json(resource.props.get("item"))
        attributes = {k: dynamodb_value(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        items.append(LicenceItem(resource, attributes))
    return items


def licence_for(spec: catalogue.ModelSpec, items: Iterable[LicenceItem]) -> LicenceItem | None:
    for item in items:
        if item.get("model_id") == spec.model_id or item.get("model_key") == spec.key:
            return item
    return None
