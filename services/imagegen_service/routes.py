"""Jobs, not model keys: ``"job": "hero"`` resolves to the stack's route (model, task, preset, tier).

The stack settings hold the routes (``StackSettings.routes``, validated against the catalogue and the
stack's licences); the runtime reads them from ``IMAGEGEN_ROUTES``. Resolution runs on the raw
request before anything else, so the resolved request is checked exactly like a hand-written one.
"""

from __future__ import annotations

from typing import Any

from imagegen_service import catalogue
from imagegen_service.errors import FieldProblem, RequestInvalid

JOB_FIELD = "job"


def resolve(
    raw: dict[str, Any], routes: dict[str, dict[str, str]], *, prefix: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``raw`` with ``job`` replaced by its route's fields, and what was resolved (for the job record)."""
    if JOB_FIELD not in raw:
        return raw, {}
    job = raw[JOB_FIELD]
    if not isinstance(job, str) or job not in routes:
        known = ", ".join(sorted(routes)) or "none configured"
        raise RequestInvalid.from_problems(
            [FieldProblem(f"{prefix}{JOB_FIELD}", f"unknown job {job!r}; this stack routes: {known}")]
        )
    if "model" in raw:
        raise RequestInvalid.from_problems(
            [
                FieldProblem(
                    f"{prefix}model", f"give either model or job, not both (job {job!r} picks {routes[job]['model']})"
                )
            ]
        )
    route = routes[job]
    resolved = {k: v for k, v in raw.items() if k != JOB_FIELD}
    resolved["model"] = route["model"]
    resolved.setdefault("task", route["task"])
    if "preset" in route and "preset" not in raw:
        resolved["preset"] = route["preset"]
    if "quality" in route and "quality" not in raw and _takes_quality(route["model"]):
        resolved["quality"] = route["quality"]
    return resolved, {JOB_FIELD: job, "route": dict(route)}


def _takes_quality(model: str) -> bool:
    try:
        return bool(catalogue.lookup(model).limits.qualities)
    except catalogue.UnknownModel:
        return False
