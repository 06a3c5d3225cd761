"""The packaging contract with the CDK stack: asset layout, entry points, import hygiene.

The functions' asset is built from ``constants.ASSET_ROOT`` (the repository root) and holds the
``lambdas`` package as its only top-level folder; Lambda resolves the full handler names from
there. Fresh interpreters run with ``-B -E -s`` and a bare ``PATH``: no bytecode written, no PYTHON*
variables, no user site-packages, no AWS settings; with ``-c``, their working directory is the
only project folder they can import from.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lambdas import constants

pytestmark = pytest.mark.long_module(6)

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDAS_DIR = REPO_ROOT / "lambdas"
PROJECT_NODE = REPO_ROOT / "node_modules" / ".bin" / "node"
ENTRY_POINTS = (
    constants.APPROVAL_HANDLER,
    constants.DEPLOY_HANDLER,
    constants.PIPELINE_FAILURE_HANDLER,
    constants.RETRAIN_HANDLER,
)
RUNTIME_MODULES = sorted(path for path in LAMBDAS_DIR.rglob("*.py") if "__pycache__" not in path.parts)
FORBIDDEN_ROOTS = {"aws_cdk", "constructs", "cdk_nag", "infra", "pipeline_def"}
#: Names of the package's own modules and subpackages: imported bare, they need an import-path edit.
BARE_SIBLINGS = {
    path.stem for path in LAMBDAS_DIR.iterdir() if path.suffix == ".py" or (path / "__init__.py").is_file()
} - {"__init__"}
#: What the asset must never hold: tests, caches, and the rest of the repository.
NOT_IN_ASSET = ("tests", ".venv", "node_modules", "pipeline_def", "infra", "bench", "cdk.out", "__pycache__")


def _run_fresh(code: str, cwd: Path, *flags: str) -> str:
    """Run ``code`` in a fresh interpreter with no AWS or function settings in its environment."""
    completed = subprocess.run(
        [sys.executable, "-B", "-E", "-s", *flags, "-c", code],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout.strip()


@pytest.fixture(scope="module")
def built_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every function synthesized through ``RegistryLambda`` as the stacks build them.

    Returns the staged asset folder of their code in the cloud assembly (what cdk-assets zips).
    """
    # The project's Node.js 24 (package.json), as tests/infra/synth_support.py explains.
    os.environ.setdefault("JSII_NODE", shutil.which("node", path=str(PROJECT_NODE.parent)) or "node")
    import aws_cdk as cdk
    import aws_cdk.aws_kms as kms
    import aws_cdk.aws_logs as logs
    import aws_cdk.aws_sqs as sqs

    from infra.constructs.registry_lambda import RegistryLambda, powertools_layer

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Packaging")
    queue = sqs.Queue(stack, "Failures")
    layer = powertools_layer(stack, "Powertools")
    key = kms.Key(stack, "Key")
    construct_ids = ("Approval", "Deploy", "FailureAlerts", "Retrain")
    for construct_id, handler in zip(construct_ids, ENTRY_POINTS, strict=True):
        RegistryLambda(
            stack,
            construct_id,
            code_root=constants.ASSET_ROOT,
            handler=handler,
            description=construct_id,
            environment={},
            statements=[],
            layer=layer,
            key=key,
            failure_queue=queue,
            log_retention=logs.RetentionDays.ONE_WEEK,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            timeout=cdk.Duration.minutes(1),
        )
    assembly = app.synth()
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    keys = {
        resource["Properties"]["Code"]["S3Key"]
        for resource in artifact.template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert len(keys) == 1, f"every function ships the one asset, got {sorted(keys)}"
    manifest = json.loads((outdir / f"{artifact.stack_name}.assets.json").read_text())
    source = manifest["files"][keys.pop().removesuffix(".zip")]["source"]
    assert source["packaging"] == "zip"
    return outdir / source["path"]


def _files(root: Path) -> list[str]:
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


# --- Entry points ------------------------------------------------------------------------------
@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_each_handler_entry_point_is_a_full_name_in_the_package(entry_point: str) -> None:
    # Given an entry point as the stack passes it to lambda.Function(handler=...)
    package = entry_point.partition(".")[0]

    # Then it starts with the package the asset holds at its top level
    assert package == "lambdas"


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_each_handler_entry_point_resolves_from_the_repository(entry_point: str) -> None:
    # Given an entry point as the stack passes it to lambda.Function(handler=...)
    module_name, _, function_name = entry_point.rpartition(".")

    # When it is resolved by its full name, as the local run does
    function = getattr(importlib.import_module(module_name), function_name)

    # Then it is the handler function
    assert callable(function)


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_each_handler_entry_point_resolves_from_the_built_asset(built_asset: Path, entry_point: str) -> None:
    # Given the synthesized asset folder as Lambda's working directory (/var/task)
    module_name, _, function_name = entry_point.rpartition(".")
    code = (
        f"import importlib; module = importlib.import_module({module_name!r}); "
        f"assert callable(getattr(module, {function_name!r})); print(module.__file__)"
    )

    # When a fresh interpreter resolves the entry point there
    loaded_from = Path(_run_fresh(code, built_asset))

    # Then the handler comes from the asset itself, not from the repository
    assert loaded_from == built_asset / Path(*module_name.split(".")).with_suffix(".py")


def test_the_asset_root_constant_is_the_folder_holding_the_package() -> None:
    # Then the stack builds the asset from the repository root, which holds lambdas/
    assert constants.ASSET_ROOT == REPO_ROOT


# --- Import hygiene ----------------------------------------------------------------------------
@pytest.mark.parametrize("module", ["lambdas.constants", "lambdas.environment"])
def test_the_modules_the_stack_imports_need_only_the_standard_library(module: str) -> None:
    # Given a fresh interpreter at the repository root without site-packages (-S), as the CDK app
    # imports these modules at synth time
    code = f"import {module}; print('ok')"

    # When the module is imported / Then nothing beyond the standard library was needed
    assert _run_fresh(code, REPO_ROOT, "-S") == "ok"


def test_importing_the_handlers_needs_no_environment() -> None:
    # Given a fresh interpreter at the repository root with no settings, no region, no credentials
    modules = ", ".join(entry_point.rpartition(".")[0] for entry_point in ENTRY_POINTS)
    code = f"import {modules}; print('ok')"

    # When every handler module is imported / Then nothing is read or built
    assert _run_fresh(code, REPO_ROOT) == "ok"


def _imports(path: Path) -> list[ast.Import | ast.ImportFrom]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in _imports(path):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", RUNTIME_MODULES, ids=lambda p: str(p.relative_to(LAMBDAS_DIR)))
def test_runtime_code_never_imports_infrastructure_or_pipeline_code(path: Path) -> None:
    # Given a runtime module / Then it imports neither CDK nor the infra or pipeline packages
    assert _imported_roots(path).isdisjoint(FORBIDDEN_ROOTS)


@pytest.mark.parametrize("path", RUNTIME_MODULES, ids=lambda p: str(p.relative_to(LAMBDAS_DIR)))
def test_runtime_code_imports_its_siblings_by_their_full_names(path: Path) -> None:
    # Given a runtime module / Then it has no relative import and no bare sibling name
    assert not [node.lineno for node in _imports(path) if isinstance(node, ast.ImportFrom) and node.level]
    assert _imported_roots(path).isdisjoint(BARE_SIBLINGS)


# --- The built asset ---------------------------------------------------------------------------
def test_the_built_asset_holds_the_package_as_its_only_top_level_folder(built_asset: Path) -> None:
    # Then the zip Lambda unpacks into /var/task has lambdas/ and nothing beside it
    assert sorted(entry.name for entry in built_asset.iterdir()) == ["lambdas"]


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_the_built_asset_holds_each_handler_module(built_asset: Path, entry_point: str) -> None:
    # Given the module an entry point names (lambdas/approval/handler.py...)
    module = Path(*entry_point.rpartition(".")[0].split(".")).with_suffix(".py")

    # Then the asset holds it
    assert (built_asset / module).is_file()


def test_the_built_asset_holds_exactly_the_packages_python_source(built_asset: Path) -> None:
    # Given the runtime modules of the repository
    expected = [path.relative_to(REPO_ROOT).as_posix() for path in RUNTIME_MODULES]

    # Then the asset holds those files and nothing else (no README, no bytecode)
    assert _files(built_asset) == expected


@pytest.mark.parametrize("name", NOT_IN_ASSET)
def test_the_built_asset_holds_no_tests_caches_or_other_project_code(built_asset: Path, name: str) -> None:
    # Then no folder or file of that name is anywhere in the asset
    assert not [path for path in built_asset.rglob("*") if path.name == name]
