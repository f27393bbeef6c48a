"""Physical names shared by the program, the runtime, the local data plane and the policy pack.

Names are set explicitly (no Pulumi autonames) so every reader agrees on them without the engine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# The bucket's key layout, as the runtime writes it (imagegen_service.storage / intake; a test keeps
# them in step): CloudFront may read only SERVED_PREFIX.
SERVED_PREFIX = "images/"
DRAFTS_PREFIX = "drafts/"
QUARANTINE_PREFIX = "quarantine/"
INPUTS_PREFIX = "inputs/"  # caller-supplied source images: never served

BUCKET_PREFIX_MAX = 37
"""pulumi-aws / Terraform ``aws_s3_bucket.bucket_prefix``: "Must be lowercase and less than or equal
to 37 characters in length" (the provider appends a 26-character unique suffix; S3 names are ≤ 63)."""


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
        """S3 names are global: a prefix, the provider adds a unique suffix.

        Long stack names (``customer-<32 characters>``) keep the name prefix (the deploy role's
        scope), a readable start and a hash of the whole base, so two stacks never share a prefix.
        """
        full = f"{self.base}-images-"
        if len(full) <= BUCKET_PREFIX_MAX:
            return full
        digest = hashlib.sha256(self.base.encode()).hexdigest()[:8]
        head = self.base[: BUCKET_PREFIX_MAX - len(digest) - 2].rstrip("-")
        return f"{head}-{digest}-"

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
