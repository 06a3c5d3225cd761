"""S3 as a folder: ``s3://bucket/key`` lives at ``<root>/bucket/key``.

Jobs see S3 the way SageMaker shows it to containers: an ``S3Prefix`` input copies every object
under the prefix into the container path; an output uploads every file under the container path.

An object is replaced, never rewritten in place (as S3's PutObject replaces it): an uploaded
output is a hard link to the finished job's file, and writing the object again must not change
that file (see :meth:`LocalS3.upload`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse


class LocalS3:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, uri: str) -> Path:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an s3:// URI: {uri!r}")
        return self.root / parsed.netloc / parsed.path.lstrip("/")

    def read_text(self, uri: str) -> str:
        return self.path(uri).read_text(encoding="utf-8")

    def write_text(self, uri: str, text: str) -> None:
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.write_text(text, encoding="utf-8")

    def download(self, uri: str, destination: Path) -> None:
        """Copy an object, or every object under a prefix, into ``destination``."""
        source = self.path(uri)
        destination.mkdir(parents=True, exist_ok=True)
        if source.is_file():
            shutil.copy2(source, destination / source.name)
        elif source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            raise FileNotFoundError(f"no object or prefix at {uri}")

    def upload(self, source: Path, uri: str) -> None:
        """Upload a folder's files under a prefix (a processing output).

        Each object is a hard link to the job's file where the file system allows one, a copy
        elsewhere. The job has ended when its outputs are uploaded and no later step writes into
        its container, so the two never differ; copying was 0.4 s of FraudDataProcess at 500k
        policies (90 MB of splits).
        """
        target = self.path(uri)
        target.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True, copy_function=_link_or_copy)

    def files(self, uri: str) -> list[Path]:
        """Objects under a prefix, in key order."""
        source = self.path(uri)
        if source.is_file():
            return [source]
        return sorted(p for p in source.rglob("*") if p.is_file())

    def exists(self, uri: str) -> bool:
        """An object (not a prefix) at ``uri``: the ingestion job's quarantine checks its copy."""
        return self.path(uri).is_file()

    def delete(self, uri: str) -> None:
        """Delete one object, as S3's DeleteObject does (a missing one is not an error)."""
        self.path(uri).unlink(missing_ok=True)


def _link_or_copy(source: str, target: str) -> None:
    """Replace ``target`` with a hard link to ``source``, or a copy where links are refused."""
    Path(target).unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target)
