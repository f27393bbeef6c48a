"""Pictures the emulator returns: cheap, deterministic, visibly prompt- and seed-dependent.

A generated image is a rotated gradient (colours from the prompt) with a few shapes (placed by the
seed) and the prompt written in the corner. It is drawn in palette mode: a 1024×1024 PNG encodes in
a few milliseconds, which keeps the emulator fast enough for load tests.

Edits are done for real on the source pixels: inpainting changes only the masked area, outpainting
keeps the source, background removal returns RGBA with a transparent background.

"Unsafe" images (prompt word ``EMULATOR_UNSAFE``) are mostly saturated red and carry a marker (PNG
``tEXt`` chunk / JPEG comment); the emulated Rekognition flags an image by either sign, so the
verdict survives C2PA embedding (marker kept) and re-encoding or resizing (colours kept).
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, PngImagePlugin

UNSAFE_MARKER = "imagegen-emulator:unsafe"
MARKER_KEY = "imagegen-emulator"
_LOW, _HIGH = 40, 215  # safe images keep every channel in this band: never "mostly pure red"
_GRADIENT = Image.linear_gradient("L").point(lambda v: v * 239 // 255)  # indices 0–239; shapes use 240+
_SHAPE_BASE = 240
_TEXT_INDEX = 255
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    """What to draw: everything that makes one picture differ from another."""

    prompt: str
    seed: int
    salt: str = ""  # model id and other parameters
    colors: tuple[RGB, ...] = ()
    unsafe: bool = False

    def rng(self, purpose: str = "") -> random.Random:
        digest = hashlib.sha256(f"{self.salt}|{self.prompt}|{self.seed}|{purpose}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))


def _clamp(colour: RGB) -> RGB:
    r, g, b = (min(_HIGH, max(_LOW, c)) for c in colour)
    return r, g, b


def _colour(rng: random.Random, unsafe: bool) -> RGB:
    if unsafe:
        return rng.randint(225, 255), rng.randint(0, 12), rng.randint(0, 12)
    return rng.randint(_LOW, _HIGH), rng.randint(_LOW, _HIGH), rng.randint(_LOW, _HIGH)


def _palette(stops: list[RGB]) -> list[int]:
    palette: list[int] = []
    segments = len(stops) - 1
    for index in range(240):
        t = index / 239 * segments
        k = min(int(t), segments - 1)
        frac = t - k
        a, b = stops[k], stops[k + 1]
        palette += [round(a[c] + (b[c] - a[c]) * frac) for c in range(3)]
    return palette


def draw(scene: Scene, size: tuple[int, int]) -> Image.Image:
    """A palette-mode picture of ``size`` for ``scene``."""
    width, height = size
    prompt_rng = Scene(scene.prompt, 0, scene.salt).rng("palette")  # colours follow the prompt …
    seed_rng = scene.rng("layout")  # … layout follows the seed too
    stops = [_clamp(c) for c in scene.colors] if scene.colors else []
    while len(stops) < 2:
        stops.append(_colour(prompt_rng, scene.unsafe))
    if scene.unsafe:
        stops = [_colour(prompt_rng, True) for _ in stops]
    angle = seed_rng.uniform(0, 360)
    # 256 grey levels over ≤4096 px: a nearest-neighbour upscale is as smooth as bilinear, and 5× faster.
    gradient = _GRADIENT.rotate(angle, resample=Image.Resampling.BILINEAR).resize(size, Image.Resampling.NEAREST)
    image = gradient.convert("P")  # L → P keeps each value as its palette index
    shape_colours = [_colour(seed_rng, scene.unsafe) for _ in range(_TEXT_INDEX - _SHAPE_BASE)]
    text_colour = (250, 250, 250) if scene.unsafe else (_HIGH, _HIGH, _HIGH)
    palette = _palette(stops) + [c for colour in shape_colours for c in colour] + list(text_colour)
    image.putpalette(palette)
    pen = ImageDraw.Draw(image)
    for index in range(seed_rng.randint(3, 7)):
        x0, y0 = seed_rng.randint(0, width - 1), seed_rng.randint(0, height - 1)
        x1 = min(width, x0 + seed_rng.randint(width // 10, max(width // 10 + 1, width // 2)))
        y1 = min(height, y0 + seed_rng.randint(height // 10, max(height // 10 + 1, height // 2)))
        fill = _SHAPE_BASE + index
        kind = seed_rng.choice(("ellipse", "rectangle", "triangle"))
        if kind == "ellipse":
            pen.ellipse((x0, y0, x1, y1), fill=fill)
        elif kind == "rectangle":
            pen.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            pen.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=fill)
    pen.text((8, max(0, height - 16)), f"{scene.prompt[:60]}  seed {scene.seed}", fill=_TEXT_INDEX)
    return image


def encode(image: Image.Image, fmt: str, *, unsafe: bool = False) -> bytes:
    """PNG (fast, compress level 1) or JPEG; unsafe images carry the marker."""
    out = io.BytesIO()
    if fmt == "jpeg":
        rgb = image.convert("RGB")
        rgb.save(out, "JPEG", quality=90, comment=UNSAFE_MARKER.encode() if unsafe else b"")
    else:
        info = PngImagePlugin.PngInfo()
        if unsafe:
            info.add_text(MARKER_KEY, UNSAFE_MARKER)
        image.save(out, "PNG", compress_level=1, pnginfo=info)
    return out.getvalue()


def looks_unsafe(data: bytes) -> bool:
    """The emulated Rekognition's verdict: the marker, or a mostly saturated-red picture."""
    if UNSAFE_MARKER.encode() in data:
        return True
    try:
        with Image.open(io.BytesIO(data)) as image:
            r, g, b = image.convert("RGB").resize((16, 16)).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # type: ignore[misc]
    except Exception:  # unreadable pictures are judged elsewhere
        return False
    return bool(r > 190 and g < 30 and b < 30)


