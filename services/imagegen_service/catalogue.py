"""The model catalogue: every Bedrock image model, its limits, regions, lifecycle, price and quota.

Data only. Request validation, IAM ARNs, quota requests, cost accounting, the policy pack and the
emulator all read these values; nothing else may repeat them. Sources are in
``shared/reference/bedrock-api-facts.md`` (section numbers in the comments). Where a fact is
UNCONFIRMED or the sources conflict, the entry takes the safe side and says so next to it.

Prices were last checked against the sources on ``PRICES_AS_OF``; confirm against
aws.amazon.com/bedrock/pricing before budgeting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from types import MappingProxyType


class Family(StrEnum):
    NOVA = "nova"
    TITAN = "titan"
    STABILITY = "stability"  # text-to-image, snake_case body (section 3a)
    STABILITY_SERVICES = "stability-services"  # edit/control/upscale endpoints (section 3b)


class Task(StrEnum):
    TEXT_TO_IMAGE = "text-to-image"
    COLOR_GUIDED = "color-guided"
    IMAGE_VARIATION = "image-variation"
    INPAINTING = "inpainting"
    OUTPAINTING = "outpainting"
    BACKGROUND_REMOVAL = "background-removal"
    # Stability Image Services beyond the Amazon task set (section 3b)
    SEARCH_REPLACE = "search-replace"
    SEARCH_RECOLOR = "search-recolor"
    ERASE_OBJECT = "erase-object"
    CONTROL_SKETCH = "control-sketch"
    CONTROL_STRUCTURE = "control-structure"
    STYLE_GUIDE = "style-guide"
    STYLE_TRANSFER = "style-transfer"
    UPSCALE_FAST = "upscale-fast"
    UPSCALE_CONSERVATIVE = "upscale-conservative"
    UPSCALE_CREATIVE = "upscale-creative"


# Bedrock's taskType for the Amazon families (section 1).
AMAZON_TASK_TYPES: Mapping[Task, str] = MappingProxyType(
    {
        Task.TEXT_TO_IMAGE: "TEXT_IMAGE",
        Task.COLOR_GUIDED: "COLOR_GUIDED_GENERATION",
        Task.IMAGE_VARIATION: "IMAGE_VARIATION",
        Task.INPAINTING: "INPAINTING",
        Task.OUTPAINTING: "OUTPAINTING",
        Task.BACKGROUND_REMOVAL: "BACKGROUND_REMOVAL",
    }
)


class Status(StrEnum):
    ACTIVE = "active"
    LEGACY = "legacy"
    END_OF_LIFE = "end-of-life"


class Quality(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"


@dataclass(frozen=True)
class Lifecycle:
    """Provider lifecycle. ``status_on(day)`` is what every reader must use: dates move, enums don't."""

    legacy_since: date | None = None
    end_of_life: date | None = None
    confirmed: bool = True
    source: str = ""

    def status_on(self, day: date) -> Status:
        if self.end_of_life is not None and day >= self.end_of_life:
            return Status.END_OF_LIFE
        if self.legacy_since is not None and day >= self.legacy_since:
            return Status.LEGACY
        return Status.ACTIVE


@dataclass(frozen=True)
class Range:
    low: float
    high: float

    def __contains__(self, value: object) -> bool:
        return isinstance(value, (int, float)) and self.low <= value <= self.high

    def describe(self) -> str:
        def fmt(v: float) -> str:
            return f"{int(v):,}" if float(v).is_integer() else f"{v:g}"

        return f"{fmt(self.low)}–{fmt(self.high)}"


@dataclass(frozen=True)
class SizeRules:
    """Pixel sizes for the Amazon families. Either free sizes within bounds (Nova) or a fixed list (Titan)."""

    default: tuple[int, int] = (1024, 1024)
    min_side: int = 0
    max_side: int = 0
    multiple_of: int = 1
    min_ratio: float = 0.0  # width / height lower bound
    max_ratio: float = 0.0
    max_pixels: int = 0
    allowed: tuple[tuple[int, int], ...] = ()  # non-empty: only these width×height pairs


@dataclass(frozen=True)
class ImageInputRules:
    formats: tuple[str, ...] = ("png", "jpeg")
    max_bytes: int = 5 * 1024 * 1024
    min_side: int = 0
    max_side: int = 4096
    max_pixels: int = 0  # 0 = not limited beyond max_side
    min_pixels: int = 0
    min_ratio: float = 0.0  # width / height lower bound; 0 = not limited
    max_ratio: float = 0.0
    source: str = ""  # where these numbers come from


