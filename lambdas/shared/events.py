"""The "SageMaker Model Package State Change" EventBridge event, parsed tolerantly.

Only the fields the functions act on are modelled; every other key is ignored, because AWS adds
fields over time and the handlers never trust the event body for anything but *which* package
changed (metrics and status are re-read with DescribeModelPackage). Tolerances, all seen in
practice or in AWS's documentation:

* ``CreationTime``/``LastModifiedTime`` arrive as ISO-8601 text or as epoch milliseconds;
* AWS's documentation sample repeats the ``source`` key, the second time as a list; a JSON parser
  keeps the last one, so ``source`` may be ``"aws.sagemaker"`` or ``["aws.sagemaker"]``.

Anything else that does not fit raises :class:`MalformedEventError`, the single documented error a
handler lets escape for a bad event, so the invocation fails into the Lambda failure destination.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from lambdas.constants import EVENT_DETAIL_TYPE, EVENT_SOURCE
from lambdas.shared.text import summarise_validation_error

#: SageMaker's own patterns (CreateModelPackageGroup / DescribeModelPackage API reference).
GROUP_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
PACKAGE_ARN_PATTERN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{1,32}:[0-9]{12}:model-package/\S{1,2048}$"
_MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the largest datetime Python holds
EventModelT = TypeVar("EventModelT", bound=BaseModel)


class MalformedEventError(ValueError):
    """The event is not a usable Model Package State Change event.

    Raised before any AWS call, so a malformed event changes nothing. The handler does not
    catch it: the invocation fails and the event lands in the function's failure destination
    for a human to inspect.
    """


def _epoch_ms_to_datetime(value: Any) -> Any:
    """Read numbers as epoch *milliseconds* (EventBridge's format); leave text to pydantic.

    Pydantic alone would guess seconds-or-milliseconds from the magnitude; the event format is
    always milliseconds, so the unit is fixed here. Out-of-range values raise ``ValueError``,
    which pydantic reports as a validation error instead of an ``OverflowError`` escaping.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a timestamp")
    if isinstance(value, int | float):
        # Comparisons are exact for huge ints and False for NaN, so both land in the error.
        if not 0 <= value <= _MAX_EPOCH_MS:
            raise ValueError("epoch milliseconds out of range")
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return value


def equal_to(expected: str, what: str) -> Callable[[str], str]:
    """A validator accepting only ``expected``: the detail-type (or source) that names the event kind."""

    def check(value: str) -> str:
        if value != expected:
            raise ValueError(f"{what} must be {expected!r}")
        return value

    return check


def _require_sagemaker_source(value: str | list[str]) -> str | list[str]:
    names = [value] if isinstance(value, str) else value
    if EVENT_SOURCE not in names:
        raise ValueError(f"source must be {EVENT_SOURCE!r}")
    return value


EventTimestamp = Annotated[datetime, BeforeValidator(_epoch_ms_to_datetime)]
_SourceName = Annotated[str, Field(max_length=256)]
EventSource = Annotated[
    _SourceName | Annotated[list[_SourceName], Field(max_length=10)],
    AfterValidator(_require_sagemaker_source),
]
GroupName = Annotated[str, Field(pattern=GROUP_NAME_PATTERN)]
PackageArn = Annotated[str, Field(max_length=2048, pattern=PACKAGE_ARN_PATTERN)]


class ModelPackageStateChangeDetail(BaseModel):
    """The ``detail`` of the event: which package, of which group, in which approval status."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    model_package_group_name: GroupName = Field(alias="ModelPackageGroupName")
    model_package_arn: PackageArn = Field(alias="ModelPackageArn")
    model_approval_status: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        alias="ModelApprovalStatus"
    )
    model_package_version: Annotated[int, Field(strict=True, ge=1)] | None = Field(
        default=None, alias="ModelPackageVersion"
    )
    creation_time: EventTimestamp | None = Field(default=None, alias="CreationTime")
    last_modified_time: EventTimestamp | None = Field(default=None, alias="LastModifiedTime")


class ModelPackageStateChangeEvent(BaseModel):
    """An EventBridge envelope around :class:`ModelPackageStateChangeDetail`."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    detail_type: Annotated[str, AfterValidator(equal_to(EVENT_DETAIL_TYPE, "detail-type"))] = Field(
        alias="detail-type"
    )
    source: EventSource
    event_id: Annotated[str, Field(max_length=256)] | None = Field(default=None, alias="id")
    time: EventTimestamp | None = None
    detail: ModelPackageStateChangeDetail

    @property
    def package_arn(self) -> str:
        return self.detail.model_package_arn

    @property
    def group_name(self) -> str:
        return self.detail.model_package_group_name

    @property
    def approval_status(self) -> str:
        return self.detail.model_approval_status


def validate_event(model: type[EventModelT], event: Any, kind: str) -> EventModelT:
    """Validate a raw Lambda event as ``model``, raising :class:`MalformedEventError` naming ``kind``.

    The message lists where and why the event does not fit, never the input itself (which may be
    megabytes of junk).
    """
    try:
        return model.model_validate(event)
    except ValidationError as error:
        raise MalformedEventError(f"not a {kind} event: {summarise_validation_error(error)}") from error


def parse_event(event: Any) -> ModelPackageStateChangeEvent:
    """Validate a raw Lambda event, raising :class:`MalformedEventError` if it does not fit.

    Examples
    --------
    >>> parse_event({"detail-type": "Scheduled Event"})
    Traceback (most recent call last):
    MalformedEventError: ...
    """
    return validate_event(ModelPackageStateChangeEvent, event, "Model Package State Change")
