"""A stand-in for the Lambda runtime's context object, for calling a handler in-process.

The local pipeline run (and the tests) call ``handler(event, context)`` directly. Powertools
reads these attributes from the context: the Logger for its function_* keys, Idempotency for the
remaining time that bounds an in-progress record.

Examples
--------
>>> from approval.handler import handler
>>> handler(event, LocalLambdaContext(function_name="model-approval-local"))  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LocalLambdaContext:
    """The subset of ``LambdaContext`` that Powertools and the handlers use."""

    function_name: str = "local-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:local-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_millis: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis
