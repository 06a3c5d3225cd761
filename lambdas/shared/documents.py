"""Walking parsed JSON documents whose shape is not guaranteed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def dig(value: Any, *keys: str) -> Any:
    """Return ``value[k1][k2]...``, or ``None`` as soon as a level is missing or not a mapping.

    Evidence files and API responses are read with this instead of chained ``[]`` so that a
    malformed document yields "missing", which the caller fails closed on, never a KeyError.

    Examples
    --------
    >>> dig({"a": {"b": 1}}, "a", "b")
    1
    >>> dig({"a": [1]}, "a", "b") is None
    True
    """
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
