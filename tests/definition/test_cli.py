"""``python -m pipeline_def definitions``: every environment's template from one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_def import __main__ as cli
from pipeline_def.config import ConfigError, environment_names, load_environment, load_settings, read_context
from pipeline_def.definition.render import render, render_ingestion, render_monitoring


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("definitions")
    assert cli.main(["definitions", "--out-dir", str(out), "--prefix", "definition-"]) == 0
    return out


def test_definitions_writes_the_training_template_of_each_environment(written: Path) -> None:
    # Then each environment has its file, equal to the single-environment template
    for env in environment_names(read_context()):
        assert (written / f"definition-{env}.json").read_text(encoding="utf-8") == render(load_settings(env))


def test_definitions_writes_the_monitoring_template_of_each_environment(written: Path) -> None:
    for env in environment_names(read_context()):
        config = load_environment(read_context(), env)
        expected = render_monitoring(config.pipeline, config.monitoring)
        assert (written / f"definition-{env}-monitoring.json").read_text(encoding="utf-8") == expected


def test_definitions_writes_the_ingestion_template_of_each_environment(written: Path) -> None:
    for env in environment_names(read_context()):
        config = load_environment(read_context(), env)
        expected = render_ingestion(config.pipeline, config.ingestion)
        assert (written / f"definition-{env}-ingestion.json").read_text(encoding="utf-8") == expected


def test_definition_prints_the_ingestion_pipeline_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["definition", "--env", "staging", "--pipeline", "ingestion"]) == 0
    config = load_environment(read_context(), "staging")
    assert capsys.readouterr().out == render_ingestion(config.pipeline, config.ingestion)


def test_definition_prints_the_monitoring_pipeline_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    # When one definition is asked for with --pipeline monitoring
    assert cli.main(["definition", "--env", "dev", "--pipeline", "monitoring"]) == 0
    # Then it is the monitoring template
    config = load_environment(read_context(), "dev")
    assert capsys.readouterr().out == render_monitoring(config.pipeline, config.monitoring)


def test_definition_refuses_an_unknown_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["definition", "--pipeline", "scoring"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'scoring'" in capsys.readouterr().err


def test_definitions_writes_nothing_when_one_environment_is_invalid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an environment whose settings cannot be loaded (the last one)
    last = environment_names(read_context())[-1]

    def environment_or_error(context, env: str):
        if env == last:
            raise ConfigError(f"cdk.json.context.environments.{last}.region: broken")
        return load_environment(context, env)

    monkeypatch.setattr(cli, "load_environment", environment_or_error)

    # When every definition is written / Then it fails with exit 2 and no file exists
    assert cli.main(["definitions", "--out-dir", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
