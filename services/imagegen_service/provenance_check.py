"""Checking an image's provenance: its C2PA manifest (signature, hash binding, trust) and what it claims.

Used by ``imagegen verify`` on a file and by ``GET /v1/images/{image_id}/provenance`` on the stored
object, so both say the same thing about the same bytes. c2pa-python's Reader does the cryptography:
it validates the claim signature, the hash binding of the claim to the asset's bytes
(``c2pa.hash.data``) and, when trust anchors are given, the signer's chain to one of them.

What the states mean (C2PA 2.x, "Validation"; c2pa-rs ``ValidationState``): ``Invalid`` — a
signature, a hash or the manifest structure failed; ``Valid`` — well-formed, signed and bound to
these bytes, but the signer chains to no anchor we were given; ``Trusted`` — valid and the signer
chains to a pinned anchor. *Valid is not trusted*: anyone can make a key, sign a manifest that
claims our model and seed, and embed it in any pixels. Only a pinned anchor (the CA of the stack's
signing chain) or a match with the service's own record tells our images from such a forgery.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

from imagegen_service import imagefiles
from imagegen_service.provenance import CLAIM_GENERATOR, GENERATION_ASSERTION, parameters_digest

# The signer's chain is only judged against anchors the caller pins; c2pa-rs ships no default list.
_UNTRUSTED_CODES = frozenset({"signingCredential.untrusted"})
# Amazon's invisible watermark is checked by AWS's own detector (Bedrock console / DetectGeneratedContent
# for Titan), not by anything we can run offline: we only repeat what the model's documentation claims.
WATERMARK_NOTE = (
    "the model embeds the provider's invisible watermark (the catalogue's claim for this model); "
    "it is not verified offline: use the provider's watermark detection to check it"
)


@dataclass
class ProvenanceCheck:
    """Everything ``imagegen verify`` prints about one image's bytes."""

    sha256: str
    format: str | None
    manifest: bool  # a C2PA manifest store was found
    state: str | None  # c2pa's validation_state: Invalid | Valid | Trusted
    valid: bool  # signature and hash binding hold (and the manifest is imagegen's)
    trusted: bool | None  # None: no anchor was pinned, so trust was not judged
    problems: list[dict[str, str]] = field(default_factory=list)
    signer: dict[str, Any] | None = None
    claim_generator: str | None = None
    digital_source_type: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # our generation assertion, as signed

    def as_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "format": self.format,
            "manifest": self.manifest,
            "state": self.state,
            "valid": self.valid,
            "trusted": self.trusted,
            "problems": self.problems,
            "signer": self.signer,
            "claim_generator": self.claim_generator,
            "digital_source_type": self.digital_source_type,
            "model_id": self.facts.get("model_id"),
            "model_name": self.facts.get("model_name"),
            "provider": self.facts.get("provider"),
            "seed": self.facts.get("seed"),
            "fingerprint": self.facts.get("job_id"),
            "prompt_sha256": self.facts.get("prompt_sha256"),
            "parameters": self.facts.get("parameters"),
            "parameters_sha256": self.facts.get("parameters_sha256"),
            "license_record_id": self.facts.get("license_record_id"),
        }


def check(data: bytes, trust_anchors: str | None = None) -> ProvenanceCheck:
    """Read and validate the C2PA manifest embedded in ``data`` (PNG or JPEG bytes).

    ``trust_anchors``: PEM certificates the signer must chain to; without them ``trusted`` is None.
    """
    import c2pa

    digest = hashlib.sha256(data).hexdigest()
    try:
        content_type: str | None = imagefiles.describe(data).content_type
    except imagefiles.NotAnImage as error:
        result = ProvenanceCheck(digest, None, False, None, False, None)
        result.problems.append({"code": "asset.unreadable", "explanation": f"not a PNG or JPEG image ({error})"})
        return result
    assert content_type is not None
    settings: dict[str, Any] = {"verify": {"verify_trust": bool(trust_anchors)}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors}
    try:
        with (
            c2pa.Context(c2pa.Settings.from_json(json.dumps(settings))) as context,
            c2pa.Reader(content_type, io.BytesIO(data), context=context) as reader,
        ):
            store: dict[str, Any] = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        result = ProvenanceCheck(digest, content_type.split("/")[1], False, None, False, None)
        result.problems.append({"code": "manifest.absent", "explanation": "the image carries no C2PA manifest"})
        return result
    except c2pa.C2paError as error:  # a manifest is there but cannot even be parsed: altered
        result = ProvenanceCheck(digest, content_type.split("/")[1], True, "Invalid", False, None)
        result.problems.append({"code": "manifest.unreadable", "explanation": str(error)})
        return result
    return _judge(store, digest, content_type.split("/")[1], anchored=bool(trust_anchors))