@dataclass(frozen=True)
class Limits:
    prompt_chars: Range
    negative_chars: Range | None
    seed: Range
    count: Range = Range(1, 1)
    default_count: int = 1
    cfg_scale: Range | None = None
    default_cfg_scale: float | None = None
    default_seed: int | None = None
    qualities: tuple[Quality, ...] = ()
    sizes: SizeRules | None = None
    aspect_ratios: tuple[str, ...] = ()  # Stability: ratios instead of pixel sizes
    output_formats: tuple[str, ...] = ("png",)
    similarity_strength: Range | None = None
    control_strength: Range | None = None
    default_control_strength: float | None = None
    colors: Range | None = None  # how many hex colours colour-guided generation takes
    variation_images: Range | None = None
    styles: tuple[str, ...] = ()
    image_input: ImageInputRules = ImageInputRules()
    outpaint_pixels: Range | None = None  # Stability outpaint left/right/up/down
    # Added for the Stability Image Services request fields (issue 3):
    creativity: Range | None = None  # outpaint and conservative/creative upscale
    service_weight: Range | None = None  # 0–1 weights: fidelity (style guide / composition_fidelity), style_strength
    change_strength: Range | None = None  # style transfer only
    grow_mask: Range | None = None  # pixels the mask edge grows by (inpaint, search, erase)
    source: str = ""  # the parameter page these limits come from


@dataclass(frozen=True)
class SizeClassPrice:
    """Price per image for outputs up to ``max_pixels`` (inclusive)."""

    max_pixels: int
    standard: float
    premium: float


@dataclass(frozen=True)
class Pricing:
    """Per-image USD. Amazon models price by size class and quality; Stability is flat."""

    flat: float | None = None
    size_classes: tuple[SizeClassPrice, ...] = ()
    confirmed: bool = True
    source: str = ""

    def per_image(self, width: int, height: int, quality: Quality | str = Quality.STANDARD) -> float:
        if self.flat is not None:
            return self.flat
        pixels = width * height
        for size_class in self.size_classes:
            if pixels <= size_class.max_pixels:
                return size_class.premium if Quality(quality) is Quality.PREMIUM else size_class.standard
        raise ValueError(f"no price for {width}x{height}: larger than every size class")


QUOTA_MODEL = "tokens"
"""How Bedrock enforces on-demand quotas on the bedrock-runtime endpoint since 2026-05-27: per-model
tokens per minute and tokens per day; the requests-per-minute rows were removed from Service Quotas
(AWS Bedrock user guide, "Quotas for the bedrock-runtime endpoint", the note under "Quota types").
How many tokens one image burns is not published, so no RPM figure below is enforced by AWS: each is
only where the worker's fleet controller starts (``pacing.py``), which then learns from throttles."""
QUOTA_MODEL_SINCE = "2026-05-27"
QUOTA_MODEL_SOURCE = 'AWS Bedrock user guide, "Quotas for the bedrock-runtime endpoint", the note under "Quota types"'


@dataclass(frozen=True)
class QuotaSpec:
    """A model's quota as the catalogue knows it (section 6, and ``QUOTA_MODEL``).

    ``default_rpm`` is a starting pace, not an enforced limit. ``code`` is a Service Quotas code the
    catalogue can confirm as current; None for every image model today (the RPM rows are gone, the
    token rows' codes for image models are unconfirmed): the program then requests no quota unless the
    stack names a code its operator looked up in the account (``imagegen doctor`` checks it exists).
    """

    name: str
    default_rpm: int
    adjustable: bool
    code: str | None = None  # None where the code is UNCONFIRMED: settings must then name it
    service_code: str = "bedrock"
    confirmed: bool = False


@dataclass(frozen=True)
class ModelSpec:
    key: str
    model_id: str
    name: str
    family: Family
    provider: str
    tasks: tuple[Task, ...]
    regions: tuple[str, ...]
    lifecycle: Lifecycle
    watermark: bool
    requires_eula: bool
    limits: Limits
    pricing: Pricing
    quota: QuotaSpec
    # Model IDs starting "us." are inference profiles; IAM needs the profile and the model ARNs.
    inference_profile: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def foundation_model_id(self) -> str:
        """The bare foundation-model ID (without a geographic inference-profile prefix)."""
        return self.model_id.split(".", 1)[1] if self.inference_profile else self.model_id

    def supports(self, task: Task | str) -> bool:
        return Task(task) in self.tasks


PRICES_AS_OF = date(2026, 10, 28)

# --------------------------------------------------------------------------- shared limit values
NOVA_SEED = Range(0, 858_993_459)
"""Section 1 conflict: 0–2,147,483,646 (schema copies) vs 0–858,993,459 (AWS SDK examples).
Safe side: the smaller range, valid under both."""

