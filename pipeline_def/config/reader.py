"""The one reader of ``cdk.json``: typed access to its ``context``, with every error naming the key.

Every block of an environment declares the keys it knows (``Reader.child(..., keys=...)``), and
a key it does not know fails with its full path and the closest known key, so a typo such as
``network.subnetIDs`` stops synth instead of silently dropping the VPC. The context's own top
level is not checked: besides ``project`` and ``environments`` it holds CDK's feature flags.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: config/ sits two levels below the repository root.
REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = REPO_ROOT / "cdk.json"

_PROJECT = re.compile(r"^[a-z][a-z0-9-]{1,20}[a-z0-9]$")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9]{1,11}$")
_REQUIRED = object()


class ConfigError(ValueError):
    """A configuration value is missing or not allowed; the message names the key."""


def unknown_key_message(path: str, key: str, allowed: Iterable[str]) -> str:
    """``<path>.<key>: unknown key; did you mean <closest>? allowed: <sorted keys>``.

    The closest key is found case-insensitively, so ``subnetIDs`` suggests ``subnetIds``; with
    no close key the message lists the allowed ones only.
    """
    known = sorted(allowed)
    by_lower = {name.lower(): name for name in known}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1)
    hint = f"did you mean {by_lower[close[0]]}? " if close else ""
    return f"{path}.{key}: unknown key; {hint}allowed: {', '.join(known)}"


class Reader:
    """Typed access to one JSON object, remembering its dotted path for error messages.

    With ``keys`` the object may hold only those keys (see :meth:`reject_unknown`), and reading
    a key outside them is a programming error: the declaration and the reads cannot drift apart.
    """

    def __init__(self, data: Any, path: str, *, keys: Iterable[str] | None = None) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected an object, got {type(data).__name__}")
        self.data = data
        self.path = path
        self.keys: frozenset[str] | None = None
        if keys is not None:
            self.reject_unknown(keys)

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        """Fail on the first key (in file order) that is not in ``allowed``; then only read those."""
        known = frozenset(allowed)
        for key in self.data:
            if key not in known:
                raise ConfigError(unknown_key_message(self.path, key, known))
        self.keys = known

    def _get(self, key: str, default: Any) -> Any:
        if self.keys is not None and key not in self.keys:
            raise LookupError(f"{self.path}.{key} is read but not declared; declared: {sorted(self.keys)}")
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            raise ConfigError(f"{self.path}.{key}: missing (required)")
        return default

    def child(self, key: str, *, keys: Iterable[str] | None = None, default: Any = _REQUIRED) -> Reader:
        """The object under ``key``; with ``default`` (for example ``{}``) the block is optional."""
        return Reader(self._get(key, default), f"{self.path}.{key}", keys=keys)

    def str(
        self,
        key: str,
        *,
        pattern: re.Pattern[str] | None = None,
        allowed: tuple[str, ...] = (),
        default: Any = None,
    ) -> str:
        value = self._get(key, _REQUIRED if default is None else default)
        where = f"{self.path}.{key}"
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        if allowed and value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not allowed; allowed: {', '.join(allowed)}")
        if pattern is not None and not pattern.match(value):
            raise ConfigError(f"{where}: {value!r} does not match {pattern.pattern}")
        return value

    def bool(self, key: str, default: Any = None) -> bool:
        value = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.path}.{key}: expected true or false, got {value!r}")
        return value

    def int(self, key: str, *, low: int, high: int, default: Any = None) -> int:
        value = self._get(key, _REQUIRED if default is None else default)
        where = f"{self.path}.{key}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer in [{low}, {high}], got {value!r}")
        if not low <= value <= high:
            raise ConfigError(f"{where}: {value} is outside [{low}, {high}]")
        return value

    def float(self, key: str, *, low: float, high: float, default: Any = None) -> float:
        value = self._get(key, _REQUIRED if default is None else default)
        where = f"{self.path}.{key}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number in [{low}, {high}], got {value!r}")
        if not low <= float(value) <= high:
            raise ConfigError(f"{where}: {value} is outside [{low}, {high}]")
        return float(value)

    def str_list(self, key: str, *, pattern: re.Pattern[str]) -> tuple[str, ...]:
        value = self._get(key, [])
        where = f"{self.path}.{key}"
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        for item in value:
            if not pattern.match(item):
                raise ConfigError(f"{where}: {item!r} does not match {pattern.pattern}")
        return tuple(value)


def read_context(cdk_json: Path = CDK_JSON) -> Reader:
    """The ``context`` object of cdk.json."""
    try:
        data = json.loads(cdk_json.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"{cdk_json}: cannot read ({err})") from err
    return Reader(data, "cdk.json").child("context")


def project_name(context: Reader) -> str:
    return context.str("project", pattern=_PROJECT)


def environment_names(context: Reader) -> tuple[str, ...]:
    return tuple(context.child("environments").data)


def environment(context: Reader, env_name: str) -> Reader:
    """One environment's block; an unknown name lists the known ones.

    Its keys are checked by ``load_environment``, which knows them all.
    """
    environments = context.child("environments")
    if env_name not in environments.data:
        raise ConfigError(
            f"{environments.path}: unknown environment {env_name!r}; allowed: {', '.join(environments.data)}"
        )
    env = environments.child(env_name)
    if not _ENV_NAME.match(env_name):
        raise ConfigError(f"{env.path}: environment name {env_name!r} does not match {_ENV_NAME.pattern}")
    return env
