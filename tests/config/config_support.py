"""Helpers of the config tests: a context with one value changed, and the error it gives."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline_def.config import CDK_JSON, REPO_ROOT, ConfigError, Reader, load_environment

#: The dotted path of the dev environment, as every message names it.
KEY = "cdk.json.context.environments.dev"
#: What ``python -m pipeline_def`` and ``app.py`` import from the repository.
SOURCES = ("app.py", "infra", "lambdas", "pipeline_def")


def changed_data(data: Any, env_name: str, path: str, value: Any = None, *, delete: bool = False) -> Any:
    """A deep copy of a context's data with ``environments.<env>.<path>`` set to ``value`` (or deleted)."""
    data = copy.deepcopy(data)
    node = data["environments"][env_name]
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    if delete:
        del node[last]
    else:
        node[last] = value
    return data


def changed_context(
    context: Reader, env_name: str, path: str, value: Any = None, *, delete: bool = False
) -> Reader:
    """A deep copy of the context with ``environments.<env>.<path>`` set to ``value`` (or deleted)."""
    return Reader(changed_data(dict(context.data), env_name, path, value, delete=delete), context.path)


def error_for(context: Reader, path: str, value: object = None, *, delete: bool = False) -> str:
    """The ConfigError message of loading dev with ``path`` changed."""
    with pytest.raises(ConfigError) as raised:
        load_environment(changed_context(context, "dev", path, value, delete=delete), "dev")
    return str(raised.value)


def project_copy(root: Path, env_name: str, path: str, value: Any) -> Path:
    """The project's Python sources under ``root`` with a cdk.json that has one value changed.

    The entry points read the cdk.json next to their sources, so a subprocess started in
    ``root`` sees the changed file while the repository's own cdk.json stays untouched.
    """
    for name in SOURCES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    cdk_json = json.loads(CDK_JSON.read_text(encoding="utf-8"))
    cdk_json["context"] = changed_data(cdk_json["context"], env_name, path, value)
    (root / "cdk.json").write_text(json.dumps(cdk_json, indent=2), encoding="utf-8")
    return root