TITAN_SEED = Range(0, 2_147_483_646)
STABILITY_SEED = Range(0, 4_294_967_294)  # 0 = random on Stability's side
AMAZON_CFG = Range(1.1, 10)
AMAZON_COUNT = Range(1, 5)
SIMILARITY = Range(0.2, 1.0)
CONTROL_STRENGTH = Range(0, 1)
NOVA_TEXT = Range(1, 1024)
TITAN_TEXT = Range(1, 512)
STABILITY_TEXT = Range(1, 10_000)
COLORS = Range(1, 10)
VARIATION_IMAGES = Range(1, 5)
STABILITY_ASPECT_RATIOS = ("16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")
STABILITY_OUTPUT_FORMATS = ("png", "jpeg")  # Ultra/Core reject webp (section 3a)
STABILITY_SIZES_BY_RATIO: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "1:1": (1024, 1024), "16:9": (1344, 768), "21:9": (1536, 640), "2:3": (832, 1216), "3:2": (1216, 832),
        "4:5": (896, 1088), "5:4": (1088, 896), "9:16": (768, 1344), "9:21": (640, 1536),
    }
)  # fmt: skip
"""Output width×height per aspect ratio (~1 MP). UNCONFIRMED for Bedrock: these are Stability's own
platform-API sizes; the Bedrock docs only say "aspect_ratio". Used for pricing, sizes in job records
and the emulator; a real response's image size always wins where the service reads it."""
STABILITY_IMAGE_STRENGTH = Range(0, 1)
"""SD3.5 image-to-image ``strength`` (section 3a). Requests carry ``similarity_strength`` on the same
0–1 scale (1 = keep the source); the adapter sends ``strength = 1 - similarity_strength``."""
STABILITY_SERVICE_WEIGHT = Range(0, 1)  # fidelity, composition_fidelity, style_strength (3b)
STABILITY_FAST_UPSCALE_FACTOR = 4  # "enhances image resolution by 4 times" (IMAGE_SERVICES_PAGE)
STABILITY_UPSCALE_PIXELS = 4_194_304
"""Conservative/creative upscale output. The Bedrock page says only "to 4K resolution"; Stability's
own API says "a 4 megapixel output". UNCONFIRMED on Bedrock: used for sizes in job records and the
emulator; a real response's image size always wins where the service reads it."""

# ---- Stability AI Image Services: exact limits, one set per service -------------------------------
# Source for every number below unless marked: the Amazon Bedrock user guide page
# "Stability AI Image Services" (docs.aws.amazon.com/bedrock/latest/userguide/stable-image-services.html),
# each service's parameter list ("has the following required parameters" / "optional").
IMAGE_SERVICES_PAGE = "docs.aws.amazon.com/bedrock/latest/userguide/stable-image-services.html"
SERVICE_MIN_SIDE = 64  # "Every side of the image must be at least 64 pixels"
# 4,096: implied by the 64 px sides; stated outright for Creative Upscale
SERVICE_MIN_PIXELS = SERVICE_MIN_SIDE * SERVICE_MIN_SIDE
SERVICE_MAX_PIXELS = 9_437_184  # "The total pixel count cannot exceed 9,437,184 pixels"
SERVICE_MIN_RATIO = 1 / 2.5  # "Image aspect ratio must be between 1:2.5 and 2.5:1"
SERVICE_MAX_RATIO = 2.5
UPSCALE_MAX_PIXELS = 1_048_576  # Creative Upscale: "between 4,096 and 1,048,576 pixels"
FAST_UPSCALE_SIDE = Range(32, 1536)  # Fast Upscale: "Width/Height must be between 32 and 1,536 pixels"
FAST_UPSCALE_PIXELS = Range(1_024, 1_048_576)  # Fast Upscale: "between 1,024 and 1,048,576 pixels"
SERVICE_GROW_MASK = Range(0, 20)  # inpaint, search and replace/recolor, erase: "Range between 0 and 20. Default 5"
SERVICE_DEFAULT_GROW_MASK = 5
OUTPAINT_CREATIVITY = Range(0.1, 1.0)  # Outpaint: "Range between 0.1 and 1.0. Default 0.5"
UPSCALE_CREATIVITY = Range(0.1, 0.5)  # Creative (default 0.3) and Conservative (default 0.35) Upscale
STYLE_TRANSFER_CHANGE = Range(0.1, 1)  # Style Transfer change_strength: "Range between 0.1 and 1. Default 0.9"
OUTPAINT_PIXELS = Range(0, 2000)  # left/right/up/down: "Range 0 to 2000"; at least one non-zero
SERVICE_OUTPUT_FORMATS = ("png", "jpeg")
"""The page's enum is jpeg, png, webp; we accept the subset our image store keeps (PNG/JPEG)."""
CUTOUT_OUTPUT_FORMATS = ("png",)
"""Remove Background: the page allows jpeg too, but JPEG has no alpha channel and would flatten the
cut-out onto a background; only PNG keeps the transparency the cut-out exists for."""
SERVICE_INPUT_MAX_BYTES = 5 * 1024 * 1024
"""UNCONFIRMED: the page states no byte limit for Image Services inputs; Titan's documented 5 MB is
the safe side (a larger body may also exceed InvokeModel's request size)."""

