"""Sharing the suite between xdist's workers: the CDK tests as one unit, the longest units first."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.scheduling import INFRA_UNIT, LONG_MODULE, LongUnitsFirst, order_units, unit_of


@dataclass
class FakeItem:
    """What ``order_units`` reads of a collected test: its node id and its module's mark."""

    nodeid: str
    marks: dict[str, pytest.Mark] = field(default_factory=dict)

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return self.marks.get(name)


def module(path: str, tests: int, seconds: float | None = None) -> list[FakeItem]:
    marks = {} if seconds is None else {LONG_MODULE: pytest.mark.long_module(seconds).mark}
    return [FakeItem(f"{path}::test_{number}", marks) for number in range(tests)]


def ordered_units(items: list[FakeItem]) -> list[str]:
    order_units(items)  # type: ignore[arg-type]
    units: list[str] = []
    for item in items:
        if not units or units[-1] != unit_of(item.nodeid):
            units.append(unit_of(item.nodeid))
    return units


def test_every_cdk_test_is_one_unit_and_any_other_module_its_own() -> None:
    assert unit_of("tests/infra/test_app.py::test_a") == INFRA_UNIT
    assert unit_of("tests/infra/test_cfn_lint.py::test_b") == INFRA_UNIT
    assert unit_of("tests/e2e/test_local_run.py::test_a[x::y]") == "tests/e2e/test_local_run.py"


def test_the_scheduler_groups_tests_into_the_same_units() -> None:
    nodeid = "tests/infra/test_app.py::test_a"
    assert LongUnitsFirst._split_scope(object.__new__(LongUnitsFirst), nodeid) == unit_of(nodeid)


def test_cdk_first_then_long_modules_by_seconds_then_the_rest_by_size() -> None:
    # Given a collection where the long modules have few tests and come last
    items = [
        *module("tests/config/test_a.py", 30),
        *module("tests/data/test_b.py", 50),
        *module("tests/infra/test_c.py", 5),
        *module("tests/e2e/test_d.py", 4, seconds=9),
        *module("tests/lambdas/test_e.py", 3, seconds=11),
        *module("tests/infra/test_f.py", 2),
    ]
    # When ordered, Then the CDK unit leads, then 11 s, 9 s, then 50 tests, 30 tests
    assert ordered_units(items) == [
        INFRA_UNIT,
        "tests/lambdas/test_e.py",
        "tests/e2e/test_d.py",
        "tests/data/test_b.py",
        "tests/config/test_a.py",
    ]


def test_equal_units_keep_their_collection_order_and_tests_keep_theirs() -> None:
    items = [*module("tests/b/test_y.py", 2), *module("tests/a/test_x.py", 2), *module("tests/infra/t.py", 1)]
    expected = [items[4].nodeid, *(item.nodeid for item in items[:4])]
    order_units(items)  # type: ignore[arg-type]
    assert [item.nodeid for item in items] == expected
