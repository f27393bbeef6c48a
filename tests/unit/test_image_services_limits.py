"""Stability Image Services: the request schema enforces the limits Bedrock documents, before a job is accepted.

Every expected number here is copied from the Amazon Bedrock user guide page "Stability AI Image
Services" (docs.aws.amazon.com/bedrock/latest/userguide/stable-image-services.html), the parameter
list of the service named in each case, not from our catalogue. Limits the page does not settle are
tested as the catalogue's safe side and say so. Each case sits at a documented boundary: the value on
the boundary passes, one step past it fails, naming the field and the rule.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from imagegen_service import catalogue
from imagegen_service.errors import RequestInvalid
from imagegen_service.requests import parse_request
from PIL import Image

PAGE = "docs.aws.amazon.com/bedrock/latest/userguide/stable-image-services.html"


def png(width: int, height: int) -> dict[str, str]:
    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, "PNG", compress_level=1)
    return {"base64": base64.b64encode(out.getvalue()).decode()}


def problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        parse_request(raw)
    except RequestInvalid as error:
        return [(d.field, d.message) for d in error.details]
    return []


def request(model: str, image: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"model": model, **fields}
    if image is not None:
        raw["source_image"] = image
    return raw


# (case, request within the documented limit, the same request one step past it, field, rule fragment)
# Page quotes are given per case; "UNCONFIRMED" marks a limit the page does not settle (safe side).
BOUNDARIES: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    # Creative Upscale: "Every side of the image must be at least 64 pixels. Total pixel count must be
    # between 4,096 and 1,048,576 pixels." The issue's own report: a 4-megapixel input was queued.
    ("creative-upscale 1 MP max", request("stability-creative-upscale", png(1024, 1024), prompt="sharp"),
     request("stability-creative-upscale", png(1024, 1025), prompt="sharp"), "source_image", "at most 1,048,576 pixels"),
    ("creative-upscale 4 MP input (the issue)", request("stability-creative-upscale", png(512, 512), prompt="sharp"),
     request("stability-creative-upscale", png(2048, 2048), prompt="sharp"), "source_image", "1,048,576"),
    ("creative-upscale 64 px side", request("stability-creative-upscale", png(64, 64), prompt="sharp"),
     request("stability-creative-upscale", png(63, 64), prompt="sharp"), "source_image", "at least 64 px"),
    # Creative Upscale creativity: "Range between 0.1 and 0.5. Default 0.3"
    ("creative-upscale creativity", request("stability-creative-upscale", png(256, 256), prompt="x", creativity=0.5),
     request("stability-creative-upscale", png(256, 256), prompt="x", creativity=0.51), "creativity", "0.1–0.5"),
    # Conservative Upscale: the page says "takes images between 64x64 and 1 megapixel" and also "cannot
    # exceed 9,437,184 pixels": UNCONFIRMED, the safe side is 1 megapixel.
    ("conservative-upscale 1 MP (UNCONFIRMED, safe side)", request("stability-conservative-upscale", png(1024, 1024), prompt="x"),
     request("stability-conservative-upscale", png(1100, 1000), prompt="x"), "source_image", "1,048,576"),
    # Conservative Upscale: "Range between 0.1 and 0.5. Default 0.35"
    ("conservative-upscale creativity", request("stability-conservative-upscale", png(256, 256), prompt="x", creativity=0.1),
     request("stability-conservative-upscale", png(256, 256), prompt="x", creativity=0.09), "creativity", "0.1–0.5"),
    # Fast Upscale: "Width must be between 32 and 1,536 pixels. Height must be between 32 and 1,536
    # pixels. Total pixel count must be between 1,024 and 1,048,576 pixels."
    ("fast-upscale 32 px side", request("stability-fast-upscale", png(32, 32)),
     request("stability-fast-upscale", png(31, 40)), "source_image", "at least 32 px"),
    ("fast-upscale 1,048,576 px", request("stability-fast-upscale", png(1024, 1024)),
     request("stability-fast-upscale", png(1025, 1024)), "source_image", "1,048,576"),
    # Inpaint: "The total pixel count cannot exceed 9,437,184 pixels. Image aspect ratio must be between 1:2.5 and 2.5:1."
    ("inpaint aspect 2.5:1", request("stability-inpaint", png(640, 256), prompt="x"),
     request("stability-inpaint", png(641, 256), prompt="x"), "source_image", "1:2.5–2.5:1"),
    ("inpaint aspect 1:2.5", request("stability-inpaint", png(256, 640), prompt="x"),
     request("stability-inpaint", png(256, 641), prompt="x"), "source_image", "1:2.5–2.5:1"),
    # Inpaint grow_mask: "Range between 0 and 20. Default 5"
    ("inpaint grow_mask", request("stability-inpaint", png(256, 256), prompt="x", grow_mask=20),
     request("stability-inpaint", png(256, 256), prompt="x", grow_mask=21), "grow_mask", "0–20"),
    # Outpaint: "creativity ... Range between 0.1 and 1.0. Default 0.5"; "left ... Range 0 to 2000"
    ("outpaint creativity", request("stability-outpaint", png(256, 256), left=64, creativity=1.0),
     request("stability-outpaint", png(256, 256), left=64, creativity=0.05), "creativity", "0.1–1"),
    ("outpaint left", request("stability-outpaint", png(256, 256), left=2000),
     request("stability-outpaint", png(256, 256), left=2001), "left", "0–2,000"),
    # Outpaint's parameter list has no negative_prompt: the field does not apply.
    ("outpaint takes no negative_prompt", request("stability-outpaint", png(256, 256), left=64, prompt="sea"),
     request("stability-outpaint", png(256, 256), left=64, prompt="sea", negative_prompt="people"), "negative_prompt", "does not apply"),
    # Outpaint: "At least one outpaint direction ... must be supplied with a non-zero value."
    ("outpaint needs a direction", request("stability-outpaint", png(256, 256), up=1),
     request("stability-outpaint", png(256, 256), up=0), "left", "at least one"),
    # Search and Replace / Recolor / Erase grow_mask: "Range between 0 and 20. Default 5"
    ("search-replace grow_mask", request("stability-search-replace", png(256, 256), prompt="x", search_prompt="y", grow_mask=0),
     request("stability-search-replace", png(256, 256), prompt="x", search_prompt="y", grow_mask=-1), "grow_mask", "0–20"),
    ("search-recolor grow_mask", request("stability-search-recolor", png(256, 256), prompt="x", select_prompt="y", grow_mask=20),
     request("stability-search-recolor", png(256, 256), prompt="x", select_prompt="y", grow_mask=25), "grow_mask", "0–20"),
    ("erase grow_mask", request("stability-erase-object", png(256, 256), grow_mask=5),
     request("stability-erase-object", png(256, 256), grow_mask=21), "grow_mask", "0–20"),
    # Remove Background: the page's enum is jpeg/png/webp, but JPEG has no alpha: a cut-out keeps
    # its transparency only as PNG (webp is not stored by our image store), so jpeg is refused here.
    ("remove-background keeps transparency", request("stability-remove-background", png(256, 256), output_format="png"),
     request("stability-remove-background", png(256, 256), output_format="jpeg"), "output_format", "png"),
    # Remove Background input: "Every side of the image must be at least 64 pixels ... aspect ratio 1:2.5 and 2.5:1"
    ("remove-background aspect", request("stability-remove-background", png(160, 64)),
     request("stability-remove-background", png(161, 64)), "source_image", "aspect ratio"),
    # Control Sketch/Structure: "control_strength ... a float between 0 and 1 ... Default 0.7"
    ("control-structure strength", request("stability-control-structure", prompt="x", control={"image": png(256, 256), "strength": 1.0}),
     request("stability-control-structure", prompt="x", control={"image": png(256, 256), "strength": 1.01}), "control.strength", "0–1"),
    ("control-sketch image aspect", request("stability-control-sketch", prompt="x", control={"image": png(250, 100)}),
     request("stability-control-sketch", prompt="x", control={"image": png(251, 100)}), "control.image", "aspect ratio"),
    # Style Guide: "fidelity ... Range 0 to 1. Default 0.5"
    ("style-guide fidelity", request("stability-style-guide", png(256, 256), prompt="x", fidelity=1.0),
     request("stability-style-guide", png(256, 256), prompt="x", fidelity=1.2), "fidelity", "0–1"),
    # Style Transfer: "change_strength ... Range between 0.1 and 1. Default 0.9"
    ("style-transfer change_strength", request("stability-style-transfer", png(256, 256), style_image=png(256, 256), change_strength=0.1),
     request("stability-style-transfer", png(256, 256), style_image=png(256, 256), change_strength=0.05), "change_strength", "0.1–1"),
    ("style-transfer style_image aspect", request("stability-style-transfer", png(256, 256), style_image=png(256, 640)),
     request("stability-style-transfer", png(256, 256), style_image=png(256, 700)), "style_image", "aspect ratio"),
    # Seeds: "Range 0 to 4294967294"
    ("seed range", request("stability-erase-object", png(256, 256), seed=4_294_967_294),
     request("stability-erase-object", png(256, 256), seed=4_294_967_295), "seed", "4,294,967,294"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "ok", "bad", "field", "rule"), BOUNDARIES, ids=[c[0] for c in BOUNDARIES])
def test_documented_boundary(case: str, ok: dict[str, Any], bad: dict[str, Any], field: str, rule: str) -> None:
    # GIVEN a request on the documented boundary and the same request one step past it
    # WHEN both are parsed
    # THEN the first is accepted and the second names the field and the rule it broke
    assert problems(ok) == []
    found = problems(bad)
    assert any(f == field and rule in message for f, message in found), found


def test_every_service_cites_the_page() -> None:
    services = [m for m in catalogue.all_models() if m.family is catalogue.Family.STABILITY_SERVICES]
    assert len(services) == 13  # "thirteen specialized image editing tools"
    for spec in services:
        assert PAGE in spec.limits.source, spec.key
        assert PAGE in spec.limits.image_input.source, spec.key


def test_upscales_have_their_own_input_bounds() -> None:
    # The page gives the upscales tighter inputs than the edit/control services (1 MP vs 9,437,184 px).
    creative = catalogue.MODELS["stability-creative-upscale"].limits.image_input
    inpaint = catalogue.MODELS["stability-inpaint"].limits.image_input
    assert creative.max_pixels == 1_048_576
    assert inpaint.max_pixels == 9_437_184
