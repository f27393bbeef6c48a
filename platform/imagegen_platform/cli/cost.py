"""`imagegen cost estimate|quotas`: what a month of images costs, and what the model quotas allow.

``estimate`` prices volume per model/size/quality from the catalogue and storage/delivery from
``economics.RATES``, shows the drafting and CDN levers, and with ``--budget-for STACK`` suggests the
stack's budget block. ``quotas`` prints, per enabled model, the Service Quotas entry, the RPM the
stack plans for, the capacity the program derives from it (``capacity.py``) and the time to drain a
backlog.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from imagegen_platform.cli import CommandError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("cost", help="cost estimates, budgets and quota capacity")
    commands = parser.add_subparsers(dest="cost_command", metavar="ACTION")
    commands.required = True

    est = commands.add_parser("estimate", help="monthly cost of a volume of images, storage and delivery")
    est.add_argument("--scenario", type=Path, metavar="FILE", help="scenario YAML/JSON (flags add to / override it)")
    est.add_argument(
        "--images",
        action="append",
        default=[],
        metavar="MODEL:COUNT[:SIZE][:QUALITY]",
        help="images per month, e.g. nova-canvas:10000:2048x2048:premium or sd3-5-large:500:16:9 (repeatable)",
    )
    est.add_argument("--model", help="model of the draft/final mix")
    est.add_argument("--drafts", type=int, help="draft candidates per month (standard quality, 512 class)")
    est.add_argument("--finals", type=int, help="winners re-rendered at premium quality and final size")
    est.add_argument("--final-ratio", type=float, help="finals as a share of drafts (instead of --finals)")
    est.add_argument("--draft-size", help="draft size (default 512x512 for Amazon models)")
    est.add_argument("--final-size", help="final size (default: the model's default size)")
    est.add_argument("--avg-image-mb", type=float, help="average stored image size in MB (default 1.0)")
    est.add_argument("--months-retained", type=float, help="months kept images stay stored (default 12)")
    est.add_argument("--draft-months", type=float, help="months drafts stay stored before expiry (default 1)")
    est.add_argument("--views", type=int, help="image downloads per month")
    est.add_argument("--delivered-gb", type=float, help="delivered GB per month (instead of --views)")
    est.add_argument("--avg-delivered-mb", type=float, help="average delivered image size (default: --avg-image-mb)")
    est.add_argument("--cache-hit-ratio", type=float, help="CloudFront cache hit ratio (default 0.9)")
    est.add_argument("--free-tier", action="store_true", help="apply the always-free CloudFront/S3 egress allowances")
    est.add_argument("--budget-for", metavar="STACK", help="print a budget block for this stack from the estimate")
    est.add_argument("--headroom", type=float, default=None, help="budget headroom over the estimate (default 0.25)")
    est.add_argument("--json", action="store_true", help="one JSON object on stdout")
    est.set_defaults(handler=run_estimate)

    quotas = commands.add_parser("quotas", help="per model: quota, planned RPM, derived capacity, backlog drain time")
    quotas.add_argument("--stack", required=True)
    quotas.add_argument("--config-file", type=Path, help="use this stack file instead of stacks/Pulumi.STACK.yaml")
    quotas.add_argument("--backlog", type=int, default=10_000, help="images waiting in the queue (default 10000)")
    quotas.add_argument(
        "--images-per-request", type=int, default=1, help="images per InvokeModel call (1–5 on Amazon models)"
    )
    quotas.add_argument("--json", action="store_true", help="one JSON object on stdout")
    quotas.set_defaults(handler=run_quotas)


# --------------------------------------------------------------------------- estimate


def parse_images_flag(text: str) -> dict[str, Any]:
    """``MODEL:COUNT[:SIZE][:QUALITY]``; SIZE may itself be an aspect ratio such as ``16:9``."""
    parts = text.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1].isdigit():
        raise ValueError(
            f"--images {text!r}: expected MODEL:COUNT[:SIZE][:QUALITY], e.g. titan-image-v1:50000:512x512:standard"
        )
    volume: dict[str, Any] = {"model": parts[0], "count": int(parts[1])}
    rest = parts[2:]
    if rest and rest[-1] in ("standard", "premium"):
        volume["quality"] = rest.pop()
    if rest:
        volume["size"] = ":".join(rest)
    return volume


def _scenario_data(args: argparse.Namespace) -> dict[str, Any]:
    from imagegen_platform import economics
    from imagegen_platform.economics import ScenarioInvalid

    data: dict[str, Any] = {}
    if args.scenario is not None:
        data = _read_scenario(args.scenario)
    problems: list[str] = []
    images = list(data.get("images") or [])
    for text in args.images:
        try:
            images.append(parse_images_flag(text))
        except ValueError as error:
            problems.append(str(error))
    if images:
        data["images"] = images
    mix_flags = {"model": args.model, "drafts": args.drafts, "finals": args.finals, "final_ratio": args.final_ratio,
                 "draft_size": args.draft_size, "final_size": args.final_size}  # fmt: skip
    if any(v is not None for v in mix_flags.values()):
        mix = dict(data.get("draft_final") or {})
        mix.update({k: v for k, v in mix_flags.items() if v is not None})
        if args.final_ratio is not None and args.finals is None:
            mix.pop("finals", None)
        if args.finals is not None and args.final_ratio is None:
            mix.pop("final_ratio", None)
        for needed in ("model", "drafts"):
            if needed not in mix:
                problems.append(f"--{needed}: the draft/final mix needs --model and --drafts")
        data["draft_final"] = mix
    storage_flags = {
        "avg_image_mb": args.avg_image_mb,
        "months_retained": args.months_retained,
        "draft_months": args.draft_months,
    }
    data["storage"] = {**(data.get("storage") or {}), **{k: v for k, v in storage_flags.items() if v is not None}}
    delivery = dict(data.get("delivery") or {})
    if args.views is not None:
        delivery["views"] = args.views
        delivery.pop("gb", None)
    if args.delivered_gb is not None:
        delivery["gb"] = args.delivered_gb
        if args.views is None:
            delivery.pop("views", None)
    for key, value in (("avg_delivered_mb", args.avg_delivered_mb), ("cache_hit_ratio", args.cache_hit_ratio)):
        if value is not None:
            delivery[key] = value
    if args.free_tier:
        delivery["free_tier"] = True
    data["delivery"] = delivery
    if problems:
        try:
            economics.scenario_from(data)
        except ScenarioInvalid as error:
            problems += [line.strip().removeprefix("- ") for line in error.message.splitlines()[1:]]
        raise ScenarioInvalid(
            f"the cost scenario is invalid ({len(problems)} problem(s)):\n" + "\n".join(f"  - {p}" for p in problems)
        )
    return data


def _read_scenario(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text()
    except OSError as error:
        raise CommandError(f"--scenario: cannot read {path} ({error.__class__.__name__})", exit_code=2) from None
    try:
        loaded = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise CommandError(
            f"--scenario: {path} is not valid {path.suffix.lstrip('.') or 'YAML'} ({error})", exit_code=2
        ) from None
    if not isinstance(loaded, dict):
        raise CommandError(
            f"--scenario: {path} must hold a mapping (images, draft_final, storage, delivery)", exit_code=2
        )
    return loaded


def run_estimate(args: argparse.Namespace) -> int:
    from imagegen_platform import economics

    try:
        scenario = economics.scenario_from(_scenario_data(args))
    except economics.ScenarioInvalid as error:
        raise CommandError(error.message, exit_code=2) from None
    result = economics.estimate(scenario)
    budget_yaml = None
    payload = result.as_json()
    not_enabled: list[str] = []
    if args.budget_for:
        budget, enabled = _budget_for(args.budget_for, result.total_usd, args.headroom)
        not_enabled = sorted({line.model for line in result.lines} - enabled)
        payload["suggested_budget"] = {
            "stack": args.budget_for,
            "budget": budget.model_dump(),
            "models_not_enabled": not_enabled,
        }
        budget_yaml = _budget_block(budget)
    if args.json:
        print(json.dumps(payload, indent=2))
        return 0
    _print_estimate(result)
    if budget_yaml is not None:
        print(f"\nSuggested budget for stack {args.budget_for} (estimate + headroom; paste under imagegen:settings):")
        print(budget_yaml)
        if not_enabled:
            print(
                f"note: {', '.join(not_enabled)} not enabled in stack {args.budget_for}: its images would be refused (503)"
            )
    return 0


def _budget_for(stack: str, total_usd: float, headroom: float | None) -> tuple[Any, set[str]]:
    from imagegen_platform import economics
    from imagegen_platform.settings import load_stack

    if headroom is not None and not 0 <= headroom <= 10:
        raise CommandError(f"--headroom: {headroom} must be between 0 and 10 (a share: 0.25 = 25 %)", exit_code=2)
    _, settings = load_stack(stack)
    budget = economics.suggested_budget(
        total_usd, list(settings.budget.emails), economics.BUDGET_HEADROOM if headroom is None else headroom
    )
    return budget, {m.model for m in settings.models}


def _budget_block(budget: Any) -> str:
    import yaml

    return yaml.safe_dump({"budget": budget.model_dump()}, sort_keys=False, default_flow_style=False).rstrip()


def _console() -> Any:
    """Rich console; wide when piped so tables are not truncated in logs."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:,.4f}"


