"""The API's Job representation (CONTRACT.md §3) built from a stored job record, with fresh URLs."""

from __future__ import annotations

from typing import Any

from imagegen_service.delivery import UrlSigner

_IMAGE_FIELDS = ("image_id", "key", "width", "height", "seed", "sha256", "bytes", "format")
_EXTRA_FIELDS = (
    "batch_id",
    "workflow",
    "attempts",
    "last_error",
    "dead_lettered",
    "reused_from_job",
    "fingerprint",
    "updated_at",
)


def job_view(job: dict[str, Any], urls: UrlSigner) -> dict[str, Any]:
    """Contract fields first, then our extensions. Quarantined images never appear, let alone get a URL."""
    images = []
    for image in job.get("images") or []:
        view = {name: image.get(name) for name in _IMAGE_FIELDS}
        view["url"] = urls.url(image["key"])
        view["c2pa"] = bool(image.get("c2pa"))
        images.append(view)
    body: dict[str, Any] = {
        "job_id": job["job_id"],
        "status": job["status"],
        "model_id": job.get("model_id"),
        "request": job.get("request"),
        "images": images,
        "error": job.get("error"),
        "moderation": job.get("moderation"),
        "cost_usd": job.get("cost_usd", 0.0),
        "license_record_id": job.get("license_record_id"),
        "created_at": job.get("created_at"),
        "completed_at": job.get("completed_at"),
    }
    for name in _EXTRA_FIELDS:
        if job.get(name) is not None:
            body[name] = job[name]
    return body
