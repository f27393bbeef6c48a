"""Today's date for lifecycle checks. ``IMAGEGEN_TODAY`` (YYYY-MM-DD) pins it for tests and demos."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime


def today() -> date:
    pinned = os.environ.get("IMAGEGEN_TODAY")
    if pinned:
        return date.fromisoformat(pinned)
    return datetime.now(UTC).date()