def _print_estimate(result: Any) -> None:
    from imagegen_service import catalogue
    from rich.table import Table

    from imagegen_platform.economics import RATES

    console = _console()
    models = Table(title=f"Model fees per month (catalogue prices as of {catalogue.PRICES_AS_OF.isoformat()})")
    for column in ("model", "role", "images", "size", "quality", "per image", "subtotal", "price"):
        models.add_column(column, justify="right" if column in ("images", "per image", "subtotal") else "left")
    for line in result.lines:
        flag = "confirmed" if line.price_confirmed else "[yellow]UNCONFIRMED[/yellow]"
        models.add_row(
            line.model,
            line.role,
            f"{line.count:,}",
            line.size,
            line.quality,
            f"${line.unit_usd:.3f}",
            _usd(line.subtotal_usd),
            flag,
        )
    console.print(models)

    rest = Table(title="Storage and delivery per month")
    rest.add_column("item")
    rest.add_column("quantity", justify="right")
    rest.add_column("rate")
    rest.add_column("cost", justify="right")
    d = result.delivery
    rest.add_row(
        "S3 storage (steady state)",
        f"{result.stored_gb:,.1f} GB",
        f"${RATES.s3_storage_gb_month}/GB-month",
        _usd(result.storage_usd),
    )
    rest.add_row(
        "S3 PUT (stored images)",
        f"{sum(line.count for line in result.lines):,}",
        f"${RATES.s3_put_per_1k}/1k",
        _usd(result.put_usd),
    )
    rest.add_row("delivery via CloudFront", f"{d.gb:,.1f} GB, {d.requests:,} req",
                 f"${RATES.cloudfront_egress_gb}/GB + ${RATES.cloudfront_requests_per_10k}/10k + misses × ${RATES.s3_get_per_1k}/1k GET",
                 _usd(d.cloudfront_usd))  # fmt: skip
    rest.add_row(
        "[dim]delivery straight from S3[/dim]",
        f"{d.gb:,.1f} GB",
        f"${RATES.s3_egress_gb}/GB + ${RATES.s3_get_per_1k}/1k GET",
        f"[dim]{_usd(d.s3_direct_usd)}[/dim]",
    )
    console.print(rest)

    console.print(
        f"[bold]Total per month (through CloudFront): {_usd(result.total_usd)}[/bold]  (model fees {_usd(result.model_fees_usd)})"
    )
    console.print("Levers:")
    if result.all_final_usd is not None:
        mix = result.all_final_usd - result.draft_saving_usd
        share = result.draft_saving_usd / result.all_final_usd * 100 if result.all_final_usd else 0.0
        console.print(f"  • draft at standard, finalise winners: {_usd(mix)} vs every candidate at final quality {_usd(result.all_final_usd)} "
                      f"→ saves {_usd(result.draft_saving_usd)} ({share:.0f} %)")  # fmt: skip
    else:
        console.print(
            "  • drafting: give --model --drafts --finals to compare drafting at standard with everything at premium"
        )
    if d.cdn_saving_usd >= 0:
        verdict = f"saves {_usd(d.cdn_saving_usd)}"
    else:  # below ~130 KB per image, request fees outweigh the egress saving at first-tier list prices
        verdict = f"costs {_usd(-d.cdn_saving_usd)} more (small images: request fees outweigh the egress saving)"
    console.print(f"  • CloudFront vs S3 egress: {_usd(d.cloudfront_usd)} vs {_usd(d.s3_direct_usd)} → {verdict}")
    if result.unconfirmed_models:
        console.print(
            f"[yellow]UNCONFIRMED prices: {', '.join(result.unconfirmed_models)} — confirm at aws.amazon.com/bedrock/pricing[/yellow]"
        )
    console.print(
        f"[dim]Storage/delivery rates: {RATES.source}. Free tiers {'applied' if d.free_tier else 'not applied (--free-tier)'}.[/dim]"
    )


