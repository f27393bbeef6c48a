"""Killing the worker mid-batch loses no job: SQS redelivers after the visibility timeout.

The real API and worker handlers run on the embedded platform (moto server + emulator). The first
worker dies (SystemExit in its thread, as a crashed Lambda container) after receiving a batch —
once before processing it, once after processing but before deleting the messages. A fresh worker
then drains the queue: every job ends terminal, nothing is left on the queue or the DLQ, and no
model is called twice for the same job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from imagegen_local import queues
from imagegen_local.client import BearerAuth, ImagegenClient
from imagegen_local.serve import LocalOptions, LocalPlatform
from imagegen_platform.cli.local import local_platform as open_platform

pytestmark = pytest.mark.e2e

VISIBILITY_S = 2  # the stack's queue says 360 s (6 × the worker timeout); tests cannot wait that long
JOBS = 6  # more than one batch (the graph's event source mapping says 5)


@pytest.fixture(scope="module")
def platform(
    stack_graph: Callable[[str], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPlatform]:
    options = LocalOptions(worker=False, root=tmp_path_factory.mktemp("root"))
    with open_platform(options, graph=stack_graph("local")) as running:
        yield running


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("dies", ["before processing", "after processing, before deleting"])
def test_worker_killed_mid_batch_loses_no_job(platform: LocalPlatform, dies: str, tmp_path: Path) -> None:
    assert platform.aws is not None and platform.aws.data_plane is not None
    sqs = platform.aws.client("sqs")
    plane = platform.aws.data_plane
    client = ImagegenClient(platform.url, BearerAuth(platform.token))
    stats_before = platform.aws.emulator_stats()
    # GIVEN a batch of jobs on the queue
    start = 1000 if dies.startswith("before") else 2000
    answer = client.submit(
        [{"model": "titan-image-v1", "prompt": f"a paper kite ({dies})", "seed_sweep": {"start": start, "count": JOBS}}]
    )
    job_ids = [job["job_id"] for job in answer["jobs"]]
    assert len(job_ids) == JOBS
    real = platform.worker_handler

    def crashing(event: dict[str, Any], context: Any) -> Any:
        if dies.startswith("after"):
            real(event, context)
        raise SystemExit("worker killed")  # the thread dies: no delete, no partial response

    # WHEN the first worker dies holding one batch
    first = platform.new_worker(crashing, visibility_timeout=VISIBILITY_S)
    first.start()
    _wait(lambda: not first.running, 30, "the first worker to die")
    assert first.stats.received == platform.view.batch_size and first.stats.deleted == 0
    # AND a new worker starts
    second = platform.new_worker(visibility_timeout=VISIBILITY_S)
    second.start()
    try:
        _wait(
            lambda: all(client.job(j)["status"] in ("succeeded", "failed", "blocked") for j in job_ids),
            90,
            "every job to finish",
        )
        _wait(lambda: queues.is_empty(sqs, plane.queue_url), 30, "the queue to drain")
    finally:
        second.stop()
    # THEN every job succeeded, nothing is lost or dead-lettered, and no model call was repeated
    assert {client.job(j)["status"] for j in job_ids} == {"succeeded"}
    assert queues.depth(sqs, plane.dlq_url) == 0
    stats = platform.aws.emulator_stats()
    assert stats["invocations_total"] - stats_before["invocations_total"] == JOBS
    assert stats["duplicate_invocations"] == stats_before["duplicate_invocations"]


# --------------------------------------------------------------------------- the data plane is the graph's
def test_data_plane_matches_the_preview_graph(platform: LocalPlatform) -> None:
    assert platform.aws is not None
    ddb = platform.aws.client("dynamodb")
    for inputs in platform.view.tables():
        # GIVEN each table the program declares, WHEN described in moto, THEN keys, GSIs and TTL agree
        table = ddb.describe_table(TableName=inputs["name"])["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        assert keys["HASH"] == inputs["hashKey"] and keys.get("RANGE") == inputs.get("rangeKey")
        assert {a["AttributeName"] for a in table["AttributeDefinitions"]} == {a["name"] for a in inputs["attributes"]}
        declared = {g["name"] for g in inputs.get("globalSecondaryIndexes") or []}
        assert {g["IndexName"] for g in table.get("GlobalSecondaryIndexes", [])} == declared
        ttl = ddb.describe_time_to_live(TableName=inputs["name"])["TimeToLiveDescription"]
        assert ttl.get("AttributeName") == inputs["ttl"]["attributeName"]
    # the licence records are the program's TableItems, one per enabled model
    items = platform.view.licence_items()
    from imagegen_platform.settings import load_stack

    assert len(items) == len(load_stack("local")[1].models) == 10
    for inputs in items:
        record = ddb.get_item(TableName=inputs["tableName"], Key={"record_id": json.loads(inputs["item"])["record_id"]})
        assert record["Item"] == json.loads(inputs["item"])
    # the queue has the declared visibility timeout and redrive to the DLQ
    sqs = platform.aws.client("sqs")
    plane = platform.aws.data_plane
    assert plane is not None
    attributes = sqs.get_queue_attributes(QueueUrl=plane.queue_url, AttributeNames=["All"])["Attributes"]
    queue = platform.view.queue("imagegen-local-jobs")
    assert int(attributes["VisibilityTimeout"]) == queue.visibility_timeout == 360
    redrive = json.loads(attributes["RedrivePolicy"])
    assert (
        int(redrive["maxReceiveCount"]) == queue.max_receive_count and redrive["deadLetterTargetArn"] == plane.dlq_arn
    )


def test_handlers_get_the_graphs_environment_with_local_endpoints(platform: LocalPlatform) -> None:
    shared, own = platform.view.handler_environments()
    env = platform.environment
    assert env["AWS_ENDPOINT_URL"] == platform.aws.moto_url if platform.aws else False
    assert env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == env["AWS_ENDPOINT_URL_REKOGNITION"] != env["AWS_ENDPOINT_URL"]
    assert env["IMAGEGEN_CDN_DOMAIN"] == f"{platform.url}/cdn"
    local = {"IMAGEGEN_CDN_DOMAIN", "IMAGEGEN_QUEUE_URL", "IMAGEGEN_DLQ_URL"}
    for name, value in shared.items():
        if name not in local:
            assert env[name] == value, name  # everything else exactly as the program declared it
    assert own  # POWERTOOLS_SERVICE_NAME differs per function: applied per handler at import


# --------------------------------------------------------------------------- the user commands against it
def test_client_commands_against_the_local_platform(
    platform: LocalPlatform, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from imagegen_platform.cli import main

    target = ["--local", platform.url, "--token", platform.token]
    # generate --out saves the image fetched through its signed URL
    out = tmp_path / "kite.png"
    assert (
        main(
            [
                "generate",
                *target,
                "--model",
                "titan-image-v1",
                "--prompt",
                "a green kite",
                "--seed",
                "9",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_bytes().startswith(b"\x89PNG")
    # batch: a JSONL file in, a results file out, one job per line
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        '{"model": "titan-image-v1", "prompt": "a kite", "seed": 1}\n{"model": "titan-image-v1", "prompt": "a kite", "seed": 2}\n'
    )
    worker = platform.new_worker()
    worker.start()
    try:
        assert main(["batch", *target, str(requests)]) == 0
    finally:
        worker.stop()
    results = [json.loads(line) for line in (tmp_path / "requests.results.jsonl").read_text().splitlines()]
    assert [r["status"] for r in results] == ["succeeded", "succeeded"]
    assert [r["images"][0]["seed"] for r in results] == [1, 2]
    capsys.readouterr()
    assert main(["jobs", "show", *target, results[0]["job_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["job_id"] == results[0]["job_id"]
    # dlq list / redrive (moto has no StartMessageMoveTask: receive, send, delete)
    assert platform.aws is not None and platform.aws.data_plane is not None
    sqs = platform.aws.client("sqs")
    sqs.send_message(QueueUrl=platform.aws.data_plane.dlq_url, MessageBody=json.dumps({"job_id": results[0]["job_id"]}))
    assert main(["dlq", "list", *target, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["job_id"] for m in listed] == [results[0]["job_id"]]
    assert main(["dlq", "redrive", *target, "--json"]) == 0
    moved = json.loads(capsys.readouterr().out)
    assert moved["moved"] == 1 and moved["method"] == "receive-send-delete"
    assert queues.depth(sqs, platform.aws.data_plane.dlq_url) == 0
    # the redriven message is a duplicate of a finished job: the worker acknowledges it, nothing re-runs
    worker = platform.new_worker()
    worker.start()
    try:
        _wait(
            lambda: (
                queues.is_empty(sqs, platform.aws.data_plane.queue_url)
                if platform.aws and platform.aws.data_plane
                else True
            ),
            30,
            "the redriven message",
        )
    finally:
        worker.stop()
    assert client_status(platform, results[0]["job_id"]) == "succeeded"


def client_status(platform: LocalPlatform, job_id: str) -> str:
    return str(ImagegenClient(platform.url, BearerAuth(platform.token)).job(job_id)["status"])


# --------------------------------------------------------------------------- the demo's workflows
def test_demo_workflows_and_pictures(platform: LocalPlatform, tmp_path: Path) -> None:
    import io

    from imagegen_local.demo import DemoRun, run_workflows, save_pictures, summary_table
    from PIL import Image
    from rich.console import Console

    client = ImagegenClient(platform.url, BearerAuth(platform.token))
    console = Console(file=io.StringIO(), width=120)
    run = DemoRun(tmp_path)
    worker = platform.new_worker()
    worker.start()
    try:
        # WHEN the demo's workflows run (they raise DemoFailed when the pipeline misbehaves)
        run_workflows(client, run, console)
    finally:
        worker.stop()
    save_pictures(run, platform, client)
    # THEN each workflow produced what the guide describes
    steps = {step.name.split(" ")[0].rstrip(":"): step for step in run.steps}
    assert [i["seed"] for i in steps["Seed"].images] == [100, 101, 102, 103]
    hero, cutout, *outpainted = steps["Ecommerce"].jobs
    assert hero["workflow"]["job"] == "hero" and cutout["workflow"]["job"] == "cut-out"
    assert cutout["images"][0]["format"] == "png"  # the cut-out keeps its transparency
    assert [job["workflow"]["channel"] for job in outpainted] == ["story", "wide"]
    for job in outpainted:
        image = job["images"][0]
        ratio = {"story": 9 / 16, "wide": 16 / 9}[job["workflow"]["channel"]]
        assert abs(image["width"] / image["height"] - ratio) < 0.02
    # the composition-locked series: one layout (the hero as the structure), three colourways
    locked = steps["Composition-locked"].jobs
    assert len(locked) == 3 and {j["model_id"] for j in locked} == {"us.stability.stable-image-control-structure-v1:0"}
    assert len({j["images"][0]["sha256"] for j in locked}) == 3
    words = {j["model_id"].split(".")[-1] for j in steps["Edits"].jobs}
    assert words == {
        "stable-image-search-replace-v1:0",
        "stable-image-search-recolor-v1:0",
        "stable-image-erase-object-v1:0",
    }
    assert len(steps["Style-consistent"].jobs) == 4
    # every model the demo called is Active today (no Legacy or retired model behind any image)
    from imagegen_service import catalogue, clock

    for step in run.steps:
        for job in step.jobs:
            spec = catalogue.lookup(job["model_id"])
            assert spec.lifecycle.status_on(clock.today()) is catalogue.Status.ACTIVE, (step.name, spec.key)
    draft, final = steps["Draft"].jobs
    assert draft["images"][0]["seed"] == final["images"][0]["seed"]  # the seed the draft's response reported
    assert [e.status for e in steps["Refused"].refused] == [422, 503]
    assert "end of life" in steps["Refused"].refused[1].message  # the lifecycle reason, not "not enabled"
    # AND the pictures: a contact sheet of every workflow, a gallery linking every saved image, nothing remote
    with Image.open(tmp_path / "contact-sheet.png") as sheet:
        assert sheet.width > sheet.height
    html = (tmp_path / "gallery.html").read_text()
    saved = sorted((tmp_path / "images").iterdir())
    assert len(saved) == 20 and all(f'src="images/{p.name}"' in html for p in saved)
    assert "403" in html  # the tampered-URL check ran
    # AND every saved image either verifies under the local signing CA or (Amazon models) carries no manifest
    assert run.provenance["verdicts"].get("trusted", 0) >= 1 and "provenance:" in html
    console.print(summary_table(run))
    assert "quarantined" in console.file.getvalue()  # type: ignore[attr-defined]
