"""What each policy actually inspected: property reads recorded per policy, as ``urn#property.path``.

``base.resource_policy`` / ``base.stack_policy`` wrap every validate function in ``recording``:
for the duration of one call, each resource's ``props`` is replaced by a recording view over the
engine's own (unknown-checking) proxy, so every ``props[...]`` / ``props.get(...)`` / iteration a
rule makes, directly or through ``facts`` helpers or a resource reached through
``property_dependencies``, is noted under that policy. Rules need no edits.

The pack runs in its own process: when ``IMAGEGEN_POLICY_READS`` names a file, each validate call
appends one JSON line ``{"policy": name, "reads": [...]}`` to it before the gRPC call returns; the
offline driver (``offline.evaluate``) truncates the file before a run and folds it afterwards.
Reading a key that is absent counts as a read (the rule inspected it and found nothing).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

ENV = "IMAGEGEN_POLICY_READS"


class _Sink:
    def __init__(self) -> None:
        self.paths: set[str] = set()

    def add(self, urn: str, path: str) -> None:
        self.paths.add(f"{urn}#{path}")


def _child(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _wrap(value: Any, urn: str, path: str, sink: _Sink) -> Any:
    if isinstance(value, Mapping):
        return RecordingMapping(value, urn, path, sink)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return RecordingSequence(value, urn, path, sink)
    return value


class RecordingMapping(Mapping[str, Any]):
    """A read-only view that notes every key read (present or not) and every whole-object read."""

    def __init__(self, target: Mapping[str, Any], urn: str, path: str, sink: _Sink) -> None:
        self._target, self._urn, self._path, self._sink = target, urn, path, sink

    def __getitem__(self, key: str) -> Any:
        path = _child(self._path, key)
        self._sink.add(self._urn, path)
        return _wrap(self._target[key], self._urn, path, self._sink)

    def __contains__(self, key: object) -> bool:
        self._sink.add(self._urn, _child(self._path, key))
        return key in self._target

    def __iter__(self) -> Iterator[str]:
        # Enumerating the keys reads the object as a whole; values read afterwards are noted each.
        self._sink.add(self._urn, self._path or "*")
        return iter(self._target)

    def __len__(self) -> int:
        self._sink.add(self._urn, self._path or "*")
        return len(self._target)


class RecordingSequence(Sequence[Any]):
    def __init__(self, target: Sequence[Any], urn: str, path: str, sink: _Sink) -> None:
        self._target, self._urn, self._path, self._sink = target, urn, path, sink

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            self._sink.add(self._urn, self._path)
            return [self[i] for i in range(*index.indices(len(self._target)))]
        position = index if index >= 0 else len(self._target) + index
        path = _child(self._path, position)
        self._sink.add(self._urn, path)
        return _wrap(self._target[index], self._urn, path, self._sink)

    def __len__(self) -> int:
        self._sink.add(self._urn, self._path)
        return len(self._target)


def prune(paths: Iterable[str]) -> list[str]:
    """Keep the deepest reads: ``u#a`` goes when ``u#a.b`` or ``u#a[0]`` was read too."""
    unique = sorted(set(paths))
    kept = []
    for index, path in enumerate(unique):
        following = unique[index + 1 :]
        if any(other.startswith((path + ".", path + "[")) for other in following):
            continue
        kept.append(path)
    return kept


@contextlib.contextmanager
def recording(policy: str, args: Any) -> Iterator[None]:
    """Swap in recording views of ``args``' props for one validate call; append the reads to the file."""
    target = os.environ.get(ENV)
    if not target:
        yield
        return
    sink = _Sink()
    swapped: list[tuple[Any, Any]] = []
    holders = list(getattr(args, "resources", None) or [])
    if hasattr(args, "props") and hasattr(args, "urn"):
        holders.append(args)
    for holder in holders:
        original = holder.props
        holder.props = RecordingMapping(original, holder.urn, "", sink)
        swapped.append((holder, original))
    try:
        yield
    finally:
        for holder, original in swapped:
            holder.props = original
        if sink.paths:
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"policy": policy, "reads": sorted(sink.paths)}) + "\n")


def collect(path: str) -> dict[str, list[str]]:
    """The file the pack wrote: ``{policy: [urn#path, ...]}``, deepest reads only, sorted."""
    found: dict[str, set[str]] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                entry = json.loads(line)
                found.setdefault(entry["policy"], set()).update(entry["reads"])
    except FileNotFoundError:
        return {}
    return {policy: prune(paths) for policy, paths in sorted(found.items())}