# --------------------------------------------------------------------------- quotas


def quota_rows(stack: str, config_file: Path | None, backlog: int, images_per_request: int) -> dict[str, Any]:
    from imagegen_service import catalogue
    from imagegen_service.pacing import FLOOR_SHARE

    from imagegen_platform import capacity
    from imagegen_platform.settings import load_stack

    _, settings = load_stack(stack, config_file)
    throttle = capacity.api_throttle(settings)
    rows = []
    for enabled in settings.models:
        spec = enabled.spec
        rpm = capacity.model_rpm(enabled)
        per_request = min(images_per_request, int(spec.limits.count.high))
        rows.append(
            {
                "model": enabled.model,
                "model_id": spec.model_id,
                "region": settings.model_region(enabled),
                "quota_name": spec.quota.name,
                "quota_code": enabled.effective_quota_code,
                "service_code": spec.quota.service_code,
                "default_rpm": spec.quota.default_rpm,
                "adjustable": spec.quota.adjustable,
                "quota_confirmed": spec.quota.confirmed,
                "requested_rpm": enabled.quota_request_rpm,
                "planned_rpm": rpm,
                # what the stack asks AWS for, what the worker paces, what nobody knows (catalogue.QUOTA_MODEL)
                "requested": (
                    {"quota_code": enabled.effective_quota_code, "value": enabled.quota_request_rpm}
                    if enabled.quota_request_rpm is not None and enabled.effective_quota_code
                    else None
                ),
                "paced": {
                    "start_rpm": rpm,
                    "start_from": (
                        "pace_start_rpm"
                        if enabled.pace_start_rpm
                        else "quota_request_rpm"
                        if enabled.quota_request_rpm
                        else "catalogue default"
                    ),
                    # the controller never paces below this (pacing.FLOOR_SHARE of the start)
                    "floor_rpm": round(rpm * FLOOR_SHARE, 3),
                    "then": "learnt from throttles by the fleet controller (pacing.py)",
                },
                "unknown": [
                    "tokens per image (not published)",
                    "the token quota's code and value for this model",
                    *([] if spec.quota.confirmed else ["the default figure itself (UNCONFIRMED)"]),
                ],
                "images_per_request": per_request,
                "drain_minutes": backlog / (rpm * per_request),
            }
        )
    return {
        "stack": stack,
        "quota_model": {
            "enforced": f"{catalogue.QUOTA_MODEL} per minute and per day, per model",
            "since": catalogue.QUOTA_MODEL_SINCE,
            "source": catalogue.QUOTA_MODEL_SOURCE,
            "rpm_rows": "removed from Service Quotas: an RPM figure here is a starting pace, not a limit",
            "pace_floor_share": FLOOR_SHARE,
        },
        "worker_batch_size": capacity.worker_batch_size(settings),
        "backlog_images": backlog,
        "worker_max_concurrency": capacity.worker_max_concurrency(settings),
        "api_throttle": {"rate_per_second": throttle.rate_per_second, "burst": throttle.burst},
        "total_rpm": capacity.total_rpm(settings),
        "models": rows,
    }


