"""Content moderation: Bedrock Guardrails on what comes in, Rekognition on what comes out.

Inbound (API, before any model call): ``ApplyGuardrail`` with source INPUT on the prompt, the negative
prompt and every caller-supplied input image. Outbound (worker, before anything is served):
``DetectModerationLabels`` with the stack's MinConfidence; any label at or above it quarantines the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imagegen_service.errors import FieldProblem, PromptBlocked

GUARDRAIL_MAX_IMAGE_BYTES = 4 * 1024 * 1024  # ApplyGuardrail image block limit
GUARDRAIL_MAX_IMAGES = 20  # per ApplyGuardrail request
REKOGNITION_MAX_BYTES = 5 * 1024 * 1024  # DetectModerationLabels Image.Bytes limit


@dataclass(frozen=True)
class GuardrailInput:
    texts: list[tuple[str, str]]  # (field, text)
    images: list[tuple[str, bytes, str]] = field(default_factory=list)  # (field, bytes, "png"|"jpeg")


def _assessment_reasons(response: dict[str, Any]) -> list[str]:
    reasons: list[str] = []
    for assessment in response.get("assessments", []):
        for f in assessment.get("contentPolicy", {}).get("filters", []):
            if f.get("action") == "BLOCKED":
                reasons.append(f"content filter {f.get('type')} ({f.get('confidence', '?')})")
        for topic in assessment.get("topicPolicy", {}).get("topics", []):
            if topic.get("action") == "BLOCKED":
                reasons.append(f"denied topic {topic.get('name')}")
        word_policy = assessment.get("wordPolicy", {})
        for word in word_policy.get("customWords", []) + word_policy.get("managedWordLists", []):
            if word.get("action") == "BLOCKED":
                reasons.append("blocked word")
    return reasons


def check_input(bedrock_runtime: Any, guardrail_id: str, guardrail_version: str, content: GuardrailInput) -> None:
    """Raise PromptBlocked when the guardrail intervenes; details name the checked fields."""
    blocks: list[dict[str, Any]] = [{"text": {"text": text}} for _, text in content.texts if text]
    checked = [name for name, text in content.texts if text]
    for name, data, fmt in content.images[:GUARDRAIL_MAX_IMAGES]:
        if len(data) <= GUARDRAIL_MAX_IMAGE_BYTES:
            blocks.append({"image": {"format": fmt, "source": {"bytes": data}}})
            checked.append(name)
    if not blocks:
        return
    response = bedrock_runtime.apply_guardrail(
        guardrailIdentifier=guardrail_id, guardrailVersion=guardrail_version, source="INPUT", content=blocks
    )
    if response.get("action") != "GUARDRAIL_INTERVENED":
        return
    reasons = _assessment_reasons(response) or [response.get("actionReason") or "guardrail intervened"]
    message = "; ".join(dict.fromkeys(reasons))
    raise PromptBlocked(
        f"the content policy blocked this request ({message})",
        details=[FieldProblem(name, "blocked by the content policy") for name in checked],
    )


@dataclass(frozen=True)
class ImageModeration:
    """Outcome of the outbound check for one image."""

    flagged: bool
    labels: list[dict[str, Any]]
    min_confidence: float
    checked: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "flagged": self.flagged,
            "labels": self.labels,
            "min_confidence": self.min_confidence,
        }


def _moderation_bytes(data: bytes) -> bytes:
    """Rekognition takes at most 5 MB inline: re-encode larger images as a smaller JPEG for the check only."""
    if len(data) <= REKOGNITION_MAX_BYTES:
        return data
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        preview = image.convert("RGB")
        preview.thumbnail((2048, 2048))
        out = io.BytesIO()
        preview.save(out, "JPEG", quality=90)
    return out.getvalue()


def detect_labels(rekognition: Any, data: bytes, min_confidence: float) -> ImageModeration:
    response = rekognition.detect_moderation_labels(
        Image={"Bytes": _moderation_bytes(data)}, MinConfidence=min_confidence
    )
    labels = [
        {
            "name": label.get("Name", ""),
            "parent": label.get("ParentName", ""),
            "confidence": round(float(label.get("Confidence", 0.0)), 2),
        }
        for label in response.get("ModerationLabels", [])
        if float(label.get("Confidence", 0.0)) >= min_confidence
    ]
    return ImageModeration(flagged=bool(labels), labels=labels, min_confidence=min_confidence)


def unchecked(min_confidence: float) -> ImageModeration:
    """Moderation is off for this stack (the policy pack judges whether that may ship)."""
    return ImageModeration(flagged=False, labels=[], min_confidence=min_confidence, checked=False)
