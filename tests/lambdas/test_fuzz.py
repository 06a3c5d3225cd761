"""Property-based fuzzing of the approval handler with hypothesis.

Two properties, each over generated inputs run through the real ``handler`` with in-memory
dependencies (registry, notifier, idempotency store), so no example touches the network:

1. Whatever the event (random JSON, sample events with keys dropped, values swapped for junk,
   other statuses or groups, megabyte strings, nested junk), the handler returns normally or raises
   ``MalformedEventError``, and it approves only if the event really is a pending event of the
   configured group for the package; the registry holds passing evidence, so nothing else can
   stand between a sloppy parser and an approval.
2. For a genuine pending event, evidence with at least one break in it (a metric out of bounds,
   NaN, wrong type, missing, an empty facets map, unreadable bytes...) is always rejected.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.approval import handler as approval_handler
from lambdas.approval.handler import ApprovalDependencies, handler
from lambdas.shared.events import MalformedEventError
from lambdas.shared.registry import ArnScope
from tests.lambdas.lambda_support import (
    PENDING,
    PENDING_EVENT,
    FakeLambdaContext,
    InMemoryPersistenceLayer,
    InMemoryRegistry,
    RecordingNotifier,
    bias_report,
    evaluation_report,
    facet_entry,
    load_event,
)

pytestmark = pytest.mark.long_module(11)

SAMPLE = load_event(PENDING_EVENT)
SAMPLE_GROUP = SAMPLE["detail"]["ModelPackageGroupName"]
SAMPLE_ARN = SAMPLE["detail"]["ModelPackageArn"]
EVALUATION_URI = "s3://evidence/evaluation.json"
BIAS_URI = "s3://evidence/analysis.json"
EVENT_EXAMPLES = 1000
EVIDENCE_EXAMPLES = 300
FUZZ_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

# --- Strategies ------------------------------------------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.sampled_from(
        ["PendingManualApproval", "Approved", "Rejected", SAMPLE_GROUP, SAMPLE_ARN, "aws.sagemaker"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=15,
)
huge_strings = st.builds(lambda char, count: char * count, st.characters(), st.integers(10_000, 1_000_000))
junk = st.one_of(json_values, huge_strings)
statuses = st.one_of(
    st.sampled_from(
        ["Approved", "Rejected", "Pending", "pendingmanualapproval", "", "PendingManualApproval "]
    ),
    st.text(max_size=30),
)
event_paths = st.sampled_from(
    [
        ("detail-type",),
        ("source",),
        ("id",),
        ("time",),
        ("detail",),
        ("detail", "ModelPackageArn"),
        ("detail", "ModelPackageGroupName"),
        ("detail", "ModelApprovalStatus"),
        ("detail", "ModelPackageVersion"),
        ("detail", "CreationTime"),
        ("detail", "LastModifiedTime"),
        ("detail", "ModelMetrics"),
    ]
)


def _parent(document: Any, path: tuple[str, ...]) -> dict[str, Any] | None:
    for key in path[:-1]:
        document = document.get(key) if isinstance(document, dict) else None
    return document if isinstance(document, dict) else None


def _drop(path: tuple[str, ...]) -> Callable[[Any], Any]:
    def apply(event: Any) -> Any:
        parent = _parent(event, path)
        if parent is not None:
            parent.pop(path[-1], None)
        return event

    return apply


def _put(path: tuple[str, ...], value: Any) -> Callable[[Any], Any]:
    def apply(event: Any) -> Any:
        parent = _parent(event, path)
        if parent is not None:
            parent[path[-1]] = value
        return event

    return apply


def _nest(key: str) -> Callable[[Any], Any]:
    def apply(event: Any) -> Any:
        return {key: event} if key else [event]

    return apply


event_mutations = st.one_of(
    event_paths.map(_drop),
    st.builds(_put, event_paths, junk),
    statuses.map(lambda status: _put(("detail", "ModelApprovalStatus"), status)),
    st.text(max_size=70).map(lambda group: _put(("detail", "ModelPackageGroupName"), group)),
    st.sampled_from(["detail", "payload", ""]).map(_nest),
)


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    event: Any = copy.deepcopy(SAMPLE)
    for mutation in draw(st.lists(event_mutations, min_size=1, max_size=4)):
        event = mutation(event)
    return event


fuzzed_events = st.one_of(junk, mutated_events())


def is_genuine_pending_event(event: Any) -> bool:
    """Conditions every approved event must meet, checked without the parser under test."""
    detail = event.get("detail") if isinstance(event, dict) else None
    return (
        isinstance(detail, dict)
        and event.get("detail-type") == "SageMaker Model Package State Change"
        and detail.get("ModelApprovalStatus") == PENDING
        and detail.get("ModelPackageGroupName") == SAMPLE_GROUP
        and detail.get("ModelPackageArn") == SAMPLE_ARN
    )


out_of_bounds_quality = st.one_of(
    st.floats(max_value=0.6, exclude_max=True, allow_nan=False),
    st.floats(min_value=1.0, exclude_min=True),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    json_values.filter(lambda value: not isinstance(value, int | float) or isinstance(value, bool)),
)
out_of_bounds_di = st.one_of(
    st.floats(max_value=0.8, exclude_max=True),
    st.floats(min_value=1.25, exclude_min=True),
    st.just(math.nan),
    st.text(max_size=5),
)
out_of_bounds_dppl = st.one_of(
    st.floats(min_value=0.1, exclude_min=True),
    st.floats(max_value=-0.1, exclude_max=True),
    st.just(math.nan),
    st.none(),
)
facet_names = st.text(min_size=1, max_size=30)


def _with(document: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    edited = copy.deepcopy(document)
    edit(edited)
    return edited


broken_evidence = st.one_of(
    out_of_bounds_quality.map(lambda v: (evaluation_report(auc=v), bias_report())),
    out_of_bounds_quality.map(lambda v: (evaluation_report(recall=v), bias_report())),
    st.builds(
        lambda name, v: (evaluation_report(), bias_report({name: [facet_entry(di=v)]})),
        facet_names,
        out_of_bounds_di,
    ),
    st.builds(
        lambda name, v: (evaluation_report(), bias_report({name: [facet_entry(dppl=v)]})),
        facet_names,
        out_of_bounds_dppl,
    ),
    st.builds(
        lambda v: (
            evaluation_report(),
            bias_report({"ok": [facet_entry()], "bad": [facet_entry("x", di=v)]}),
        ),
        out_of_bounds_di,
    ),
    st.just((evaluation_report(), bias_report({}))),
    st.just((evaluation_report(), bias_report({"f": [facet_entry(di=None)]}))),
    st.just(
        (_with(evaluation_report(), lambda d: d["binary_classification_metrics"].pop("auc")), bias_report())
    ),
    st.just((evaluation_report(), _with(bias_report(), lambda d: d.pop("post_training_bias_metrics")))),
    json_values.map(lambda junk_document: (junk_document, bias_report())),
    json_values.map(lambda junk_document: (evaluation_report(), junk_document)),
    st.binary(max_size=64).map(lambda raw: (raw, bias_report())),
    st.just((None, bias_report())),
)


# --- Harness ---------------------------------------------------------------------------------
def _encode(document: Any) -> bytes:
    return document if isinstance(document, bytes) else json.dumps(document).encode()


def _registry(evaluation: Any, bias: Any) -> InMemoryRegistry:
    """The sample's package, pending in the sample's group; ``None`` evidence is not uploaded."""
    documents = {
        uri: _encode(doc) for uri, doc in ((EVALUATION_URI, evaluation), (BIAS_URI, bias)) if doc is not None
    }
    package = {
        "ModelPackageArn": SAMPLE_ARN,
        "ModelPackageGroupName": SAMPLE_GROUP,
        "ModelPackageVersion": 2,
        "ModelApprovalStatus": PENDING,
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"S3Uri": EVALUATION_URI}},
            "Bias": {"Report": {"S3Uri": BIAS_URI}},
        },
    }
    return InMemoryRegistry(
        packages={SAMPLE_ARN: package}, documents=documents, scope=ArnScope.of_arn(SAMPLE_ARN)
    )


class FakeWorld:
    """Fresh in-memory dependencies per example, injected in place of the boto3-backed ones."""

    def __init__(self) -> None:
        self.registry = InMemoryRegistry()

    def reset(self, evaluation: Any, bias: Any) -> None:
        self.registry = _registry(evaluation, bias)

    def dependencies(self, _table: str, _environment: tuple[str | None, ...]) -> ApprovalDependencies:
        return ApprovalDependencies(
            registry=self.registry, notifier=RecordingNotifier(), persistence_store=InMemoryPersistenceLayer()
        )

    def statuses_set(self) -> list[str]:
        return [status for _, status, _ in self.registry.approvals]


@pytest.fixture
def fake_world(
    approval_variables: dict[str, str], function_logs: Any, monkeypatch: pytest.MonkeyPatch
) -> FakeWorld:
    monkeypatch.setenv("MODEL_PACKAGE_GROUP_NAME", SAMPLE_GROUP)
    world = FakeWorld()
    monkeypatch.setattr(approval_handler, "build_dependencies", world.dependencies)
    return world


def _handle(event: Any) -> dict[str, Any] | MalformedEventError:
    """The handler's result, or the documented error as a value; any other exception propagates."""
    try:
        return handler(event, FakeLambdaContext())
    except MalformedEventError as error:
        return error


