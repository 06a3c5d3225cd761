"""The definition cache: a definition read back is the one a render makes, and only ever that one."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline_def.config import EnvironmentConfig, load_environments, read_context
from pipeline_def.definition import cache as cache_module
from pipeline_def.definition import render_worker
from pipeline_def.definition.cache import (
    MAX_ENTRIES,
    STALE_TEMPORARY_SECONDS,
    SUFFIX,
    DefinitionCache,
    canonical,
    code_fingerprint,
)
from pipeline_def.definition.render import render, scripts_digest
from pipeline_def.definition.render_worker import Definitions, requests_for

pytestmark = pytest.mark.long_module(4)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def configs() -> list[EnvironmentConfig]:
    return load_environments(read_context())


@pytest.fixture
def cache(tmp_path: Path) -> DefinitionCache:
    return DefinitionCache(tmp_path / "cache")


def _entries(cache: DefinitionCache) -> list[Path]:
    assert cache.folder is not None
    return sorted(cache.folder.glob(f"*{SUFFIX}"))


def _no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a worker process was started")

    monkeypatch.setattr(render_worker.subprocess, "Popen", refuse)


def test_a_definition_read_back_is_byte_for_byte_the_rendered_one(cache, configs) -> None:
    # Given a definition rendered once through the cache
    settings = configs[0].pipeline
    first = Definitions(cache=cache).training(settings, digest=scripts_digest())
    # When another Definitions asks for it
    again = Definitions(cache=cache).training(settings, digest=scripts_digest())
    # Then it is the text a plain render makes, stored once
    assert first == again == render(settings)
    assert len(_entries(cache)) == 1


def test_with_every_definition_cached_no_worker_starts(cache, configs, monkeypatch) -> None:
    # Given every definition of every environment rendered once
    with Definitions.ahead(configs, worker=False, cache=cache) as definitions:
        expected = [definitions._get(request) for request in requests_for(configs)]
    assert len(_entries(cache)) == len(expected)
    # When a synth asks ahead for all of them again
    _no_worker(monkeypatch)
    with Definitions.ahead(configs, worker=True, cache=cache) as definitions:
        # Then no process starts and every text is the same
        assert [definitions._get(request) for request in requests_for(configs)] == expected


def test_only_what_the_cache_lacks_goes_to_the_worker(cache, configs, monkeypatch) -> None:
    # Given the first environment's definitions cached and the others not
    with Definitions.ahead(configs[:1], worker=False, cache=cache) as definitions:
        for request in requests_for(configs[:1]):
            definitions._get(request)
    sent: list[list[render_worker.Request]] = []
    real_dump = render_worker.pickle.dump

    def recording_dump(obj, file) -> None:
        if isinstance(obj, list):
            sent.append(obj)
        real_dump(obj, file)

    monkeypatch.setattr(render_worker.pickle, "dump", recording_dump)
    # When asking ahead for every environment
    with Definitions.ahead(configs, kinds=("training",), worker=True, cache=cache):
        pass
    # Then the worker was given the others only
    assert sent == [requests_for(configs[1:], kinds=("training",))]


def test_a_changed_setting_is_a_different_entry(cache, configs) -> None:
    settings = configs[0].pipeline
    changed = dataclasses.replace(settings, min_auc=settings.min_auc / 2)
    definitions = Definitions(cache=cache)
    assert definitions.training(settings, digest="a" * 16) != definitions.training(changed, digest="a" * 16)
    assert definitions.training(settings, digest="b" * 16) != definitions.training(settings, digest="a" * 16)
    assert len(_entries(cache)) == 3


def test_a_changed_file_of_the_package_changes_every_key(tmp_path: Path) -> None:
    # Given a copy of the package, with compiled files beside its sources
    copy = tmp_path / "pipeline_def"
    shutil.copytree(cache_module.PACKAGE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_fingerprint(copy) == code_fingerprint(cache_module.PACKAGE_ROOT)
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    code_fingerprint.cache_clear()
    assert code_fingerprint(copy) == code_fingerprint(cache_module.PACKAGE_ROOT)
    # When one source file changes by one byte
    builder = copy / "definition" / "builder.py"
    builder.write_bytes(builder.read_bytes() + b"\n")
    code_fingerprint.cache_clear()
    # Then the fingerprint (and so every key) changes
    assert code_fingerprint(copy) != code_fingerprint(cache_module.PACKAGE_ROOT)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda entry: "not json", id="garbage"),
        pytest.param(lambda entry: entry[: len(entry) // 2], id="truncated"),
        pytest.param(lambda entry: entry.replace("PipelineRoleArn", "PipelineRoleArX", 1), id="edited-text"),
        pytest.param(lambda entry: json.dumps({**json.loads(entry), "key": "0" * 64}), id="other-key"),
        pytest.param(lambda entry: json.dumps({**json.loads(entry), "text": 42}), id="text-not-a-string"),
        pytest.param(lambda entry: json.dumps([entry]), id="not-an-object"),
    ],
)
def test_a_damaged_entry_is_never_used_and_is_replaced(cache, configs, damage) -> None:
    # Given a cached definition whose entry was damaged
    settings = configs[0].pipeline
    rendered = Definitions(cache=cache).training(settings, digest=scripts_digest())
    [entry] = _entries(cache)
    entry.write_text(damage(entry.read_text(encoding="utf-8")), encoding="utf-8")
    # When it is asked for again
    again = Definitions(cache=cache).training(settings, digest=scripts_digest())
    # Then it is rendered anew and the entry is whole again
    assert again == rendered
    assert json.loads(entry.read_text(encoding="utf-8"))["text"] == rendered


def test_an_entry_copied_under_another_key_is_not_used(cache) -> None:
    cache.put("a" * 64, "first")
    assert cache.folder is not None
    shutil.copy(cache.folder / f"{'a' * 64}{SUFFIX}", cache.folder / f"{'b' * 64}{SUFFIX}")
    assert cache.get("a" * 64) == "first"
    assert cache.get("b" * 64) is None


def test_off_keeps_nothing_and_an_unwritable_folder_only_warns(tmp_path, configs, capsys) -> None:
    settings = configs[0].pipeline
    assert Definitions(cache=DefinitionCache.off()).training(settings, digest="c" * 16).startswith("{")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    text = Definitions(cache=DefinitionCache(blocked / "cache")).training(settings, digest="c" * 16)
    assert text.startswith("{")
    assert f"warning: definition cache {blocked / 'cache'}" in capsys.readouterr().err
    assert blocked.read_text() == "not a folder"


def test_the_environment_variable_names_the_folder_or_turns_it_off(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PIPELINE_DEF_CACHE", str(tmp_path / "here"))
    assert DefinitionCache.from_environment() == DefinitionCache(tmp_path / "here")
    monkeypatch.setenv("PIPELINE_DEF_CACHE", "OFF")
    assert DefinitionCache.from_environment().folder is None
    monkeypatch.delenv("PIPELINE_DEF_CACHE")
    assert DefinitionCache.from_environment() == DefinitionCache(PROJECT_ROOT / ".cache" / "definitions")


def test_pruning_keeps_the_newest_and_deletes_only_entries(cache) -> None:
    # Given more entries than the cache keeps, oldest first, and files of someone else's
    assert cache.folder is not None
    cache.folder.mkdir(parents=True)
    others = [
        cache.folder / "notes.txt",
        cache.folder / f"mine{SUFFIX}",
        cache.folder / f"{'0' * 63}{SUFFIX}",
    ]
    for other in others:
        other.write_text("mine")
        os.utime(other, (1_000, 1_000))
    for number in range(MAX_ENTRIES + 3):
        cache.put(f"{number:064x}", f"text {number}")
        os.utime(cache.folder / f"{number:064x}{SUFFIX}", (1_000_000 + number, 1_000_000 + number))
    cache.put("f" * 64, "newest")
    # Then the oldest four entries are gone, the newest kept, and the other files untouched
    entries = _entries(cache)
    assert len(entries) == MAX_ENTRIES + 2  # and the two files only named like entries
    assert all(cache.get(f"{number:064x}") is None for number in range(4))
    assert cache.get("f" * 64) == "newest"
    assert all(other.read_text() == "mine" for other in others)
    assert not list(cache.folder.glob("*.tmp"))


def test_an_entry_read_recently_outlives_newer_entries_never_read(cache) -> None:
    # Given a full cache whose oldest entry was just read
    assert cache.folder is not None
    for number in range(MAX_ENTRIES):
        cache.put(f"{number:064x}", f"text {number}")
        os.utime(cache.folder / f"{number:064x}{SUFFIX}", (1_000_000 + number, 1_000_000 + number))
    assert cache.get(f"{0:064x}") == "text 0"
    # When one more entry is written
    cache.put("f" * 64, "newest")
    # Then the least recently used goes, not the one just read
    assert cache.get(f"{0:064x}") == "text 0"
    assert cache.get(f"{1:064x}") is None


def test_a_killed_writers_temporary_file_is_removed_once_stale(cache) -> None:
    # Given a temporary file from a writer killed an hour ago, and one being written now
    assert cache.folder is not None
    cache.folder.mkdir(parents=True)
    abandoned, in_progress = cache.folder / ".abandoned.tmp", cache.folder / ".in-progress.tmp"
    for temporary in (abandoned, in_progress):
        temporary.write_text('{"key": ')
    old = time.time() - STALE_TEMPORARY_SECONDS - 60
    os.utime(abandoned, (old, old))
    # When an entry is written
    cache.put("a" * 64, "text")
    # Then the abandoned file is gone and the other writer's file is left to it
    assert not abandoned.exists()
    assert in_progress.exists()


def test_keys_are_the_same_in_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    script = (
        "from pipeline_def.config import load_environments, read_context\n"
        "from pipeline_def.definition.cache import DefinitionCache\n"
        "import sys\n"
        "cache = DefinitionCache(__import__('pathlib').Path(sys.argv[1]))\n"
        "for config in load_environments(read_context()):\n"
        "    print(cache.key('training', (config.pipeline, frozenset({'b', 'a', 'c'})), 'digest'))\n"
    )
    keys = []
    for seed in ("1", "2"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / seed)],
            env=environment,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        keys.append(result.stdout.split())
    assert len(keys[0]) == 3
    assert keys[0] == keys[1]


def test_keys_do_not_depend_on_hash_order_and_refuse_unknown_types() -> None:
    assert canonical(frozenset({"b", "a", "c"})) == canonical(frozenset({"c", "a", "b"}))
    assert canonical({"y": 1, "x": (2, 3)}) == canonical({"x": [2, 3], "y": 1})
    with pytest.raises(TypeError, match="cannot key a definition on a object"):
        canonical(object())


def test_tool_caches_and_other_files_beside_the_sources_do_not_change_the_key(tmp_path: Path) -> None:
    copy = tmp_path / "pipeline_def"
    shutil.copytree(cache_module.PACKAGE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    code_fingerprint.cache_clear()
    before = code_fingerprint(copy)
    (copy / "data" / ".ruff_cache").mkdir()
    (copy / "data" / ".ruff_cache" / "state.json").write_text("{}")
    (copy / "definition" / "builder.py.swp").write_bytes(b"editor")
    code_fingerprint.cache_clear()
    assert code_fingerprint(copy) == before


def test_a_key_that_cannot_be_made_is_a_miss_and_the_definition_is_rendered(
    cache, configs, monkeypatch, capsys
) -> None:
    def unreadable() -> str:
        raise PermissionError("pipeline_def/definition/builder.py: permission denied")

    monkeypatch.setattr(cache_module, "code_fingerprint", unreadable)
    text = Definitions(cache=cache).training(configs[0].pipeline, digest=scripts_digest())
    assert text == render(configs[0].pipeline)
    assert "warning: definition cache: no key, rendering (pipeline_def/definition/builder.py" in (
        capsys.readouterr().err
    )
    assert _entries(cache) == []  # nothing stored under a key that could not be made


def test_a_render_during_which_the_package_changed_is_not_kept(cache, monkeypatch, capsys) -> None:
    # Given keys made from the package as it was, and the package read again now differing
    class Moved:
        def __call__(self) -> str:
            return "as the keys saw it"

        def __wrapped__(self) -> str:
            return "as it is now"

    monkeypatch.setattr(cache_module, "code_fingerprint", Moved())
    # When a definition rendered meanwhile is put
    cache.put("b" * 64, "text of either version")
    # Then it is not kept, and the warning says why
    assert cache.get("b" * 64) is None
    assert "changed during the render; not kept" in capsys.readouterr().err
