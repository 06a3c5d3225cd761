"""The packaging contract with the CDK stack: asset root, entry points, import hygiene."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import constants

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDAS_DIR = REPO_ROOT / "lambdas"
FORBIDDEN_ROOTS = {"aws_cdk", "constructs", "cdk_nag", "infra", "pipeline_def"}


def _run_isolated(code: str, cwd: Path) -> str:
    """Run ``code`` in a fresh interpreter with no AWS or function settings in its environment."""
    completed = subprocess.run(
        [sys.executable, "-I", "-c", code],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout.strip()


@pytest.mark.parametrize("entry_point", [constants.APPROVAL_HANDLER, constants.DEPLOY_HANDLER])
def test_each_handler_entry_point_resolves_from_the_asset_root(entry_point: str) -> None:
    # Given an entry point as the stack passes it to lambda.Function(handler=...)
    module_name, _, function_name = entry_point.rpartition(".")

    # When it is resolved with lambdas/ as the import root, as Lambda does
    function = getattr(importlib.import_module(module_name), function_name)

    # Then it is the handler function
    assert callable(function)


def test_the_asset_root_constant_points_at_this_folder() -> None:
    # Then the stack can package the functions from constants.ASSET_ROOT
    assert constants.ASSET_ROOT == LAMBDAS_DIR


def test_the_constants_module_imports_only_the_standard_library() -> None:
    # Given a fresh interpreter at the repository root, as the CDK app runs
    code = (
        "import sys; sys.path.insert(0, '.'); import lambdas.constants; "
        "loaded = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(loaded & {'boto3', 'botocore', 'pydantic', 'aws_lambda_powertools'}))"
    )

    # When the stack imports lambdas.constants / Then no runtime dependency comes with it
    assert _run_isolated(code, REPO_ROOT) == "[]"


def test_importing_the_handlers_needs_no_environment() -> None:
    # Given a fresh interpreter with no settings, no region and no credentials
    code = "import sys; sys.path.insert(0, '.'); import approval.handler, deploy.handler; print('ok')"

    # When both handler modules are imported from the asset root / Then nothing is read or built
    assert _run_isolated(code, LAMBDAS_DIR) == "ok"


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    "path", sorted(LAMBDAS_DIR.rglob("*.py")), ids=lambda p: str(p.relative_to(LAMBDAS_DIR))
)
def test_runtime_code_never_imports_infrastructure_or_pipeline_code(path: Path) -> None:
    # Given a runtime module / Then it imports neither CDK nor the infra or pipeline packages
    assert _imported_roots(path).isdisjoint(FORBIDDEN_ROOTS)
