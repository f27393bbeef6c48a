"""Signed without a timestamp authority, a manifest stops verifying when the signing leaf expires.

This pins c2pa-rs's behaviour that docs/service.md warns about: with no RFC 3161 timestamp the
signature time is unproven, so the leaf is judged at verification time (``signingCredential.expired``).
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

from cryptography import x509
from imagegen_service import provenance, provenance_check
from imagegen_service.provenance_testcerts import make_test_chain
from PIL import Image


def test_a_manifest_reads_invalid_once_its_leaf_has_expired() -> None:
    # GIVEN a leaf that expires two seconds from now (the chain starts yesterday)
    chain = make_test_chain(validity=timedelta(days=1, seconds=2))
    leaf = x509.load_pem_x509_certificates(chain.certs.encode())[0]
    raw = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 200)).save(raw, "PNG")
    facts = provenance.GenerationFacts("stability.sd3-5-large-v1:0", "SD3.5 Large", "Stability AI", 1, "f", "0", {})
    signed = provenance.sign(raw.getvalue(), "image/png", facts, provenance.SigningChain(chain.certs, chain.key), "x")
    assert provenance_check.check(signed, chain.ca_cert).trusted is True

    # WHEN the leaf's notAfter has passed (wall-clock time, not a synchronisation sleep)
    while datetime.now(UTC) <= leaf.not_valid_after_utc + timedelta(seconds=1):
        time.sleep(0.1)

    # THEN the same bytes no longer verify
    found = provenance_check.check(signed, chain.ca_cert)
    assert (found.valid, found.state) == (False, "Invalid")
    assert "signingCredential.expired" in {p["code"] for p in found.problems}
