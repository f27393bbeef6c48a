"""``GET /v1/images/{image_id}/provenance``: what the service recorded about an image, and its manifest.

The body puts the image record (model, seed, licence record, job) next to the result of checking
the stored object's C2PA manifest with the same code ``imagegen verify`` runs on a file, so a
verifier can compare its copy with both. Images withheld by moderation do not exist here (404), as
everywhere else in the API.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from imagegen_service.errors import FieldProblem, NotFound, RequestInvalid

if TYPE_CHECKING:
    from imagegen_service.pipeline import Services

# An image_id is the SHA-256 of the stored bytes (pipeline: image_id = stored.sha256), lower-case hex.
IMAGE_ID = re.compile(r"[0-9a-f]{64}")


def parse_image_id(image_id: str) -> str:
    if not IMAGE_ID.fullmatch(image_id):
        raise RequestInvalid.from_problems(
            [FieldProblem("image_id", "must be 64 lower-case hex characters (the SHA-256 of the image's bytes)")]
        )
    return image_id


def image_provenance(services: Services, image_id: str) -> dict[str, Any]:
    from imagegen_service import catalogue, provenance_check

    record = services.jobs.image(parse_image_id(image_id))
    # Caller-uploaded inputs (kind "input") were not generated here: they have no provenance to report.
    if record is None or record.get("quarantined") or record.get("kind") == "input":
        raise NotFound(f"no generated image {image_id}")
    model_id = record.get("model_id")
    try:
        spec = catalogue.lookup(str(record.get("model_key") or model_id))
    except catalogue.UnknownModel:  # a model retired from the catalogue since: the record still stands
        spec = None
    claims_watermark = bool(record.get("watermark"))
    stored = None
    if record.get("c2pa"):
        stored = provenance_check.check(services.images.get(record["key"]))
        fingerprint = stored.facts.get("job_id")
        stored_view = stored.as_dict()
        stored_view["fingerprint"] = fingerprint
    return {
        "image_id": image_id,
        "sha256": record.get("sha256"),
        "format": record.get("format"),
        "width": record.get("width"),
        "height": record.get("height"),
        "job_id": record.get("job_id"),
        "model_key": record.get("model_key"),
        "model_id": model_id,
        "model_name": spec.name if spec else None,
        "provider": spec.provider if spec else None,
        "seed": record.get("seed"),
        "license_record_id": record.get("license_record_id"),
        "created_at": record.get("created_at"),
        "watermark": {
            "claimed": claims_watermark,
            "verified": False,
            "note": provenance_check.WATERMARK_NOTE if claims_watermark else None,
        },
        "c2pa": stored_view if stored is not None else None,
    }
