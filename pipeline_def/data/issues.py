"""Where a problem is and what it is: :class:`Issue` and the :class:`Collector` that counts them.

A file with a million bad cells must still be validated in seconds and reported in a few
lines, so every error is counted but only the first :data:`MAX_REPORTED_ERRORS` are rendered,
and they are reported in file order (the order an editor shows them in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

MAX_REPORTED_ERRORS = 50


@dataclass(frozen=True)
class Issue:
    """One problem: where it is (CSV line, else row index) and what is wrong.

    Printed as ``file:line:column: message`` (``file:row N:column`` for Parquet and frames,
    ``file:schema:column`` for a column-level problem of a typed file).
    """

    source: str
    column: str
    message: str
    line: int | None = None
    row: int | None = None

    def __str__(self) -> str:
        where = (
            str(self.line)
            if self.line is not None
            else f"row {self.row}"
            if self.row is not None
            else "schema"
        )
        return f"{self.source}:{where}:{self.column}: {self.message}"

    @property
    def position(self) -> int:
        """File order: header problems first, then by line or row."""
        if self.line is not None:
            return self.line
        return -1 if self.row is None else self.row


class Positions(Protocol):
    """What a collector needs from a table: its name, whether it is CSV, and row -> issue."""

    name: str
    is_csv: bool

    def issue(self, index: int, column: str, message: str) -> Issue: ...


class _Channel:
    """Counts every issue of one severity and keeps the first ones in file order."""

    def __init__(self) -> None:
        self.count = 0
        self.kept: list[Issue] = []


class Collector:
    """Counts every error (and warning) and keeps enough of them to report the first ones in order.

    ``column_order`` sorts issues on the same line: the order the file's columns are known in.
    """

    def __init__(self, source: Positions, column_order: Iterable[str]) -> None:
        self.source = source
        self._order = {name: i for i, name in enumerate(dict.fromkeys(column_order))}
        self._errors = _Channel()
        self._warnings = _Channel()

    @property
    def count(self) -> int:
        return self._errors.count

    @property
    def warning_count(self) -> int:
        return self._warnings.count

    def header(self, column: str, message: str) -> None:
        """An error about the file's columns (CSV line 1)."""
        self._errors.count += 1
        line = 1 if self.source.is_csv else None
        self._errors.kept.append(Issue(self.source.name, column, message, line=line))

    def lines(self, lines: list[tuple[int, str]]) -> None:
        """Whole-line errors (CSV rows the reader could not split into the header's fields)."""
        self._errors.count += len(lines)
        for line, message in sorted(lines)[:MAX_REPORTED_ERRORS]:
            self._errors.kept.append(Issue(self.source.name, "*", message, line=line))

    def cells(self, mask: np.ndarray, column: str, message: Callable[[int], str]) -> None:
        """Record an error for every row where ``mask`` is true; render only the first ones."""
        self._add(self._errors, mask, column, message)

    def warn(self, mask: np.ndarray, column: str, message: Callable[[int], str]) -> None:
        """Like :meth:`cells`, for problems that do not stop the file (reported, kept as given)."""
        self._add(self._warnings, mask, column, message)

    def _add(self, channel: _Channel, mask: np.ndarray, column: str, message: Callable[[int], str]) -> None:
        indices = np.flatnonzero(mask)
        channel.count += int(indices.size)
        for index in indices[:MAX_REPORTED_ERRORS]:
            channel.kept.append(self.source.issue(int(index), column, message(int(index))))

    def errors(self) -> tuple[Issue, ...]:
        """The first MAX_REPORTED_ERRORS errors by position, then column order."""
        return self._first(self._errors.kept)

    def warnings(self) -> tuple[Issue, ...]:
        return self._first(self._warnings.kept)

    def _first(self, issues: list[Issue]) -> tuple[Issue, ...]:
        def key(issue: Issue) -> tuple[int, int]:
            return issue.position, self._order.get(issue.column.removesuffix("_*"), -1)

        return tuple(sorted(issues, key=key)[:MAX_REPORTED_ERRORS])
