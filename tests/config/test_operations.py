"""Specification of the ``notifications`` and ``budget`` blocks (pipeline_def/config/operations.py).

Subscribers reach real people and systems, so a malformed address or an endpoint of a protocol
nobody reviewed fails synth with the key and what is allowed; a budget limit must be a positive
whole number of dollars.
"""

from __future__ import annotations

import pytest

from pipeline_def.config import BudgetSettings, Reader, Subscriber, load_environment
from tests.config.config_support import KEY, changed_context, error_for

QUEUE_ARN = "arn:aws:sqs:us-east-1:111111111111:ml-alerts"


def _notifications(context: Reader, **lists: object) -> tuple[tuple[Subscriber, ...], ...]:
    config = load_environment(changed_context(context, "dev", "notifications", lists), "dev")
    return config.notifications.reviewers, config.notifications.operators


def test_an_email_string_subscribes_by_email(context: Reader) -> None:
    # Given an operators list with one plain address
    # When dev is loaded
    _, operators = _notifications(context, operators=["oncall@example.com"])
    # Then it is an email subscription
    assert operators == (Subscriber(protocol="email", endpoint="oncall@example.com"),)


def test_an_object_names_another_allowed_protocol(context: Reader) -> None:
    # Given a reviewers list with an https endpoint and an SQS queue
    entries = [
        {"protocol": "https", "endpoint": "https://hooks.example.com/ml/reviews"},
        {"protocol": "sqs", "endpoint": QUEUE_ARN},
    ]
    # When dev is loaded
    reviewers, _ = _notifications(context, reviewers=entries)
    # Then both are kept with their protocols, in order
    assert [s.protocol for s in reviewers] == ["https", "sqs"]


def test_without_the_block_no_one_is_subscribed(context: Reader) -> None:
    # Given dev without a notifications block
    # When it is loaded
    config = load_environment(changed_context(context, "dev", "notifications", delete=True), "dev")
    # Then both topics have no subscribers
    assert (config.notifications.reviewers, config.notifications.operators) == ((), ())


@pytest.mark.parametrize("address", ["oncall(at)example.com", "oncall@localhost", "@example.com", "a b@x.io"])
def test_a_malformed_email_address_fails_with_the_key(context: Reader, address: str) -> None:
    # Given an operators list whose second entry is not an address
    # When dev is loaded
    message = error_for(context, "notifications.operators", ["ok@example.com", address])
    # Then the entry's key and what is allowed are named
    assert message.startswith(
        f"{KEY}.notifications.operators[1]: {address!r} is not an email address; allowed:"
    )


def test_a_protocol_that_is_not_allowed_fails_with_the_allowed_ones(context: Reader) -> None:
    # Given an SMS subscriber
    entry = {"protocol": "sms", "endpoint": "+441234567890"}
    # When dev is loaded
    message = error_for(context, "notifications.reviewers", [entry])
    # Then the protocol is refused and the allowed ones listed
    assert (
        message
        == f"{KEY}.notifications.reviewers[0].protocol: 'sms' is not allowed; allowed: email, https, sqs"
    )


def test_a_plain_http_endpoint_is_refused(context: Reader) -> None:
    # Given an https subscriber whose URL is plain http
    entry = {"protocol": "https", "endpoint": "http://hooks.example.com/alerts"}
    # When dev is loaded
    message = error_for(context, "notifications.operators", [entry])
    # Then the endpoint is named: alerts never travel unencrypted
    assert message.startswith(
        f"{KEY}.notifications.operators[0].endpoint: 'http://hooks.example.com/alerts' is not a valid https"
    )


def test_an_unknown_key_in_a_subscriber_suggests_the_known_one(context: Reader) -> None:
    # Given a subscriber object with "endPoint"
    entry = {"protocol": "sqs", "endPoint": QUEUE_ARN}
    # When dev is loaded
    message = error_for(context, "notifications.operators", [entry])
    # Then the typo is named with its closest key
    assert message.startswith(
        f"{KEY}.notifications.operators[0].endPoint: unknown key; did you mean endpoint?"
    )


def test_a_subscriber_listed_twice_fails(context: Reader) -> None:
    # Given the same address twice
    # When dev is loaded
    message = error_for(context, "notifications.reviewers", ["a@example.com", "a@example.com"])
    # Then the duplicate is named
    assert message == f"{KEY}.notifications.reviewers[1]: 'a@example.com' is listed twice"


def test_subscribers_must_be_a_list(context: Reader) -> None:
    # Given operators as one string instead of a list
    # When dev is loaded
    message = error_for(context, "notifications.operators", "oncall@example.com")
    # Then the shape is named
    assert message.startswith(f"{KEY}.notifications.operators: expected a list of subscribers")


def test_the_budget_block_is_read_with_its_alert_thresholds(context: Reader) -> None:
    # Given a budget of 450 dollars a month, alerting at 50 % actual and 120 % forecast
    budget = {"monthlyLimitUsd": 450, "actualAlertPercent": 50, "forecastAlertPercent": 120}
    # When dev is loaded
    config = load_environment(changed_context(context, "dev", "budget", budget), "dev")
    # Then the settings hold exactly those values
    assert config.budget == BudgetSettings(
        monthly_limit_usd=450, actual_alert_percent=50, forecast_alert_percent=120
    )


def test_alert_thresholds_default_to_80_percent_actual_and_100_percent_forecast(context: Reader) -> None:
    # Given a budget with the limit only
    # When dev is loaded
    config = load_environment(changed_context(context, "dev", "budget", {"monthlyLimitUsd": 100}), "dev")
    # Then the defaults apply
    assert (config.budget.actual_alert_percent, config.budget.forecast_alert_percent) == (80, 100)


def test_without_a_budget_block_there_is_no_budget(context: Reader) -> None:
    # Given dev without a budget block
    # When it is loaded
    config = load_environment(changed_context(context, "dev", "budget", delete=True), "dev")
    # Then no budget is configured
    assert config.budget is None


@pytest.mark.parametrize(
    ("value", "problem"), [(0, "0 is outside [1, 10000000]"), (99.5, "expected an integer")]
)
def test_a_budget_limit_that_is_not_a_positive_whole_number_fails(
    context: Reader, value: object, problem: str
) -> None:
    # Given a monthly limit of zero or a fraction
    # When dev is loaded
    message = error_for(context, "budget", {"monthlyLimitUsd": value})
    # Then the key and the problem are named
    assert message.startswith(f"{KEY}.budget.monthlyLimitUsd: {problem}")


def test_a_budget_without_its_limit_fails(context: Reader) -> None:
    # Given a budget block with thresholds but no limit
    # When dev is loaded
    message = error_for(context, "budget", {"actualAlertPercent": 90})
    # Then the missing key is named
    assert message == f"{KEY}.budget.monthlyLimitUsd: missing (required)"


def test_every_environment_of_the_repository_has_operators_and_a_budget(context: Reader) -> None:
    # Given the repository's cdk.json / When each environment is loaded
    configs = [load_environment(context, name) for name in ("dev", "staging", "prod")]
    # Then each tells someone about failures and costs
    assert all(config.notifications.operators and config.budget for config in configs)
