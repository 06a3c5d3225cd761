"""``make test`` writes the test modules' rewritten bytecode exactly as pytest would."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from _pytest.assertion import rewrite

from tests.rewritten_bytecode import ROOT, IniOptions, sources_to_rewrite, write_all, write_rewritten

MODULE = """
def test_sum():
    total = 1 + 1
    assert total == 2, "arithmetic"
"""


@pytest.fixture
def ini() -> IniOptions:
    return IniOptions(ROOT / "pyproject.toml")


def cached(source: Path) -> Path:
    return rewrite.get_cache_dir(source) / (source.name[:-3] + rewrite.PYC_TAIL)


def test_the_written_bytecode_is_what_pytest_loads_and_would_have_written(
    tmp_path: Path, ini: IniOptions, pytestconfig: pytest.Config
) -> None:
    # Given a test module
    source = tmp_path / "test_sample.py"
    source.write_text(MODULE)
    # When its bytecode is written
    assert write_rewritten(source, ini)
    # Then pytest accepts the file, and it holds what pytest writes for the module under its config
    loaded = rewrite._read_pyc(source, cached(source))
    assert loaded is not None
    theirs = io.BytesIO()
    rewrite._write_pyc_fp(theirs, *rewrite._rewrite_test(source, pytestconfig))
    assert cached(source).read_bytes() == theirs.getvalue()
    assert "@pytest_ar" in loaded.co_names


def test_a_current_file_is_kept_and_a_stale_one_replaced(tmp_path: Path, ini: IniOptions) -> None:
    source = tmp_path / "test_sample.py"
    source.write_text(MODULE)
    assert write_rewritten(source, ini)
    assert not write_rewritten(source, ini)
    # When the module changes, Then its bytecode is written again and pytest accepts it
    source.write_text(MODULE.replace("1 + 1", "2"))
    assert write_rewritten(source, ini)
    assert rewrite._read_pyc(source, cached(source)) is not None
    assert [path.name for path in cached(source).parent.iterdir()] == [cached(source).name]


def test_the_test_modules_and_conftests_are_rewritten_and_helpers_are_not() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in sources_to_rewrite(ROOT / "tests")}
    assert {"tests/conftest.py", "tests/lambdas/conftest.py", "tests/test_scheduling.py"} <= names
    helpers = {"tests/scheduling.py", "tests/rewritten_bytecode.py", "tests/lambdas/lambda_support.py"}
    assert not names & helpers


def test_a_module_that_does_not_parse_is_named_and_left_to_pytest(
    tmp_path: Path, ini: IniOptions, capsys: pytest.CaptureFixture[str]
) -> None:
    broken, fine = tmp_path / "test_broken.py", tmp_path / "test_fine.py"
    broken.write_text("def test_x(:\n")
    fine.write_text(MODULE)
    assert write_all([broken, fine], ini) == 1
    assert f"{broken}:1: not rewritten (invalid syntax); pytest reports it" in capsys.readouterr().err
    assert not cached(broken).exists()
    assert rewrite._read_pyc(fine, cached(fine)) is not None


def test_a_module_whose_cache_cannot_be_written_is_named_and_the_others_are_written(
    tmp_path: Path, ini: IniOptions, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a folder whose __pycache__ is a file, and another folder that is fine
    (tmp_path / "blocked").mkdir()
    (tmp_path / "blocked" / "__pycache__").write_text("not a folder")
    blocked, fine = tmp_path / "blocked" / "test_one.py", tmp_path / "test_two.py"
    for source in (blocked, fine):
        source.write_text(MODULE)
    # When both are written, Then the first is named and left to pytest, the second written
    assert write_all([blocked, fine], ini) == 1
    assert f"{blocked}: not rewritten" in capsys.readouterr().err
    assert rewrite._read_pyc(fine, cached(fine)) is not None


@pytest.mark.parametrize(("value", "enabled"), [(True, True), ("true", True), ("0", False), (False, False)])
def test_the_assertion_pass_hook_option_is_read_as_pytest_reads_it(
    tmp_path: Path, value: object, enabled: bool
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    written = "true" if value is True else "false" if value is False else f'"{value}"'
    pyproject.write_text(f"[tool.pytest.ini_options]\nenable_assertion_pass_hook = {written}\n")
    assert IniOptions(pyproject).getini("enable_assertion_pass_hook") is enabled
