"""How the suite's tests are shared between xdist's workers: in units, the longest handed out first.

A unit of work is never split between workers: ``tests/infra/`` is one unit, any other module a
unit of its own. The workers' collection lists the units in the order they are to be handed out
(:func:`order_units`, called from ``tests/conftest.py``), and :class:`LongUnitsFirst` hands them
out in that order.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
from xdist.scheduler import LoadScopeScheduling

#: The unit of work that holds every CDK test.
INFRA_UNIT = "tests/infra/"
#: ``pytestmark = pytest.mark.long_module(seconds)``: a module whose tests together take several
#: seconds; ``seconds``, about what they take on two cores, ranks it among the others.
LONG_MODULE = "long_module"


def unit_of(nodeid: str) -> str:
    """The unit of work of a test under xdist: ``tests/infra/`` as a whole, else the test's module."""
    return INFRA_UNIT if nodeid.startswith(INFRA_UNIT) else nodeid.split("::", 1)[0]


def _seconds(unit: str, item: pytest.Item) -> float:
    if unit == INFRA_UNIT:
        return math.inf  # the longest unit by far (about 40 s)
    mark = item.get_closest_marker(LONG_MODULE)
    return float(mark.args[0]) if mark is not None else 0.0


def order_units(items: list[pytest.Item]) -> None:
    """Order the collection unit by unit, as the units are to be handed out: longest first.

    Why: xdist hands out a unit whenever a worker asks for one, in the collection's order, and a
    unit is never split. A long unit handed out last kept one worker busy for up to 11 s while
    the other had nothing left: ``test_fuzz.py`` (4 tests, 11 s) or ``test_local_monitor.py``
    (6 tests, 9 s) came last when units were ordered by their number of tests. Now the CDK unit,
    then the modules marked ``long_module`` by their seconds, then the rest by number of tests:
    the session ends on short units. The order of the tests within a unit is kept.
    """
    units = [unit_of(item.nodeid) for item in items]
    sizes = Counter(units)
    seconds: dict[str, float] = {}
    first_seen: dict[str, int] = {}
    for index, (unit, item) in enumerate(zip(units, items, strict=True)):
        seconds[unit] = max(seconds.get(unit, 0.0), _seconds(unit, item))
        first_seen.setdefault(unit, index)
    rank = {unit: (-seconds[unit], -sizes[unit], first_seen[unit]) for unit in sizes}
    ordered = sorted(zip(units, items, strict=True), key=lambda pair: rank[pair[0]])
    items[:] = [item for _, item in ordered]


class LongUnitsFirst(LoadScopeScheduling):
    """Every test of ``tests/infra/`` in one unit of work; every other module a unit of its own.

    Why one unit for CDK: the first CDK test in a process starts jsii's Node.js runtime, loads
    cfn-lint's rules and synthesizes the whole app for the session, several seconds of CPU that
    one worker then pays instead of both. What ``--dist loadgroup`` would do, which pytest-xdist
    3.8 cannot do under pytest 9 (it renames the tests through an attribute pytest 9 no longer
    reads). A module's tests stay together because its module-scoped fixtures (a local run, a
    trained cluster, a moto world) were otherwise made once on each worker that drew one of its
    tests: about 20 s of the suite's 230 s of test time. The units are handed out in the order of
    the workers' collection, which :func:`order_units` sets (xdist's own reordering by number
    of tests is turned off).
    """

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)
