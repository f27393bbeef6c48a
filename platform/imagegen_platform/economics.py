"""The economics of every image: model fees, storage and delivery for a month of volume.

Model prices come from the catalogue (``catalogue.MODELS[...].pricing``, as of
``catalogue.PRICES_AS_OF``); storage and delivery rates come from ``RATES`` below, the one table of
them. The estimate makes the seed guide's two levers visible: drafting at standard quality and
finalising only the winners (against rendering every candidate at final quality), and serving
through CloudFront (against straight from S3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from imagegen_service import catalogue
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from imagegen_platform.settings import BudgetSettings


@dataclass(frozen=True)
class Rates:
    """us-east-1 list prices, first pricing tier, USD. UNCONFIRMED here: no network to check them."""

    s3_storage_gb_month: float
    s3_egress_gb: float
    cloudfront_egress_gb: float
    cloudfront_requests_per_10k: float
    s3_get_per_1k: float
    s3_put_per_1k: float
    cloudfront_free_gb: float
    cloudfront_free_requests: int
    s3_free_egress_gb: float
    as_of: date
    source: str


RATES = Rates(
    s3_storage_gb_month=0.023,  # S3 Standard, first 50 TB/month
    s3_egress_gb=0.09,  # S3 data transfer out to the internet, first 10 TB/month
    cloudfront_egress_gb=0.085,  # CloudFront to the internet, North America/Europe, first 10 TB/month
    cloudfront_requests_per_10k=0.0100,  # CloudFront HTTPS requests, North America/Europe
    s3_get_per_1k=0.0004,  # S3 Standard GET (CloudFront origin fetches, or direct downloads)
    s3_put_per_1k=0.005,  # S3 Standard PUT (one per stored image)
    # Always-free allowances (applied only with free_tier=True: accounts in an organisation share them).
    cloudfront_free_gb=1024.0,
    cloudfront_free_requests=10_000_000,
    s3_free_egress_gb=100.0,
    as_of=date(2025, 1, 1),
    source="us-east-1 list prices as of 2025-01, UNCONFIRMED here (no network): check aws.amazon.com/s3/pricing and aws.amazon.com/cloudfront/pricing",
)
MB_PER_GB = 1024  # AWS bills a GB as 2^30 bytes


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _model_key(value: str) -> str:
    return catalogue.model_key(value)


def parse_size(text: str) -> tuple[int, int] | str:
    """``1024x1024`` → (1024, 1024); ``16:9`` stays an aspect ratio (Stability models)."""
    if "x" in text.lower():
        width, _, height = text.lower().partition("x")
        if width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0:
            return int(width), int(height)
    elif ":" in text:
        left, _, right = text.partition(":")
        if left.isdigit() and right.isdigit() and int(left) > 0 and int(right) > 0:
            return text
    raise ValueError(f"{text!r} is neither WIDTHxHEIGHT (1024x1024) nor an aspect ratio (16:9)")


class ImageVolume(_Model):
    """Images of one model, size and quality generated per month. Drafts expire; the other roles are kept."""

    model: str
    count: int = Field(ge=0)
    size: str | None = None
    quality: catalogue.Quality | None = None
    role: Literal["image", "draft", "final"] = "image"

    @field_validator("model")
    @classmethod
    def _key(cls, value: str) -> str:
        return _model_key(value)

    @field_validator("size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None:
            parse_size(value)
        return value

    @model_validator(mode="after")
    def _priceable(self) -> ImageVolume:
        spec = self.spec
        if self.quality is not None and self.quality not in spec.limits.qualities:
            raise ValueError(f"quality: {spec.name} has no quality tiers (flat price per image)")
        if spec.pricing.flat is None:
            width, height = self.pixels
            try:
                spec.pricing.per_image(width, height, self.effective_quality)
            except ValueError as error:
                raise ValueError(f"size: {error}") from None
        return self

    @property
    def spec(self) -> catalogue.ModelSpec:
        return catalogue.MODELS[self.model]

    @property
    def pixels(self) -> tuple[int, int]:
        parsed = parse_size(self.size) if self.size else None
        if isinstance(parsed, tuple):
            return parsed
        if self.spec.pricing.flat is None and isinstance(parsed, str):
            raise ValueError(f"size: {self.spec.name} prices by pixels; give WIDTHxHEIGHT, not {parsed}")
        sizes = self.spec.limits.sizes
        return sizes.default if sizes else (1024, 1024)

    @property
    def effective_quality(self) -> catalogue.Quality:
        return self.quality or catalogue.Quality.STANDARD

    @property
    def unit_usd(self) -> float:
        width, height = self.pixels
        return self.spec.pricing.per_image(width, height, self.effective_quality)

    def describe_size(self) -> str:
        if self.spec.pricing.flat is not None:
            return self.size or "any"
        width, height = self.pixels
        return f"{width}x{height}"


DRAFT_SIZE = "512x512"
"""Drafts default to the 512 class: Titan's cheapest price class, and valid for Nova (price class ≤1 MP)."""


