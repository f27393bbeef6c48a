"""An independent baseline: checkov over a Terraform-plan export of the same preview graph.

The pack is our own reading of the graph; checkov is a third party's. ``plan(graph)`` writes the
preview (CONTRACT.md §2 ``imagegen preview --json``) as Terraform's ``terraform show -json`` plan
format (format 1.2): pulumi-aws types as the Terraform resource types they wrap, inputs under the
Terraform attribute names (snake_case, repeated blocks singular, one-item blocks as one-element
lists, maps as objects; map or block as pulumi-aws's own input types declare, ``Schema``), values with other resources' outputs already resolved by the mocks, and
the references between resources (the graph's property dependencies) in ``configuration`` as
``terraform show -json`` writes them, so checkov's connection checks (a bucket and its public access
block, a queue and its policy …) see the same joins the program made.

checkov runs from its own virtualenv (``.venv-checkov``, created by ``make setup``: its pins
conflict with the project's) as a subprocess, offline (``--skip-download``), one run per stack.
Findings are waived in ``policies/config/scanner.yaml`` (each with its reason) or fixed in the
program (listed there under ``fixed:`` and re-checked to pass): ``scan`` sorts every failed check
into waived or unwaived and ``tests/policy/test_baseline.py`` fails on an unwaived one.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from imagegen_service.errors import ImagegenError

ROOT = Path(__file__).resolve().parents[2]
CHECKOV_VENV = Path(os.environ.get("IMAGEGEN_CHECKOV_VENV", ROOT / ".venv-checkov"))
SCANNER_CONFIG = Path(__file__).resolve().parents[1] / "config" / "scanner.yaml"
PROVIDER = "registry.terraform.io/hashicorp/aws"
TERRAFORM_VERSION = "1.9.8"
"""Only a label: checkov reads the plan's structure, not the version that wrote it."""
RUN_TIMEOUT_S = 300


class ScannerError(ImagegenError):
    status = 500
    code = "ScannerError"


# --------------------------------------------------------------------------- types and names

TYPE_EXCEPTIONS = {
    # pulumi-aws token → Terraform type where the token is not "aws_<module>_<snake member>".
    # Source: each resource's page in the Pulumi registry ("This resource wraps aws_…" / its import section)
    # and the Terraform AWS provider's resource list.
    "aws:sqs/redrivePolicy:RedrivePolicy": "aws_sqs_queue_redrive_policy",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": "aws_sqs_queue_redrive_allow_policy",
    "aws:s3/bucketV2:BucketV2": "aws_s3_bucket",
}
"""``*V2`` S3 aliases (pulumi-aws 6) wrap the same Terraform resources as their v7 names."""

ATTRIBUTE_RENAMES: Mapping[str, Mapping[str, str]] = {
    # Pulumi input name → Terraform attribute, where the bridge renamed it (pulumi-aws resource docs).
    "aws_lambda_function": {"name": "function_name"},
    "aws_lambda_permission": {"function": "function_name"},
    "aws_cloudwatch_metric_alarm": {"name": "alarm_name"},
}

MAP_ATTRIBUTES = frozenset({"tags", "tagsAll", "variables", "defaultTags"})
"""Fallback only, for an input whose type pulumi-aws does not declare (``Schema``): these are maps."""

PLURAL_BLOCKS = {"routeSettings": "route_settings"}
"""List-of-object inputs whose Terraform block name is already plural (Pulumi did not pluralise)."""


def terraform_type(pulumi_type: str) -> str | None:
    """``aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock`` → ``aws_s3_bucket_public_access_block``."""
    if pulumi_type in TYPE_EXCEPTIONS:
        return TYPE_EXCEPTIONS[pulumi_type]
    parts = pulumi_type.split(":")
    if len(parts) != 3 or parts[0] != "aws" or "/" not in parts[1]:
        return None  # providers, components, other packages
    module, member = parts[1].split("/", 1)
    module = module.rstrip("_")  # lambda_ → lambda (Python's keyword escape is not in the token, but be safe)
    return f"aws_{module}_{snake(member)}"


