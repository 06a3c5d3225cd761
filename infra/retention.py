"""CloudWatch Logs retention from the configured number of days."""

from __future__ import annotations

import aws_cdk.aws_logs as logs

from pipeline_def.config import LOG_RETENTION_DAYS

#: RetentionDays members in increasing order, matching LOG_RETENTION_DAYS one to one.
_MEMBERS = tuple(member for member in logs.RetentionDays if member is not logs.RetentionDays.INFINITE)


def log_retention(days: int) -> logs.RetentionDays:
    """The ``RetentionDays`` member for ``days`` (validated by ``pipeline_def.config.environment``)."""
    return dict(zip(LOG_RETENTION_DAYS, _MEMBERS, strict=True))[days]