def _judge(store: dict[str, Any], digest: str, fmt: str, *, anchored: bool) -> ProvenanceCheck:
    state = store.get("validation_state")
    manifest = (store.get("manifests") or {}).get(store.get("active_manifest") or "") or {}
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [
        {"code": str(item.get("code")), "explanation": str(item.get("explanation", ""))}
        for item in results.get("failure") or []
    ]
    # Older readers report only the flat list.
    if not results:
        failures = [
            {"code": str(item.get("code")), "explanation": str(item.get("explanation", ""))}
            for item in store.get("validation_status") or []
        ]
    integrity_failures = [f for f in failures if f["code"] not in _UNTRUSTED_CODES]
    result = ProvenanceCheck(
        sha256=digest,
        format=fmt,
        manifest=True,
        state=state,
        valid=state in ("Valid", "Trusted") and not integrity_failures,
        trusted=(state == "Trusted") if anchored else None,
        problems=failures,
    )
    info = manifest.get("signature_info") or {}
    result.signer = {
        "common_name": info.get("common_name"),
        "issuer": info.get("issuer"),
        "serial_number": info.get("cert_serial_number"),
        "algorithm": info.get("alg"),
        "time": info.get("time"),
    }
    generators = manifest.get("claim_generator_info") or []
    if generators:
        first = generators[0]
        result.claim_generator = " ".join(str(first[k]) for k in ("name", "version") if first.get(k))
    for assertion in manifest.get("assertions") or []:
        label = str(assertion.get("label", ""))
        data = assertion.get("data") or {}
        if label == GENERATION_ASSERTION:
            result.facts = dict(data)
        elif label.startswith("c2pa.actions"):
            for action in data.get("actions") or []:
                if action.get("action") == "c2pa.created":
                    result.digital_source_type = action.get("digitalSourceType")
    if not result.facts:
        result.valid = False
        result.problems.append(
            {
                "code": "imagegen.assertion.absent",
                "explanation": f"the manifest has no {GENERATION_ASSERTION} assertion: not made by "
                f"{CLAIM_GENERATOR['name']}",
            }
        )
    elif isinstance(result.facts.get("parameters"), dict) and result.facts.get("parameters_sha256") not in (
        None,
        parameters_digest(result.facts["parameters"]),
    ):
        # Signed together, so they agree unless the signer lied; recomputing is what makes the digest usable.
        result.valid = False
        result.problems.append(
            {
                "code": "imagegen.parameters.mismatch",
                "explanation": "parameters_sha256 is not the digest of the signed parameters",
            }
        )
    return result


def compare_with_record(found: ProvenanceCheck, record: dict[str, Any]) -> list[dict[str, Any]]:
    """Where the file and the service's record of the image disagree: [{field, file, record}].

    ``record`` is the ``GET /v1/images/{image_id}/provenance`` body. The file must be the very bytes
    the service stored, and what its manifest claims must be what the service recorded (including
    the signer, so a manifest re-signed by another key never matches).
    """
    mismatches: list[dict[str, Any]] = []

    def differ(name: str, ours: Any, theirs: Any) -> None:
        if ours != theirs:
            mismatches.append({"field": name, "file": ours, "record": theirs})

    differ("sha256", found.sha256, record.get("sha256"))
    if not found.manifest:
        return mismatches
    differ("model_id", found.facts.get("model_id"), record.get("model_id"))
    differ("seed", found.facts.get("seed"), record.get("seed"))
    differ("license_record_id", found.facts.get("license_record_id"), record.get("license_record_id"))
    stored = record.get("c2pa") or {}
    if not stored:
        mismatches.append({"field": "c2pa", "file": "manifest present", "record": "the service signed no manifest"})
        return mismatches
    differ("parameters_sha256", found.facts.get("parameters_sha256"), stored.get("parameters_sha256"))
    differ("fingerprint", found.facts.get("job_id"), stored.get("fingerprint"))
    differ("signer", found.signer, stored.get("signer"))
    return mismatches
