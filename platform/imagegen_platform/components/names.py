"""Physical names shared by the program, the runtime, the local data plane and the policy pack.

Names are set explicitly (no Pulumi autonames) so every reader agrees on them without the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

# The bucket's key layout, as the runtime writes it (imagegen_service.storage / intake; a test keeps
# them in step): CloudFront may read only SERVED_PREFIX.
SERVED_PREFIX = "images/"
DRAFTS_PREFIX = "drafts/"
QUARANTINE_PREFIX = "quarantine/"
INPUTS_PREFIX = "inputs/"  # caller-supplied source images: never served


@dataclass(frozen=True)
class PhysicalNames:
    prefix: str
    stack: str

    @property
    def base(self) -> str:
        return f"{self.prefix}-{self.stack}"

    def of(self, suffix: str) -> str:
        return f"{self.base}-{suffix}"

    @property
    def bucket_prefix(self) -> str:
        # S3 names are global: a prefix, the provider adds a unique suffix.
        return f"{self.base}-images-"

    @property
    def jobs_table(self) -> str:
        return self.of("jobs")

    @property
    def licence_table(self) -> str:
        return self.of("licences")

    @property
    def idempotency_table(self) -> str:
        return self.of("idempotency")

    @property
    def jobs_queue(self) -> str:
        return self.of("jobs")

    @property
    def dead_letter_queue(self) -> str:
        return self.of("jobs-dlq")

    def function(self, role: str) -> str:
        return self.of(role)

    @property
    def guardrail(self) -> str:
        return self.base
