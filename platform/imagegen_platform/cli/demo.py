"""`imagegen demo`: placeholder until its issue lands (see the module owner's issue)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="(not built yet)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print("imagegen demo: not built yet")
    return 0