STABILITY_SERVICE_IMAGE_INPUT = ImageInputRules(
    max_bytes=SERVICE_INPUT_MAX_BYTES,
    min_side=SERVICE_MIN_SIDE,
    max_side=4857,  # not a stated limit: the largest side 9,437,184 px at 2.5:1 allows (√(9,437,184×2.5))
    min_pixels=SERVICE_MIN_PIXELS,
    max_pixels=SERVICE_MAX_PIXELS,
    min_ratio=SERVICE_MIN_RATIO,
    max_ratio=SERVICE_MAX_RATIO,
    source=IMAGE_SERVICES_PAGE,
)
UPSCALE_IMAGE_INPUT = replace(
    STABILITY_SERVICE_IMAGE_INPUT,
    max_side=UPSCALE_MAX_PIXELS // SERVICE_MIN_SIDE,
    max_pixels=UPSCALE_MAX_PIXELS,
    source=IMAGE_SERVICES_PAGE + " (Creative Upscale). Conservative Upscale: the page says both "
    "'between 64x64 and 1 megapixel' and 'cannot exceed 9,437,184 pixels': UNCONFIRMED, the safe side "
    "is 1 megapixel. Aspect 1:2.5–2.5:1 for Creative Upscale: UNCONFIRMED (the page is silent), safe side",
)
FAST_UPSCALE_IMAGE_INPUT = replace(
    STABILITY_SERVICE_IMAGE_INPUT,
    min_side=int(FAST_UPSCALE_SIDE.low),
    max_side=int(FAST_UPSCALE_SIDE.high),
    min_pixels=int(FAST_UPSCALE_PIXELS.low),
    max_pixels=int(FAST_UPSCALE_PIXELS.high),
    source=IMAGE_SERVICES_PAGE + " (Fast Upscale). Aspect 1:2.5–2.5:1: UNCONFIRMED (the page is silent), safe side",
)

NOVA_MAX_PIXELS = 4_194_304
"""Section 1: "less than 4,194,304" vs "4.19 million pixels (2048x2048)". 2048×2048 is exactly this
value and is the documented, priced maximum, so the bound is inclusive. UNCONFIRMED boundary: if
Bedrock rejects exactly 4,194,304 the request fails as a ValidationException (never billed)."""

NOVA_STYLES = (
    "3D_ANIMATED_FAMILY_FILM",
    "DESIGN_SKETCH",
    "FLAT_VECTOR_ILLUSTRATION",
    "GRAPHIC_NOVEL_ILLUSTRATION",
    "MAXIMALISM",
    "MIDCENTURY_RETRO",
    "PHOTOREALISM",
    "SOFT_DIGITAL_PAINTING",
)

TITAN_SIZES_1024 = (
    (1024, 1024), (768, 1152), (1152, 768), (768, 1280), (1280, 768), (896, 1152), (1152, 896),
    (768, 1408), (1408, 768), (640, 1408), (1408, 640), (1152, 640), (1173, 640),
)  # fmt: skip
TITAN_SIZES_512 = (
    (768, 768), (512, 512), (384, 576), (576, 384), (384, 640), (640, 384), (448, 576), (576, 448),
    (384, 704), (704, 384), (320, 704), (704, 320),
)  # fmt: skip

NOVA_SIZES = SizeRules(
    default=(1024, 1024),
    min_side=320,
    max_side=4096,
    multiple_of=16,
    min_ratio=0.25,
    max_ratio=4.0,
    max_pixels=NOVA_MAX_PIXELS,
)
TITAN_SIZES = SizeRules(default=(1024, 1024), allowed=TITAN_SIZES_1024 + TITAN_SIZES_512)

