"""``python -m bench [--quick] [--json]``: see bench/runner.py and docs/benchmarks.md."""

from __future__ import annotations

from bench.runner import main

# Guarded: spawn/forkserver children (the local gateway's containers) re-import the main module.
if __name__ == "__main__":
    raise SystemExit(main())
