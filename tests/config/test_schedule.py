"""Schedule expressions are checked field by field, as EventBridge Scheduler checks them.

Every message names the key, the expression, the field and what the field allows, so
``cron(61 25 ? * MON *)`` stops synth instead of failing the deploy.
"""

from __future__ import annotations

import pytest

from pipeline_def.config import Reader, load_environment
from tests.config.config_support import KEY, changed_context, error_for

WHERE = f"{KEY}.schedule.expression"


def expression_error(context: Reader, expression: str) -> str:
    return error_for(context, "schedule.expression", expression)


def loaded_expression(context: Reader, expression: str) -> str:
    return load_environment(
        changed_context(context, "dev", "schedule.expression", expression), "dev"
    ).schedule.expression


# --- cron: values ----------------------------------------------------------------------------------
def test_out_of_range_minutes_are_named_first(context: Reader) -> None:
    # Given minutes 61 and hours 25
    # When dev is loaded
    message = expression_error(context, "cron(61 25 ? * MON *)")
    # Then the first bad field is named with its range
    assert message == f"{WHERE}: cron(61 25 ? * MON *): minutes field '61' is outside 0-59"


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(60 3 ? * MON *)", "minutes field '60' is outside 0-59"),
        ("cron(0 24 ? * MON *)", "hours field '24' is outside 0-23"),
        ("cron(0 3 0 * ? *)", "day-of-month field '0' is outside 1-31"),
        ("cron(0 3 32 * ? *)", "day-of-month field '32' is outside 1-31"),
        ("cron(0 3 ? 0 MON *)", "month field '0' is outside 1-12 or JAN-DEC"),
        ("cron(0 3 ? 13 MON *)", "month field '13' is outside 1-12 or JAN-DEC"),
        ("cron(0 3 ? * 0 *)", "day-of-week field '0' is outside 1-7 or SUN-SAT"),
        ("cron(0 3 ? * 8 *)", "day-of-week field '8' is outside 1-7 or SUN-SAT"),
        ("cron(0 3 ? * MON 1969)", "year field '1969' is outside 1970-2199"),
        ("cron(0 3 ? * MON 2200)", "year field '2200' is outside 1970-2199"),
    ],
)
def test_cron_value_outside_its_field_range_is_refused(
    context: Reader, expression: str, problem: str
) -> None:
    # Given one field just outside its range, When dev is loaded
    # Then the field and its range are named
    assert expression_error(context, expression) == f"{WHERE}: {expression}: {problem}"


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(0,60 3 ? * MON *)", "minutes field '60' is outside 0-59"),
        ("cron(0 1-24 ? * MON *)", "hours field '24' is outside 0-23"),
    ],
    ids=["in-a-list", "in-a-range"],
)
def test_cron_value_inside_a_list_or_range_is_checked(context: Reader, expression: str, problem: str) -> None:
    # Given an out-of-range value inside a list or a range, When dev is loaded, Then it is named
    assert expression_error(context, expression) == f"{WHERE}: {expression}: {problem}"


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        (
            "cron(0 3 ? JANUARY MON *)",
            "month field 'JANUARY' is not allowed; allowed: 1-12 or JAN-DEC with , - * /",
        ),
        (
            "cron(0 3 ? * mon *)",
            "day-of-week field 'mon' is not allowed; allowed: 1-7 or SUN-SAT with , - * ?",
        ),
        ("cron(MON 3 ? * MON *)", "minutes field 'MON' is not allowed; allowed: 0-59 with , - * /"),
    ],
)
def test_unknown_name_is_refused_with_what_the_field_allows(
    context: Reader, expression: str, problem: str
) -> None:
    # Given a name the field does not know, When dev is loaded
    # Then the field's values and wildcards are listed
    assert expression_error(context, expression).startswith(f"{WHERE}: {expression}: {problem}")


def test_backwards_range_is_refused(context: Reader) -> None:
    # Given hours 22-2, When dev is loaded, Then the range is named
    assert expression_error(context, "cron(0 22-2 ? * MON *)") == (
        f"{WHERE}: cron(0 22-2 ? * MON *): hours field '22-2': range '22-2' runs backwards"
    )


# --- cron: increments ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(*/0 * ? * MON *)", "minutes field '*/0': increment '0' is outside 1-59"),
        ("cron(*/60 * ? * MON *)", "minutes field '*/60': increment '60' is outside 1-59"),
        ("cron(0 */24 ? * MON *)", "hours field '*/24': increment '24' is outside 1-23"),
    ],
)
def test_increment_outside_its_field_range_is_refused(context: Reader, expression: str, problem: str) -> None:
    # Given an increment of 0 or beyond the field, When dev is loaded, Then the increment's range is named
    assert expression_error(context, expression) == f"{WHERE}: {expression}: {problem}"


