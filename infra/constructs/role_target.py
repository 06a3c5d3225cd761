"""An EventBridge rule target reached through a role of its own, retried, with a dead-letter queue."""

from __future__ import annotations

import aws_cdk as cdk
import aws_cdk.aws_events as events
import aws_cdk.aws_iam as iam
import aws_cdk.aws_sqs as sqs
import jsii
from constructs import Construct

EVENTS = "events.amazonaws.com"


def events_role(scope: Construct, construct_id: str, *, description: str) -> iam.Role:
    """A role only EventBridge of this account may assume (statements are added by the caller)."""
    account = cdk.Stack.of(scope).account
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(EVENTS, conditions={"StringEquals": {"aws:SourceAccount": account}}),
        description=description,
    )


@jsii.implements(events.IRuleTarget)
class RoleTarget:
    """``arn`` as a rule's target, with ``role``, a retry policy and ``dead_letter_queue``.

    ``aws_events_targets`` has no SageMaker pipeline target, and its SNS target grants the key
    with ``kms:GenerateDataKey*``; this target leaves every permission to the caller's role.
    EventBridge itself (not the role) writes to the dead-letter queue, so binding lets the
    rule, and only it, send there. Non-retryable errors (access denied, no such target) go to
    the queue at once; the rest are retried for ``max_event_age`` with backoff.
    """

    def __init__(
        self,
        arn: str,
        *,
        role: iam.IRole,
        dead_letter_queue: sqs.IQueue,
        max_event_age: cdk.Duration,
        retry_attempts: int,
        message: events.RuleTargetInput | None = None,
    ) -> None:
        self._arn = arn
        self._role = role
        self._queue = dead_letter_queue
        self._max_event_age = max_event_age
        self._retry_attempts = retry_attempts
        self._message = message

    def bind(self, rule: events.IRule, _id: str | None = None) -> events.RuleTargetConfig:
        self._queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(EVENTS)],
                actions=["sqs:SendMessage"],
                resources=[self._queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule.rule_arn}},
            )
        )
        return events.RuleTargetConfig(
            arn=self._arn,
            role=self._role,
            input=self._message,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self._queue.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_event_age_in_seconds=int(self._max_event_age.to_seconds()),
                maximum_retry_attempts=self._retry_attempts,
            ),
        )
