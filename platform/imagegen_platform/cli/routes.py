"""`imagegen models --routes --stack S [--json]`: the job table callers use instead of model keys.

``"job": "hero"`` in a request picks the route: job → model, task, preset, tier; printed with each
model's lifecycle today (catalogue; ``IMAGEGEN_TODAY`` pins the date).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def _lifecycle(spec: Any, today: Any) -> str:
    status = spec.lifecycle.status_on(today).value
    return status if spec.lifecycle.confirmed else f"{status} (UNCONFIRMED)"


def rows(settings: Any) -> list[dict[str, Any]]:
    from imagegen_service import clock

    today = clock.today()
    return [
        {
            "job": job,
            "model": route.model,
            "model_id": route.spec.model_id,
            "task": route.effective_task.value,
            "preset": route.preset,
            "tier": route.tier.value if route.tier is not None else None,
            "lifecycle": _lifecycle(route.spec, today),
        }
        for job, route in settings.routes.items()
    ]


def run_routes(args: argparse.Namespace) -> int:
    from imagegen_service import clock

    from imagegen_platform.cli import CommandError
    from imagegen_platform.settings import load_stack

    if not args.stack:
        raise CommandError("--routes needs --stack NAME (routes are stack settings)", exit_code=2)
    _, settings = load_stack(args.stack, args.config_file)
    table = rows(settings)
    if args.json:
        print(json.dumps({"stack": args.stack, "as_of": clock.today().isoformat(), "routes": table}, indent=2))
        return 0
    if not table:
        print(f"stack {args.stack!r} has no routes (settings: routes)")
        return 0
    columns = ("job", "model", "task", "preset", "tier", "lifecycle")
    cells = [[_cell(row[c]) for c in columns] for row in table]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    print(f"lifecycle as of {clock.today().isoformat()} (catalogue; IMAGEGEN_TODAY pins the date)")
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(value) or "-"
    return str(value)