# --------------------------------------------------------------------------- edits


def open_rgb(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def open_any(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.copy()


def region_from_text(text: str, size: tuple[int, int]) -> Image.Image:
    """The area a text mask ("the mug") stands for: a deterministic ellipse, 255 inside."""
    rng = random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))
    width, height = size
    w, h = int(width * rng.uniform(0.3, 0.55)), int(height * rng.uniform(0.3, 0.55))
    x0, y0 = rng.randint(0, width - w), rng.randint(0, height - h)
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((x0, y0, x0 + w, y0 + h), fill=255)
    return mask


def fill_area(source: Image.Image, change: Image.Image, scene: Scene) -> Image.Image:
    """``source`` with the pixels where ``change`` is 255 replaced by a fresh picture of ``scene``."""
    fresh = draw(scene, source.size).convert("RGB")
    return Image.composite(fresh, source, change)


def amazon_mask(mask: Image.Image) -> Image.Image:
    """Nova/Titan masks: black is inside the mask. Returned as L with 255 for black pixels."""
    return ImageOps.invert(mask.convert("L")).point(lambda v: 255 if v > 127 else 0)


def white_area(mask: Image.Image) -> Image.Image:
    return mask.convert("L").point(lambda v: 255 if v > 127 else 0)


def blend(source: Image.Image, scene: Scene, size: tuple[int, int], amount: float) -> Image.Image:
    """A variation: the source resized to ``size`` with ``amount`` (0–1) of a fresh picture blended in."""
    base = source.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    return Image.blend(base, draw(scene, size).convert("RGB"), amount)


def remove_background(source: Image.Image) -> Image.Image:
    """RGBA: pixels close to the border's typical colour become transparent."""
    rgb = source.convert("RGB")
    width, height = rgb.size
    border = [rgb.getpixel((x, y)) for x in (0, width - 1) for y in (0, height // 2, height - 1)]
    border += [rgb.getpixel((width // 2, 0)), rgb.getpixel((width // 2, height - 1))]
    background = tuple(sorted(channel)[len(channel) // 2] for channel in zip(*border, strict=True))
    plate = Image.new("RGB", rgb.size, background)
    distance = ImageChops.difference(rgb, plate).convert("L")
    alpha = distance.point(lambda v: 255 if v > 24 else 0)
    out = rgb.convert("RGBA")
    out.putalpha(alpha)
    return out


def smooth_fill(source: Image.Image, area: Image.Image, scene: Scene) -> Image.Image:
    """Erase: the area takes the blurred surroundings (with a faint seed-dependent texture)."""
    blurred = source.resize((8, 8), Image.Resampling.BOX).resize(source.size, Image.Resampling.BILINEAR)
    textured = Image.blend(blurred, draw(scene, source.size).convert("RGB"), 0.1)
    return Image.composite(textured, source, area)


def tint(source: Image.Image, area: Image.Image, scene: Scene) -> Image.Image:
    """Recolour: the area shifted towards a colour chosen by the prompt."""
    colour = _colour(scene.rng("tint"), False)
    tinted = Image.blend(source, Image.new("RGB", source.size, colour), 0.6)
    return Image.composite(tinted, source, area)


def edges_with(control: Image.Image, scene: Scene, strength: float) -> Image.Image:
    """Control sketch/structure: the control image's edges drawn over a fresh picture."""
    fresh = draw(scene, control.size).convert("RGB")
    edges = control.convert("L").filter(ImageFilter.FIND_EDGES).point(lambda v: 255 if v > 32 else 0)
    ink = Image.new("RGB", control.size, (_LOW, _LOW, _LOW))
    return Image.composite(ink, fresh, edges.point(lambda v: int(v * strength)))


def dominant_colours(image: Image.Image, count: int = 3) -> tuple[RGB, ...]:
    small = image.convert("RGB").resize((count, 1), Image.Resampling.BOX)
    return tuple(small.getpixel((x, 0)) for x in range(count))  # type: ignore[misc]


def extend(source: Image.Image, scene: Scene, margins: tuple[int, int, int, int]) -> Image.Image:
    """Stability outpaint: a larger canvas, fresh around, the source pixels unchanged at (left, up)."""
    left, right, up, down = margins
    width, height = source.size
    canvas = draw(scene, (width + left + right, height + up + down)).convert("RGB")
    canvas.paste(source.convert("RGB"), (left, up))
    return canvas


def upscale(source: Image.Image, size: tuple[int, int], scene: Scene | None = None) -> Image.Image:
    """Resize; the generative upscalers (those with a seed) also add a faint seed-dependent texture."""
    small = source.convert("RGB")
    if scene is not None:  # texture at the source size, then one resize: cheap at 4 MP
        small = Image.blend(small, draw(scene, small.size).convert("RGB"), 0.06)
    return small.resize(size, Image.Resampling.BILINEAR)
