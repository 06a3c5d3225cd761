"""The SageMaker calls of the failure-alert function, behind an abstract adapter.

Both calls are read-only. Errors propagate unchanged (throttling, AccessDenied, 5xx): the
invocation fails, Lambda retries it, and after the last retry the event lands in the failure
queue, whose alarm tells the operators anyway.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import boto3
from botocore.config import Config

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


class PipelineExecutions(ABC):
    """What the logic needs to know about one pipeline execution."""

    @abstractmethod
    def steps(self, execution_arn: str) -> list[dict[str, Any]]:
        """ListPipelineExecutionSteps, every page: each step's name, status, reason and metadata."""

    @abstractmethod
    def failure_reason(self, execution_arn: str) -> str | None:
        """DescribePipelineExecution's FailureReason: why the execution itself failed, if it says."""


class Boto3PipelineExecutions(PipelineExecutions):
    """The adapter over a boto3 SageMaker client (or moto, through ``AWS_ENDPOINT_URL``)."""

    def __init__(self, sagemaker: Any) -> None:
        self.sagemaker = sagemaker

    @classmethod
    def from_environment(cls) -> Boto3PipelineExecutions:
        """Build the client from the standard AWS environment."""
        return cls(boto3.client("sagemaker", config=_CLIENT_CONFIG))

    def steps(self, execution_arn: str) -> list[dict[str, Any]]:
        pages = self.sagemaker.get_paginator("list_pipeline_execution_steps").paginate(
            PipelineExecutionArn=execution_arn, SortOrder="Ascending"
        )
        return [step for page in pages for step in page.get("PipelineExecutionSteps", [])]

    def failure_reason(self, execution_arn: str) -> str | None:
        response = self.sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        reason = response.get("FailureReason")
        return reason if isinstance(reason, str) and reason else None
