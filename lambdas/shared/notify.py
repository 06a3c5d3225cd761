"""Notifications to the human reviewers, behind an adapter like the registry calls."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import boto3
from botocore.config import Config

from lambdas.shared.text import clip

#: SNS limits: Subject up to 100 printable ASCII characters, Message up to 256 KB.
MAX_SUBJECT_CHARS = 100
MAX_MESSAGE_CHARS = 200_000
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


class Notifier(ABC):
    """Sends a short text message to a topic."""

    @abstractmethod
    def publish(self, topic_arn: str, subject: str, message: str) -> None:
        """Publish ``message`` with ``subject``; callers pass already-sanitised text."""


class SnsNotifier(Notifier):
    """Publishes to Amazon SNS (or moto, through ``AWS_ENDPOINT_URL``)."""

    def __init__(self, sns: Any) -> None:
        self.sns = sns

    @classmethod
    def from_environment(cls) -> SnsNotifier:
        """Build the client from the standard AWS environment."""
        return cls(boto3.client("sns", config=_CLIENT_CONFIG))

    def publish(self, topic_arn: str, subject: str, message: str) -> None:
        self.sns.publish(
            TopicArn=topic_arn,
            Subject=clip(subject, MAX_SUBJECT_CHARS, marker="..."),
            Message=clip(message, MAX_MESSAGE_CHARS),
        )
