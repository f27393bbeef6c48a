"""Model adapters: a GenerationRequest → the exact InvokeModel body, and the response → ``ModelOutput``.

One module per wire dialect (``amazon`` for Nova and Titan, ``stability`` for Stability
text-to-image, ``stability_services`` for the Image Services); this module picks by family.
The reverse direction (``request_from_body``) lets the emulator validate raw bodies with the same
catalogue rules the API uses.
"""

from __future__ import annotations

from typing import Any, Protocol

from imagegen_service.adapters import amazon, stability, stability_services
from imagegen_service.adapters.output import GeneratedImage, ModelOutput
from imagegen_service.adapters.wire import WireProblem
from imagegen_service.catalogue import Family, ModelSpec, Task
from imagegen_service.requests import GenerationRequest

__all__ = [
    "GeneratedImage",
    "ModelOutput",
    "WireProblem",
    "build_body",
    "parse_response",
    "request_from_body",
    "wire_name",
]


class _Dialect(Protocol):
    def build_body(self, req: GenerationRequest) -> dict[str, Any]: ...

    def parse_response(self, req: GenerationRequest, payload: dict[str, Any]) -> ModelOutput: ...

    def request_from_body(self, spec: ModelSpec, body: dict[str, Any]) -> dict[str, Any]: ...


_DIALECTS: dict[Family, Any] = {
    Family.NOVA: amazon,
    Family.TITAN: amazon,
    Family.STABILITY: stability,
    Family.STABILITY_SERVICES: stability_services,
}


def _dialect(spec: ModelSpec) -> _Dialect:
    dialect: _Dialect = _DIALECTS[spec.family]
    return dialect


def build_body(req: GenerationRequest) -> dict[str, Any]:
    """The InvokeModel JSON body for ``req`` (its images must be inline: see ``with_images``)."""
    return _dialect(req.spec).build_body(req)


def parse_response(req: GenerationRequest, payload: dict[str, Any]) -> ModelOutput:
    return _dialect(req.spec).parse_response(req, payload)


def request_from_body(spec: ModelSpec, body: dict[str, Any]) -> dict[str, Any]:
    """The raw GenerationRequest a wire body stands for; ``WireProblem`` for keys Bedrock would reject."""
    return _dialect(spec).request_from_body(spec, body)


def wire_name(spec: ModelSpec, field: str, task: Task | str | None = None) -> str:
    """The wire key a request field travels as (for error messages that name what was sent)."""
    root = field.split("[", maxsplit=1)[0]
    if spec.family in (Family.NOVA, Family.TITAN):
        try:
            parsed = Task(task) if task is not None else None
        except ValueError:
            parsed = None
        return amazon.wire_name(parsed, root)
    if spec.family is Family.STABILITY:
        return stability.WIRE_NAMES.get(root, root)
    return stability_services.wire_names(spec).get(root, root)
