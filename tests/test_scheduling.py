"""Sharing the suite between xdist's workers: the CDK tests as one unit, the longest units first."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from tests import scheduling
from tests.scheduling import (
    INFRA_UNIT,
    LONG_MODULE,
    SKIPS_CDK_TESTS,
    LongUnitsFirst,
    order_units,
    skips_cdk_tests,
    unit_of,
)


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


# --- Only the first worker collects tests/infra/ ---------------------------------------------
@dataclass(eq=False)
class FakeNode:
    """What the scheduler uses of an xdist worker: its id, the tests sent to it, its shutdown."""

    id: str
    sent: list[int] = field(default_factory=list)
    shutting_down: bool = False

    @property
    def gateway(self) -> FakeNode:
        return self

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent += indexes

    def shutdown(self) -> None:
        self.shutting_down = True


FULL = [
    "tests/infra/test_app.py::test_a",
    "tests/infra/test_iam.py::test_b",
    "tests/e2e/test_run.py::test_c",
    "tests/lambdas/test_fn.py::test_d",
]
WITHOUT_CDK = FULL[2:]


class FakeConfig:
    """What the scheduler reads of the controller's config, and where it reports a collection error."""

    def __init__(self, *, lf: bool = False) -> None:
        self.option = SimpleNamespace(tx=["2*popen"], loadscopereorder=False, dist="load", lf=lf)
        self.reports: list[pytest.CollectReport] = []
        self.hook = SimpleNamespace(pytest_collectreport=lambda report: self.reports.append(report))

    def getvalue(self, name: str) -> object:
        return getattr(self.option, name)

    def getoption(self, name: str, default: object = None) -> object:
        return getattr(self.option, name, default)


@pytest.fixture
def config() -> FakeConfig:
    return FakeConfig()


@pytest.fixture
def scheduler(config: FakeConfig) -> LongUnitsFirst:
    """The scheduler of a session on two workers, as ``pytest_xdist_make_scheduler`` makes it."""
    return LongUnitsFirst(config)  # type: ignore[arg-type]


def scheduled(scheduler: LongUnitsFirst, collections: dict[str, list[str]]) -> dict[str, list[str]]:
    """The node ids each worker is sent first, the workers reporting in the given order."""
    nodes = {worker: FakeNode(worker) for worker in collections}
    for node in nodes.values():
        scheduler.add_node(node)  # type: ignore[arg-type]
    for worker, node in nodes.items():
        scheduler.add_node_collection(node, collections[worker])
    scheduler.schedule()
    return {worker: [collections[worker][i] for i in node.sent] for worker, node in nodes.items()}


def test_the_first_worker_collects_the_cdk_tests_and_the_others_do_not() -> None:
    assert [skips_cdk_tests(f"gw{n}", 3) for n in range(3)] == [False, True, True]


def test_a_worker_started_in_place_of_a_dead_one_collects_everything() -> None:
    assert not skips_cdk_tests("gw3", 3)


def test_a_worker_named_otherwise_collects_everything() -> None:
    assert not skips_cdk_tests("popen-a", 2)


@pytest.mark.parametrize(("rerunning_failures", "skips"), [(False, True), (True, False)])
def test_rerunning_the_last_failures_collects_everything_on_every_worker(
    rerunning_failures: bool, skips: bool
) -> None:
    # Given gw1 of two, in a session with or without --lf
    config = FakeConfig(lf=rerunning_failures)
    node = SimpleNamespace(config=config, workerinput={"workerid": "gw1", "workercount": 2})
    # When the controller configures it
    scheduling.pytest_configure_node(node)
    # Then it leaves tests/infra/ out only when the session does not rerun failures
    assert bool(node.workerinput.get(SKIPS_CDK_TESTS)) is skips


def test_the_cdk_unit_goes_to_the_worker_that_collected_it_whoever_reports_first(
    scheduler: LongUnitsFirst,
) -> None:
    # Given gw1 without tests/infra/ reporting before gw0
    sent = scheduled(scheduler, {"gw1": WITHOUT_CDK, "gw0": FULL})
    # Then the collections count as the same, gw0 gets the CDK unit first, gw1 the next unit
    assert sent["gw0"][:2] == FULL[:2]
    assert sent["gw1"][0] == WITHOUT_CDK[0]
    assert sorted(sent["gw0"] + sent["gw1"]) == sorted(FULL)


def test_collections_that_differ_otherwise_are_refused(scheduler: LongUnitsFirst, config: FakeConfig) -> None:
    for worker, collection in {"gw0": FULL, "gw1": WITHOUT_CDK[:1]}.items():
        node = FakeNode(worker)
        scheduler.add_node(node)  # type: ignore[arg-type]
        scheduler.add_node_collection(node, collection)
    assert not scheduler._check_nodes_have_same_collection()
    (report,) = config.reports
    assert "Different tests were collected between gw0 and gw1" in str(report.longrepr)


def test_with_only_cdk_tests_the_worker_without_them_is_shut_down(scheduler: LongUnitsFirst) -> None:
    sent = scheduled(scheduler, {"gw1": [], "gw0": FULL[:2]})
    assert sent == {"gw1": [], "gw0": FULL[:2]}
