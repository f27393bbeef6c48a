"""User-facing commands against a running API: `generate`, `batch`, `jobs show`, `dlq`, and `models` (offline).

Target the local platform with ``--local URL --token T`` (what ``imagegen local serve`` printed) or
``IMAGEGEN_API_URL``/``IMAGEGEN_TOKEN``; a deployed stack with ``--api-url URL`` (the stack's
``apiUrl`` output), signed with SigV4 from the AWS profile's credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from imagegen_platform.cli import CommandError

TERMINAL = ("succeeded", "failed", "blocked")
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


# ----------------------------------------------------------------------------- registration
def register(subparsers: Any) -> None:
    generate = subparsers.add_parser("generate", help="generate images now (POST /v1/images)")
    _target_args(generate)
    _request_args(generate)
    generate.add_argument("--out", type=Path, help="save the image here (several images: NAME-1.png, NAME-2.png …)")
    generate.add_argument("--json", action="store_true", help="print the whole job as JSON")
    generate.set_defaults(handler=run_generate)

    batch = subparsers.add_parser("batch", help="submit a .jsonl or .csv file of requests and wait for the results")
    _target_args(batch)
    batch.add_argument(
        "file", type=Path, help="one GenerationRequest per line (.jsonl) or per row (.csv, header = fields)"
    )
    batch.add_argument("--results", type=Path, help="where to write one job per line (default: FILE.results.jsonl)")
    batch.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for every job (default 600)")
    batch.add_argument("--no-wait", action="store_true", help="submit and print the job ids without waiting")
    batch.set_defaults(handler=run_batch)

    jobs = subparsers.add_parser("jobs", help="look at jobs")
    # Target flags are accepted here too, so `imagegen jobs --local URL` gets "give an action", not "invalid choice".
    for flag in ("--local", "--token", "--api-url", "--profile", "--region"):
        jobs.add_argument(flag, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    jobs.set_defaults(handler=run_jobs_without_action)
    jobs_actions = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    show = jobs_actions.add_parser("show", help="one job with its images, moderation and cost")
    _target_args(show)
    show.add_argument("job_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=run_jobs_show)

    dlq = subparsers.add_parser("dlq", help="the jobs dead-letter queue")
    dlq_actions = dlq.add_subparsers(dest="dlq_command", metavar="ACTION")
    dlq_actions.required = True
    for name, helptext, handler in (
        ("list", "messages in the DLQ (left in place)", run_dlq_list),
        ("redrive", "move the DLQ's messages back to the jobs queue", run_dlq_redrive),
    ):
        action = dlq_actions.add_parser(name, help=helptext)
        _target_args(action)
        action.add_argument("--dlq-url", default=os.environ.get("IMAGEGEN_DLQ_URL"), help="deployed: the DLQ's URL")
        action.add_argument("--json", action="store_true")
        action.set_defaults(handler=handler)

    models = subparsers.add_parser("models", help="the model catalogue with lifecycle and price (offline)")
    models.add_argument("--stack", help="mark the models this stack enables")
    models.add_argument("--json", action="store_true")
    models.add_argument("--routes", action="store_true", help="the stack's job routes: job → model, task, preset, tier")
    models.add_argument(
        "--config-file", type=Path, metavar="PATH", help="with --routes: replaces stacks/Pulumi.STACK.yaml"
    )
    models.set_defaults(handler=run_models)


def _target_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target")
    group.add_argument("--local", metavar="URL", help="the local platform's URL (from `imagegen local serve`)")
    group.add_argument("--token", help="the local platform's bearer token (default: $IMAGEGEN_TOKEN)")
    group.add_argument("--api-url", metavar="URL", help="a deployed stack's apiUrl output (SigV4-signed)")
    group.add_argument("--profile", help="AWS profile for SigV4 signing (default: the standard chain)")
    group.add_argument("--region", help="region of the deployed API (default: from the URL)")


def _request_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="catalogue key (see `imagegen models`) or Bedrock model ID")
    parser.add_argument("--prompt")
    parser.add_argument("--negative-prompt")
    parser.add_argument("--task", help="text-to-image (default), inpainting, outpainting, image-variation, …")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--cfg-scale", type=float)
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--aspect-ratio")
    parser.add_argument("--quality", help="standard | premium")
    parser.add_argument("--count", type=int)
    parser.add_argument("--style")
    parser.add_argument("--preset", help="a preset of the stack (its template takes --prompt as the subject)")
    parser.add_argument("--source-image-id", help="an earlier image's image_id")
    parser.add_argument("--source-image", type=Path, help="a local PNG/JPEG file")
    parser.add_argument("--output-format")
    parser.add_argument("--idempotency-key")
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")


# ----------------------------------------------------------------------------- target
def _client(args: argparse.Namespace) -> Any:
    from imagegen_local.client import BearerAuth, ImagegenClient, SigV4Auth

    if args.local and args.api_url:
        raise CommandError("--local and --api-url: give one target, not both", 2)
    token = args.token or os.environ.get("IMAGEGEN_TOKEN")
    if args.local:
        if not token:
            raise CommandError("--token: the local platform needs the token `imagegen local serve` printed", 2)
        return ImagegenClient(args.local, BearerAuth(token))
    url = args.api_url or os.environ.get("IMAGEGEN_API_URL")
    if not url:
        raise CommandError(
            "no target: pass --local URL --token T (from `imagegen local serve`), --api-url URL (a deployed "
            "stack's apiUrl output), or set IMAGEGEN_API_URL",
            2,
        )
    if not url.startswith(("http://", "https://")):
        raise CommandError(f"--api-url: {url!r} is not an http(s) URL", 2)
    if token and not args.api_url:
        return ImagegenClient(url, BearerAuth(token))
    found = _EXECUTE_API_HOST.search(url)
    region = args.region or (found.group(1) if found else None) or os.environ.get("AWS_REGION")
    if not region:
        raise CommandError("--region: cannot tell the API's region from its URL; pass --region", 2)
    return ImagegenClient(url, SigV4Auth(region=region, profile=args.profile))


def _call(action: Any) -> Any:
    from imagegen_local.client import ApiError

    try:
        return action()
    except ApiError as error:
        fields = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in error.details)
        detail = f" ({fields})" if fields else ""
        raise CommandError(f"{error.code}: {error.message}{detail}", 1) from None


# ----------------------------------------------------------------------------- generate
def build_request(args: argparse.Namespace) -> dict[str, Any]:
    """The GenerationRequest from flags, validated with the service's rules (exit 2 names the field)."""
    import base64

    request: dict[str, Any] = {"model": args.model}
    for name in ("task", "prompt", "negative_prompt", "seed", "cfg_scale", "width", "height", "aspect_ratio",
                 "quality", "count", "style", "preset", "output_format", "idempotency_key"):  # fmt: skip
        value = getattr(args, name)
        if value is not None:
            request[name] = value
    if args.source_image_id and args.source_image:
        raise CommandError("--source-image and --source-image-id: give one", 2)
    if args.source_image_id:
        request["source_image"] = {"image_id": args.source_image_id}
    if args.source_image:
        try:
            request["source_image"] = {"base64": base64.b64encode(args.source_image.read_bytes()).decode()}
        except OSError as error:
            raise CommandError(f"--source-image: cannot read {args.source_image}: {error.strerror}", 2) from None
    tags = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"--tag {item!r}: expected KEY=VALUE", 2)
        tags[key] = value
    if tags:
        request["tags"] = tags
    _validate(request, where="flags")
    return request


