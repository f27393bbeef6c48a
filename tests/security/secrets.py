"""What a leaked credential looks like in text: private keys, AWS access keys and secret keys."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PATTERNS: dict[str, re.Pattern[str]] = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
    # A 40-character secret next to a name that says what it is (a bare 40-char run is too common
    # in base64 public keys to flag on its own).
    "AWS secret access key": re.compile(
        r"(?i)(?:aws_?secret_?access_?key|secret_?access_?key|aws_?secret)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
    ),
}


@dataclass(frozen=True)
class Leak:
    path: str
    line: int
    kind: str


def scan_text(text: str, where: str) -> list[Leak]:
    leaks = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in PATTERNS.items():
            if pattern.search(line):
                leaks.append(Leak(where, number, kind))
    return leaks


def scan_files(paths: Iterable[Path]) -> list[Leak]:
    leaks: list[Leak] = []
    for path in paths:
        if path.is_file():
            leaks.extend(scan_text(path.read_text(errors="replace"), str(path)))
    return leaks
