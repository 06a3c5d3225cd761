"""Every job script, and the ingestion job's package, is valid for the Python of the image it runs
in (SageMaker XGBoost 3.0-5: 3.10).

The local run uses this repository's newer Python, so a 3.11-only construct would pass every
other test and fail only in the cloud. These checks fail on syntax newer than the image's
Python and on standard-library names it does not have.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline_def.definition.render import INGESTION_PACKAGE_FILES, PROJECT_ROOT, SCRIPTS_DIR

#: The image's interpreter (aws/sagemaker-xgboost-container, docker/3.0-5/base/Dockerfile.cpu).
CONTAINER_PYTHON = (3, 10)
#: Standard-library names added after 3.10, as (module, name); name None means the module itself.
NEWER_THAN_CONTAINER = {
    ("tomllib", None),
    ("wsgiref.types", None),
    ("datetime", "UTC"),
    ("typing", "Self"),
    ("typing", "Never"),
    ("typing", "LiteralString"),
    ("typing", "assert_never"),
    ("typing", "assert_type"),
    ("typing", "reveal_type"),
    ("typing", "TypeVarTuple"),
    ("typing", "Unpack"),
    ("typing", "override"),
    ("enum", "StrEnum"),
    ("enum", "verify"),
    ("asyncio", "TaskGroup"),
    ("asyncio", "timeout"),
    ("contextlib", "chdir"),
    ("hashlib", "file_digest"),
    ("operator", "call"),
    ("itertools", "batched"),
}
SCRIPTS = sorted(path for path in SCRIPTS_DIR.glob("*.py") if path.name != "__init__.py")
#: The ingestion job imports these from its package (pipeline_def/definition/render.py lists them).
PACKAGE_MODULES = sorted(PROJECT_ROOT / name for name in INGESTION_PACKAGE_FILES if name.endswith(".py"))
CONTAINER_CODE = [*SCRIPTS, *PACKAGE_MODULES]


def _without_newer_python_branches(tree: ast.AST) -> ast.AST:
    """Drop the body of ``if sys.version_info >= (3, 11):`` blocks: the 3.10 image takes the else."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "sys.version_info >= (3, 11)":
            node.body = [ast.Pass()]
    return tree


def newer_names(tree: ast.AST) -> list[str]:
    """Imports and attribute uses of names the container's Python does not have."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if (a.name, None) in NEWER_THAN_CONTAINER]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [
                f"{node.module}.{a.name}" for a in node.names if (node.module, a.name) in NEWER_THAN_CONTAINER
            ]
            found += [node.module] if (node.module, None) in NEWER_THAN_CONTAINER else []
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in NEWER_THAN_CONTAINER:
                found.append(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.TryStar):  # except* (3.11); ast.parse(feature_version) lets it pass
            found.append(type(node).__name__)
    return found


@pytest.mark.parametrize("script", CONTAINER_CODE, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_the_script_parses_as_the_containers_python(script: Path) -> None:
    # When the script is parsed with the image's grammar / Then it is valid there
    ast.parse(script.read_text(encoding="utf-8"), filename=str(script), feature_version=CONTAINER_PYTHON)


@pytest.mark.parametrize("script", CONTAINER_CODE, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_the_script_uses_no_standard_library_name_newer_than_the_container(script: Path) -> None:
    tree = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
    assert newer_names(_without_newer_python_branches(tree)) == []


def test_a_name_newer_than_the_container_counts_outside_a_version_guard() -> None:
    guarded = "import sys\nif sys.version_info >= (3, 11):\n    import tomllib\nelse:\n    tomllib = None"
    assert newer_names(_without_newer_python_branches(ast.parse(guarded))) == []
    assert newer_names(_without_newer_python_branches(ast.parse("import tomllib"))) == ["tomllib"]


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import UTC",
        "import datetime\nnow = datetime.UTC",
        "import tomllib",
        "try:\n    pass\nexcept* ValueError:\n    pass",
    ],
)
def test_the_check_catches_constructs_newer_than_the_container(source: str) -> None:
    # Given code that runs on 3.11 but not 3.10 / Then one of the two checks rejects it
    try:
        tree = ast.parse(source, feature_version=CONTAINER_PYTHON)
    except SyntaxError:
        return
    assert newer_names(tree)


@pytest.mark.parametrize(
    "folder", [SCRIPTS_DIR, PROJECT_ROOT / "pipeline_def" / "data"], ids=lambda p: p.name
)
def test_the_scripts_are_linted_for_the_containers_python(folder: Path) -> None:
    # ruff's target for the folder is the image's Python, so no fix introduces newer syntax
    config = (folder / "ruff.toml").read_text(encoding="utf-8")
    assert f'target-version = "py3{CONTAINER_PYTHON[1]}"' in config


def test_the_packaged_bottom_floor_is_linted_for_the_containers_python() -> None:
    config = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for module in ("pipeline_def/schema.py", "pipeline_def/names.py"):
        assert f'"{module}" = "py3{CONTAINER_PYTHON[1]}"' in config
