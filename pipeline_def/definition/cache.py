"""Rendered definitions kept on disk, keyed by everything their text depends on.

Why: a render needs the SageMaker SDK, and importing it is about 2 s of CPU in every synth,
every local run and ``make definitions``; ``make run`` starts all three at once. A definition
is a pure function of its request (settings and the scripts' digest), this package's source and
the installed SDK and botocore (the builder's session is offline and ignores the user's SDK
config), so a render whose key was seen before is read back instead of rendered again.

An entry records its key and the SHA-256 of its text; one that does not match is never used
(it is rendered again and replaced). Entries are written atomically, so processes rendering the
same definition at once cannot leave half a file. The folder keeps the :data:`MAX_ENTRIES`
most recently used (a hit renews an entry's time); pruning deletes only files named like an
entry (64 hex digits), and the temporary files of writers killed mid-write once they are
:data:`STALE_TEMPORARY_SECONDS` old.

``PIPELINE_DEF_CACHE`` names another folder, or ``off`` to render every time.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = PACKAGE_ROOT.parent / ".cache" / "definitions"
ENVIRONMENT_VARIABLE = "PIPELINE_DEF_CACHE"
#: The distributions whose code shapes a definition's text.
KEY_DISTRIBUTIONS = ("sagemaker", "sagemaker-core", "boto3", "botocore")
#: The package's files that can shape it (tool caches and editor files beside them cannot).
SOURCE_SUFFIXES = (".py", ".toml", ".json")
SUFFIX = ".definition.json"
MAX_ENTRIES = 256
#: A temporary file this old belongs to no writer still running (a write takes milliseconds).
STALE_TEMPORARY_SECONDS = 3600.0
_ENTRY_NAME = re.compile(rf"^[0-9a-f]{{64}}{re.escape(SUFFIX)}$")
_TEMPORARY_GLOB = ".*.tmp"


def canonical(value: Any) -> Any:
    """JSON-ready and independent of hash order; an unknown type is an error, never a guess."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__type__": f"{type(value).__module__}.{type(value).__qualname__}", **fields}
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, Mapping):
        return {"__mapping__": sorted([str(k), canonical(v)] for k, v in value.items())}
    if isinstance(value, (frozenset, set)):
        return {"__set__": sorted(json.dumps(canonical(v), sort_keys=True) for v in value)}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot key a definition on a {type(value).__name__}: {value!r}")


@functools.lru_cache(maxsize=4)
def code_fingerprint(root: Path = PACKAGE_ROOT) -> str:
    """The files of the package at ``root`` and the versions of what renders with it (once per process)."""
    digest = hashlib.sha256(f"python {sys.version_info[:2]}\0".encode())
    for name in KEY_DISTRIBUTIONS:
        digest.update(f"{name} {metadata.version(name)}\0".encode())
    for parts in _source_files(root):
        digest.update("/".join(parts).encode() + b"\0")
        with open(os.path.join(root, *parts), "rb") as source:
            digest.update(source.read() + b"\0")
    return digest.hexdigest()


def _source_files(root: Path) -> list[tuple[str, ...]]:
    """Paths (as parts) of the package's source files, in ``Path`` order, skipping caches and dot-names.

    Why not ``rglob``: each write to the cache reads the package again (``_sources_changed``),
    and pathlib's per-file objects were most of that read's time.
    """
    found: list[tuple[str, ...]] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name != "__pycache__" and not name.startswith(".")]
        relative = os.path.relpath(folder, root)
        prefix = () if relative == os.curdir else tuple(relative.split(os.sep))
        found.extend(
            (*prefix, name)
            for name in files
            if not name.startswith(".") and os.path.splitext(name)[1] in SOURCE_SUFFIXES
        )
    return sorted(found)


@dataclasses.dataclass(frozen=True)
class DefinitionCache:
    """A folder of rendered definitions; ``folder=None`` keeps nothing."""

    folder: Path | None

    @classmethod
    def from_environment(cls) -> DefinitionCache:
        setting = os.environ.get(ENVIRONMENT_VARIABLE, "")
        if setting.lower() == "off":
            return cls(None)
        return cls(Path(setting) if setting else DEFAULT_FOLDER)

    @classmethod
    def off(cls) -> DefinitionCache:
        return cls(None)

    def key(self, kind: str, args: tuple[Any, ...], digest: str) -> str | None:
        """None when the key cannot be made (an unreadable file, a missing distribution): a miss."""
        if self.folder is None:
            return None
        try:
            request = json.dumps([kind, canonical(args), digest], sort_keys=True)
            fingerprint = code_fingerprint()
        except (OSError, TypeError, metadata.PackageNotFoundError) as err:
            print(f"warning: definition cache: no key, rendering ({err})", file=sys.stderr)
            return None
        return hashlib.sha256(f"{fingerprint}\0{request}".encode()).hexdigest()

    def get(self, key: str | None) -> str | None:
        """The text stored under ``key``; None when absent, unreadable or not what was stored."""
        if self.folder is None or key is None:
            return None
        try:
            entry = json.loads((self.folder / f"{key}{SUFFIX}").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        text = entry.get("text") if isinstance(entry, dict) else None
        if not isinstance(text, str) or entry.get("key") != key or entry.get("sha256") != _sha256(text):
            return None
        self._renew(key)
        return text

    def _renew(self, key: str) -> None:
        """Mark the entry used now, so pruning goes by last use; a read-only folder keeps its times."""
        assert self.folder is not None
        try:
            os.utime(self.folder / f"{key}{SUFFIX}")
        except OSError as err:
            print(f"warning: definition cache {self.folder}: {err}", file=sys.stderr)

    def put(self, key: str | None, text: str) -> None:
        """Store atomically; a folder that cannot be written only costs the next render."""
        if self.folder is None or key is None:
            return
        if _sources_changed():
            message = f"{PACKAGE_ROOT} changed during the render; not kept"
            print(f"warning: definition cache: {message}", file=sys.stderr)
            return
        entry = json.dumps({"key": key, "sha256": _sha256(text), "text": text})
        temporary: Path | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            temporary = Path(name)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(entry)
            os.replace(temporary, self.folder / f"{key}{SUFFIX}")
            temporary = None
            self._prune()
        except OSError as err:
            print(f"warning: definition cache {self.folder}: {err}", file=sys.stderr)
        finally:
            if temporary is not None:
                temporary.unlink(missing_ok=True)

    def _prune(self) -> None:
        assert self.folder is not None
        entries = [path for path in self.folder.glob(f"*{SUFFIX}") if _ENTRY_NAME.match(path.name)]
        if len(entries) > MAX_ENTRIES:  # the times are read only when some must go
            entries.sort(key=_modified, reverse=True)
            for stale in entries[MAX_ENTRIES:]:
                stale.unlink(missing_ok=True)
        abandoned_before = time.time() - STALE_TEMPORARY_SECONDS
        for temporary in self.folder.glob(_TEMPORARY_GLOB):
            if _modified(temporary) < abandoned_before:
                temporary.unlink(missing_ok=True)


def _sources_changed() -> bool:
    """Whether the package differs from what the keys were made of (read again now).

    Why: the key is made before the render, so a file saved during it could pair the old key
    with text rendered from the new file, served again once the file is reverted.
    """
    try:
        return code_fingerprint.__wrapped__() != code_fingerprint()
    except (OSError, metadata.PackageNotFoundError):
        return True


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned by another process meanwhile
        return 0.0