def test_day_of_week_takes_no_increment(context: Reader) -> None:
    # Given day-of-week */2 (Scheduler allows no '/' there), When dev is loaded
    message = expression_error(context, "cron(0 3 ? * */2 *)")
    # Then the field's wildcards are listed, without '/'
    assert message.startswith(
        f"{WHERE}: cron(0 3 ? * */2 *): day-of-week field '*/2' is not allowed; "
        "allowed: 1-7 or SUN-SAT with , - * ?,"
    )


# --- cron: '?' and the day fields ------------------------------------------------------------------
@pytest.mark.parametrize(
    "expression",
    ["cron(0 3 1 * MON *)", "cron(0 3 * * * *)", "cron(0 3 ? * ? *)"],
    ids=["two-values", "two-stars", "two-questions"],
)
def test_exactly_one_day_field_is_a_question_mark(context: Reader, expression: str) -> None:
    # Given day-of-month and day-of-week both set, or both '?', When dev is loaded, Then the rule is named
    fields = expression.removeprefix("cron(").split()
    assert expression_error(context, expression) == (
        f"{WHERE}: {expression}: day-of-month '{fields[2]}' and day-of-week '{fields[4]}': "
        "exactly one of them must be '?'"
    )


def test_question_mark_only_in_a_day_field(context: Reader) -> None:
    # Given '?' in the hours field, When dev is loaded, Then the hours field's wildcards are listed
    assert expression_error(context, "cron(0 ? ? * MON *)") == (
        f"{WHERE}: cron(0 ? ? * MON *): hours field '?' is not allowed; allowed: 0-23 with , - * /"
    )


@pytest.mark.parametrize(
    "expression",
    ["cron(0 3 * * MON)", "cron(0 3 ? * MON * *)"],
    ids=["five-fields", "seven-fields"],
)
def test_cron_has_exactly_six_fields(context: Reader, expression: str) -> None:
    # Given a Unix-style 5-field or a 7-field cron, When dev is loaded, Then the six fields are listed
    count = len(expression.removeprefix("cron(").removesuffix(")").split())
    assert expression_error(context, expression) == (
        f"{WHERE}: {expression}: {count} fields; allowed: exactly 6 fields "
        "(minutes hours day-of-month month day-of-week year)"
    )


# --- cron: L, W, # and names -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 3 L * ? *)",  # last day of the month
        "cron(0 3 15W * ? *)",  # weekday nearest the 15th
        "cron(0 3 ? * L *)",  # last day of the week
        "cron(0 3 ? * 6L *)",  # last Friday of the month
        "cron(0 3 ? * 3#2 *)",  # second Tuesday
        "cron(0 3 ? * MON#1 *)",  # first Monday, by name
        "cron(0 3 ? JAN,APR,JUL,OCT MON-FRI *)",  # names in lists and ranges
        "cron(0/15 8-17 ? JAN-MAR SUN,SAT 2025-2030)",
        "cron(*/5 * 1-15/2 */3 ? *)",
    ],
)
def test_scheduler_wildcards_and_names_are_accepted(context: Reader, expression: str) -> None:
    # Given an expression using Scheduler's L, W, #, names, lists, ranges or increments
    # When dev is loaded, Then it is kept as written
    assert loaded_expression(context, expression) == expression


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(0 3 32W * ? *)", "day-of-month field '32' is outside 1-31"),
        ("cron(0 3 ? * 8L *)", "day-of-week field '8' is outside 1-7 or SUN-SAT"),
        ("cron(0 3 ? * 3#6 *)", "day-of-week field '3#6': occurrence '6' is outside 1-5"),
    ],
)
def test_l_w_and_hash_forms_check_their_numbers(context: Reader, expression: str, problem: str) -> None:
    # Given an L, W or # form with a number out of range, When dev is loaded, Then the number is named
    assert expression_error(context, expression) == f"{WHERE}: {expression}: {problem}"


@pytest.mark.parametrize(
    ("expression", "field", "part"),
    [
        ("cron(0 3 ? * 3#1,6#3 *)", "day-of-week", "3#1"),  # Scheduler reads two expressions
        ("cron(0 3 L,15 * ? *)", "day-of-month", "L"),
        ("cron(0 3 LW * ? *)", "day-of-month", "LW"),
        ("cron(0 3 ? * 2W *)", "day-of-week", "2W"),  # W is a day-of-month form
    ],
)
def test_l_w_and_hash_forms_stand_alone_in_their_field(
    context: Reader, expression: str, field: str, part: str
) -> None:
    # Given an L, W or # form inside a list, or in the wrong field, When dev is loaded
    message = expression_error(context, expression)
    # Then the field's allowed forms are listed
    assert message.startswith(f"{WHERE}: {expression}: {field} field '{part}' is not allowed; allowed: ")
    assert message.endswith(", or one of L, <day>W" if field == "day-of-month" else "<day>#<1-5>")


