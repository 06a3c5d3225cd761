"""The SageMaker calls of the retrain function, behind a Protocol the local emulator can implement.

:class:`PipelineStarter` is structural on purpose: the emulator passes an object with these two
methods (one that starts a local run) without importing or subclassing anything here. Errors
propagate unchanged (throttling, AccessDenied, a pipeline that does not exist): the invocation
fails, Lambda retries it, and after the last retry the event lands in the dead-letter queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import boto3
from botocore.config import Config

from lambdas.retrain.models import LatestExecution, StartRequest

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


class PipelineStarter(Protocol):
    """What the retrain logic needs from the training pipeline."""

    def latest_execution(self, pipeline_name: str) -> LatestExecution | None:
        """The most recently created execution, whatever its status, or ``None`` if it never ran."""

    def start(self, request: StartRequest) -> str:
        """Start an execution; return its ARN."""


class Boto3PipelineStarter:
    """The starter over a boto3 SageMaker client (or moto, through ``AWS_ENDPOINT_URL``)."""

    def __init__(self, sagemaker: Any) -> None:
        self.sagemaker = sagemaker

    @classmethod
    def from_environment(cls) -> Boto3PipelineStarter:
        """Build the client from the standard AWS environment."""
        return cls(boto3.client("sagemaker", config=_CLIENT_CONFIG))

    def latest_execution(self, pipeline_name: str) -> LatestExecution | None:
        """ListPipelineExecutions, newest first, one result.

        A summary carries StartTime, not CreationTime (SageMaker sorts on the latter; for a
        pipeline execution they are the same moment). The newest of whatever comes back is taken,
        so an implementation that ignores SortOrder and MaxResults (moto 5.2.5 returns every
        execution, oldest first) still gives the right answer.
        """
        response = self.sagemaker.list_pipeline_executions(
            PipelineName=pipeline_name, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
        )
        summaries = [
            summary
            for summary in response.get("PipelineExecutionSummaries", [])
            if isinstance(summary.get("StartTime"), datetime)
        ]
        if not summaries:
            return None
        newest = max(summaries, key=lambda summary: summary["StartTime"])
        return LatestExecution(
            arn=newest["PipelineExecutionArn"],
            created_at=newest["StartTime"],
            status=newest.get("PipelineExecutionStatus"),
        )

    def start(self, request: StartRequest) -> str:
        response = self.sagemaker.start_pipeline_execution(**request.api_parameters())
        return response["PipelineExecutionArn"]
