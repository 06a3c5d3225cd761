"""The operations blocks of an environment: who is told what (``notifications``) and ``budget``.

``notifications`` names the subscribers of the two topics: ``reviewers`` (models awaiting a
manual approval) and ``operators`` (failed or stopped pipeline runs, messages in a dead-letter
queue, budget alerts). An entry is an email address, or an object ``{"protocol", "endpoint"}``
for the other protocols allowed here. ``budget`` sets the environment's monthly cost budget,
filtered by its ``env`` cost-allocation tag. Both blocks are optional: without them the topics
have no subscribers and no budget is created.

Every value is checked before a construct exists, with the dotted key and what is allowed::

    cdk.json.context.environments.dev.notifications.operators[1]: 'oncall(at)example.com' is not an
    email address; allowed: an address such as name@example.com, or {"protocol", "endpoint"}
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from pipeline_def.config.reader import ConfigError, Reader

#: A practical address check (RFC 5321 lengths, a dotted domain), not the full RFC 5322 grammar:
#: SNS sends a confirmation to the address, so a typo must fail here, not in an inbox nobody reads.
_EMAIL = re.compile(
    r"^(?=.{3,254}$)[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
#: https only: a plain-http endpoint would receive the alerts unencrypted.
_HTTPS = re.compile(r"^https://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[^\s]*)?$")
_SQS_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}$")
#: Protocol -> (pattern, what the message says is allowed).
PROTOCOLS: dict[str, tuple[re.Pattern[str], str]] = {
    "email": (_EMAIL, "an address such as name@example.com"),
    "https": (_HTTPS, "an https:// URL"),
    "sqs": (_SQS_ARN, "an SQS queue ARN"),
}
#: SNS allows more; these are the ones an alert can usefully reach without further wiring.
ALLOWED_PROTOCOLS = tuple(PROTOCOLS)
MAX_SUBSCRIBERS = 20


@dataclass(frozen=True)
class Subscriber:
    """One subscription of a topic: SNS protocol and endpoint."""

    protocol: str
    endpoint: str

    @property
    def construct_id(self) -> str:
        """A construct id from the subscriber itself, so reordering the list replaces nothing."""
        digest = hashlib.sha256(f"{self.protocol}:{self.endpoint}".encode()).hexdigest()[:12]
        return f"Subscriber{digest}"


@dataclass(frozen=True, kw_only=True)
class NotificationSettings:
    """Subscribers of the reviewers' topic and of the operators' topic."""

    KEYS: ClassVar[tuple[str, ...]] = ("reviewers", "operators")
    ENTRY_KEYS: ClassVar[tuple[str, ...]] = ("protocol", "endpoint")

    reviewers: tuple[Subscriber, ...] = ()
    operators: tuple[Subscriber, ...] = ()

    @classmethod
    def from_context(cls, env: Reader) -> NotificationSettings:
        block = env.child("notifications", keys=cls.KEYS, default={})
        return cls(reviewers=_subscribers(block, "reviewers"), operators=_subscribers(block, "operators"))


def _subscribers(block: Reader, key: str) -> tuple[Subscriber, ...]:
    where = f"{block.path}.{key}"
    entries = block.data.get(key, [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: expected a list of subscribers, got {entries!r}")
    if len(entries) > MAX_SUBSCRIBERS:
        raise ConfigError(f"{where}: {len(entries)} subscribers; allowed: at most {MAX_SUBSCRIBERS}")
    subscribers = tuple(_subscriber(entry, f"{where}[{index}]") for index, entry in enumerate(entries))
    seen: set[Subscriber] = set()
    for index, subscriber in enumerate(subscribers):
        if subscriber in seen:
            raise ConfigError(f"{where}[{index}]: {subscriber.endpoint!r} is listed twice")
        seen.add(subscriber)
    return subscribers


def _subscriber(entry: Any, where: str) -> Subscriber:
    """A string is an email address; an object names its protocol and endpoint."""
    if isinstance(entry, str):
        return _checked("email", entry, where)
    if not isinstance(entry, dict):
        raise ConfigError(f'{where}: expected an email address or {{"protocol", "endpoint"}}, got {entry!r}')
    item = Reader(entry, where, keys=NotificationSettings.ENTRY_KEYS)
    protocol = item.str("protocol", allowed=ALLOWED_PROTOCOLS)
    return _checked(protocol, item.str("endpoint"), f"{where}.endpoint")


def _checked(protocol: str, endpoint: str, where: str) -> Subscriber:
    pattern, allowed = PROTOCOLS[protocol]
    if not pattern.match(endpoint):
        kind = "an email address" if protocol == "email" else f"a valid {protocol} endpoint"
        raise ConfigError(
            f"{where}: {endpoint!r} is not {kind}; allowed: {allowed}, "
            f'or {{"protocol", "endpoint"}} with protocol one of {", ".join(ALLOWED_PROTOCOLS)}'
        )
    return Subscriber(protocol=protocol, endpoint=endpoint)


@dataclass(frozen=True, kw_only=True)
class BudgetSettings:
    """A monthly cost budget of the environment, in US dollars, with two alerts.

    ``actual_alert_percent``: costs so far this month passed that share of the limit.
    ``forecast_alert_percent``: AWS forecasts the month to end above that share of the limit.
    """

    KEYS: ClassVar[tuple[str, ...]] = ("monthlyLimitUsd", "actualAlertPercent", "forecastAlertPercent")
    DEFAULT_ACTUAL_ALERT_PERCENT: ClassVar[int] = 80
    DEFAULT_FORECAST_ALERT_PERCENT: ClassVar[int] = 100

    monthly_limit_usd: int
    actual_alert_percent: int = DEFAULT_ACTUAL_ALERT_PERCENT
    forecast_alert_percent: int = DEFAULT_FORECAST_ALERT_PERCENT

    @classmethod
    def from_context(cls, env: Reader) -> BudgetSettings | None:
        """The ``budget`` block, or ``None`` when the environment has none."""
        if "budget" not in env.data:
            return None
        block = env.child("budget", keys=cls.KEYS)
        return cls(
            monthly_limit_usd=block.int("monthlyLimitUsd", low=1, high=10_000_000),
            actual_alert_percent=block.int(
                "actualAlertPercent", low=1, high=1000, default=cls.DEFAULT_ACTUAL_ALERT_PERCENT
            ),
            forecast_alert_percent=block.int(
                "forecastAlertPercent", low=1, high=1000, default=cls.DEFAULT_FORECAST_ALERT_PERCENT
            ),
        )
