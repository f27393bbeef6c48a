"""`imagegen demo`: the seed guide's workflows, end to end, on the embedded local platform.

preview + policy check of stack ``local`` → moto + emulator → data plane from the graph → requests
through the real API (over HTTP, with the bearer token) and the real worker → pictures and a summary.
Every image shown was fetched through its signed delivery URL, as a browser would.

Workflows (``seed/bedrock-image-generation-guide.txt``), on Active models only and named by job
(stack routes): a seed sweep for A/B variants; the ecommerce flow hero → cut-out → outpaint into
channel formats; a composition-locked packshot series (Control Structure); edits addressed by words
(search-and-replace, search-and-recolor, erase); a style-consistent series (Style Guide) and SD3.5
image-to-image variations; a draft re-run as the final with the seed Bedrock reported; a prompt the
guardrail blocks; an image moderation quarantines; and a request for an end-of-life model, refused
with its lifecycle reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from imagegen_local import pictures
from imagegen_local.client import ApiError, BearerAuth, ImagegenClient, download
from imagegen_local.serve import LocalOptions, LocalPlatform

STACK = "local"
SUBJECT = "a matte-white ceramic coffee mug"
TERMINAL = ("succeeded", "failed", "blocked")
DRAIN_TIMEOUT_S = 120.0


class DemoFailed(RuntimeError):
    """A step did not behave as the pipeline promises (the demo checks, it does not only show)."""


@dataclass
class Step:
    """One workflow's jobs and what it showed."""

    name: str
    description: str
    jobs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refused: list[ApiError] = field(default_factory=list)

    @property
    def images(self) -> list[dict[str, Any]]:
        return [image for job in self.jobs for image in job.get("images") or []]

    @property
    def cost(self) -> float:
        return sum(float(job.get("cost_usd") or 0) for job in self.jobs)


@dataclass
class DemoRun:
    out_dir: Path
    steps: list[Step] = field(default_factory=list)
    preview: dict[str, Any] = field(default_factory=dict)
    emulator: dict[str, Any] = field(default_factory=dict)
    files: dict[Path, str] = field(default_factory=dict)  # saved image → caption
    provenance: dict[str, Any] = field(default_factory=dict)  # imagegen verify's verdicts on the saved images
    started: float = field(default_factory=time.monotonic)

    def step(self, name: str, description: str) -> Step:
        self.steps.append(Step(name, description))
        return self.steps[-1]


def _expect_refusal(client: ImagegenClient, request: dict[str, Any], status: int) -> ApiError:
    try:
        job = client.generate(request)
    except ApiError as error:
        if error.status != status:
            raise DemoFailed(f"expected HTTP {status}, got {error.status} {error.code}: {error.message}") from None
        return error
    raise DemoFailed(f"expected HTTP {status}, but the request succeeded (job {job.get('job_id')})")


