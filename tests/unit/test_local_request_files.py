"""Batch files: JSONL and CSV, checked with the service's own request rules before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagegen_local.request_files import RequestFileError, chunks, read_requests


def test_jsonl_rows_are_validated_with_line_numbers(tmp_path: Path) -> None:
    good = tmp_path / "ok.jsonl"
    good.write_text(
        '# a comment\n{"model": "titan-image-v1", "prompt": "a kite", "seed": 1}\n\n{"model": "sd3-5-large", "prompt": "a kite"}\n'
    )
    assert [r["model"] for r in read_requests(good)] == ["titan-image-v1", "sd3-5-large"]
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"model": "titan-image-v1", "prompt": "a"}\n{"model": \n')
    with pytest.raises(RequestFileError, match=r"bad.jsonl:2: not valid JSON"):
        read_requests(bad_json)
    bad_field = tmp_path / "field.jsonl"
    bad_field.write_text(
        '{"model": "titan-image-v1", "prompt": "a"}\n{"model": "titan-image-v1", "prompt": "a", "seed": -3}\n'
    )
    with pytest.raises(RequestFileError, match=r"field.jsonl:2: seed: must be within"):
        read_requests(bad_field)
    not_object = tmp_path / "list.jsonl"
    not_object.write_text("[1, 2]\n")
    with pytest.raises(RequestFileError, match=r"list.jsonl:1: each line must be one JSON object"):
        read_requests(not_object)


def test_csv_cells_take_the_fields_types(tmp_path: Path) -> None:
    good = tmp_path / "ok.csv"
    good.write_text('model,prompt,seed,cfg_scale,quality\ntitan-image-v1,"123, a number as prompt",7,7.5,premium\n')
    [row] = read_requests(good)
    assert row == {
        "model": "titan-image-v1",
        "prompt": "123, a number as prompt",
        "seed": 7,
        "cfg_scale": 7.5,
        "quality": "premium",
    }


def test_csv_errors_name_the_column_or_line(tmp_path: Path) -> None:
    unknown = tmp_path / "u.csv"
    unknown.write_text("model,prompt,colour\ntitan-image-v1,a,red\n")
    with pytest.raises(RequestFileError, match=r"u.csv:1: unknown column\(s\) 'colour'"):
        read_requests(unknown)
    bad = tmp_path / "b.csv"
    bad.write_text("model,prompt,count\ntitan-image-v1,a,1\ntitan-image-v1,a,9\n")
    with pytest.raises(RequestFileError, match=r"b.csv:3: count"):
        read_requests(bad)


def test_other_files_are_refused(tmp_path: Path) -> None:
    for name, content, message in (
        ("x.txt", "hi", "are .jsonl or .csv"),
        ("e.jsonl", "\n", "no requests"),
        ("missing.jsonl", None, "no such file"),
    ):
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        with pytest.raises(RequestFileError, match=message):
            read_requests(path)


def test_chunks_respect_the_api_limit() -> None:
    sizes = [len(c) for c in chunks([{"n": i} for i in range(250)])]
    assert sizes == [100, 100, 50]