NOVA_IMAGE_INPUT = ImageInputRules(
    max_bytes=5 * 1024 * 1024,  # UNCONFIRMED for Nova; Titan's documented 5 MB is the safe side
    min_side=320,
    max_side=4096,
    max_pixels=NOVA_MAX_PIXELS,
)
TITAN_IMAGE_INPUT = ImageInputRules(max_bytes=5 * 1024 * 1024, min_side=256, max_side=1408)  # min: UNCONFIRMED
# SD3.5 image-to-image: "min 64 px per side" (section 3a)
STABILITY_IMAGE_INPUT = ImageInputRules(max_bytes=5 * 1024 * 1024, min_side=64, max_side=4096)

NOVA_LIMITS = Limits(
    prompt_chars=NOVA_TEXT,
    negative_chars=NOVA_TEXT,
    seed=NOVA_SEED,
    default_seed=12,
    count=AMAZON_COUNT,
    cfg_scale=AMAZON_CFG,
    default_cfg_scale=6.5,
    qualities=(Quality.STANDARD, Quality.PREMIUM),
    sizes=NOVA_SIZES,
    output_formats=("png",),
    similarity_strength=SIMILARITY,
    control_strength=CONTROL_STRENGTH,
    default_control_strength=0.7,
    colors=COLORS,
    variation_images=VARIATION_IMAGES,
    styles=NOVA_STYLES,
    image_input=NOVA_IMAGE_INPUT,
)


def _titan_limits(*, conditioning: bool) -> Limits:
    return Limits(
        prompt_chars=TITAN_TEXT,
        negative_chars=TITAN_TEXT,
        seed=TITAN_SEED,
        default_seed=42,
        count=AMAZON_COUNT,
        cfg_scale=AMAZON_CFG,
        default_cfg_scale=8.0,
        qualities=(Quality.STANDARD, Quality.PREMIUM),
        sizes=TITAN_SIZES,
        output_formats=("png",),
        similarity_strength=SIMILARITY,
        control_strength=CONTROL_STRENGTH if conditioning else None,
        default_control_strength=0.7 if conditioning else None,
        colors=COLORS if conditioning else None,
        variation_images=VARIATION_IMAGES,
        image_input=TITAN_IMAGE_INPUT,
    )


STABILITY_LIMITS = Limits(
    prompt_chars=STABILITY_TEXT,
    negative_chars=STABILITY_TEXT,
    seed=STABILITY_SEED,
    aspect_ratios=STABILITY_ASPECT_RATIOS,
    output_formats=STABILITY_OUTPUT_FORMATS,
    image_input=STABILITY_IMAGE_INPUT,
    similarity_strength=STABILITY_IMAGE_STRENGTH,  # SD3.5 image-to-image only (the task check gates it)
)
_SERVICE_BASE = Limits(
    prompt_chars=STABILITY_TEXT,  # the page: 0–10,000; we require at least 1 where a prompt is required
    negative_chars=STABILITY_TEXT,
    seed=STABILITY_SEED,  # "Range 0 to 4294967294. Default 0" (0 = random)
    output_formats=SERVICE_OUTPUT_FORMATS,
    image_input=STABILITY_SERVICE_IMAGE_INPUT,
    source=IMAGE_SERVICES_PAGE,
)
SERVICE_LIMITS: Mapping[Task, Limits] = MappingProxyType(
    {
        Task.INPAINTING: replace(_SERVICE_BASE, grow_mask=SERVICE_GROW_MASK),
        Task.OUTPAINTING: replace(_SERVICE_BASE, outpaint_pixels=OUTPAINT_PIXELS, creativity=OUTPAINT_CREATIVITY),
        Task.SEARCH_REPLACE: replace(_SERVICE_BASE, grow_mask=SERVICE_GROW_MASK),
        Task.SEARCH_RECOLOR: replace(_SERVICE_BASE, grow_mask=SERVICE_GROW_MASK),
        Task.ERASE_OBJECT: replace(_SERVICE_BASE, grow_mask=SERVICE_GROW_MASK),
        Task.BACKGROUND_REMOVAL: replace(_SERVICE_BASE, output_formats=CUTOUT_OUTPUT_FORMATS),
        Task.CONTROL_SKETCH: replace(_SERVICE_BASE, control_strength=CONTROL_STRENGTH, default_control_strength=0.7),
        Task.CONTROL_STRUCTURE: replace(_SERVICE_BASE, control_strength=CONTROL_STRENGTH, default_control_strength=0.7),
        Task.STYLE_GUIDE: replace(_SERVICE_BASE, aspect_ratios=STABILITY_ASPECT_RATIOS, service_weight=STABILITY_SERVICE_WEIGHT),
        Task.STYLE_TRANSFER: replace(_SERVICE_BASE, service_weight=STABILITY_SERVICE_WEIGHT, change_strength=STYLE_TRANSFER_CHANGE),
        Task.UPSCALE_FAST: replace(_SERVICE_BASE, image_input=FAST_UPSCALE_IMAGE_INPUT),
        Task.UPSCALE_CONSERVATIVE: replace(_SERVICE_BASE, image_input=UPSCALE_IMAGE_INPUT, creativity=UPSCALE_CREATIVITY),
        Task.UPSCALE_CREATIVE: replace(_SERVICE_BASE, image_input=UPSCALE_IMAGE_INPUT, creativity=UPSCALE_CREATIVITY),
    }
)  # fmt: skip

