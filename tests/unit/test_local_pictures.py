"""Contact sheet and gallery rendering."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from imagegen_local.pictures import GalleryItem, GallerySection, Tile, contact_sheet, gallery
from PIL import Image


def png(colour: tuple[int, int, int, int], size: tuple[int, int] = (64, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_contact_sheet_is_a_captioned_grid(tmp_path: Path) -> None:
    # GIVEN five images, one of them transparent
    tiles = [Tile(png((40 * i, 0, 0, 255)), f"seed {i}", "$0.008") for i in range(4)] + [
        Tile(png((0, 0, 0, 0)), "cut-out")
    ]
    # WHEN laid out three to a row with 100-pixel tiles
    out = contact_sheet(tiles, tmp_path / "sheet.png", title="Seed sweep", columns=3, tile=100)
    # THEN the sheet has 3 columns and 2 rows of tiles plus captions, and each tile shows its image
    with Image.open(out) as sheet:
        assert sheet.format == "PNG"
        assert sheet.size == (12 + 3 * 112, 36 + 12 + 2 * (100 + 40 + 12))
        # the second tile (red 40) is drawn centred in its cell (wide image: letterboxed vertically)
        assert sheet.convert("RGB").getpixel((12 + 112 + 50, 48 + 50)) == (40, 0, 0)
        # the transparent cut-out sits on a checkerboard, not on black
        assert sheet.convert("RGB").getpixel((12 + 112 + 50, 48 + 152 + 50)) in {(255, 255, 255), (228, 228, 228)}


def test_contact_sheet_needs_images(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        contact_sheet([], tmp_path / "x.png", title="empty")


def test_gallery_is_self_contained_with_relative_links(tmp_path: Path) -> None:
    section = GallerySection(
        "Seed <sweep>", "A/B & more", [GalleryItem("images/1-a.png", "seed 1", "titan")], ["HTTP 422 PromptBlocked"]
    )
    out = gallery([section], tmp_path / "gallery.html", title="demo")
    text = out.read_text()
    assert '<img src="images/1-a.png"' in text
    assert "Seed &lt;sweep&gt;" in text and "A/B &amp; more" in text  # escaped
    assert "HTTP 422 PromptBlocked" in text
    assert "http://" not in text and "https://" not in text and "<script" not in text  # no remote assets