def snake(name: str) -> str:
    """camelCase → snake_case (``kmsMasterKeyId`` → ``kms_master_key_id``, ``apiGatewayV2`` stays whole)."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return name.lower()


def singular(word: str) -> str:
    """The inverse of the bridge's pluralisation of repeated blocks, on the last camelCase word."""
    if word in PLURAL_BLOCKS:
        return PLURAL_BLOCKS[word]
    for suffix, replacement in (("ies", "y"), ("xes", "x"), ("sses", "ss"), ("s", "")):
        if word.endswith(suffix) and not word.endswith("ss"):
            return snake(word[: -len(suffix)] + replacement)
    return snake(word)


def attribute_name(tf_type: str, key: str, value: Any) -> str:
    renamed = ATTRIBUTE_RENAMES.get(tf_type, {}).get(key)
    if renamed:
        return renamed
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return singular(key)
    return snake(key)


ARCHIVE_INPUTS = {("aws_lambda_function", "code"): "filename", ("aws_lambda_layer_version", "code"): "filename"}
"""Pulumi archives stand for Terraform's ``filename`` (the bridge's asset translation); the plan shows a path."""


class Schema:
    """Map or nested block, from pulumi-aws's own input types (the provider schema, as the SDK declares it).

    Every ``<Resource>Args`` / nested ``...Args`` class has one property per input, tagged with its
    camelCase name (``@pulumi.getter(name=...)``) and annotated ``Mapping[str, ...]`` for a Terraform map or
    ``'<Nested>Args'`` (alone or in a ``Sequence``) for a nested block. Inputs whose type cannot be found
    are noted in ``unresolved`` and fall back to ``MAP_ATTRIBUTES``.
    """

    def __init__(self) -> None:
        self.unresolved: list[str] = []

    @staticmethod
    def resource_args(pulumi_type: str) -> type | None:
        import importlib
        import sys

        module = pulumi_type.split(":", 2)[1].partition("/")[0]
        resource_name = pulumi_type.rsplit(":", 1)[-1]
        for name in (f"pulumi_aws.{module}", f"pulumi_aws.{module}_"):
            try:
                resource = getattr(importlib.import_module(name), resource_name, None)
            except ImportError:
                continue
            # The Args class defined beside the resource class: the package's namespace may hold a nested type
            # of the same name (s3's BucketServerSideEncryptionConfigurationArgs is also a legacy Bucket block).
            # The SDK names it <Resource>InitArgs where a nested type already took <Resource>Args.
            home = sys.modules.get(getattr(resource, "__module__", ""), None)
            for class_name in (f"{resource_name}InitArgs", f"{resource_name}Args"):
                found = getattr(home, class_name, None)
                if isinstance(found, type) and found.__module__ == getattr(home, "__name__", None):
                    return found
        return None

    @staticmethod
    def field(args_class: type | None, key: str) -> tuple[str, type | None] | None:
        """``("map", None)``, ``("block", NestedArgs)``, ``("scalar", None)``, or None when unknown."""
        import sys
        import typing

        if args_class is None:
            return None
        for attribute in vars(args_class).values():
            getter = getattr(attribute, "fget", None)
            if getter is None or getattr(getter, "_pulumi_name", None) != key:
                continue
            module = sys.modules[args_class.__module__]
            stack = [getter.__annotations__.get("return")]
            nested: type | None = None
            while stack:
                annotation = stack.pop()
                origin = typing.get_origin(annotation)
                if origin is not None and getattr(origin, "__name__", "") == "Mapping":
                    return "map", None
                if isinstance(annotation, typing.ForwardRef) and annotation.__forward_arg__.endswith("Args"):
                    candidate = getattr(module, annotation.__forward_arg__, None)
                    nested = candidate if isinstance(candidate, type) else nested
                elif isinstance(annotation, str) and annotation.endswith("Args"):
                    candidate = getattr(module, annotation, None)
                    nested = candidate if isinstance(candidate, type) else nested
                stack.extend(typing.get_args(annotation))
            return ("block", nested) if nested is not None else ("scalar", None)
        return None


