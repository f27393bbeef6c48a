"""The Lambda context object the local platform passes to the real handlers.

Powertools reads ``function_name``, ``memory_limit_in_mb``, ``invoked_function_arn``,
``aws_request_id`` and ``get_remaining_time_in_millis()``; this carries the same, with the deadline
taken from the function's configured timeout in the stack graph.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from imagegen_local.apigw import LOCAL_ACCOUNT_ID


@dataclass
class LocalLambdaContext:
    function_name: str
    region: str = "us-east-1"
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))
