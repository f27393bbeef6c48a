"""Pictures of a run: a captioned contact sheet (PNG) and a self-contained HTML gallery."""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

TILE = 256
CAPTION_HEIGHT = 40
TITLE_HEIGHT = 36
MARGIN = 12
BACKGROUND = (246, 246, 244)
INK = (30, 30, 30)
MUTED = (110, 110, 110)


@dataclass(frozen=True)
class Tile:
    image: bytes
    caption: str
    detail: str = ""


def _fit(image: Image.Image, size: int) -> Image.Image:
    """Scale to fit a size×size square, centred on a checkerboard so transparent cut-outs read as such."""
    image = image.convert("RGBA")
    image.thumbnail((size, size))
    square = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    draw = ImageDraw.Draw(square)
    step = 16
    for y in range(0, size, step):
        for x in range(0, size, step):
            if (x // step + y // step) % 2:
                draw.rectangle((x, y, x + step - 1, y + step - 1), fill=(228, 228, 228, 255))
    square.alpha_composite(image, ((size - image.width) // 2, (size - image.height) // 2))
    return square


def contact_sheet(tiles: Sequence[Tile], out: Path, *, title: str, columns: int = 4, tile: int = TILE) -> Path:
    """A grid of images with a caption under each, e.g. a seed sweep's A/B variants."""
    if not tiles:
        raise ValueError("a contact sheet needs at least one image")
    columns = max(1, min(columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    width = MARGIN + columns * (tile + MARGIN)
    height = TITLE_HEIGHT + MARGIN + rows * (tile + CAPTION_HEIGHT + MARGIN)
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    draw.text((MARGIN, MARGIN), title, fill=INK, font=font)
    for index, item in enumerate(tiles):
        row, column = divmod(index, columns)
        x = MARGIN + column * (tile + MARGIN)
        y = TITLE_HEIGHT + MARGIN + row * (tile + CAPTION_HEIGHT + MARGIN)
        with Image.open(io.BytesIO(item.image)) as picture:
            sheet.paste(_fit(picture, tile).convert("RGB"), (x, y))
        draw.text((x, y + tile + 4), item.caption, fill=INK, font=font)
        if item.detail:
            draw.text((x, y + tile + 20), item.detail, fill=MUTED, font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, format="PNG")
    return out


@dataclass(frozen=True)
class GalleryItem:
    src: str  # relative to the gallery file
    caption: str
    detail: str = ""


@dataclass
class GallerySection:
    title: str
    description: str
    items: list[GalleryItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;background:#f6f6f4;color:#1e1e1e}
h1{margin-bottom:.2rem} section{margin:2rem 0} .lead{color:#555}
.grid{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;background:#fff;padding:.5rem;border-radius:6px;box-shadow:0 1px 3px #0002;max-width:260px}
figure img{max-width:256px;max-height:256px;display:block;margin:auto;
 background:repeating-conic-gradient(#e4e4e4 0 25%,#fff 0 50%) 50%/16px 16px}
figcaption{font-size:.85rem;margin-top:.4rem} .detail{color:#777;font-size:.75rem}
ul.notes{color:#444;font-size:.9rem}
"""


def gallery(sections: Sequence[GallerySection], out: Path, *, title: str, subtitle: str = "") -> Path:
    """One HTML file with inline CSS and relative image links: open it from disk, copy the folder anywhere."""
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="lead">{esc(subtitle)}</p>' if subtitle else "",
    ]
    for section in sections:
        parts.append(f"<section><h2>{esc(section.title)}</h2><p>{esc(section.description)}</p>")
        if section.items:
            parts.append('<div class="grid">')
            for item in section.items:
                parts.append(
                    f'<figure><a href="{esc(item.src)}"><img src="{esc(item.src)}" alt="{esc(item.caption)}"></a>'
                    f"<figcaption>{esc(item.caption)}"
                    + (f'<div class="detail">{esc(item.detail)}</div>' if item.detail else "")
                    + "</figcaption></figure>"
                )
            parts.append("</div>")
        if section.notes:
            parts.append('<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in section.notes) + "</ul>")
        parts.append("</section>")
    parts.append("</body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(p for p in parts if p), encoding="utf-8")
    return out
