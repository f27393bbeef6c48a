"""What each emulated model does with a validated request: the pictures, task by task.

Sizes come from ``requests.output_size`` (the same function the service prices with), so the
emulator and the service always agree on what a request returns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from imagegen_service.catalogue import Family, Task
from imagegen_service.requests import GenerationRequest, normalised, output_size
from PIL import Image

from imagegen_emulator import render
from imagegen_emulator.render import Scene

_AMAZON = (Family.NOVA, Family.TITAN)


def _salt(req: GenerationRequest) -> str:
    params = {k: v for k, v in normalised(req).items() if k not in ("seed", "count")}
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _hex(colour: str) -> render.RGB:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def scene(req: GenerationRequest, seed: int, *, unsafe: bool) -> Scene:
    colours = tuple(_hex(c) for c in req.colors or ())
    return Scene(prompt=req.prompt or "", seed=seed, salt=_salt(req), colors=colours, unsafe=unsafe)


def _data(req: GenerationRequest, path: str) -> bytes:
    image = req.image(path)
    assert image is not None, path  # validated: required images are present and decoded
    return image.data


def _variation(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    similarity = req.similarity_strength if req.similarity_strength is not None else 0.7
    # Always blend in some fresh picture so different seeds give different images.
    return render.blend(render.open_rgb(_data(req, "source_image")), look, size, 0.15 + 0.6 * (1 - similarity))


def _color_guided(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    picture = render.draw(look, size)
    if req.image("source_image") is None:
        return picture
    return render.blend(render.open_rgb(_data(req, "source_image")), look, size, 0.6)


def _amazon_edit(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    source = render.open_rgb(_data(req, "source_image"))
    if req.mask_prompt is not None:
        inside = render.region_from_text(req.mask_prompt, source.size)
    else:
        inside = render.amazon_mask(render.open_any(_data(req, "mask_image")))  # black = inside the mask
    # Inpainting changes the inside of the mask; outpainting everything outside it.
    change = inside if req.task is Task.INPAINTING else inside.point(lambda v: 255 - v)
    return render.fill_area(source, change, look)


def _stability_inpaint(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    original = render.open_any(_data(req, "source_image"))
    source = original.convert("RGB")
    if req.mask_image is not None:
        change = render.white_area(render.open_any(_data(req, "mask_image")).resize(source.size))
    elif original.mode in ("RGBA", "LA"):  # no mask: the transparent area is what changes
        change = original.getchannel("A").point(lambda v: 255 if v < 255 else 0)
    else:
        change = render.region_from_text(req.prompt or "", source.size)
    if req.task is Task.ERASE_OBJECT:
        return render.smooth_fill(source, change, look)
    return render.fill_area(source, change, look)


def _search(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    source = render.open_rgb(_data(req, "source_image"))
    if req.task is Task.SEARCH_RECOLOR:
        return render.tint(source, render.region_from_text(req.select_prompt or "", source.size), look)
    return render.fill_area(source, render.region_from_text(req.search_prompt or "", source.size), look)


def _outpaint(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    source = render.open_rgb(_data(req, "source_image"))
    return render.extend(source, look, (req.left or 0, req.right or 0, req.up or 0, req.down or 0))


def _remove_background(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    return render.remove_background(render.open_any(_data(req, "source_image")))


def _control(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    assert req.control is not None
    strength = req.control.strength if req.control.strength is not None else 0.7
    return render.edges_with(render.open_rgb(_data(req, "control.image")), look, strength)


def _style_guide(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    colours = render.dominant_colours(render.open_rgb(_data(req, "source_image")))
    return render.draw(Scene(look.prompt, look.seed, look.salt, colours), size)


def _style_transfer(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    init = render.open_rgb(_data(req, "source_image"))
    colours = render.dominant_colours(render.open_rgb(_data(req, "style_image")))
    styled = render.draw(Scene(look.prompt, look.seed, look.salt, colours), init.size).convert("RGB")
    return Image.blend(init, styled, 0.5)


def _upscale(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    generative = req.task is not Task.UPSCALE_FAST
    return render.upscale(render.open_rgb(_data(req, "source_image")), size, look if generative else None)


def _text_to_image(req: GenerationRequest, look: Scene, size: tuple[int, int]) -> Image.Image:
    picture = render.draw(look, size)
    if req.control is None or req.image("control.image") is None:
        return picture
    strength = req.control.strength if req.control.strength is not None else 0.7
    return render.edges_with(render.open_rgb(_data(req, "control.image")).resize(size), look, strength)


Painter = Callable[[GenerationRequest, Scene, tuple[int, int]], Image.Image]
_PAINTERS: dict[Task, Painter] = {
    Task.TEXT_TO_IMAGE: _text_to_image,
    Task.IMAGE_VARIATION: _variation,
    Task.COLOR_GUIDED: _color_guided,
    Task.BACKGROUND_REMOVAL: _remove_background,
    Task.SEARCH_REPLACE: _search,
    Task.SEARCH_RECOLOR: _search,
    Task.ERASE_OBJECT: _stability_inpaint,
    Task.CONTROL_SKETCH: _control,
    Task.CONTROL_STRUCTURE: _control,
    Task.STYLE_GUIDE: _style_guide,
    Task.STYLE_TRANSFER: _style_transfer,
    Task.UPSCALE_FAST: _upscale,
    Task.UPSCALE_CONSERVATIVE: _upscale,
    Task.UPSCALE_CREATIVE: _upscale,
}


def painter_for(req: GenerationRequest) -> Painter:
    if req.task in (Task.INPAINTING, Task.OUTPAINTING):
        if req.spec.family in _AMAZON:
            return _amazon_edit
        return _stability_inpaint if req.task is Task.INPAINTING else _outpaint
    return _PAINTERS[req.task]


def paint(req: GenerationRequest, seed: int, *, unsafe: bool = False) -> Image.Image:
    """One output image for ``req`` generated from ``seed``."""
    picture = painter_for(req)(req, scene(req, seed, unsafe=unsafe), output_size(req))
    if unsafe and req.task is not Task.TEXT_TO_IMAGE:  # edits keep the source: make the verdict visible
        picture = Image.blend(picture.convert("RGB"), Image.new("RGB", picture.size, (240, 0, 0)), 0.9)
    return picture
