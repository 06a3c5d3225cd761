"""The current time, passed into logic that compares or records times, so tests can fix it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: What the logic takes to ask for "now" (timezone-aware): the retrain cool-down, deployed-package.json.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, timezone-aware in UTC (SageMaker's and CloudWatch's timestamps are aware too)."""
    return datetime.now(UTC)