# --------------------------------------------------------------------------- prices (section 8)
NOVA_PRICING = Pricing(
    size_classes=(
        SizeClassPrice(max_pixels=1024 * 1024, standard=0.04, premium=0.06),
        SizeClassPrice(max_pixels=2048 * 2048, standard=0.06, premium=0.08),
        # Editing outputs up to 4096 on a side but at most 4.19 MP: the 2048 class covers them.
    ),
    source="third-party price tables, 2026-07-09; corroborated by two code copies",
)
TITAN_PRICING = Pricing(
    size_classes=(
        # 512-class: every allowed size up to 768×768 (589,824 px) prices as 512.
        SizeClassPrice(max_pixels=768 * 768, standard=0.008, premium=0.010),
        SizeClassPrice(max_pixels=1408 * 1408, standard=0.010, premium=0.012),
    ),
    confirmed=False,
    source="UNCONFIRMED: third-party 'approximate US East rates', undated",
)


def _flat(price: float, *, confirmed: bool = True, source: str = "") -> Pricing:
    return Pricing(flat=price, confirmed=confirmed, source=source)


# --------------------------------------------------------------------------- quotas (section 6)
def _rpm_quota(model_name: str, default_rpm: int, *, code: str | None = None, adjustable: bool = True,
               confirmed: bool = False) -> QuotaSpec:  # fmt: skip
    return QuotaSpec(
        name=f"On-demand InvokeModel requests per minute for {model_name}",
        default_rpm=default_rpm,
        adjustable=adjustable,
        code=code,
        confirmed=confirmed,
    )


STABILITY_SERVICE_REGIONS = ("us-west-2", "us-east-1", "us-east-2")  # UNCONFIRMED per region (3b)
STABILITY_SERVICES_LIFECYCLE = Lifecycle(source="AWS model card: Active, EOL N/A")
STABILITY_SERVICE_QUOTA_RPM = 10  # UNCONFIRMED: the safe side is Ultra's observed 10 RPM


def _service(key: str, profile_id: str, name: str, task: Task, price: float) -> ModelSpec:
    """One Image Service: one task, its own limits (``SERVICE_LIMITS``)."""
    return ModelSpec(
        key=key,
        model_id=profile_id,
        name=name,
        family=Family.STABILITY_SERVICES,
        provider="Stability AI",
        tasks=(task,),
        regions=STABILITY_SERVICE_REGIONS,
        lifecycle=STABILITY_SERVICES_LIFECYCLE,
        watermark=False,
        requires_eula=True,
        limits=SERVICE_LIMITS[task],
        pricing=_flat(price, confirmed=False, source="UNCONFIRMED: undated third-party table"),
        quota=_rpm_quota(name, STABILITY_SERVICE_QUOTA_RPM),
        inference_profile=True,
    )


