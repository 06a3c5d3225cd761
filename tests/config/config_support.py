"""Helpers of the config tests: a context with one value changed."""

from __future__ import annotations

import copy
from typing import Any

from pipeline_def.config.settings import Reader


def changed_context(
    context: Reader, env_name: str, path: str, value: Any = None, *, delete: bool = False
) -> Reader:
    """A deep copy of the context with ``environments.<env>.<path>`` set to ``value`` (or deleted)."""
    data = copy.deepcopy(dict(context.data))
    node = data["environments"][env_name]
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    if delete:
        del node[last]
    else:
        node[last] = value
    return Reader(data, context.path)