class DraftFinalMix(_Model):
    """The guide's discipline: draft every candidate at standard quality, finalise the winners at premium."""

    model: str
    drafts: int = Field(ge=1)
    finals: int | None = Field(default=None, ge=0)
    final_ratio: float | None = Field(default=None, ge=0, le=1)
    draft_size: str | None = None
    final_size: str | None = None

    @field_validator("model")
    @classmethod
    def _key(cls, value: str) -> str:
        return _model_key(value)

    @model_validator(mode="after")
    def _one_final_count(self) -> DraftFinalMix:
        if (self.finals is None) == (self.final_ratio is None):
            raise ValueError("give exactly one of finals (a count) or final_ratio (0–1)")
        if self.final_count > self.drafts:
            raise ValueError(
                f"finals ({self.final_count}) cannot exceed drafts ({self.drafts}): finals are chosen drafts"
            )
        try:
            self.volumes()  # the draft and final sizes must price
        except ValidationError as error:
            raise ValueError("; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())) from None
        return self

    @property
    def final_count(self) -> int:
        return self.finals if self.finals is not None else round(self.drafts * (self.final_ratio or 0.0))

    def volumes(self) -> tuple[ImageVolume, ImageVolume]:
        spec = catalogue.MODELS[self.model]
        tiered = bool(spec.limits.qualities)
        draft_size = self.draft_size or (DRAFT_SIZE if spec.limits.sizes else None)
        draft = ImageVolume(
            model=self.model,
            count=self.drafts,
            size=draft_size,
            quality=catalogue.Quality.STANDARD if tiered else None,
            role="draft",
        )
        final = ImageVolume(
            model=self.model,
            count=self.final_count,
            size=self.final_size,
            quality=catalogue.Quality.PREMIUM if tiered else None,
            role="final",
        )
        return draft, final


class StorageAssumptions(_Model):
    avg_image_mb: float = Field(default=1.0, gt=0, le=100)
    months_retained: float = Field(default=12, ge=0, le=120)
    """Kept images (finals and plain images) stay this long: storage is the steady state."""
    draft_months: float = Field(default=1, ge=0, le=120)
    """Drafts expire (``storage.draft_expiry_days``, 30 by default): about one month in storage."""


class DeliveryAssumptions(_Model):
    views: int | None = Field(default=None, ge=0)
    """Image downloads per month; requests = views, GB = views × avg_delivered_mb / 1024."""
    gb: float | None = Field(default=None, ge=0)
    """Delivered GB per month, when views are not known (requests = GB × 1024 / avg_delivered_mb)."""
    avg_delivered_mb: float | None = Field(default=None, gt=0, le=100)
    cache_hit_ratio: float = Field(default=0.9, ge=0, le=1)
    free_tier: bool = False

    @model_validator(mode="after")
    def _one_volume(self) -> DeliveryAssumptions:
        if self.views is not None and self.gb is not None:
            raise ValueError("give views or gb, not both")
        return self


class Scenario(_Model):
    images: list[ImageVolume] = Field(default_factory=list)
    draft_final: DraftFinalMix | None = None
    storage: StorageAssumptions = StorageAssumptions()
    delivery: DeliveryAssumptions = DeliveryAssumptions()

    @model_validator(mode="after")
    def _something(self) -> Scenario:
        if not self.images and self.draft_final is None:
            raise ValueError("no volume: give images (--images) or a draft/final mix (--model --drafts)")
        return self

    def volumes(self) -> list[ImageVolume]:
        mix = list(self.draft_final.volumes()) if self.draft_final else []
        return [*self.images, *mix]


class ScenarioInvalid(ValueError):
    def __init__(self, error: ValidationError | str) -> None:
        if isinstance(error, str):
            message = error
        else:
            lines = []
            for item in error.errors():
                where = ".".join(str(p) for p in item["loc"]) or "scenario"
                lines.append(f"  - {where}: {item['msg'].removeprefix('Value error, ')}")
            message = f"the cost scenario is invalid ({len(lines)} problem(s)):\n" + "\n".join(lines)
        super().__init__(message)
        self.message = message


def scenario_from(data: dict[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioInvalid(error) from None


# --------------------------------------------------------------------------- the estimate


@dataclass(frozen=True)
class ModelLine:
    model: str
    role: str
    count: int
    size: str
    quality: str
    unit_usd: float
    subtotal_usd: float
    price_confirmed: bool


@dataclass(frozen=True)
class DeliveryCost:
    gb: float
    requests: int
    cloudfront_usd: float
    s3_direct_usd: float
    free_tier: bool = False

    @property
    def cdn_saving_usd(self) -> float:
        return self.s3_direct_usd - self.cloudfront_usd


@dataclass(frozen=True)
class Estimate:
    lines: list[ModelLine]
    model_fees_usd: float
    stored_gb: float
    storage_usd: float
    put_usd: float
    delivery: DeliveryCost
    all_final_usd: float | None
    """Every draft candidate rendered at final quality and size instead (None without a mix)."""

    @property
    def draft_saving_usd(self) -> float | None:
        if self.all_final_usd is None:
            return None
        mix = sum(line.subtotal_usd for line in self.lines if line.role in ("draft", "final"))
        return self.all_final_usd - mix

    @property
    def total_usd(self) -> float:
        """Monthly total, delivering through CloudFront (the blueprint's delivery path)."""
        return self.model_fees_usd + self.storage_usd + self.put_usd + self.delivery.cloudfront_usd

    @property
    def unconfirmed_models(self) -> list[str]:
        return sorted({line.model for line in self.lines if not line.price_confirmed})

    def as_json(self) -> dict[str, Any]:
        return {
            "prices_as_of": catalogue.PRICES_AS_OF.isoformat(),
            "rates": {
                **{k: v for k, v in vars(RATES).items() if k not in ("as_of", "source")},
                "as_of": RATES.as_of.isoformat(),
                "source": RATES.source,
            },
            "lines": [vars(line) for line in self.lines],
            "model_fees_usd": round(self.model_fees_usd, 4),
            "storage": {
                "stored_gb": round(self.stored_gb, 4),
                "storage_usd": round(self.storage_usd, 4),
                "put_usd": round(self.put_usd, 4),
            },
            "delivery": {
                "gb": round(self.delivery.gb, 4),
                "requests": self.delivery.requests,
                "cloudfront_usd": round(self.delivery.cloudfront_usd, 4),
                "s3_direct_usd": round(self.delivery.s3_direct_usd, 4),
                "free_tier_applied": self.delivery.free_tier,
            },
            "levers": {
                "draft_then_finalise_usd": None
                if self.all_final_usd is None
                else round(self.all_final_usd - (self.draft_saving_usd or 0), 4),
                "every_candidate_final_usd": None if self.all_final_usd is None else round(self.all_final_usd, 4),
                "draft_saving_usd": None if self.draft_saving_usd is None else round(self.draft_saving_usd, 4),
                "cdn_saving_usd": round(self.delivery.cdn_saving_usd, 4),
            },
            "total_usd": round(self.total_usd, 4),
            "unconfirmed_prices": self.unconfirmed_models,
        }


def estimate(scenario: Scenario, rates: Rates = RATES) -> Estimate:
    volumes = scenario.volumes()
    lines = [
        ModelLine(
            model=v.model,
            role=v.role,
            count=v.count,
            size=v.describe_size(),
            quality=v.effective_quality.value if v.spec.limits.qualities else "flat",
            unit_usd=v.unit_usd,
            subtotal_usd=v.unit_usd * v.count,
            price_confirmed=v.spec.pricing.confirmed,
        )
        for v in volumes
    ]
    model_fees = sum(line.subtotal_usd for line in lines)
    all_final = None
    if scenario.draft_final is not None:
        _, final = scenario.draft_final.volumes()
        all_final = final.unit_usd * scenario.draft_final.drafts

    storage = scenario.storage
    drafts = sum(v.count for v in volumes if v.role == "draft")
    kept = sum(v.count for v in volumes if v.role != "draft")
    stored_gb = (kept * storage.months_retained + drafts * storage.draft_months) * storage.avg_image_mb / MB_PER_GB
    put_usd = (kept + drafts) / 1000 * rates.s3_put_per_1k
    return Estimate(
        lines=lines,
        model_fees_usd=model_fees,
        stored_gb=stored_gb,
        storage_usd=stored_gb * rates.s3_storage_gb_month,
        put_usd=put_usd,
        delivery=delivery_cost(scenario.delivery, storage.avg_image_mb, rates),
        all_final_usd=all_final,
    )


def delivery_cost(delivery: DeliveryAssumptions, avg_image_mb: float, rates: Rates = RATES) -> DeliveryCost:
    """CloudFront (egress + requests + S3 GETs for cache misses; S3→CloudFront transfer is free) vs S3 direct."""
    mb = delivery.avg_delivered_mb or avg_image_mb
    if delivery.views is not None:
        requests, gb = delivery.views, delivery.views * mb / MB_PER_GB
    elif delivery.gb is not None:
        requests, gb = math.ceil(delivery.gb * MB_PER_GB / mb), delivery.gb
    else:
        requests, gb = 0, 0.0
    cf_gb, cf_requests, s3_gb = gb, requests, gb
    if delivery.free_tier:
        cf_gb = max(0.0, gb - rates.cloudfront_free_gb)
        cf_requests = max(0, requests - rates.cloudfront_free_requests)
        s3_gb = max(0.0, gb - rates.s3_free_egress_gb)
    misses = requests * (1 - delivery.cache_hit_ratio)
    cloudfront = (
        cf_gb * rates.cloudfront_egress_gb
        + cf_requests / 10_000 * rates.cloudfront_requests_per_10k
        + misses / 1000 * rates.s3_get_per_1k
    )
    s3_direct = s3_gb * rates.s3_egress_gb + requests / 1000 * rates.s3_get_per_1k
    return DeliveryCost(gb, requests, cloudfront, s3_direct, free_tier=delivery.free_tier)


# --------------------------------------------------------------------------- budgets

BUDGET_HEADROOM = 0.25
BUDGET_ROUND_TO_USD = 10
SUGGESTED_ACTUAL_THRESHOLDS = [50.0, 80.0, 100.0]
SUGGESTED_FORECAST_THRESHOLDS = [100.0]


def suggested_budget(total_usd: float, emails: list[str], headroom: float = BUDGET_HEADROOM) -> BudgetSettings:
    """A budget block for the stack: the estimate plus headroom, rounded up; alerts at 50/80/100 % and forecast 100 %."""
    padded = total_usd * (1 + headroom)
    monthly = max(BUDGET_ROUND_TO_USD, math.ceil(padded / BUDGET_ROUND_TO_USD) * BUDGET_ROUND_TO_USD)
    return BudgetSettings(
        monthly_usd=float(monthly),
        emails=emails,
        actual_thresholds_pct=list(SUGGESTED_ACTUAL_THRESHOLDS),
        forecast_thresholds_pct=list(SUGGESTED_FORECAST_THRESHOLDS),
    )
