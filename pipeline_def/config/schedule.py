"""When EventBridge Scheduler starts the pipeline: the ``schedule`` block, checked field by field.

Scheduler accepts ``cron(...)``, ``rate(...)`` and one-time ``at(...)`` expressions. Retraining
must recur, so ``at(...)`` is refused. A cron expression is checked against Scheduler's rules
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html):

============  ===============  =================
field         values           wildcards
============  ===============  =================
minutes       0-59             , - * /
hours         0-23             , - * /
day-of-month  1-31             , - * ? / L W
month         1-12 or JAN-DEC  , - * /
day-of-week   1-7 or SUN-SAT   , - * ? L #
year          1970-2199        , - * /
============  ===============  =================

and exactly one of day-of-month and day-of-week is ``?``. ``L``, ``<day>W``, ``<day>L`` and
``<day>#<n>`` stand alone in their field (Scheduler reads ``3#1,6#3`` as two expressions).
Errors name the key, the field and what the field allows, so a schedule that would never fire
(or would fail the deploy) stops synth instead.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import ClassVar

from pipeline_def.config.reader import ConfigError, Reader

_CRON = re.compile(r"^cron\((?P<fields>[^()]*)\)$")
_RATE = re.compile(r"^rate\((?P<body>[^()]*)\)$")
_RATE_BODY = re.compile(r"^(?P<value>\d+) (?P<unit>[A-Za-z]+)$")
_AT = re.compile(r"^at\([^()]*\)$")
RATE_UNITS = ("minute", "minutes", "hour", "hours", "day", "days")
_SCHEDULE_ALLOWED = (
    "cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>) with exactly 6 fields and '?' "
    "in day-of-month or day-of-week, or rate(<N> minute|minutes|hour|hours|day|days) with N >= 1"
)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    """One cron field: its values, the names standing for them, and what the field allows."""

    name: str
    low: int
    high: int
    max_increment: int | None  # None: no '/' in this field
    names: tuple[str, ...] = ()
    allows_any: bool = False  # '?'

    @property
    def values(self) -> str:
        names = f" or {self.names[0]}-{self.names[-1]}" if self.names else ""
        return f"{self.low}-{self.high}{names}"

    @property
    def allowed(self) -> str:
        wildcards = ", - *" + (" /" if self.max_increment else "") + (" ?" if self.allows_any else "")
        special = {
            "day-of-month": ", or one of L, <day>W",
            "day-of-week": ", or one of L, <day>L, <day>#<1-5>",
        }.get(self.name, "")
        return f"{self.values} with {wildcards}{special}"


_FIELDS = (
    _Field("minutes", 0, 59, 59),
    _Field("hours", 0, 23, 23),
    _Field("day-of-month", 1, 31, 31, allows_any=True),
    _Field("month", 1, 12, 12, names=_MONTHS),
    _Field("day-of-week", 1, 7, None, names=_DAYS, allows_any=True),
    _Field("year", 1970, 2199, 2199 - 1970),
)
_DAY_OF_MONTH, _DAY_OF_WEEK = _FIELDS[2], _FIELDS[4]


class _FieldError(ValueError):
    """What is wrong with one field, without the key (the caller adds it)."""


@dataclass(frozen=True, kw_only=True)
class ScheduleConfig:
    """When EventBridge Scheduler starts the pipeline."""

    KEYS: ClassVar[tuple[str, ...]] = ("enabled", "expression", "timeZone")

    enabled: bool
    expression: str
    time_zone: str

    @classmethod
    def from_context(cls, env: Reader) -> ScheduleConfig:
        block = env.child("schedule", keys=cls.KEYS)
        return cls(
            enabled=block.bool("enabled"),
            expression=schedule_expression(block.str("expression"), f"{block.path}.expression"),
            time_zone=time_zone(block.str("timeZone"), f"{block.path}.timeZone"),
        )


def schedule_expression(expression: str, where: str) -> str:
    """``expression`` if Scheduler accepts it as a recurring schedule; else a ConfigError at ``where``."""
    try:
        if _CRON.match(expression):
            _check_cron(expression)
            return expression
        if _RATE.match(expression):
            _check_rate(expression)
            return expression
    except _FieldError as err:
        raise ConfigError(f"{where}: {expression}: {err}") from None
    if _AT.match(expression):
        raise ConfigError(
            f"{where}: {expression}: a one-time at() schedule is not allowed, because retraining must "
            "recur; allowed: cron(...) or rate(...)"
        )
    raise ConfigError(f"{where}: {expression!r} is not allowed; allowed: {_SCHEDULE_ALLOWED}")


def time_zone(name: str, where: str) -> str:
    """``name`` if it is an IANA time zone known to this Python; else a ConfigError at ``where``."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where}: {name!r} is not allowed; allowed: an IANA time zone name such as UTC or Europe/London"
        ) from None
    return name