# --- rate ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expression",
    ["rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(6 hours)", "rate(1 day)", "rate(7 days)"],
)
def test_rate_in_minutes_hours_or_days_is_accepted(context: Reader, expression: str) -> None:
    # Given a rate in one of Scheduler's units, When dev is loaded, Then it is kept
    assert loaded_expression(context, expression) == expression


def test_rate_unit_must_be_minutes_hours_or_days(context: Reader) -> None:
    # Given rate(2 weeks), When dev is loaded, Then Scheduler's units are listed
    assert expression_error(context, "rate(2 weeks)") == (
        f"{WHERE}: rate(2 weeks): unit 'weeks' is not allowed; "
        "allowed: minute, minutes, hour, hours, day, days"
    )


def test_rate_value_must_be_at_least_one(context: Reader) -> None:
    # Given rate(0 days), When dev is loaded, Then N >= 1 is asked for
    assert expression_error(context, "rate(0 days)") == (
        f"{WHERE}: rate(0 days): value 0 is not allowed; allowed: N >= 1"
    )


def test_rate_of_one_takes_the_singular_unit(context: Reader) -> None:
    # Given rate(1 days), When dev is loaded, Then the singular form is given
    assert expression_error(context, "rate(1 days)") == (
        f"{WHERE}: rate(1 days): unit 'days' is not allowed for 1; allowed: rate(1 day)"
    )


def test_rate_above_one_takes_the_plural_unit(context: Reader) -> None:
    # Given rate(5 day), When dev is loaded, Then the plural form is given
    assert expression_error(context, "rate(5 day)") == (
        f"{WHERE}: rate(5 day): unit 'day' is not allowed for 5; allowed: rate(5 days)"
    )


def test_rate_value_must_be_a_whole_number(context: Reader) -> None:
    # Given rate(1.5 hours), When dev is loaded, Then the rate's form is given
    assert expression_error(context, "rate(1.5 hours)") == (
        f"{WHERE}: rate(1.5 hours): '1.5 hours' is not allowed; allowed: rate(<N> <unit>) with N >= 1"
    )


# --- at() and other forms --------------------------------------------------------------------------
def test_one_time_at_schedule_is_refused_because_retraining_recurs(context: Reader) -> None:
    # Given a one-time at() schedule, which Scheduler accepts but which would retrain only once
    # When dev is loaded
    message = expression_error(context, "at(2030-01-01T00:00:00)")
    # Then it is refused with the reason and the recurring forms
    assert message == (
        f"{WHERE}: at(2030-01-01T00:00:00): a one-time at() schedule is not allowed, because retraining "
        "must recur; allowed: cron(...) or rate(...)"
    )


def test_expression_of_no_known_form_lists_both_forms(context: Reader) -> None:
    # Given a Unix crontab line, When dev is loaded
    message = expression_error(context, "0 3 * * *")
    # Then the cron and rate forms are described
    assert message == (
        f"{WHERE}: '0 3 * * *' is not allowed; allowed: cron(<minutes> <hours> <day-of-month> <month> "
        "<day-of-week> <year>) with exactly 6 fields and '?' in day-of-month or day-of-week, or "
        "rate(<N> minute|minutes|hour|hours|day|days) with N >= 1"
    )


@pytest.mark.parametrize(
    "expression", ["cron(0 2 1 * ? *)", "cron(*/15 * ? * MON-FRI *)", "rate(1 hour)", "rate(6 hours)"]
)
def test_good_schedule_expression_is_kept(context: Reader, expression: str) -> None:
    # Given an expression Scheduler accepts, When dev is loaded, Then it is kept as written
    assert loaded_expression(context, expression) == expression


# --- time zone ---------------------------------------------------------------------------------------
def test_unknown_time_zone_is_refused(context: Reader) -> None:
    # Given a time zone IANA does not know, When dev is loaded, Then an IANA name is asked for
    message = error_for(context, "schedule.timeZone", "Mars/Olympus_Mons")
    assert message == (
        f"{KEY}.schedule.timeZone: 'Mars/Olympus_Mons' is not allowed; allowed: an IANA time zone name "
        "such as UTC or Europe/London"
    )