# --- Properties ------------------------------------------------------------------------------
def test_the_unmodified_sample_is_approved_so_the_fuzz_can_detect_approvals(fake_world: FakeWorld) -> None:
    # Given passing evidence / When the untouched sample event is handled
    fake_world.reset(evaluation_report(), bias_report())
    _handle(copy.deepcopy(SAMPLE))

    # Then it is approved: the properties below would notice a wrongful approval
    assert fake_world.statuses_set() == ["Approved"]


def _fuzz_events(fake_world: FakeWorld, then: Callable[[bool, Any], None]) -> None:
    """Handle EVENT_EXAMPLES fuzzed events, each with passing evidence, and check ``then(genuine, outcome)``.

    Afterwards, asserts that all examples ran, nearly all of them non-genuine events rather than the sample.
    """
    genuine_count = []

    @settings(max_examples=EVENT_EXAMPLES, **FUZZ_SETTINGS)
    @given(event=fuzzed_events)
    def check(event: Any) -> None:
        fake_world.reset(evaluation_report(), bias_report())
        genuine = is_genuine_pending_event(event)
        genuine_count.append(genuine)
        then(genuine, _handle(event))

    check()
    assert len(genuine_count) >= EVENT_EXAMPLES
    assert genuine_count.count(False) > 0.9 * len(genuine_count)


