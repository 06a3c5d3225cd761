"""Across the two files: policies in only one of them, and the rows the training join keeps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline_def.data.integrity import EXAMPLES, count_rows
from pipeline_def.data.validation import ValidationReport, validate
from pipeline_def.schema import CLAIMS, CUSTOMERS
from tests.data.data_fixtures import NOW, edit_csv, frames, replace_lines, write_csvs


def reports(claims: Path | pd.DataFrame, customers: Path | pd.DataFrame) -> tuple[ValidationReport, ...]:
    """Both files validated against the same clock."""
    return validate(CLAIMS, claims, now=NOW), validate(CUSTOMERS, customers, now=NOW)


def test_files_with_the_same_policies_join_every_row(tmp_path: Path) -> None:
    counts = count_rows(*reports(*write_csvs(tmp_path, rows=50)))
    assert counts.matched
    assert (counts.joined, counts.claims.dropped, counts.customers.dropped) == (50, 0, 0)


def test_policies_in_one_file_only_are_counted_per_side(tmp_path: Path) -> None:
    # Given customers without policies 1-3 and claims without policy 50
    claims, customers = write_csvs(tmp_path, rows=50)
    replace_lines(customers, {2: [], 3: [], 4: []})
    replace_lines(claims, {51: []})
    # When counted
    counts = count_rows(*reports(claims, customers))
    # Then each side's lonely policies and the joined rest are known
    assert counts.unmatched_policies == {"claims": 3, "customers": 1}
    assert (counts.claims.unmatched, counts.customers.unmatched, counts.joined) == (3, 1, 46)
    assert not counts.matched


def _examples_of_10_unmatched(tmp_path: Path) -> tuple[list[str], Path, Path]:
    """The examples counted when customers lacks policies 1-10: (examples, claims, customers)."""
    claims, customers = write_csvs(tmp_path, rows=50)
    replace_lines(customers, {line: [] for line in range(2, 12)})  # policies 1-10
    counts = count_rows(*reports(claims, customers))
    return [str(e) for e in counts.examples], claims, customers


def test_examples_point_at_the_unmatched_lines(tmp_path: Path) -> None:
    # Given claims of 10 policies without a customers record / When counted
    examples, claims, customers = _examples_of_10_unmatched(tmp_path)
    # Then the first examples name the claims' file:line and the other file
    assert examples[:2] == [
        f"{claims}:2:policy_id: policy_id 1 has no record in {customers}",
        f"{claims}:3:policy_id: policy_id 2 has no record in {customers}",
    ]


def test_examples_are_capped(tmp_path: Path) -> None:
    # Given claims of 10 policies without a customers record / When counted
    examples, _, _ = _examples_of_10_unmatched(tmp_path)
    # Then only the first EXAMPLES are kept
    assert len(examples) == EXAMPLES


def test_older_versions_of_a_policy_are_dropped_by_the_join_and_counted(tmp_path: Path) -> None:
    # Given policy 1's claim twice (an older version on line 3)
    claims, customers = write_csvs(tmp_path, rows=20)
    edit_csv(claims, {(3, "policy_id"): "1"})
    replace_lines(customers, {3: []})  # policy 2 is now nowhere
    counts = count_rows(*reports(claims, customers))
    assert (counts.claims.read, counts.claims.superseded, counts.joined) == (20, 1, 19)
    assert counts.claims.dropped == 1


def test_frames_are_pointed_at_by_row_index() -> None:
    claims, customers = frames(10)
    counts = count_rows(*reports(claims, customers.iloc[1:]))
    assert [str(e) for e in counts.examples] == [
        "<frame>:row 0:policy_id: policy_id 1 has no record in <frame>"
    ]


def test_run_json_block_has_read_joined_and_dropped(tmp_path: Path) -> None:
    counts = count_rows(*reports(*write_csvs(tmp_path, rows=5)))
    block = counts.as_json()
    assert block["joined"] == 5
    assert block["claims"] == {
        "source": str(tmp_path / "claims.csv"),
        "read": 5,
        "unmatched": 0,
        "superseded": 0,
        "dropped": 0,
    }
