"""Cost accounting: what a model call costs, from the catalogue's per-image prices (one source of truth)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from imagegen_service.catalogue import ModelSpec, Quality

_CENT_FRACTIONS = Decimal("0.000001")  # store micro-dollars: per-image prices go down to $0.008


def price_per_image(spec: ModelSpec, width: int, height: int, quality: str | None) -> float:
    """USD per generated image for this model, output size and quality tier."""
    return spec.pricing.per_image(width, height, Quality(quality or Quality.STANDARD))


def call_cost(price: float, images: int) -> float:
    """Bedrock bills per image generated: ``images`` × ``price``, rounded to micro-dollars."""
    total = (Decimal(str(price)) * images).quantize(_CENT_FRACTIONS, rounding=ROUND_HALF_UP)
    return float(total)