_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="nova-canvas",
        model_id="amazon.nova-canvas-v1:0",
        name="Amazon Nova Canvas",
        family=Family.NOVA,
        provider="Amazon",
        tasks=(
            Task.TEXT_TO_IMAGE,
            Task.COLOR_GUIDED,
            Task.IMAGE_VARIATION,
            Task.INPAINTING,
            Task.OUTPAINTING,
            Task.BACKGROUND_REMOVAL,
        ),
        regions=("us-east-1", "eu-west-1", "ap-northeast-1"),  # in-region only
        lifecycle=Lifecycle(
            legacy_since=date(2026, 3, 30),
            end_of_life=date(2026, 9, 30),
            source="AWS models-regions.md copy: 'Legacy (EOL: 2026-09-30)'",
        ),
        watermark=True,
        requires_eula=False,
        limits=NOVA_LIMITS,
        pricing=NOVA_PRICING,
        # 100 RPM, not adjustable (third-party citing AWS general reference); code UNCONFIRMED.
        quota=_rpm_quota("Amazon Nova Canvas", 100, adjustable=False),
    ),
    ModelSpec(
        key="titan-image-v1",
        model_id="amazon.titan-image-generator-v1",
        name="Amazon Titan Image Generator G1",
        family=Family.TITAN,
        provider="Amazon",
        tasks=(Task.TEXT_TO_IMAGE, Task.INPAINTING, Task.OUTPAINTING, Task.IMAGE_VARIATION),
        regions=("us-east-1", "us-west-2", "ap-south-1", "eu-west-1", "eu-west-2"),
        # UNCONFIRMED lifecycle. v2 is past EOL, so the safe side is to treat v1 as Legacy from
        # v2's EOL date: the policy pack then warns (advisory) wherever it is enabled.
        lifecycle=Lifecycle(legacy_since=date(2026, 6, 30), confirmed=False, source="UNCONFIRMED"),
        watermark=True,
        requires_eula=False,
        limits=_titan_limits(conditioning=False),
        pricing=TITAN_PRICING,
        # The RPM row's code (L-7DBB06FD, from a third-party quota catalogue) is gone since 2026-05-27
        # (QUOTA_MODEL): never requested. 60 is the safe-side starting pace.
        quota=_rpm_quota("Amazon Titan Image Generator G1", 60),
    ),
    ModelSpec(
        key="titan-image-v2",
        model_id="amazon.titan-image-generator-v2:0",
        name="Amazon Titan Image Generator G1 v2",
        family=Family.TITAN,
        provider="Amazon",
        tasks=(
            Task.TEXT_TO_IMAGE,
            Task.COLOR_GUIDED,
            Task.IMAGE_VARIATION,
            Task.INPAINTING,
            Task.OUTPAINTING,
            Task.BACKGROUND_REMOVAL,
        ),
        regions=("us-east-1", "us-west-2"),
        lifecycle=Lifecycle(
            legacy_since=date(2025, 12, 31),  # UNCONFIRMED: only the EOL date is published
            end_of_life=date(2026, 6, 30),
            source="AWS model card: 'Legacy, EOL June 30, 2026'",
        ),
        watermark=True,
        requires_eula=False,
        limits=_titan_limits(conditioning=True),
        pricing=TITAN_PRICING,
        quota=_rpm_quota("Amazon Titan Image Generator G1 v2", 60),
    ),
    ModelSpec(
        key="stable-image-ultra",
        model_id="stability.stable-image-ultra-v1:1",
        name="Stable Image Ultra",
        family=Family.STABILITY,
        provider="Stability AI",
        tasks=(Task.TEXT_TO_IMAGE,),
        regions=("us-west-2",),
        # UNCONFIRMED: GenU marks v1:0 and v1:1 Legacy; others still call v1:1. Safe side: Legacy.
        lifecycle=Lifecycle(legacy_since=date(2026, 8, 1), confirmed=False, source="UNCONFIRMED"),
        watermark=False,
        requires_eula=True,
        limits=STABILITY_LIMITS,
        # Conflict: $0.14 (pricing table) vs ~$0.08 (skills page). Safe side for budgets: $0.14.
        pricing=_flat(0.14, confirmed=False, source="UNCONFIRMED: conflicting third-party tables"),
        quota=_rpm_quota("Stable Image Ultra", 10),
    ),
    ModelSpec(
        key="stable-image-core",
        model_id="stability.stable-image-core-v1:1",
        name="Stable Image Core",
        family=Family.STABILITY,
        provider="Stability AI",
        tasks=(Task.TEXT_TO_IMAGE,),
        regions=("us-west-2",),  # in-region only, no geo/global profile
        lifecycle=Lifecycle(source="AWS model card: Active, EOL N/A"),
        watermark=False,
        requires_eula=True,
        limits=STABILITY_LIMITS,
        pricing=_flat(0.04, source="stdapi-ai issue 93 (2026-07-29) and a pricing table"),
        quota=_rpm_quota("Stable Image Core", 10),  # default UNCONFIRMED; 10 is the safe side
    ),
    ModelSpec(
        key="sd3-5-large",
        model_id="stability.sd3-5-large-v1:0",
        name="Stable Diffusion 3.5 Large",
        family=Family.STABILITY,
        provider="Stability AI",
        tasks=(Task.TEXT_TO_IMAGE, Task.IMAGE_VARIATION),  # image-to-image mode = variation
        regions=("us-west-2",),
        lifecycle=Lifecycle(source="aws-samples GenU model list: Active"),
        watermark=False,
        requires_eula=True,
        limits=STABILITY_LIMITS,
        pricing=_flat(0.08, source="stdapi-ai issue 93 (2026-07-29)"),
        quota=_rpm_quota("Stable Diffusion 3.5 Large", 10),  # default UNCONFIRMED
    ),
    _service("stability-inpaint", "us.stability.stable-image-inpaint-v1:0", "Stability Inpaint", Task.INPAINTING, 0.07),
    _service("stability-outpaint", "us.stability.stable-outpaint-v1:0", "Stability Outpaint", Task.OUTPAINTING, 0.06),
    _service("stability-search-replace", "us.stability.stable-image-search-replace-v1:0", "Stability Search and Replace", Task.SEARCH_REPLACE, 0.07),
    _service("stability-search-recolor", "us.stability.stable-image-search-recolor-v1:0", "Stability Search and Recolor", Task.SEARCH_RECOLOR, 0.07),
    _service("stability-erase-object", "us.stability.stable-image-erase-object-v1:0", "Stability Erase Object", Task.ERASE_OBJECT, 0.07),
    _service("stability-remove-background", "us.stability.stable-image-remove-background-v1:0", "Stability Remove Background", Task.BACKGROUND_REMOVAL, 0.07),
    _service("stability-control-sketch", "us.stability.stable-image-control-sketch-v1:0", "Stability Control Sketch", Task.CONTROL_SKETCH, 0.07),
    _service("stability-control-structure", "us.stability.stable-image-control-structure-v1:0", "Stability Control Structure", Task.CONTROL_STRUCTURE, 0.07),
    _service("stability-style-guide", "us.stability.stable-image-style-guide-v1:0", "Stability Style Guide", Task.STYLE_GUIDE, 0.07),
    _service("stability-style-transfer", "us.stability.stable-style-transfer-v1:0", "Stability Style Transfer", Task.STYLE_TRANSFER, 0.08),
    _service("stability-fast-upscale", "us.stability.stable-fast-upscale-v1:0", "Stability Fast Upscale", Task.UPSCALE_FAST, 0.03),
    _service("stability-conservative-upscale", "us.stability.stable-conservative-upscale-v1:0", "Stability Conservative Upscale", Task.UPSCALE_CONSERVATIVE, 0.40),
    _service("stability-creative-upscale", "us.stability.stable-creative-upscale-v1:0", "Stability Creative Upscale", Task.UPSCALE_CREATIVE, 0.60),
)  # fmt: skip

