"""ApplyGuardrail, emulated from a stack's ``GuardrailSettings`` (simple, documented matching rules).

- Blocked words: a word or phrase from ``blocked_words`` appears as whole words (case-insensitive).
- Profanity (``profanity_filter``): a short built-in list, plus the token ``EMULATOR_PROFANITY``.
- Denied topics: the text contains the topic's name (or its singular, "weapons" → "weapon") as a
  whole word, or one of the topic's examples verbatim.
- Content filters: the token ``EMULATOR_<TYPE>`` (``EMULATOR_VIOLENCE``, ``EMULATOR_HATE`` …) is a
  HIGH-confidence hit of that type, ``EMULATOR_<TYPE>_MEDIUM`` / ``_LOW`` lower ones; "ignore previous
  instructions" is a HIGH prompt attack (input only). Bedrock's strength rule applies: a HIGH filter
  blocks LOW and up, MEDIUM blocks MEDIUM and up, LOW blocks HIGH only. An image carrying the
  emulator's unsafe marker is a HIGH VIOLENCE hit.
Anything else passes: the emulator has no language model.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field
from typing import Any

from imagegen_emulator.exceptions import ValidationException
from imagegen_emulator.render import looks_unsafe

FILTER_TYPES = ("SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK")
LEVELS = ("NONE", "LOW", "MEDIUM", "HIGH")
PROFANITY = ("damn", "shit", "fuck", "bastard", "emulator_profanity")
PROMPT_ATTACK_PHRASE = "ignore previous instructions"
TEXT_UNIT_CHARS = 1000  # Bedrock bills guardrail text in units of up to 1,000 characters
_VERSION = re.compile(r"^([1-9][0-9]{0,7}|DRAFT)$")


@dataclass(frozen=True)
class Topic:
    name: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuardrailPolicy:
    """The parts of ``imagegen_platform.settings.GuardrailSettings`` the emulator applies."""

    filter_strength: str = "HIGH"
    topics: tuple[Topic, ...] = ()
    blocked_words: tuple[str, ...] = ()
    profanity_filter: bool = True
    blocked_input_message: str = "This request was blocked by the content policy."
    blocked_output_message: str = "The response was blocked by the content policy."
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any) -> GuardrailPolicy:
        """From a ``GuardrailSettings`` (duck-typed: the emulator does not import the platform package)."""
        return cls(
            filter_strength=settings.filter_strength,
            topics=tuple(Topic(t.name, tuple(t.examples)) for t in settings.denied_topics),
            blocked_words=tuple(settings.blocked_words),
            profanity_filter=settings.profanity_filter,
            blocked_input_message=settings.blocked_input_message,
            blocked_output_message=settings.blocked_output_message,
        )


def _has_words(text: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase.lower())}(?!\w)", text) is not None


class Guardrail:
    def __init__(self, policy: GuardrailPolicy) -> None:
        self.policy = policy

    def apply(self, identifier: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
        if not _VERSION.match(version):
            raise ValidationException(
                f"1 validation error detected: Value '{version}' at 'guardrailVersion' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))"
            )
        source = body.get("source")
        if source not in ("INPUT", "OUTPUT"):
            raise ValidationException("source must be INPUT or OUTPUT")
        content = body.get("content")
        if not isinstance(content, list) or not content:
            raise ValidationException("content must be a non-empty list of text or image blocks")
        texts, images = self._blocks(content)
        text = " ".join(texts).lower()
        topics = self._topics(text)
        words, managed = self._words(text)
        filters = self._filters(text, images, source)
        blocked = bool(topics or words or managed or any(f["action"] == "BLOCKED" for f in filters))
        assessment: dict[str, Any] = {}
        if topics:
            assessment["topicPolicy"] = {"topics": topics}
        if words or managed:
            assessment["wordPolicy"] = {"customWords": words, "managedWordLists": managed}
        if filters:
            assessment["contentPolicy"] = {"filters": filters}
        chars = sum(len(t) for t in texts)
        units = math.ceil(chars / TEXT_UNIT_CHARS)
        message = self.policy.blocked_input_message if source == "INPUT" else self.policy.blocked_output_message
        return {
            "usage": {
                "topicPolicyUnits": units if self.policy.topics else 0,
                "contentPolicyUnits": units,
                "wordPolicyUnits": units if (self.policy.blocked_words or self.policy.profanity_filter) else 0,
                "sensitiveInformationPolicyUnits": 0,
                "sensitiveInformationPolicyFreeUnits": 0,
                "contextualGroundingPolicyUnits": 0,
                "contentPolicyImageUnits": len(images),
            },
            "action": "GUARDRAIL_INTERVENED" if blocked else "NONE",
            "actionReason": "Guardrail blocked." if blocked else "No action.",
            "outputs": [{"text": message}] if blocked else [],
            "assessments": [assessment] if assessment else [],
            "guardrailCoverage": {
                "textCharacters": {"guarded": chars, "total": chars},
                "images": {"guarded": len(images), "total": len(images)},
            },
        }

    @staticmethod
    def _blocks(content: list[Any]) -> tuple[list[str], list[bytes]]:
        texts: list[str] = []
        images: list[bytes] = []
        for index, block in enumerate(content):
            if isinstance(block, dict) and isinstance(block.get("text"), dict):
                texts.append(str(block["text"].get("text", "")))
            elif isinstance(block, dict) and isinstance(block.get("image"), dict):
                raw = block["image"].get("source", {}).get("bytes", "")
                try:
                    images.append(base64.b64decode(raw, validate=True))
                except (binascii.Error, ValueError, TypeError):
                    raise ValidationException(f"content[{index}].image.source.bytes is not valid base64") from None
            else:
                raise ValidationException(f"content[{index}] must hold a text or an image block")
        return texts, images

    def _topics(self, text: str) -> list[dict[str, Any]]:
        hits = []
        for topic in self.policy.topics:
            names = {topic.name.lower(), topic.name.lower().removesuffix("s")}
            if any(_has_words(text, n) for n in names if n) or any(_has_words(text, e) for e in topic.examples):
                hits.append({"name": topic.name, "type": "DENY", "action": "BLOCKED", "detected": True})
        return hits

    def _words(self, text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        custom = [
            {"match": word, "action": "BLOCKED", "detected": True}
            for word in self.policy.blocked_words
            if _has_words(text, word)
        ]
        managed = []
        if self.policy.profanity_filter:
            managed = [
                {"match": word, "type": "PROFANITY", "action": "BLOCKED", "detected": True}
                for word in PROFANITY
                if _has_words(text, word)
            ]
        return custom, managed

    def _filters(self, text: str, images: list[bytes], source: str) -> list[dict[str, Any]]:
        strength = self.policy.filter_strength
        # HIGH strength blocks LOW+; MEDIUM blocks MEDIUM+; LOW blocks HIGH only.
        blocks_from = {"HIGH": 1, "MEDIUM": 2, "LOW": 3}.get(strength, 4)
        found: dict[str, str] = {}
        for kind in FILTER_TYPES:
            for level in ("HIGH", "MEDIUM", "LOW"):
                token = f"emulator_{kind.lower()}" + ("" if level == "HIGH" else f"_{level.lower()}")
                if _has_words(text, token):
                    found.setdefault(kind, level)
        if source == "INPUT" and PROMPT_ATTACK_PHRASE in text:
            found["PROMPT_ATTACK"] = "HIGH"
        if source == "OUTPUT":
            found.pop("PROMPT_ATTACK", None)  # prompt attacks are judged on input only
        if any(looks_unsafe(image) for image in images):
            found["VIOLENCE"] = "HIGH"
        return [
            {
                "type": kind,
                "confidence": level,
                "filterStrength": strength,
                "action": "BLOCKED" if LEVELS.index(level) >= blocks_from else "NONE",
                "detected": True,
            }
            for kind, level in found.items()
        ]