def _validate(request: dict[str, Any], *, where: str) -> None:
    from imagegen_service.errors import RequestInvalid
    from imagegen_service.requests import parse_request

    try:
        parse_request(request)
    except RequestInvalid as error:
        flags = "; ".join(f"--{d.field.replace('_', '-')}: {d.message}" for d in error.details) or error.message
        raise CommandError(f"invalid request ({where}): {flags}", 2) from None


def _check_out(out: Path | None) -> None:
    """Refuse an --out that cannot be written before anything is paid for."""
    if out is None:
        return
    if out.is_dir():
        if not os.access(out, os.W_OK):
            raise CommandError(f"--out: directory {out} is not writable", 2)
        return
    parent = next((p for p in (out.parent, *out.parent.parents) if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise CommandError(f"--out: {out.parent} is not a directory", 2)
    if not os.access(parent, os.W_OK):
        raise CommandError(f"--out: {parent} is not writable", 2)


def _targets(out: Path, images: list[dict[str, Any]]) -> list[Path]:
    if out.is_dir():  # a directory: each image under its own id
        return [out / f"{image.get('image_id')}.{image.get('format') or 'png'}" for image in images]
    if len(images) == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{index}{out.suffix}") for index in range(1, len(images) + 1)]


def run_generate(args: argparse.Namespace) -> int:
    from imagegen_local.client import download

    request = build_request(args)
    _check_out(args.out)
    client = _client(args)
    sys.stderr.write(f"imagegen generate: generating with {request['model']} (synchronous, up to ~30 s)…\n")
    job = _call(lambda: client.generate(request))
    if job.get("status") not in TERMINAL:
        # The model did not answer inside the API's sync budget: the job was handed to the queue (202).
        sys.stderr.write(f"imagegen generate: job {job.get('job_id')} continues in the queue; waiting for it\n")
        job = wait_for_jobs(client, [job["job_id"]], timeout=600.0, label="generate").get(job["job_id"], job)
    if args.json:
        print(json.dumps(job, indent=2))
    images = job.get("images") or []
    if args.out:
        for image, target in zip(images, _targets(args.out, images), strict=True):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(download(image["url"]))
            except OSError as error:
                raise CommandError(
                    f"--out: cannot write {target}: {error.strerror}; the image is at {image.get('url')}", 1
                ) from None
            if not args.json:
                print(target)
    elif not args.json:
        for image in images:
            print(image.get("url"))
    if job.get("status") != "succeeded":
        sys.stderr.write(f"imagegen generate: job {job.get('job_id')} is {job.get('status')}: {_reason(job)}\n")
        return 1
    return 0


def _reason(job: dict[str, Any]) -> str:
    error = job.get("error") or {}
    if error:
        return f"{error.get('code')}: {error.get('message')}"
    return json.dumps(job.get("moderation")) if job.get("moderation") else "no detail"


# ----------------------------------------------------------------------------- batch
def run_batch(args: argparse.Namespace) -> int:
    from imagegen_local.request_files import RequestFileError, chunks, read_requests

    try:
        requests = read_requests(args.file)
    except RequestFileError as error:
        raise CommandError(str(error), 2) from None
    if args.timeout <= 0:
        raise CommandError("--timeout: must be more than 0 seconds", 2)
    client = _client(args)
    job_ids: list[str] = []
    for chunk in chunks(requests):
        answer = _call(lambda chunk=chunk: client.submit(chunk))
        job_ids.extend(job["job_id"] for job in answer["jobs"])
    if args.no_wait:
        for job_id in job_ids:
            print(job_id)
        return 0
    jobs = wait_for_jobs(client, job_ids, timeout=args.timeout, label=f"{args.file.name}")
    results = args.results or args.file.with_name(f"{args.file.stem}.results.jsonl")
    with results.open("w", encoding="utf-8") as handle:
        for job_id in job_ids:
            handle.write(json.dumps(jobs.get(job_id, {"job_id": job_id, "status": "unknown"})) + "\n")
    counts: dict[str, int] = {}
    for job in jobs.values():
        counts[job["status"]] = counts.get(job["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{len(job_ids)} jobs: {summary}; results in {results}")
    pending = [j for j in job_ids if jobs.get(j, {}).get("status") not in TERMINAL]
    if pending:
        sys.stderr.write(f"imagegen batch: {len(pending)} job(s) still not finished after {args.timeout:g} s\n")
        for job_id in pending:
            sys.stderr.write(f"  {_pending_reason(jobs.get(job_id, {'job_id': job_id}))}\n")
        return 1
    return 0


def _pending_reason(job: dict[str, Any]) -> str:
    """Why an unfinished job is not done yet, and what happens next."""
    job_id, status = job.get("job_id"), job.get("status", "unknown")
    last = job.get("last_error") or {}
    if job.get("dead_lettered"):
        return f"{job_id} {status}: in the dead-letter queue after {last.get('code')}: {last.get('message')}; `imagegen dlq redrive` resumes it"
    if last:
        receives = last.get("receive_count")
        tries = f" (attempt {receives})" if receives else ""
        return f"{job_id} {status}: last error {last.get('code')}: {last.get('message')}{tries}; the queue retries it after its visibility timeout"
    return f"{job_id} {status}: waiting for a worker (no error so far)"


def wait_for_jobs(client: Any, job_ids: list[str], *, timeout: float, label: str) -> dict[str, dict[str, Any]]:
    """Poll until every job is terminal (or the timeout), with a progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    jobs: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(label, total=len(job_ids))
        while time.monotonic() < deadline:
            for job_id in job_ids:
                if jobs.get(job_id, {}).get("status") not in TERMINAL:
                    jobs[job_id] = _call(lambda job_id=job_id: client.job(job_id))
            done = sum(1 for j in jobs.values() if j.get("status") in TERMINAL)
            progress.update(task, completed=done)
            if done == len(job_ids):
                break
            time.sleep(0.3)
    return jobs


# ----------------------------------------------------------------------------- jobs show
def run_jobs_without_action(args: argparse.Namespace) -> int:
    raise CommandError("give an action: imagegen jobs show JOB_ID --local URL --token T (or --api-url URL)", 2)


def run_jobs_show(args: argparse.Namespace) -> int:
    client = _client(args)
    job = _call(lambda: client.job(args.job_id))
    if args.json:
        print(json.dumps(job, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"job {job.get('job_id')}", show_header=False)
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")  # URLs are copied from here: fold them, never cut them with "…"
    for name in ("status", "model_id", "cost_usd", "license_record_id", "created_at", "completed_at"):
        table.add_row(name, str(job.get(name)))
    if job.get("error"):
        table.add_row("error", _reason(job))
    if job.get("moderation"):
        table.add_row("moderation", json.dumps(job["moderation"]))
    for image in job.get("images") or []:
        table.add_row(
            "image", f"{image.get('image_id')} {image.get('width')}×{image.get('height')} seed={image.get('seed')}"
        )
        table.add_row("", str(image.get("url")))
    Console().print(table)
    return 0


# ----------------------------------------------------------------------------- dlq
def _deployed_sqs(args: argparse.Namespace) -> Any:
    import boto3

    if not args.dlq_url:
        raise CommandError(
            "--dlq-url: a deployed stack's DLQ URL is needed (stack output dlqUrl, or $IMAGEGEN_DLQ_URL)", 2
        )
    return boto3.Session(profile_name=args.profile, region_name=args.region).client("sqs")


def _is_local(args: argparse.Namespace) -> bool:
    return bool(
        args.local or (not args.api_url and os.environ.get("IMAGEGEN_TOKEN") and os.environ.get("IMAGEGEN_API_URL"))
    )


def run_dlq_list(args: argparse.Namespace) -> int:
    if _is_local(args):
        client = _client(args)
        messages = _call(lambda: client.request("GET", "/_local/dlq"))["messages"]
    else:
        from imagegen_local import dlq

        messages = dlq.peek(_deployed_sqs(args), args.dlq_url)
    if args.json:
        print(json.dumps(messages, indent=2))
        return 0
    if not messages:
        print("the DLQ is empty")
    for message in messages:
        print(f"{message['message_id']}  job={message.get('job_id')}  receives={message.get('receive_count')}")
    return 0


def run_dlq_redrive(args: argparse.Namespace) -> int:
    if _is_local(args):
        client = _client(args)
        result = _call(lambda: client.request("POST", "/_local/dlq/redrive", {}))
    else:
        from imagegen_local import dlq

        moved = dlq.start_move_task(_deployed_sqs(args), args.dlq_url)
        result = {"method": moved.method, "moved": moved.moved, "task_handle": moved.task_handle}
    if args.json:
        print(json.dumps(result, indent=2))
    elif result.get("moved") is None:
        print(f"redrive started ({result['method']}, task {result.get('task_handle')})")
    else:
        print(f"moved {result['moved']} message(s) back to the jobs queue ({result['method']})")
        if result.get("note"):
            print(f"note: {result['note']}")
    return 0


# ----------------------------------------------------------------------------- models
def price_text(spec: Any) -> str:
    pricing = spec.pricing
    if pricing.flat is not None:
        text = f"${pricing.flat:.3f}"
    else:
        prices = [p for c in pricing.size_classes for p in (c.standard, c.premium)]
        text = f"${min(prices):.3f}–{max(prices):.3f}"
    return text if pricing.confirmed else f"{text}*"


def model_rows(stack: str | None = None) -> list[dict[str, Any]]:
    from imagegen_service import catalogue, clock

    enabled: set[str] = set()
    if stack:
        from imagegen_platform.settings import load_stack

        _, settings = load_stack(stack)
        enabled = {m.model for m in settings.models}
    today = clock.today()
    rows = []
    for spec in catalogue.all_models():
        rows.append(
            {
                "key": spec.key,
                "model_id": spec.model_id,
                "provider": spec.provider,
                "tasks": [t.value for t in spec.tasks],
                "status": spec.lifecycle.status_on(today).value,
                "end_of_life": spec.lifecycle.end_of_life.isoformat() if spec.lifecycle.end_of_life else None,
                "price_per_image_usd": price_text(spec),
                "watermark": spec.watermark,
                "default_rpm": spec.quota.default_rpm,
                "regions": list(spec.regions),
                **({"enabled": spec.key in enabled} if stack else {}),
            }
        )
    return rows


def run_models(args: argparse.Namespace) -> int:
    from imagegen_service import catalogue, clock

    if args.routes:
        from imagegen_platform.cli.routes import run_routes

        return run_routes(args)
    rows = model_rows(args.stack)
    if args.json:
        print(json.dumps({"as_of": clock.today().isoformat(), "models": rows}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    colour = {"active": "green", "legacy": "yellow", "end-of-life": "red"}
    table = Table(title=f"Bedrock image models as of {clock.today().isoformat()}")
    # Tasks are in --json: a table column of them would squeeze the IDs users copy from here.
    for column in (
        "key",
        "model ID",
        "status",
        "price/image",
        "watermark",
        "RPM",
        *(["enabled"] if args.stack else []),
    ):
        table.add_column(column, no_wrap=True)
    for row in rows:
        status = row["status"] + (f" ({row['end_of_life']})" if row["end_of_life"] else "")
        table.add_row(
            row["key"],
            row["model_id"],
            f"[{colour[row['status']]}]{status}[/]",
            row["price_per_image_usd"],
            "yes" if row["watermark"] else "no",
            str(row["default_rpm"]),
            *(["yes" if row["enabled"] else ""] if args.stack else []),
        )
    console = Console()
    console = Console(width=max(console.width, 170))  # model IDs are long: never squeeze them
    console.print(table)
    console.print(f"* price UNCONFIRMED by the sources; prices as of {catalogue.PRICES_AS_OF.isoformat()}")
    return 0
