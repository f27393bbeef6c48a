"""Batch input files: JSON Lines or CSV of GenerationRequests, checked before anything is sent.

Each row is validated with the service's own ``parse_request`` (the same rules the API applies),
so a bad file fails fast with the line and field named, and no request of it is submitted.
"""

from __future__ import annotations

import csv
import json
import typing
from pathlib import Path
from typing import Any


class RequestFileError(ValueError):
    """A problem in a batch file; the message names the file, the line and the field."""


def _textual_fields() -> frozenset[str]:
    """Fields whose CSV cells are text as written (not JSON): strings, enums, literals."""
    from imagegen_service.requests import GenerationRequest

    textual = set()
    for name, info in GenerationRequest.model_fields.items():
        shown = repr(info.annotation)
        if not any(word in shown for word in ("int", "float", "list", "dict", "ImageRef", "Control", "SeedSweep")):
            textual.add(name)
    return frozenset(textual)


def _cell(field: str, text: str, textual: frozenset[str]) -> Any:
    if field in textual:
        return text
    try:
        return json.loads(text)
    except ValueError:
        # A bare string where an image is expected is base64 shorthand; the schema says if it is not.
        return text


def _check(raw: Any, where: str) -> dict[str, Any]:
    from imagegen_service.errors import RequestInvalid
    from imagegen_service.requests import parse_request

    if not isinstance(raw, dict):
        raise RequestFileError(f"{where}: each line must be one JSON object (a GenerationRequest)")
    try:
        parse_request(raw)
    except RequestInvalid as error:
        problems = "; ".join(f"{d.field}: {d.message}" for d in error.details) or error.message
        raise RequestFileError(f"{where}: {problems}") from None
    return raw


MAX_REPORTED_LINES = 20  # every bad line is counted; this many are spelled out


def _raise_all(problems: list[str]) -> None:
    if not problems:
        return
    shown = problems[:MAX_REPORTED_LINES]
    more = len(problems) - len(shown)
    tail = [f"… and {more} more bad line(s)"] if more else []
    raise RequestFileError("\n".join([*shown, *tail]))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    requests = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"{path}:{number}: not valid JSON ({error.msg} at column {error.colno})")
            continue
        try:
            requests.append(_check(raw, f"{path}:{number}"))
        except RequestFileError as problem:
            problems.append(str(problem))
    _raise_all(problems)
    return requests


def read_csv(path: Path) -> list[dict[str, Any]]:
    from imagegen_service.requests import GenerationRequest

    textual = _textual_fields()
    known = set(GenerationRequest.model_fields)
    requests = []
    problems: list[str] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        unknown = [name for name in reader.fieldnames or [] if name not in known]
        if unknown:
            raise RequestFileError(
                f"{path}:1: unknown column(s) {', '.join(map(repr, unknown))} (columns are GenerationRequest fields)"
            )
        for row in reader:
            number = reader.line_num
            if None in row:
                problems.append(f"{path}:{number}: more cells than header columns")
                continue
            raw = {name: _cell(name, text, textual) for name, text in row.items() if text not in ("", None)}
            try:
                requests.append(_check(raw, f"{path}:{number}"))
            except RequestFileError as problem:
                problems.append(str(problem))
    _raise_all(problems)
    return requests


def read_requests(path: Path) -> list[dict[str, Any]]:
    """The requests of a ``.jsonl``/``.ndjson`` or ``.csv`` file, every row validated."""
    if not path.is_file():
        raise RequestFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson"):
            requests = read_jsonl(path)
        elif suffix == ".csv":
            requests = read_csv(path)
        else:
            raise RequestFileError(f"{path}: batch files are .jsonl or .csv")
    except UnicodeDecodeError:
        raise RequestFileError(f"{path}: not UTF-8 text") from None
    if not requests:
        raise RequestFileError(f"{path}: no requests in the file")
    return requests


def chunks(items: list[dict[str, Any]], size: int | None = None) -> typing.Iterator[list[dict[str, Any]]]:
    """Calls of at most ``size`` requests (default: the API's 1–100) that expand to at most the service's
    jobs per call (fan-out counted with the API's own schema)."""
    from imagegen_service.errors import RequestInvalid
    from imagegen_service.requests import MAX_REQUESTS_PER_CALL, parse_shape
    from imagegen_service.workflows import MAX_JOBS_PER_CALL, planned_jobs

    size = size or MAX_REQUESTS_PER_CALL

    chunk: list[dict[str, Any]] = []
    jobs = 0
    for item in items:
        try:
            planned = planned_jobs(parse_shape(item))
        except RequestInvalid:  # the API will say what is wrong with it; it is one request
            planned = 1
        if chunk and (len(chunk) == size or jobs + planned > MAX_JOBS_PER_CALL):
            yield chunk
            chunk, jobs = [], 0
        chunk.append(item)
        jobs += planned
    if chunk:
        yield chunk
