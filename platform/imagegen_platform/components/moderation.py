"""ContentModeration: the Bedrock guardrail that screens prompts and input images, and its version.

Output images are screened by Rekognition in the worker (IAM in ``access``); the guardrail covers
text and image input, and image output where Bedrock allows it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
from imagegen_platform.components.names import PhysicalNames
from imagegen_platform.settings import GuardrailSettings
from pulumi_aws import bedrock

HARM_CATEGORIES = ("SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT")
MODALITIES = ["TEXT", "IMAGE"]


@dataclass(frozen=True)
class ContentModerationArgs:
    names: PhysicalNames
    guardrail: GuardrailSettings


def _filters(strength: str) -> list[bedrock.GuardrailContentPolicyConfigFiltersConfigArgs]:
    filters = [
        bedrock.GuardrailContentPolicyConfigFiltersConfigArgs(
            type=category,
            input_strength=strength,
            output_strength=strength,
            input_modalities=MODALITIES,
            output_modalities=MODALITIES,
        )
        for category in HARM_CATEGORIES
    ]
    # Prompt attacks exist only on input. That Bedrock requires output_strength NONE here is
    # UNCONFIRMED; NONE is the value it accepts either way (safe side).
    filters.append(
        bedrock.GuardrailContentPolicyConfigFiltersConfigArgs(
            type="PROMPT_ATTACK",
            input_strength=strength,
            output_strength="NONE",
            input_modalities=MODALITIES,
        )
    )
    return filters


def content_digest(settings: GuardrailSettings) -> str:
    """A hash of everything the guardrail is declared from: it changes exactly when the DRAFT does."""
    declared = {
        "settings": settings.model_dump(mode="json"),
        "categories": HARM_CATEGORIES,
        "modalities": MODALITIES,
    }
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()[:16]


class ContentModeration(pulumi.ComponentResource):
    guardrail: bedrock.Guardrail
    version: bedrock.GuardrailVersion

    def __init__(self, name: str, args: ContentModerationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("imagegen:moderation:ContentModeration", name, None, opts)
        settings = args.guardrail
        topics = (
            bedrock.GuardrailTopicPolicyConfigArgs(
                topics_configs=[
                    bedrock.GuardrailTopicPolicyConfigTopicsConfigArgs(
                        name=topic.name, definition=topic.definition, examples=list(topic.examples), type="DENY"
                    )
                    for topic in settings.denied_topics
                ]
            )
            if settings.denied_topics
            else None
        )
        words = (
            bedrock.GuardrailWordPolicyConfigArgs(
                words_configs=[bedrock.GuardrailWordPolicyConfigWordsConfigArgs(text=w) for w in settings.blocked_words]
                or None,
                managed_word_lists_configs=[
                    bedrock.GuardrailWordPolicyConfigManagedWordListsConfigArgs(type="PROFANITY")
                ]
                if settings.profanity_filter
                else None,
            )
            if settings.blocked_words or settings.profanity_filter
            else None
        )
        self.guardrail = bedrock.Guardrail(
            f"{name}-guardrail",
            name=args.names.guardrail,
            description=f"Screens prompts and images for {args.names.base}",
            blocked_input_messaging=settings.blocked_input_message,
            blocked_outputs_messaging=settings.blocked_output_message,
            content_policy_config=bedrock.GuardrailContentPolicyConfigArgs(
                filters_configs=_filters(settings.filter_strength)
            ),
            topic_policy_config=topics,
            word_policy_config=words,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The runtime pins a published version, never DRAFT. A version is an immutable snapshot of
        # the DRAFT taken when it is created, so it must be re-created whenever the guardrail's
        # content changes: its description carries the content's hash, and a changed description
        # replaces it (replace_on_changes: the safe side whether or not the provider already treats
        # the description as force-new). The new version is created before the old one is deleted,
        # after the guardrail update (it depends on the guardrail), and the functions' environment
        # then names the new version number.
        self.version = bedrock.GuardrailVersion(
            f"{name}-guardrail-version",
            guardrail_arn=self.guardrail.guardrail_arn,
            description=f"{args.names.base} published guardrail, content {content_digest(settings)}",
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["description"]),
        )
        self.register_outputs(
            {
                "guardrailId": self.guardrail.guardrail_id,
                "guardrailArn": self.guardrail.guardrail_arn,
                "guardrailVersion": self.version.version,
            }
        )
