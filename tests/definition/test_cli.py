"""``python -m pipeline_def definitions``: every environment's template from one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_def import __main__ as cli
from pipeline_def.config import ConfigError, environment_names, load_settings, read_context
from pipeline_def.definition.render import render


def test_definitions_writes_one_template_per_environment(tmp_path: Path) -> None:
    # When every definition is written with a prefix
    assert cli.main(["definitions", "--out-dir", str(tmp_path), "--prefix", "definition-"]) == 0

    # Then each environment has its file, equal to the single-environment template
    for env in environment_names(read_context()):
        assert (tmp_path / f"definition-{env}.json").read_text(encoding="utf-8") == render(load_settings(env))


def test_definitions_writes_nothing_when_one_environment_is_invalid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an environment whose settings cannot be loaded (the last one)
    last = environment_names(read_context())[-1]

    def settings_or_error(env: str):
        if env == last:
            raise ConfigError(f"cdk.json.context.environments.{last}.region: broken")
        return load_settings(env)

    monkeypatch.setattr(cli, "load_settings", settings_or_error)

    # When every definition is written / Then it fails with exit 2 and no file exists
    assert cli.main(["definitions", "--out-dir", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
