"""Local S3: an uploaded output is the job's file, and an object is replaced, never edited in place."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from pipeline_def.local import storage
from pipeline_def.local.storage import LocalS3

PREFIX = "s3://bucket/jobs/output"


def _job_output(root: Path, text: str) -> Path:
    folder = root / "container" / "output"
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "train.csv").write_text(text)
    return folder


def test_an_uploaded_output_holds_what_the_job_wrote(tmp_path: Path) -> None:
    # Given a finished job's output folder
    s3 = LocalS3(tmp_path / "s3")
    output = _job_output(tmp_path, "1,2\n")
    # When it is uploaded
    s3.upload(output, PREFIX)
    # Then the object holds the job's bytes, as a link to the job's file on this file system
    uploaded = s3.path(f"{PREFIX}/train/train.csv")
    assert uploaded.read_text() == "1,2\n"
    assert os.path.samefile(uploaded, output / "train" / "train.csv")


def test_writing_an_uploaded_object_again_leaves_the_jobs_file_as_it_was(tmp_path: Path) -> None:
    # Given an uploaded output
    s3 = LocalS3(tmp_path / "s3")
    output = _job_output(tmp_path, "job's rows\n")
    s3.upload(output, PREFIX)
    # When the object is written again
    s3.write_text(f"{PREFIX}/train/train.csv", "new object\n")
    # Then the object changed and the job's file did not
    assert s3.read_text(f"{PREFIX}/train/train.csv") == "new object\n"
    assert (output / "train" / "train.csv").read_text() == "job's rows\n"


def test_a_second_upload_replaces_the_object_and_keeps_the_first_jobs_file(tmp_path: Path) -> None:
    # Given an object uploaded from one job
    s3 = LocalS3(tmp_path / "s3")
    first = _job_output(tmp_path / "first", "first\n")
    s3.upload(first, PREFIX)
    # When another job uploads to the same key
    second = _job_output(tmp_path / "second", "second\n")
    s3.upload(second, PREFIX)
    # Then the object is the second job's and the first job's file is untouched
    assert s3.read_text(f"{PREFIX}/train/train.csv") == "second\n"
    assert (first / "train" / "train.csv").read_text() == "first\n"


def test_where_links_are_refused_the_output_is_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a file system that refuses hard links between the job's folder and S3's
    def refuse(source: str, target: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(storage.os, "link", refuse)
    s3 = LocalS3(tmp_path / "s3")
    output = _job_output(tmp_path, "copied\n")
    # When the output is uploaded
    s3.upload(output, PREFIX)
    # Then the object is a copy with the same bytes
    uploaded = s3.path(f"{PREFIX}/train/train.csv")
    assert uploaded.read_text() == "copied\n"
    assert not os.path.samefile(uploaded, output / "train" / "train.csv")
