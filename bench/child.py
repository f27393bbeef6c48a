"""Entry points run in fresh interpreters by the benchmarks: ``python -m bench.child COMMAND …``.

Each prints one JSON line on stdout. Imports stay inside the commands so a child pays only for
what it measures.
"""

from __future__ import annotations

import sys
import time


def preview_stacks(stacks: list[str]) -> dict[str, object]:
    """Preview each stack in turn in this one process; seconds per stack, in order."""
    started = time.perf_counter()
    from imagegen_platform.preview import run_preview

    import_s = time.perf_counter() - started
    per_stack = []
    for stack in stacks:
        started = time.perf_counter()
        graph = run_preview(stack)
        if not graph.get("resources"):
            raise RuntimeError(f"preview of {stack} returned no resources")
        per_stack.append(time.perf_counter() - started)
    return {"import_s": import_s, "per_stack_s": per_stack}


def peak_rss_mb() -> float:
    """This process's peak resident set. Linux: VmHWM of this address space (``ru_maxrss`` would
    also count the parent's RSS at fork time, which survives exec); elsewhere ``ru_maxrss``."""
    import resource
    from pathlib import Path

    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def worker_rss(event_file: str) -> dict[str, object]:
    """Run the real worker handler on one SQS batch; peak RSS of this process."""
    import json
    from pathlib import Path

    from imagegen_local.lambda_context import LocalLambdaContext
    from imagegen_service.handlers import worker

    event = json.loads(Path(event_file).read_text())
    after_import = peak_rss_mb()
    started = time.perf_counter()
    result = worker.handler(event, LocalLambdaContext("imagegen-bench-worker", region="us-east-1", timeout_seconds=300))
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    return {
        "peak_rss_mb": round(peak, 1),
        "rss_after_import_mb": round(after_import, 1),
        "seconds": round(seconds, 2),
        "failures": len((result or {}).get("batchItemFailures") or []),
    }


def main(argv: list[str]) -> int:
    import json

    command, args = argv[0], argv[1:]
    if command == "preview-stacks":
        result = preview_stacks(args)
    elif command == "worker-rss":
        result = worker_rss(args[0])
    else:
        raise SystemExit(f"unknown bench child command {command!r}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
