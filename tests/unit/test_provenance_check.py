"""Bit flips, as an attacker's fuzzer makes them: no change to the pixels or header ever verifies, and a
change inside the manifest either breaks it or leaves every reported fact as signed.

C2PA's data hash covers every byte of the file except the manifest store itself (C2PA 2.1,
"Hard bindings": the ``c2pa.hash.data`` exclusion); inside the store, c2pa-rs tolerates changes to
bytes nothing signs (COSE padding, JUMBF labels, the PNG chunk CRC), so those may stay Valid.
"""

from __future__ import annotations

import io
import random
import struct

import pytest
from imagegen_service import provenance, provenance_check
from imagegen_service.provenance_testcerts import make_test_chain
from PIL import Image


@pytest.fixture(scope="module")
def signed() -> bytes:
    chain = make_test_chain()
    raw = io.BytesIO()
    Image.new("RGB", (24, 24), (30, 160, 90)).save(raw, "PNG")
    facts = provenance.GenerationFacts(
        "stability.sd3-5-large-v1:0", "SD3.5 Large", "Stability AI", 9, "fp", "0" * 64, {"seed": 9}, "lic-1"
    )
    return provenance.sign(raw.getvalue(), "image/png", facts, provenance.SigningChain(chain.certs, chain.key), "x")


def _manifest_span(data: bytes) -> tuple[int, int]:
    index = 8
    while index < len(data):
        (length,) = struct.unpack(">I", data[index : index + 4])
        if data[index + 4 : index + 8] == b"caBX":
            return index, index + 12 + length
        index += 12 + length
    raise AssertionError("no caBX chunk")


def _flip(data: bytes, position: int) -> bytes:
    altered = bytearray(data)
    altered[position] ^= 0x01
    return bytes(altered)


def test_every_flip_outside_the_manifest_fails(signed: bytes) -> None:
    start, end = _manifest_span(signed)
    outside = [p for p in range(8, len(signed)) if not start <= p < end]  # after the PNG signature
    still_valid = [p for p in outside if provenance_check.check(_flip(signed, p)).valid]
    assert still_valid == []


def test_a_flip_inside_the_manifest_never_changes_what_it_reports(signed: bytes) -> None:
    start, end = _manifest_span(signed)
    reference = provenance_check.check(signed).as_dict()
    for position in random.Random(15).sample(range(start, end), 300):
        found = provenance_check.check(_flip(signed, position))
        if found.valid:
            report = found.as_dict()
            assert {k: v for k, v in report.items() if k != "sha256"} == {
                k: v for k, v in reference.items() if k != "sha256"
            }, position