def _duration(minutes: float) -> str:
    if minutes < 90:
        return f"{minutes:,.1f} min"
    return f"{minutes / 60:,.1f} h"


def run_quotas(args: argparse.Namespace) -> int:
    if args.backlog < 0:
        raise CommandError(f"--backlog: {args.backlog} must be 0 or more images", exit_code=2)
    if not 1 <= args.images_per_request <= 5:
        raise CommandError(f"--images-per-request: {args.images_per_request} must be 1–5", exit_code=2)
    report = quota_rows(args.stack, args.config_file, args.backlog, args.images_per_request)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    from rich.table import Table

    table = Table(title=f"Bedrock quotas for stack {args.stack} (backlog {args.backlog:,} images)")
    for column in (
        "model",
        "region",
        "quota (service bedrock)",
        "code",
        "default RPM",
        "requested",
        "paced from",
        "drain backlog",
    ):
        table.add_column(column)
    for row in report["models"]:
        code = row["quota_code"] or "[yellow]unknown (look it up)[/yellow]"
        default = f"{row['default_rpm']}" + ("" if row["quota_confirmed"] else " [yellow](UNCONFIRMED)[/yellow]")
        requested = (
            f"{row['requested']['value']} ({row['requested']['quota_code']})"
            if row["requested"]
            else ("nothing" if row["adjustable"] else "not adjustable")
        )
        table.add_row(
            row["model"],
            row["region"],
            row["quota_name"],
            code,
            default,
            requested,
            f"{row['planned_rpm']} RPM ({row['paced']['start_from']}); learnt, ≥ {row['paced']['floor_rpm']:g}",
            _duration(row["drain_minutes"]),
        )
    console = _console()
    console.print(table)
    model = report["quota_model"]
    console.print(
        f"Quota model: Bedrock enforces {model['enforced']} since {model['since']} ({model['source']}); RPM rows "
        "are gone. Requested: only quota codes the catalogue or the stack confirms. Paced: the worker's fleet "
        "controller starts at the planned RPM, learns the real rate from throttles, and never goes below "
        f"{model['pace_floor_share']:.0%} of its start (a model's pace_start_rpm setting starts it elsewhere). Unknown: tokens per "
        "image and the image models' token quota codes."
    )
    throttle = report["api_throttle"]
    console.print(f"Derived capacity (capacity.py): worker max concurrency {report['worker_max_concurrency']}, "
                  f"batch size {report['worker_batch_size']}, "
                  f"API throttle {throttle['rate_per_second']:g} req/s (burst {throttle['burst']}), total {report['total_rpm']} RPM")  # fmt: skip
    return 0