MODELS: Mapping[str, ModelSpec] = MappingProxyType({m.key: m for m in _MODELS})
_BY_ID: Mapping[str, ModelSpec] = MappingProxyType({m.model_id: m for m in _MODELS})


class UnknownModel(KeyError):
    """Neither a catalogue key nor a Bedrock model ID we know."""


def lookup(key_or_id: str) -> ModelSpec:
    """Find a model by catalogue key (``titan-image-v1``) or Bedrock model ID."""
    spec = MODELS.get(key_or_id) or _BY_ID.get(key_or_id)
    if spec is None:
        # Accept a bare foundation-model ID for an inference-profile model ("stability.…" for "us.stability.…").
        spec = next((m for m in _MODELS if m.foundation_model_id == key_or_id), None)
    if spec is None:
        raise UnknownModel(key_or_id)
    return spec


def model_key(value: str) -> str:
    """The catalogue key of ``value`` (a key or a Bedrock model ID); ValueError naming the known keys
    otherwise, worded for a pydantic validator (settings, requests and cost estimates share it)."""
    try:
        return lookup(value).key
    except UnknownModel:
        raise ValueError(f"unknown model {value!r}; the catalogue has: {', '.join(MODELS)}") from None


def all_models() -> tuple[ModelSpec, ...]:
    return _MODELS


# --------------------------------------------------------------------------- guardrail features by region
# Bedrock user guide, "Block harmful images with content filters" (guardrails-mmfilter): image content
# filters are generally available in these regions for Hate, Insults, Sexual, Violence, Misconduct and
# Prompt attack; in preview in a second list for Hate, Insults, Sexual and Violence only. The stacks'
# guardrail filters images in all six categories, so it needs a GA region. Regions on neither list are
# UNCONFIRMED: the safe side is to treat them as not offering image filters (doctor fails there).
GUARDRAIL_IMAGE_FILTER_REGIONS: tuple[str, ...] = ("us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1")
GUARDRAIL_IMAGE_FILTER_PREVIEW_REGIONS: tuple[str, ...] = (
    "us-east-2", "ap-south-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "eu-west-1", "eu-west-2",
    "us-gov-west-1",
)  # fmt: skip
GUARDRAIL_IMAGE_FILTER_PREVIEW_CATEGORIES: tuple[str, ...] = ("HATE", "INSULTS", "SEXUAL", "VIOLENCE")
GUARDRAIL_FEATURES_SOURCE = "docs.aws.amazon.com/bedrock/latest/userguide/guardrails-mmfilter.html"
