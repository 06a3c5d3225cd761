"""Topic subscriptions from the ``notifications`` block of cdk.json."""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk.aws_sns as sns
from constructs import Construct

from pipeline_def.config import Subscriber

#: The config's protocol names, as CDK spells them.
_PROTOCOLS = {
    "email": sns.SubscriptionProtocol.EMAIL,
    "https": sns.SubscriptionProtocol.HTTPS,
    "sqs": sns.SubscriptionProtocol.SQS,
}


def subscribe(
    scope: Construct, topic: sns.ITopic, subscribers: Iterable[Subscriber]
) -> list[sns.Subscription]:
    """One ``AWS::SNS::Subscription`` per configured subscriber of ``topic``.

    Plain subscriptions rather than ``aws_sns_subscriptions``: those would import an SQS queue
    and write its policy, which belongs to the queue's owner. Email and https endpoints confirm
    the subscription themselves; a queue's owner must allow the topic to send to it. Construct
    ids come from the subscriber, so reordering the list in cdk.json replaces nothing.
    """
    return [
        sns.Subscription(
            scope,
            subscriber.construct_id,
            topic=topic,
            protocol=_PROTOCOLS[subscriber.protocol],
            endpoint=subscriber.endpoint,
        )
        for subscriber in subscribers
    ]
