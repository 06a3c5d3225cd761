"""Write the bytecode pytest loads for the test modules, as pytest itself would write it.

Why: pytest rewrites the asserts of every test module and conftest before it runs them, and
caches the result beside them (``__pycache__/*.cpython-311-pytest-9.2.0.pyc``) only when Python
may write bytecode. With ``PYTHONDONTWRITEBYTECODE`` set, as on this project's machines, each
xdist worker rewrote all of them again in every session: 1.6 to 2.1 s of each worker's
collection (``--collect-only``, three runs each way, in turn: 8.8 to 9.7 s without the files,
7.3 to 7.6 s with them). ``make test`` runs this first; pytest checks each file against its
source's hash and rewrites any that is stale.

It calls pytest's own rewriting (``_pytest.assertion.rewrite``, private: pytest is pinned in
constraints.txt, and a version that renames it fails here loudly, not silently slower).
"""

from __future__ import annotations

import fnmatch
import os
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

from _pytest.assertion import rewrite

ROOT = Path(__file__).resolve().parents[1]
#: pytest's default ``python_files``, which pyproject.toml keeps, and the conftest files.
PATTERNS = ("test_*.py", "*_test.py", "conftest.py")
#: The strings pytest's boolean ini options take as true.
TRUE_STRINGS = frozenset({"y", "yes", "t", "true", "on", "1"})


class IniOptions:
    """The one ini option the rewriting reads (``enable_assertion_pass_hook``), from pyproject.toml."""

    def __init__(self, pyproject: Path) -> None:
        tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        self.options = tool.get("pytest", {}).get("ini_options", {})

    def getini(self, name: str) -> bool:
        """As pytest reads a boolean option: TOML's true/false, or a string such as "true" or "0"."""
        value = self.options.get(name, False)
        return value.strip().lower() in TRUE_STRINGS if isinstance(value, str) else bool(value)


def sources_to_rewrite(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*.py")):
        if any(fnmatch.fnmatch(path.name, pattern) for pattern in PATTERNS):
            yield path


def write_rewritten(source: Path, ini: IniOptions) -> bool:
    """Write ``source``'s rewritten bytecode unless a current one is there; True if written."""
    cache = rewrite.get_cache_dir(source) / (source.name[:-3] + rewrite.PYC_TAIL)
    if rewrite._read_pyc(source, cache) is not None:
        return False
    source_hash, code = rewrite._rewrite_test(source, ini)  # type: ignore[arg-type]
    cache.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            rewrite._write_pyc_fp(stream, source_hash, code)
        os.replace(temporary, cache)
    except BaseException:
        os.unlink(temporary)
        raise
    return True


def write_all(sources: Iterable[Path], ini: IniOptions) -> int:
    """Write what is missing or stale; what cannot be written is left to pytest, which rewrites it."""
    written = 0
    for source in sources:
        try:
            written += write_rewritten(source, ini)
        except SyntaxError as err:
            print(f"{source}:{err.lineno}: not rewritten ({err.msg}); pytest reports it", file=sys.stderr)
        except OSError as err:  # a read-only checkout, a full disk: pytest rewrites it, as it would
            print(f"{source}: not rewritten ({err})", file=sys.stderr)
    return written


def main() -> int:
    written = write_all(sources_to_rewrite(ROOT / "tests"), IniOptions(ROOT / "pyproject.toml"))
    if written:
        print(f"rewrote the asserts of {written} test modules for pytest", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
