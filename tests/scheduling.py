"""How the suite's tests are shared between xdist's workers: in units, the longest handed out first.

A pytest plugin (``pytest_plugins`` in tests/conftest.py). A unit of work is never split between
workers: ``tests/infra/`` is one unit, any other module a unit of its own. The workers'
collection lists the units in the order they are to be handed out (:func:`order_units`), and
:class:`LongUnitsFirst` hands them out in that order.

Only the first worker collects ``tests/infra/`` (:func:`skips_cdk_tests`): collecting it
imports CDK, cdk-nag, cfn-lint and the SageMaker SDK, 4 s of every worker's collection (6.4 s
with it, 2.3 s without, ``--collect-only``), for tests that only one worker runs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

#: The unit of work that holds every CDK test.
INFRA_UNIT = "tests/infra/"
#: ``pytestmark = pytest.mark.long_module(seconds)``: a module whose tests together take several
#: seconds; ``seconds``, about what they take on two cores, ranks it among the others.
LONG_MODULE = "long_module"


#: The folder of that unit, and the key of xdist's ``workerinput`` that tells a worker to leave it out.
INFRA_FOLDER = Path(__file__).resolve().parent / "infra"
SKIPS_CDK_TESTS = "skips_cdk_tests"
_MOST_COLLECTED = pytest.StashKey[int]()


def skips_cdk_tests(worker_id: str, worker_count: int) -> bool:
    """Whether a worker leaves ``tests/infra/`` out of its collection: xdist's gw1 .. gw{n-1}.

    gw0 collects it. A worker started in place of one that died (gw{n} and later) collects
    everything, so the CDK unit still has a worker to run it, and so does a worker named
    otherwise (``--tx popen//id=...``).
    """
    match = re.fullmatch(r"gw(\d+)", worker_id)
    return match is not None and 0 < int(match.group(1)) < worker_count


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


def _fullest_first(pairs: Iterable[tuple[Any, Any]], size: dict[Any, int]) -> list[tuple[Any, Any]]:
    return sorted(pairs, key=lambda pair: -size.get(pair[0], 0))


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
    of tests is turned off), each to a worker that collected it.
    """

    def __init__(self, config: pytest.Config, log: object | None = None) -> None:
        super().__init__(config, log)
        self._collected: dict[object, set[str]] = {}

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def add_node_collection(self, node: object, collection: list[str]) -> None:
        super().add_node_collection(node, collection)  # type: ignore[arg-type]
        self._collected[node] = set(collection)
        # The fullest first: schedule() takes the first collection as the session's, and shuts
        # the last nodes down when there are fewer units than nodes.
        size = {n: len(c) for n, c in self.registered_collections.items()}
        self.registered_collections = dict(_fullest_first(self.registered_collections.items(), size))
        self.assigned_work = dict(_fullest_first(self.assigned_work.items(), size))

    def _check_nodes_have_same_collection(self) -> bool:
        """The same tests everywhere, but for ``tests/infra/`` on the workers that skip it."""
        full = max(self.registered_collections.values(), key=len)
        without_cdk = [nodeid for nodeid in full if unit_of(nodeid) != INFRA_UNIT]
        if all(collection in (full, without_cdk) for collection in self.registered_collections.values()):
            return True
        return super()._check_nodes_have_same_collection()

    def _assign_work_unit(self, node: object) -> None:
        """The first unit waiting that this node collected; none if only the CDK unit waits."""
        collected = self._collected[node]
        runnable = next(
            (scope for scope, unit in self.workqueue.items() if next(iter(unit)) in collected), None
        )
        if runnable is None:
            return
        self.workqueue.move_to_end(runnable, last=False)
        super()._assign_work_unit(node)  # type: ignore[arg-type]


# --- the hooks (registered by tests/conftest.py) ---------------------------------------------
@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each worker whether to collect ``tests/infra/``, when this file's scheduler is used.

    Not with ``--lf``: pytest keeps a worker's whole collection when none of the last failures
    is in it, so a worker without ``tests/infra/`` would run everything else beside the CDK
    failures being rerun.
    """
    if node.config.getvalue("dist") == "load" and not node.config.getoption("lf", False):
        workerinput = node.workerinput
        workerinput[SKIPS_CDK_TESTS] = skips_cdk_tests(workerinput["workerid"], workerinput["workercount"])


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``tests/infra/`` only where it can run: see :func:`tests.scheduling.skips_cdk_tests`."""
    skips = getattr(config, "workerinput", {}).get(SKIPS_CDK_TESTS, False)
    if skips and collection_path.resolve() == INFRA_FOLDER:
        return True
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    config = node.config
    config.stash[_MOST_COLLECTED] = max(config.stash.get(_MOST_COLLECTED, 0), len(ids))


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """The session's count of tests is the fullest worker's, not the last to report.

    xdist takes the count of whichever worker finished collecting last; a worker without
    ``tests/infra/`` can have none when only CDK tests are selected, and the session would then
    end as "no tests collected" (exit 5) after running them.
    """
    try:
        return (yield)
    finally:
        session.testscollected = max(session.testscollected, session.config.stash.get(_MOST_COLLECTED, 0))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller reads this order
        order_units(items)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling | None:
    """Only in place of ``--dist load`` (what ``-n`` gives); any other mode asked for is xdist's."""
    if config.getvalue("dist") != "load":
        return None
    config.option.loadscopereorder = False
    return LongUnitsFirst(config, log)
