"""Across the two files: policies present in only one, and how many rows the training join keeps.

The dataset query joins the latest claims record and the latest customers record of each
policy (``scripts/preprocess.py``), so a policy in only one file, and every older version of a
record, silently never reaches training. This module counts both before anything is written:
unmatched policies are an error (first examples at file:line) unless the caller allows them,
and the counts go to the CLI's output and the local run's ``run.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline_def.data.issues import Issue
from pipeline_def.data.validation import ValidationReport
from pipeline_def.schema import RECORD_ID

#: Unmatched records shown per file; the count covers all of them.
EXAMPLES = 5


@dataclass(frozen=True)
class FileRows:
    """One file's rows: read, whose policy the other file lacks, and older versions of a policy."""

    source: str
    read: int
    unmatched: int
    superseded: int

    @property
    def dropped(self) -> int:
        return self.unmatched + self.superseded


@dataclass(frozen=True)
class RowCounts:
    """What the point-in-time join will do with the two files (``joined`` = policies in both)."""

    claims: FileRows
    customers: FileRows
    joined: int
    unmatched_policies: dict[str, int]
    examples: tuple[Issue, ...]

    @property
    def matched(self) -> bool:
        return not any(self.unmatched_policies.values())

    def as_json(self) -> dict[str, object]:
        """The ``rows`` block of ``run.json``."""
        files = {name: vars(rows) | {"dropped": rows.dropped} for name, rows in self._files().items()}
        return {**files, "joined": self.joined}

    def _files(self) -> dict[str, FileRows]:
        return {"claims": self.claims, "customers": self.customers}

    def summary(self) -> str:
        """One line: rows read, joined, dropped and why."""
        c, u = self.claims, self.customers
        return (
            f"rows: {c.read:,} claims and {u.read:,} customers read; {self.joined:,} policies joined; "
            f"dropped {c.dropped:,} claims and {u.dropped:,} customers rows "
            f"({c.unmatched + u.unmatched:,} without a partner, "
            f"{c.superseded + u.superseded:,} older versions)"
        )

    def unmatched_message(self) -> str:
        """Why the files are refused, and how to accept them anyway."""
        c, u = self.unmatched_policies["claims"], self.unmatched_policies["customers"]
        return (
            f"{c:,} {_policies(c)} in {self.claims.source} {_have(c)} no customers record and "
            f"{u:,} in {self.customers.source} {_have(u)} no claims record; the training join would "
            f"drop their {self.claims.unmatched + self.customers.unmatched:,} rows. Nothing was written; "
            "pass --allow-unmatched to ingest them anyway"
        )


def _policies(count: int) -> str:
    return "policy" if count == 1 else "policies"


def _have(count: int) -> str:
    return "has" if count == 1 else "have"


def _ids(report: ValidationReport) -> np.ndarray:
    return report.raise_if_invalid()[RECORD_ID].to_numpy()


def _examples(report: ValidationReport, ids: np.ndarray, lonely: np.ndarray, other: str) -> list[Issue]:
    """The first unmatched rows of a file, at their CSV line (or row index)."""
    issues = []
    for row in np.flatnonzero(np.isin(ids, lonely))[:EXAMPLES]:
        message = f"{RECORD_ID} {int(ids[row])} has no record in {other}"
        if report.lines is not None:
            issues.append(Issue(report.source_name, RECORD_ID, message, line=int(report.lines[row])))
        else:
            issues.append(Issue(report.source_name, RECORD_ID, message, row=int(row)))
    return issues


def count_rows(claims: ValidationReport, customers: ValidationReport) -> RowCounts:
    """Match two valid reports on the record id; the first examples of each side are kept."""
    claim_ids, customer_ids = _ids(claims), _ids(customers)
    claim_set, customer_set = np.unique(claim_ids), np.unique(customer_ids)
    both = np.intersect1d(claim_set, customer_set, assume_unique=True)
    only_claims = np.setdiff1d(claim_set, both, assume_unique=True)
    only_customers = np.setdiff1d(customer_set, both, assume_unique=True)

    def rows(report: ValidationReport, ids: np.ndarray) -> FileRows:
        # every row of an unmatched policy is dropped; of a matched one, all but the latest
        in_both = int(np.isin(ids, both).sum())
        return FileRows(report.source_name, len(ids), len(ids) - in_both, in_both - len(both))

    return RowCounts(
        claims=rows(claims, claim_ids),
        customers=rows(customers, customer_ids),
        joined=len(both),
        unmatched_policies={"claims": len(only_claims), "customers": len(only_customers)},
        examples=(
            *_examples(claims, claim_ids, only_claims, customers.source_name),
            *_examples(customers, customer_ids, only_customers, claims.source_name),
        ),
    )
