"""The definition worker: the CDK app's templates rendered in a second process, never different."""

from __future__ import annotations

import dataclasses
import signal
import sys
import warnings
from pathlib import Path

import pytest

from pipeline_def.config import EnvironmentConfig, load_environments, read_context
from pipeline_def.definition.cache import DefinitionCache
from pipeline_def.definition.render import package_digest, scripts_digest
from pipeline_def.definition.render_worker import Definitions, Request, render_request, requests_for

pytestmark = pytest.mark.long_module(7)

#: These tests are about the worker: nothing may come from the definition cache.
NO_CACHE = DefinitionCache.off()


@pytest.fixture(scope="module")
def configs() -> list[EnvironmentConfig]:
    return load_environments(read_context())


@pytest.fixture(scope="module")
def broken(configs: list[EnvironmentConfig]) -> EnvironmentConfig:
    """An environment whose region has no XGBoost image: its definition cannot be rendered."""
    pipeline = dataclasses.replace(configs[0].pipeline, region="xx-nowhere-1")
    return dataclasses.replace(configs[0], pipeline=pipeline)


@pytest.fixture(scope="module")
def ahead(configs: list[EnvironmentConfig], broken: EnvironmentConfig) -> Definitions:
    """One worker for the module, given the broken environment and then the first one only.

    Asking only adds to what a ``Definitions`` holds, so the tests may ask in any order.
    """
    return Definitions.ahead([broken, configs[0]], worker=True, cache=NO_CACHE)


def asked_by_a_stage(definitions: Definitions, config: EnvironmentConfig) -> list[str]:
    """What one ``MlopsStage`` asks for, the way its stacks ask."""
    scripts = scripts_digest()
    texts = [definitions.ingestion(config.pipeline, config.ingestion, digest=package_digest())]
    texts.append(definitions.training(config.pipeline, digest=scripts))
    texts.append(definitions.monitoring(config.pipeline, config.monitoring, digest=scripts))
    return texts


def test_the_worker_renders_byte_for_byte_what_this_process_renders(
    ahead: Definitions, configs: list[EnvironmentConfig]
) -> None:
    # Only the first environment was given to the worker: the others are rendered here, the same way
    for config in configs:
        from_worker = asked_by_a_stage(ahead, config)
        here = asked_by_a_stage(Definitions(cache=NO_CACHE), config)
        assert from_worker == here
        assert all(text.startswith("{") and "${PipelineRoleArn}" in text for text in here)


def test_requests_follow_the_order_the_stage_asks_in(configs: list[EnvironmentConfig]) -> None:
    kinds = [request.kind for request in requests_for(configs[:1])]
    assert kinds == ["ingestion", "training", "monitoring"]


def test_without_ingestion_the_worker_is_not_asked_for_it(configs: list[EnvironmentConfig]) -> None:
    config = dataclasses.replace(
        configs[0], ingestion=dataclasses.replace(configs[0].ingestion, enabled=False)
    )
    assert [request.kind for request in requests_for([config])] == ["training", "monitoring"]


#: Stand-ins for the worker's interpreter: one that exits at once, one that dies mid-reply.
FAILING_WORKERS = {
    "exits at once": ("#!/bin/sh\nexit 1\n", "the definition worker exited 1 (no message)"),
    "dies mid-reply": (
        "#!/bin/sh\nprintf '\\200\\004\\225'\necho 'killed while writing' >&2\nexit 3\n",
        "the definition worker exited 3 (killed while writing)",
    ),
}


@pytest.mark.parametrize("failure", sorted(FAILING_WORKERS))
def test_a_worker_that_fails_is_named_and_the_definitions_are_rendered_here(
    configs: list[EnvironmentConfig], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, failure: str
) -> None:
    # Given a worker whose interpreter fails instead of rendering
    script, expected = FAILING_WORKERS[failure]
    interpreter = tmp_path / "python"
    interpreter.write_text(script, encoding="utf-8")
    interpreter.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(interpreter))
    definitions = Definitions.ahead(configs[:1], worker=True, cache=NO_CACHE)
    monkeypatch.undo()
    # Then asking warns with the exit status and its last words, and still returns the real template
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        text = definitions.training(configs[0].pipeline, digest=scripts_digest())
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == [
        f"{expected}; rendering in this process"
    ]
    assert text == render_request(Request("training", (configs[0].pipeline,), scripts_digest()))


def test_a_render_error_is_raised_in_the_asking_process_and_the_rest_still_arrive(
    ahead: Definitions, broken: EnvironmentConfig, configs: list[EnvironmentConfig]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the worker itself did not fail
        # The broken environment fails here, with the SDK's own message
        with pytest.raises(ValueError, match="Unsupported region: xx-nowhere-1"):
            ahead.training(broken.pipeline, digest=scripts_digest())
        # And the environment after it still arrives from the worker
        expected = render_request(Request("training", (configs[0].pipeline,), scripts_digest()))
        assert ahead.training(configs[0].pipeline, digest=scripts_digest()) == expected


def test_closing_stops_a_worker_nobody_asks(configs: list[EnvironmentConfig]) -> None:
    with Definitions.ahead(configs, worker=True, cache=NO_CACHE) as definitions:
        worker = definitions._worker
        assert worker is not None
        assert worker.poll() is None  # still rendering
    assert worker.poll() == -signal.SIGKILL
    # And asking afterwards still answers, rendered here
    assert definitions.training(configs[0].pipeline, digest=scripts_digest()).startswith("{")


def test_a_process_that_imported_the_builder_renders_itself(configs: list[EnvironmentConfig]) -> None:
    import pipeline_def.definition.builder  # noqa: F401 - the condition under test

    definitions = Definitions.ahead(configs, cache=NO_CACHE)
    assert definitions._worker is None
    assert asked_by_a_stage(definitions, configs[0]) == asked_by_a_stage(
        Definitions(cache=NO_CACHE), configs[0]
    )