def test_fuzzed_events_never_approve_unless_genuine(fake_world: FakeWorld) -> None:
    def then(genuine: bool, _outcome: Any) -> None:
        # Then a non-genuine event approves nothing
        assert genuine or "Approved" not in fake_world.statuses_set()

    # Given passing evidence in the registry / When each fuzzed event is handled
    _fuzz_events(fake_world, then)


def test_fuzzed_events_raise_only_the_documented_error(fake_world: FakeWorld) -> None:
    def then(_genuine: bool, outcome: Any) -> None:
        # Then the handler returns a result or raises the documented error, never anything else
        assert isinstance(outcome, dict | MalformedEventError)

    # Given passing evidence in the registry / When each fuzzed event is handled
    _fuzz_events(fake_world, then)


def test_broken_evidence_is_always_rejected(fake_world: FakeWorld) -> None:
    @settings(max_examples=EVIDENCE_EXAMPLES, **FUZZ_SETTINGS)
    @given(evidence=broken_evidence)
    def check(evidence: tuple[Any, Any]) -> None:
        # Given a genuine pending event and evidence with at least one break
        fake_world.reset(*evidence)

        # When it is handled
        outcome = _handle(copy.deepcopy(SAMPLE))

        # Then the package is rejected, never approved or left silently pending
        assert fake_world.statuses_set() == ["Rejected"]
        assert isinstance(outcome, dict)
        assert outcome["outcome"] == "rejected"

    check()