def _drain(client: ImagegenClient, job_ids: list[str], console: Console) -> dict[str, dict[str, Any]]:
    """Poll the submitted jobs while the worker drains the queue, with a progress bar."""
    jobs: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    columns = (TextColumn("[bold]worker draining the queue"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("drain", total=len(job_ids))
        while True:
            for job_id in job_ids:
                if jobs.get(job_id, {}).get("status") not in TERMINAL:
                    jobs[job_id] = client.job(job_id)
            done = sum(1 for job in jobs.values() if job["status"] in TERMINAL)
            progress.update(task, completed=done)
            if done == len(job_ids):
                return jobs
            if time.monotonic() > deadline:
                raise DemoFailed(f"{len(job_ids) - done} job(s) not finished after {DRAIN_TIMEOUT_S:.0f} s")
            time.sleep(0.25)


def _one_image(job: dict[str, Any], what: str) -> dict[str, Any]:
    if job.get("status") != "succeeded" or not job.get("images"):
        raise DemoFailed(f"{what}: job {job.get('job_id')} is {job.get('status')} ({job.get('error')})")
    return dict(job["images"][0])


def run_workflows(client: ImagegenClient, run: DemoRun, console: Console) -> None:
    # Every model here is Active (catalogue lifecycle); requests name the guide's jobs (stack routes)
    # where a route exists, so the demo also shows "job, not model key".
    # -- synchronous calls (POST /v1/images): the steps later ones build on, and the refusals
    with console.status("generating the hero image, its cut-out and a draft (POST /v1/images) …"):
        hero = client.generate({"job": "hero", "prompt": SUBJECT, "seed": 2024, "aspect_ratio": "1:1"})
        hero_id = _one_image(hero, "hero")["image_id"]
        cutout = client.generate({"job": "cut-out", "source_image": {"image_id": hero_id}})
        cutout_id = _one_image(cutout, "cut-out")["image_id"]
        draft = client.generate({"job": "thumbnail", "prompt": f"{SUBJECT}, studio product photo", "seed": 42})
        blocked = _expect_refusal(client, {"job": "thumbnail", "prompt": "a battlefield covered in gore"}, 422)
        retired = _expect_refusal(client, {"model": "nova-canvas", "prompt": SUBJECT}, 503)
    if "end of life" not in retired.message:
        raise DemoFailed(f"the end-of-life refusal does not give the lifecycle reason: {retired.message}")

    # -- one batch (POST /v1/jobs) the worker drains from the queue
    packshot = {"image": {"image_id": hero_id}, "strength": 0.8}
    batch: list[dict[str, Any]] = [
        {"job": "thumbnail", "preset": "product-shot", "prompt": SUBJECT, "seed_sweep": {"start": 100, "count": 4}},
        {"model": "stability-outpaint", "task": "outpainting", "source_image": {"image_id": cutout_id},
         "prompt": f"{SUBJECT} on a light oak table in a sunlit kitchen", "channels": ["story", "wide"]},
        _final_of(draft),
        # spread over models: each is paced to its own default quota (10 RPM for the Stability models)
        {"model": "sd3-5-large", "prompt": "a crowded street market at dusk EMULATOR_UNSAFE", "seed": 7},
        # composition-locked series: one packshot layout, three colourways (Stability Control Structure)
        *({"job": "composition-locked", "prompt": f"a {colour} ceramic coffee mug", "control": packshot, "seed": 11,
           "tags": {"workflow": "composition-locked"}} for colour in ("sage green", "cobalt blue", "terracotta")),
        # edits addressed by words: search-and-replace, search-and-recolor, erase (no hand-drawn mask)
        {"job": "edit-in-place", "source_image": {"image_id": hero_id}, "search_prompt": "mug",
         "prompt": "a glass teapot", "seed": 5, "tags": {"workflow": "word-edit"}},
        {"model": "stability-search-recolor", "source_image": {"image_id": hero_id}, "select_prompt": "mug",
         "prompt": "a bright red mug", "seed": 5, "tags": {"workflow": "word-edit"}},
        {"model": "stability-erase-object", "source_image": {"image_id": cutout_id}, "seed": 5,
         "tags": {"workflow": "word-edit"}},
        # a style-consistent series (Stability Style Guide) and variations of the hero (SD3.5 image-to-image)
        *({"model": "stability-style-guide", "source_image": {"image_id": hero_id}, "prompt": item, "fidelity": 0.7,
           "seed": 3, "tags": {"workflow": "series"}} for item in ("a matching teapot", "a matching milk jug")),
        *({"model": "sd3-5-large", "task": "image-variation", "source_image": {"image_id": hero_id},
           "prompt": SUBJECT, "similarity_strength": 0.7, "seed": seed, "tags": {"workflow": "series"}}
          for seed in (21, 22)),
    ]  # fmt: skip
    submitted = client.submit(batch)
    job_ids = [job["job_id"] for job in submitted["jobs"]]
    console.print(f"submitted {len(batch)} requests → {len(job_ids)} jobs (batch {submitted['batch_id'][:8]}…)")
    jobs = _drain(client, job_ids, console)
    by_workflow = _group(jobs.values())

    sweep = run.step(
        "Seed sweep (A/B variants)", "One product-shot preset, four seeds: pick the winner, reproduce it exactly."
    )
    sweep.jobs = sorted(by_workflow.pop("seed_sweep", []), key=lambda j: j["images"][0]["seed"] if j["images"] else 0)
    edit = run.step(
        "Ecommerce: hero → cut-out → channel formats",
        "The hero job (SD3.5 Large), cut out by the cut-out job (Stability Remove Background, PNG keeps the "
        "transparency), outpainted by Stability Outpaint to each channel.",
    )
    edit.jobs = [hero, cutout, *sorted(by_workflow.pop("channel", []), key=lambda j: j["workflow"]["channel"])]
    locked = run.step(
        "Composition-locked packshots",
        "Stability Control Structure keeps the hero's layout; only the colourway changes.",
    )
    locked.jobs = by_workflow.pop("composition-locked", [])
    words = run.step(
        "Edits addressed by words",
        "Search-and-replace, search-and-recolor (the object named in words, no mask), and erase (the cut-out's alpha).",
    )
    words.jobs = by_workflow.pop("word-edit", [])
    series = run.step(
        "Style-consistent series and variations",
        "Stability Style Guide takes the hero's look to new subjects; SD3.5 Large image-to-image varies it.",
    )
    series.jobs = by_workflow.pop("series", [])
    tiers = run.step(
        "Draft → final with the seed Bedrock reported",
        "A cheap draft on Stable Image Core; the final re-runs its prompt and reported seed on SD3.5 Large.",
    )
    tiers.jobs = [draft, *by_workflow.pop("final_of", [])]
    finals = tiers.jobs[1:]
    if not finals or any(_one_image(f, "final")["seed"] != _one_image(draft, "draft")["seed"] for f in finals):
        raise DemoFailed("the final did not reuse the seed the draft reported")
    tiers.notes.append(
        f"seed {_one_image(draft, 'draft')['seed']}: draft ${float(draft.get('cost_usd') or 0):.3f} (Core) → "
        f"final ${float(finals[0].get('cost_usd') or 0):.3f} (SD3.5 Large)"
    )
    moderation = run.step(
        "Quarantined by moderation", "Rekognition (emulated) flagged the image: stored under quarantine/, never served."
    )
    moderation.jobs = by_workflow.pop("other", [])
    refusals = run.step(
        "Refused before any model call", "Guardrail and lifecycle checks answer with the contract's errors."
    )
    refusals.refused = [blocked, retired]
    for step in run.steps:
        for job in step.jobs:
            if job["status"] == "failed":
                raise DemoFailed(f"{step.name}: job {job['job_id']} failed: {job.get('error')}")
    for step in (locked, words, series):
        if not step.jobs or any(not job["images"] for job in step.jobs):
            raise DemoFailed(f"{step.name}: a job produced no image")
    if any(job["status"] != "blocked" or job["images"] for job in moderation.jobs) or not moderation.jobs:
        raise DemoFailed("the EMULATOR_UNSAFE image was not quarantined")


def _final_of(draft: dict[str, Any]) -> dict[str, Any]:
    """The service's draft → final workflow: the draft's prompt and reported seed, on the better model."""
    draft_image = _one_image(draft, "draft")["image_id"]
    return {
        "model": "sd3-5-large",
        "task": "text-to-image",
        "source_image": {"image_id": draft_image},
    }


def _group(jobs: Any) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        workflow = job.get("workflow") or {}
        kind = next((k for k in ("seed_sweep", "channel", "final_of") if k in workflow), None)
        kind = kind or str((job.get("tags") or {}).get("workflow") or "other")
        groups.setdefault(kind, []).append(job)
    return groups


def _caption(step: Step, job: dict[str, Any], image: dict[str, Any]) -> tuple[str, str]:
    request = job.get("request") or {}
    workflow = job.get("workflow") or {}
    model = str(job.get("model_id", "")).split(".")[-1]
    if "channel" in workflow:
        title = f"{workflow['channel']} {workflow.get('aspect_ratio', '')}"
    elif request.get("task") == "background-removal":
        title = "cut-out"
    elif "quality" in request:
        title = f"{request['quality']} seed {image.get('seed')}"
    else:
        title = f"seed {image.get('seed')}"
    return title, f"{model} · {image.get('width')}x{image.get('height')} · ${float(job.get('cost_usd') or 0):.3f}"


def save_pictures(run: DemoRun, platform: LocalPlatform, client: ImagegenClient) -> None:
    """Fetch every image through its signed URL; write the contact sheet and the gallery."""
    images_dir = run.out_dir / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    for old in images_dir.glob("*.png"):
        old.unlink()
    sections = []
    sweep_tiles = []
    for number, step in enumerate(run.steps, start=1):
        section = pictures.GallerySection(step.name, step.description)
        for job in step.jobs:
            for image in job.get("images") or []:
                data = download(image["url"])  # through the local CDN route: signature checked
                title, detail = _caption(step, job, image)
                path = images_dir / f"{number}-{image['image_id'][:12]}.{image.get('format') or 'png'}"
                path.write_bytes(data)
                run.files[path] = title
                section.items.append(pictures.GalleryItem(f"images/{path.name}", title, detail))
                sweep_tiles.append(pictures.Tile(data, f"{number}. {title}", detail))
            if job["status"] == "blocked":
                labels = ", ".join(
                    f"{label['name']} {label.get('confidence', 0):.0f}%"
                    for label in (job.get("moderation") or {}).get("labels", [])
                )
                section.notes.append(
                    f"job {job['job_id'][:8]}: blocked — {labels}; images: {len(job['images'])}, no URL"
                )
        section.notes.extend(step.notes)
        for error in step.refused:
            section.notes.append(f"HTTP {error.status} {error.code}: {error.message}")
        sections.append(section)
    sections[0].notes.append(_delivery_checks(run, platform))
    sections[0].notes.append(_provenance_checks(run, platform))
    pictures.contact_sheet(
        sweep_tiles,
        run.out_dir / "contact-sheet.png",
        title=f"imagegen demo, every workflow ({SUBJECT}): numbers are the steps in gallery.html",
        columns=5,
    )
    pictures.gallery(sections, run.out_dir / "gallery.html", title="imagegen demo — stack local",
                     subtitle="Generated on the embedded platform (moto + emulator); fetched through signed URLs.")  # fmt: skip


def _delivery_checks(run: DemoRun, platform: LocalPlatform) -> str:
    """Show that delivery refuses tampered URLs and never serves quarantine/."""
    import urllib.error

    assert platform.aws is not None
    url = run.steps[0].jobs[0]["images"][0]["url"]
    tampered = url.replace("Signature=", "Signature=A")
    bucket = platform.environment["IMAGEGEN_BUCKET"]
    quarantined = platform.aws.client("s3").list_objects_v2(Bucket=bucket, Prefix="quarantine/").get("KeyCount", 0)
    try:
        download(tampered)
        raise DemoFailed("a tampered signed URL was served")
    except urllib.error.HTTPError as error:
        if error.code != 403:
            raise DemoFailed(f"a tampered signed URL answered {error.code}, not 403") from None
    return f"delivery: a tampered signed URL → 403; {quarantined} object(s) under quarantine/ (never served)"


def _provenance_checks(run: DemoRun, platform: LocalPlatform) -> str:
    """Check every saved image as ``imagegen verify --trust-anchor`` would, with the local signing CA pinned."""
    from imagegen_service.provenance_check import check

    assert platform.aws is not None and platform.aws.c2pa_files is not None
    anchor_file = platform.aws.c2pa_files[0]
    anchor = anchor_file.read_text()
    verdicts: dict[str, int] = {}
    example = None
    for path in run.files:
        found = check(path.read_bytes(), anchor)
        verdict = "trusted" if found.trusted else ("absent" if not found.manifest else "failed")
        if verdict == "failed":
            raise DemoFailed(f"{path}: its C2PA manifest does not verify ({found.problems})")
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
        example = example or (path if found.trusted else None)
    run.provenance = {"verdicts": verdicts, "anchor": str(anchor_file), "example": str(example) if example else None}
    return (
        f"provenance: {verdicts.get('trusted', 0)} image(s) carry a C2PA manifest trusted under {anchor_file.name}; "
        f"{verdicts.get('absent', 0)} carry none (Amazon models: the provider's invisible watermark instead)"
    )


def summary_table(run: DemoRun) -> Table:
    table = Table(title="imagegen demo — stack local (no AWS account, no cost)")
    for column in ("workflow", "jobs", "images", "outcome", "cost (USD)"):
        table.add_column(column, justify="right" if column in ("jobs", "images", "cost (USD)") else "left")
    for step in run.steps:
        states: dict[str, int] = {}
        for job in step.jobs:
            states[job["status"]] = states.get(job["status"], 0) + 1
        outcome = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        outcome += ", ".join(f"{e.status} {e.code}" for e in step.refused)
        table.add_row(step.name, str(len(step.jobs)), str(len(step.images)), outcome, f"{step.cost:.3f}")
    jobs = [job for step in run.steps for job in step.jobs]
    flagged = sum(int((job.get("moderation") or {}).get("flagged", 0)) for job in jobs)
    passed = sum(len(job.get("images") or []) for job in jobs)
    table.add_section()
    table.add_row(
        "total",
        str(len(jobs)),
        str(passed),
        f"moderation: {passed} passed, {flagged} quarantined; {sum(len(s.refused) for s in run.steps)} refused",
        f"{sum(s.cost for s in run.steps):.3f}",
    )
    return table


def write_summary(run: DemoRun, elapsed: float) -> Path:
    data = {
        "stack": STACK,
        "elapsed_s": round(elapsed, 2),
        "preview": run.preview,
        "steps": [
            {
                "name": step.name,
                "jobs": [{"job_id": j["job_id"], "status": j["status"], "cost_usd": j.get("cost_usd"),
                          "images": [i["image_id"] for i in j.get("images") or []]} for j in step.jobs],
                "refused": [{"status": e.status, "code": e.code, "message": e.message} for e in step.refused],
            }
            for step in run.steps
        ],
        "emulator": run.emulator,
        "files": sorted(str(p.relative_to(run.out_dir)) for p in run.files),
    }  # fmt: skip
    path = run.out_dir / "summary.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def run_demo(
    out_dir: Path,
    console: Console,
    *,
    preview: Callable[[str], dict[str, Any]],
    open_platform: Callable[[LocalOptions, dict[str, Any]], LocalPlatform],
) -> DemoRun:
    """``preview(stack)`` → the graph with its policy verdict; ``open_platform(options, graph)`` → a
    LocalPlatform (both from the CLI layer: ``services/`` never imports ``imagegen_platform``)."""
    run = DemoRun(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with console.status("preview + policy check of stack local (Pulumi program under mocks) …"):
        graph = preview(STACK)
    policies = graph.get("policies") or {}
    run.preview = {
        "resources": len(graph.get("resources", [])),
        "violations": len(policies.get("violations", [])),
        "mandatory_violations": int(policies.get("mandatory_violations", 0)),
        "elapsed_s": graph.get("elapsed_s"),
    }
    console.print(
        f"preview: {run.preview['resources']} resources, {run.preview['violations']} policy finding(s), "
        f"{run.preview['mandatory_violations']} mandatory"
    )
    if run.preview["mandatory_violations"]:
        raise DemoFailed("stack local breaks a mandatory policy: run `imagegen preview --stack local` for details")
    with console.status("starting moto server + emulator and creating the data plane from the graph …"):
        platform = open_platform(LocalOptions(stack=STACK), graph)
        platform.start()
    try:
        console.print(f"local platform on {platform.url} (moto {platform.aws.moto_url if platform.aws else '?'})")
        client = ImagegenClient(platform.url, BearerAuth(platform.token))
        try:
            run_workflows(client, run, console)
        except ApiError as error:
            raise DemoFailed(f"the API refused a demo request: {error}") from None
        with console.status("fetching every image through its signed URL; drawing the contact sheet …"):
            save_pictures(run, platform, client)
        assert platform.aws is not None
        run.emulator = platform.aws.emulator_stats()
    finally:
        platform.stop()
    return run