ARCHIVE_INPUTS = {("aws_lambda_function", "code"): "filename", ("aws_lambda_layer_version", "code"): "filename"}
"""Pulumi archives stand for Terraform's ``filename`` (the bridge's asset translation); the plan shows a path."""


def values(pulumi_type: str, tf_type: str, inputs: Mapping[str, Any], schema: Schema | None = None) -> dict[str, Any]:
    schema = schema or Schema()
    args_class = Schema.resource_args(pulumi_type)
    out = {}
    for key, value in inputs.items():
        if (tf_type, key) in ARCHIVE_INPUTS:
            out[ARCHIVE_INPUTS[tf_type, key]] = f"{key}.zip"  # the archive's content is not configuration
            continue
        out[attribute_name(tf_type, key, value)] = _value(args_class, key, value, schema, f"{pulumi_type}.{key}")
    return out


def _value(args_class: type | None, key: str, value: Any, schema: Schema, path: str) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, Mapping | list):
        return value
    kind = Schema.field(args_class, key)
    if kind is None and (isinstance(value, Mapping) or any(isinstance(v, Mapping) for v in value)):
        schema.unresolved.append(path)
        kind = ("map", None) if key in MAP_ATTRIBUTES else ("block", None)
    nested = kind[1] if kind is not None else None
    if isinstance(value, Mapping):
        if kind is not None and kind[0] == "map":
            return dict(value)
        return [_block(nested, value, schema, path)]
    return [
        _block(nested, v, schema, f"{path}[]") if isinstance(v, Mapping) else _value(None, "", v, schema, path)
        for v in value
    ]


def _block(args_class: type | None, value: Mapping[str, Any], schema: Schema, path: str) -> dict[str, Any]:
    return {attribute_name("", k, v): _value(args_class, k, v, schema, f"{path}.{k}") for k, v in value.items()}


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Exported:
    plan: dict[str, Any]
    addresses: dict[str, str]
    """Terraform address → Pulumi URN."""
    unresolved: list[str]
    """Object-valued inputs whose map/block kind pulumi-aws does not declare (the fallback decided)."""


def _local_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not base or not (base[0].isalpha() or base[0] == "_"):
        base = f"r_{base}"
    candidate, index = base, 2
    while candidate in used:
        candidate, index = f"{base}_{index}", index + 1
    used.add(candidate)
    return candidate


def plan(graph: Mapping[str, Any]) -> Exported:
    """The preview graph as a Terraform JSON plan (``terraform show -json``) that checkov reads."""
    addresses: dict[str, str] = {}
    by_urn: dict[str, str] = {}
    used: dict[str, set[str]] = {}
    kept = []
    for resource in graph.get("resources", []):
        tf_type = terraform_type(resource["type"])
        if tf_type is None:
            continue
        address = f"{tf_type}.{_local_name(resource['name'], used.setdefault(tf_type, set()))}"
        addresses[address] = resource["urn"]
        by_urn[resource["urn"]] = address
        kept.append((address, tf_type, resource))
    planned, changes, configured = [], [], []
    schema = Schema()
    for address, tf_type, resource in kept:
        name = address.split(".", 1)[1]
        inputs = dict(resource.get("inputs") or {})
        dependencies = resource.get("property_dependencies") or {}
        for key in [k for k in inputs if _is_reference(inputs[k], dependencies.get(k), by_urn)]:
            # As `terraform show -json` shows a new stack: an input that is another resource's id/ARN/name
            # is unknown at plan time and appears as a reference (configuration.expressions), which is how
            # checkov joins resources (a bucket and its public access block …). Documents, maps and blocks
            # that merely contain outputs keep their resolved values, so checks can read them.
            del inputs[key]
        after = values(resource["type"], tf_type, inputs, schema)
        common = {"address": address, "mode": "managed", "type": tf_type, "name": name, "provider_name": PROVIDER}
        planned.append({**common, "schema_version": 0, "values": after, "sensitive_values": {}})
        changes.append(
            {
                **common,
                "change": {"actions": ["create"], "before": None, "after": after, "after_unknown": {}},
            }
        )
        expressions = {}
        for key, urns in (resource.get("property_dependencies") or {}).items():
            targets = [by_urn[u] for u in urns if u in by_urn]
            if targets:
                expressions[attribute_name(tf_type, key, None)] = {
                    "references": [ref for t in targets for ref in (f"{t}.id", t)]
                }
        configured.append({**common, "provider_config_key": "aws", "expressions": expressions, "schema_version": 0})
        del configured[-1]["provider_name"]
    document = {
        "format_version": "1.2",
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": PROVIDER}},
            "root_module": {"resources": configured},
        },
    }
    return Exported(document, addresses, sorted(set(schema.unresolved)))


