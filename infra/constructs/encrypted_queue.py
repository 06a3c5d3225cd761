"""The dead-letter queues of this project: KMS-encrypted, TLS-only, two weeks of retention."""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_kms as kms
import aws_cdk.aws_sqs as sqs
from constructs import Construct

from infra.compliance import acknowledge


def dead_letter_queue(scope: Construct, construct_id: str, *, key: kms.IKey) -> sqs.Queue:
    """A queue that only ever receives what could not be delivered, kept for the maximum 14 days."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=cdk.Duration.hours(1),
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    acknowledge(
        queue,
        "AwsSolutions-SQS3",
        "This queue is itself a dead-letter queue (of a schedule, rule targets or a Lambda's failed "
        "asynchronous invocations); nothing consumes it automatically, so a DLQ behind it would only "
        "move the same messages again.",
    )
    return queue