# --- rate ---------------------------------------------------------------------------------------
def _check_rate(expression: str) -> None:
    body = _RATE.match(expression)["body"]  # type: ignore[index]
    match = _RATE_BODY.match(body)
    if not match:
        raise _FieldError(f"'{body}' is not allowed; allowed: rate(<N> <unit>) with N >= 1")
    value, unit = int(match["value"]), match["unit"]
    if unit not in RATE_UNITS:
        raise _FieldError(f"unit '{unit}' is not allowed; allowed: {', '.join(RATE_UNITS)}")
    if value < 1:
        raise _FieldError(f"value {value} is not allowed; allowed: N >= 1")
    singular = unit.removesuffix("s")
    if value == 1 and unit != singular:
        raise _FieldError(f"unit '{unit}' is not allowed for 1; allowed: rate(1 {singular})")
    if value > 1 and unit == singular:
        raise _FieldError(f"unit '{unit}' is not allowed for {value}; allowed: rate({value} {singular}s)")


# --- cron ---------------------------------------------------------------------------------------
def _check_cron(expression: str) -> None:
    parts = _CRON.match(expression)["fields"].split()  # type: ignore[index]
    if len(parts) != len(_FIELDS):
        raise _FieldError(
            f"{len(parts)} fields; allowed: exactly 6 fields ({' '.join(field.name for field in _FIELDS)})"
        )
    for field, part in zip(_FIELDS, parts, strict=True):
        _check_field(field, part)
    day_of_month, day_of_week = parts[2], parts[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise _FieldError(
            f"day-of-month '{day_of_month}' and day-of-week '{day_of_week}': exactly one of them must be '?'"
        )


def _check_field(field: _Field, part: str) -> None:
    if part == "?":
        if not field.allows_any:
            raise _not_allowed(field, part)
        return
    if field is _DAY_OF_MONTH and _check_day_of_month_form(part):
        return
    if field is _DAY_OF_WEEK and _check_day_of_week_form(part):
        return
    for item in part.split(","):
        _check_item(field, part, item)


def _check_day_of_month_form(part: str) -> bool:
    """``L`` or ``<day>W``: True if ``part`` is one of them (and valid)."""
    if part == "L":
        return True
    if part.endswith("W") and part[:-1].isdigit():
        _value(_DAY_OF_MONTH, part[:-1])
        return True
    return False


def _check_day_of_week_form(part: str) -> bool:
    """``L``, ``<day>L`` or ``<day>#<n>``: True if ``part`` is one of them (and valid)."""
    if part == "L":
        return True
    if part.endswith("L") and "," not in part and "-" not in part:
        _value(_DAY_OF_WEEK, part[:-1])
        return True
    if "#" in part and "," not in part:
        day, _, nth = part.partition("#")
        _value(_DAY_OF_WEEK, day)
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise _FieldError(f"day-of-week field '{part}': occurrence '{nth}' is outside 1-5")
        return True
    return False


def _check_item(field: _Field, part: str, item: str) -> None:
    """One element of a ``,`` list: ``*``, a value or a range, optionally ``/<increment>``."""
    base, slash, increment = item.partition("/")
    if slash:
        if field.max_increment is None:
            raise _not_allowed(field, part)
        if not increment.isdigit() or not 1 <= int(increment) <= field.max_increment:
            raise _FieldError(
                f"{field.name} field '{part}': increment '{increment}' is outside 1-{field.max_increment}"
            )
    if base == "*":
        return
    if "-" in base:
        start, _, end = base.partition("-")
        if not start or not end:
            raise _not_allowed(field, part)
        low, high = _value(field, start), _value(field, end)
        if low > high:
            raise _FieldError(f"{field.name} field '{part}': range '{base}' runs backwards")
        return
    if not base:
        raise _not_allowed(field, part)
    _value(field, base)


def _value(field: _Field, text: str) -> int:
    """A single value of ``field``: a number in its range or, for month and day-of-week, a name."""
    if text in field.names:
        return field.low + field.names.index(text)
    if not text.isdigit():
        raise _not_allowed(field, text)
    value = int(text)
    if not field.low <= value <= field.high:
        raise _FieldError(f"{field.name} field '{text}' is outside {field.values}")
    return value


def _not_allowed(field: _Field, text: str) -> _FieldError:
    return _FieldError(f"{field.name} field '{text}' is not allowed; allowed: {field.allowed}")
