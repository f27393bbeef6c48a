"""What the API shows: the Job (CONTRACT.md §3) with fresh URLs, and the model catalogue."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from imagegen_service import catalogue
from imagegen_service.config import RuntimeConfig

if TYPE_CHECKING:
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
    "tags",
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


def models_view(config: RuntimeConfig, today: date) -> list[dict[str, Any]]:
    """The catalogue as ``GET /v1/models`` shows it: lifecycle as of ``today``, limits, prices, this stack's bindings."""
    models = []
    for spec in catalogue.all_models():
        binding = config.models.get(spec.key)
        limits = spec.limits
        models.append(
            {
                "key": spec.key,
                "model_id": spec.model_id,
                "name": spec.name,
                "family": spec.family.value,
                "provider": spec.provider,
                "tasks": [task.value for task in spec.tasks],
                "regions": list(spec.regions),
                "enabled": binding is not None,
                "region": binding.region if binding else None,
                "license_record_id": binding.licence_record_id if binding else None,
                "lifecycle": {
                    "status": spec.lifecycle.status_on(today).value,
                    "legacy_since": spec.lifecycle.legacy_since.isoformat() if spec.lifecycle.legacy_since else None,
                    "end_of_life": spec.lifecycle.end_of_life.isoformat() if spec.lifecycle.end_of_life else None,
                    "confirmed": spec.lifecycle.confirmed,
                },
                "watermark": spec.watermark,
                "requires_eula": spec.requires_eula,
                "limits": {
                    "prompt_chars": limits.prompt_chars.describe(),
                    "negative_chars": limits.negative_chars.describe() if limits.negative_chars else None,
                    "seed": limits.seed.describe(),
                    "count": limits.count.describe(),
                    "cfg_scale": limits.cfg_scale.describe() if limits.cfg_scale else None,
                    "qualities": [q.value for q in limits.qualities],
                    "aspect_ratios": list(limits.aspect_ratios),
                    "output_formats": list(limits.output_formats),
                    "sizes": _sizes(limits.sizes),
                },
                "pricing": _pricing(spec.pricing),
                "quota_rpm": spec.quota.default_rpm,
                "paced_rpm": config.model_rpm.get(spec.key),
            }
        )
    return models


def _sizes(sizes: catalogue.SizeRules | None) -> dict[str, Any] | None:
    if sizes is None:
        return None
    if sizes.allowed:
        return {"default": list(sizes.default), "allowed": [f"{w}x{h}" for w, h in sizes.allowed]}
    return {
        "default": list(sizes.default),
        "min_side": sizes.min_side,
        "max_side": sizes.max_side,
        "multiple_of": sizes.multiple_of,
        "max_pixels": sizes.max_pixels,
    }


def _pricing(pricing: catalogue.Pricing) -> dict[str, Any]:
    if pricing.flat is not None:
        return {"per_image_usd": pricing.flat, "confirmed": pricing.confirmed}
    return {
        "size_classes": [
            {"max_pixels": c.max_pixels, "standard_usd": c.standard, "premium_usd": c.premium}
            for c in pricing.size_classes
        ],
        "confirmed": pricing.confirmed,
    }