def _is_reference(value: Any, urns: Any, by_urn: Mapping[str, str]) -> bool:
    if not isinstance(value, str) or not urns or not any(u in by_urn for u in urns):
        return False
    return not value.lstrip().startswith(("{", "["))


# --------------------------------------------------------------------------- checkov


@dataclass(frozen=True)
class Checkov:
    executable: Path
    version: str

    @classmethod
    def find(cls, venv: Path | None = None) -> Checkov | None:
        executable = (venv or CHECKOV_VENV) / "bin" / "checkov"
        if not executable.exists():
            return None
        # The installed distribution's version, from its own interpreter (`checkov --version` imports
        # every framework first: seconds, for the same answer).
        python = executable.parent / "python"
        command = [str(python), "-c", "import importlib.metadata as m; print(m.version('checkov'))"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0 or not done.stdout.strip():
            return None
        return cls(executable, f"checkov {done.stdout.strip()}")

    def run(self, exports: Mapping[str, Exported]) -> dict[str, dict[str, Any]]:
        """One checkov run over every stack's plan (its start-up dominates); results per stack."""
        with tempfile.TemporaryDirectory(prefix="imagegen-checkov-") as folder:
            command = [str(self.executable), "--framework", "terraform_plan", "--skip-download", "--output", "json"]
            files = {}
            for stack, exported in exports.items():
                path = Path(folder) / f"{stack}.tfplan.json"
                path.write_text(json.dumps(exported.plan))
                files[path.name] = stack
                command += ["--file", str(path)]
            command += ["--compact", "--soft-fail", "--skip-results-upload"]
            env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_"))}
            env["BC_SKIP_MAPPING"] = "TRUE"
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False, cwd=folder, env=env
                )
            except subprocess.TimeoutExpired:
                raise ScannerError(f"checkov did not finish within {RUN_TIMEOUT_S} s") from None
        try:
            output = json.loads(done.stdout)
        except json.JSONDecodeError:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
            raise ScannerError(f"checkov failed (exit {done.returncode}):\n{tail}") from None
        reports = output if isinstance(output, list) else [output]
        per_stack: dict[str, dict[str, Any]] = {stack: {"passed_checks": [], "failed_checks": []} for stack in exports}
        for report in reports:
            if report.get("check_type") not in (None, "terraform_plan"):
                continue
            for key in ("passed_checks", "failed_checks"):
                for check in (report.get("results") or {}).get(key, []):
                    owner = files.get(Path(str(check.get("file_path", ""))).name)
                    if owner is not None:
                        per_stack[owner][key].append(check)
        return per_stack


# --------------------------------------------------------------------------- waivers


def _covers(entry: Waiver | Fix, rule: str, urn: str, stack: str) -> bool:
    """A waiver or fix entry covers a finding: same rule, URN and stack matching its fnmatch patterns."""
    return (
        entry.rule == rule
        and fnmatch.fnmatchcase(urn, entry.resource)
        and any(fnmatch.fnmatchcase(stack, s) for s in entry.stacks)
    )


@dataclass(frozen=True)
class Waiver:
    rule: str
    resource: str
    """fnmatch pattern over the Pulumi URN."""
    reason: str
    stacks: tuple[str, ...] = ("*",)

    def covers(self, rule: str, urn: str, stack: str) -> bool:
        return _covers(self, rule, urn, stack)


@dataclass(frozen=True)
class Fix:
    rule: str
    resource: str
    fix: str
    stacks: tuple[str, ...] = ("*",)

    def covers(self, rule: str, urn: str, stack: str) -> bool:
        return _covers(self, rule, urn, stack)


