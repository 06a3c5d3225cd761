"""Specification of the Model Package State Change event parser (shared/events.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lambdas.shared.events import MalformedEventError, parse_event
from tests.lambdas.lambda_support import APPROVED_EVENT, PENDING_EVENT, SAMPLE_EVENTS, load_event


def test_the_reference_samples_are_all_present() -> None:
    # Given the copies of /work/shared/reference/events
    # Then all four samples are there, so the parametrised test below cannot silently shrink
    assert len(SAMPLE_EVENTS) == 4


@pytest.mark.parametrize("name", SAMPLE_EVENTS)
def test_every_reference_sample_parses(name: str) -> None:
    # Given a sample event as AWS delivers it
    event = load_event(name)

    # When it is parsed
    parsed = parse_event(event)

    # Then the package it names is the one in the sample
    assert parsed.package_arn == event["detail"]["ModelPackageArn"]


def test_the_doc_sample_with_a_duplicated_source_key_parses() -> None:
    # Given AWS's documentation sample, whose second "source" key is a list (JSON keeps the last)
    event = load_event("model-package-state-change.doc-sample.json")

    # When it is parsed
    parsed = parse_event(event)

    # Then the list form is accepted
    assert parsed.source == ["aws.sagemaker"]


def test_creation_time_as_epoch_milliseconds_parses_to_the_same_instant() -> None:
    # Given a real-world event carrying CreationTime as epoch milliseconds
    event = load_event(APPROVED_EVENT)

    # When it is parsed
    parsed = parse_event(event)

    # Then the number is read as milliseconds, not seconds
    assert parsed.detail.creation_time == datetime(2021, 2, 24, 17, 0, 14, tzinfo=UTC)


def test_creation_time_as_iso_text_parses() -> None:
    # Given the documented ISO-8601 form
    event = load_event(PENDING_EVENT)

    # When it is parsed
    parsed = parse_event(event)

    # Then it is the same instant as the epoch-millisecond sample
    assert parsed.detail.creation_time == datetime(2021, 2, 24, 17, 0, 14, tzinfo=UTC)


def test_unknown_keys_are_ignored() -> None:
    # Given an event with keys AWS may add in the future
    event = load_event(PENDING_EVENT)
    event["detail"]["SomeFutureField"] = {"nested": [1, 2, 3]}
    event["another-envelope-key"] = "x"

    # When it is parsed
    parsed = parse_event(event)

    # Then parsing succeeds
    assert parsed.approval_status == "PendingManualApproval"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("detail-type",), "Scheduled Event"),
        (("source",), "aws.s3"),
        (("detail", "ModelPackageArn"), "arn:aws:s3:::not-a-package"),
        (("detail", "ModelPackageGroupName"), "bad group name!"),
        (("detail", "ModelApprovalStatus"), 7),
        (("detail", "ModelPackageVersion"), "2"),
        (("detail", "CreationTime"), True),
        (("detail", "CreationTime"), 10**400),
        (("detail", "CreationTime"), float("nan")),
        (("detail", "CreationTime"), -1),
        (("detail", "CreationTime"), "yesterday"),
        (("detail",), "not an object"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_a_wrong_field_raises_the_documented_error(path: tuple[str, ...], value: object) -> None:
    # Given a sample event with one field broken
    event = load_event(PENDING_EVENT)
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    # When / Then it is rejected with MalformedEventError, nothing else
    with pytest.raises(MalformedEventError):
        parse_event(event)


@pytest.mark.parametrize("key", ["ModelPackageArn", "ModelPackageGroupName", "ModelApprovalStatus"])
def test_a_missing_required_field_raises_the_documented_error(key: str) -> None:
    # Given a sample event without a field the functions act on
    event = load_event(PENDING_EVENT)
    del event["detail"][key]

    # When / Then
    with pytest.raises(MalformedEventError, match=key):
        parse_event(event)


def test_the_error_message_does_not_echo_huge_input() -> None:
    # Given an event whose ARN is a megabyte of text
    event = load_event(PENDING_EVENT)
    event["detail"]["ModelPackageArn"] = "x" * 1_000_000

    # When it is parsed
    with pytest.raises(MalformedEventError) as raised:
        parse_event(event)

    # Then the message stays short enough for a log line
    assert len(str(raised.value)) < 2000