@dataclass(frozen=True)
class ScannerConfig:
    waivers: tuple[Waiver, ...]
    fixed: tuple[Fix, ...]


def load_config(path: Path | None = None) -> ScannerConfig:
    path = path or SCANNER_CONFIG
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        return ScannerConfig((), ())
    except yaml.YAMLError as error:
        raise ScannerError(f"{path}: not valid YAML ({error})") from None
    problems: list[str] = []
    waivers: list[Waiver] = []
    fixed: list[Fix] = []
    for section, required in (("waivers", ("rule", "resource", "reason")), ("fixed", ("rule", "resource", "fix"))):
        for index, entry in enumerate(document.get(section) or []):
            if not isinstance(entry, Mapping):
                problems.append(f"{section}[{index}]: must be a mapping")
                continue
            missing = [k for k in required if not str(entry.get(k) or "").strip()]
            if missing:
                problems.append(f"{section}[{index}]: {', '.join(missing)} required (a waiver needs its reason)")
                continue
            stacks = tuple(str(s) for s in entry.get("stacks") or ("*",))
            rule, resource, text = (str(entry[k]) for k in required)
            if section == "waivers":
                waivers.append(Waiver(rule, resource, text, stacks))
            else:
                fixed.append(Fix(rule, resource, text, stacks))
    if problems:
        raise ScannerError(f"{path}: invalid scanner config:\n  - " + "\n  - ".join(problems))
    return ScannerConfig(tuple(waivers), tuple(fixed))


def _checks(results: Mapping[str, Any], key: str, exported: Exported) -> Iterable[dict[str, Any]]:
    for check in results.get(key, []):
        address = str(check.get("resource_address") or check.get("resource", ""))
        yield {
            "rule": check["check_id"],
            "title": check.get("check_name", ""),
            "address": address,
            "resource": exported.addresses.get(address, address),
            "guideline": check.get("guideline") or "",
        }


def scan(graph: Mapping[str, Any], stack: str, runner: Checkov, config: ScannerConfig | None = None) -> dict[str, Any]:
    """checkov's verdict on one stack's graph, each failure sorted into waived or unwaived."""
    return scan_many({stack: graph}, runner, config)[stack]


def scan_many(
    graphs: Mapping[str, Mapping[str, Any]], runner: Checkov, config: ScannerConfig | None = None
) -> dict[str, dict[str, Any]]:
    """``scan`` for several stacks in one checkov run."""
    config = config or load_config()
    exports = {stack: plan(graph) for stack, graph in graphs.items()}
    results = runner.run(exports)
    return {stack: _sort(stack, exports[stack], results[stack], runner, config) for stack in graphs}


def _sort(
    stack: str, exported: Exported, results: Mapping[str, Any], runner: Checkov, config: ScannerConfig
) -> dict[str, Any]:
    failed = list(_checks(results, "failed_checks", exported))
    passed = list(_checks(results, "passed_checks", exported))
    waived, unwaived = [], []
    for finding in failed:
        waiver = next((w for w in config.waivers if w.covers(finding["rule"], finding["resource"], stack)), None)
        if waiver is None:
            unwaived.append(finding)
        else:
            waived.append({"rule": finding["rule"], "resource": finding["resource"], "reason": waiver.reason})
    fixed = []
    for fix in config.fixed:
        if not any(fnmatch.fnmatchcase(stack, s) for s in fix.stacks):
            continue
        matches = [p for p in passed if fix.covers(p["rule"], p["resource"], stack)]
        still = [f for f in failed if fix.covers(f["rule"], f["resource"], stack)]
        fixed.append(
            {
                "rule": fix.rule,
                "resource": fix.resource,
                "fix": fix.fix,
                "result": "fail" if still else ("pass" if matches else "not checked"),
            }
        )
    return {
        "tool": runner.version,
        "resources": len(exported.addresses),
        "passed": len(passed),
        "passed_checks": sorted({p["rule"] for p in passed}),
        "failed": failed,
        "waived": waived,
        "unwaived": unwaived,
        "fixed": fixed,
    }
