"""The ingest loop: concurrent puts, retries with backoff and jitter, rejects, progress, counts.

Every record ends in exactly one of three counts, so ``ingested + rejected + not_sent ==
total`` always holds and nothing disappears silently:

* ``ingested``: the sink accepted it (possibly after retries);
* ``rejected``: refused for good, or still throttled after the last retry; written with its
  error to the rejects file, from which it can be fixed and re-sent;
* ``not_sent``: never attempted because the run stopped (a fatal error such as missing
  credentials or an unknown feature group, or Ctrl-C). Re-running the same files is safe:
  PutRecord with the same record id and event time overwrites.

The run stops instead of grinding through every record when the failure is clearly not about
one record: a fatal error code (access denied, feature group not found), the first
:attr:`Ingester.same_error_limit` records all refused with one error code (a validation error
from a wrong endpoint or a schema mismatch), or a call timing out before any record got in (an
endpoint that accepts connections and never answers). While nothing completes, a heartbeat line
says how long the endpoint has been silent.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from pipeline_def.data.ingest.sinks import (
    Failure,
    Record,
    RecordSink,
    classify,
    error_code,
    is_connection_error,
    is_timeout,
    iter_records,
)
from pipeline_def.schema import FeatureGroupSchema


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").

    Attempt ``n`` (1-based) that fails is followed by a sleep drawn from
    ``[0, min(max_delay, base_delay * 2 ** (n - 1))]``; full jitter spreads the workers'
    retries so they do not hit the throttled service again in lockstep.
    """

    max_attempts: int = 8
    base_delay: float = 0.05
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError(f"invalid retry policy {self}")

    def cap(self, attempt: int) -> float:
        """Upper bound of the sleep after failed attempt ``attempt``."""
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


def full_jitter(cap: float) -> float:
    """A uniform draw in ``[0, cap]``; not security-relevant, so ``random`` is fine."""
    return random.uniform(0.0, cap)  # noqa: S311 - backoff jitter, not cryptography


@dataclass
class Outcome:
    """What happened to one record."""

    index: int
    record: Record
    attempts: int = 0
    ingested: bool = False
    error: BaseException | None = None
    failure: Failure | None = None


@dataclass
class IngestStats:
    """Counts for one feature group (or the sum of several)."""

    total: int = 0
    ingested: int = 0
    retried: int = 0
    rejected: int = 0
    seconds: float = 0.0
    fatal: str | None = None

    @property
    def not_sent(self) -> int:
        """Records never attempted (run stopped); derived, so the three counts always add up."""
        return self.total - self.ingested - self.rejected

    @property
    def records_per_second(self) -> float:
        return self.ingested / self.seconds if self.seconds > 0 else 0.0

    def summary(self, label: str) -> str:
        """The final line the CLI prints per group and in total."""
        return (
            f"{label}: ingested {self.ingested:,} of {self.total:,}, retried {self.retried:,}, "
            f"rejected {self.rejected:,}, not sent {self.not_sent:,} in {self.seconds:.1f}s "
            f"({self.records_per_second:,.0f} records/s)"
        )

    def __add__(self, other: IngestStats) -> IngestStats:
        return IngestStats(
            total=self.total + other.total,
            ingested=self.ingested + other.ingested,
            retried=self.retried + other.retried,
            rejected=self.rejected + other.rejected,
            seconds=self.seconds + other.seconds,
            fatal=self.fatal or other.fatal,
        )


class Progress:
    """A records/s line on stderr: rewritten in place on a terminal, one line per interval in logs."""

    def __init__(self, stream: IO[str] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._interval = 0.5 if self._tty else 10.0
        self._last = -float("inf")

    def update(self, label: str, stats: IngestStats, started: float, *, final: bool = False) -> None:
        """Print a progress line if the interval has passed (always when ``final``)."""
        now = self._clock()
        if not final and now - self._last < self._interval:
            return
        self._last = now
        done = stats.ingested + stats.rejected
        rate = done / max(now - started, 1e-9)
        line = (
            f"{label}: {done:,}/{stats.total:,} records ({rate:,.0f}/s), "
            f"retried {stats.retried:,}, rejected {stats.rejected:,}"
        )
        self._write(line, final=final)

    def waiting(self, label: str, stats: IngestStats, silent_seconds: float) -> None:
        """The heartbeat: nothing completed for ``silent_seconds``; always printed, on its own line."""
        done = stats.ingested + stats.rejected
        line = f"{label}: {done:,}/{stats.total:,} records; no answer for {silent_seconds:.0f} s"
        self._last = self._clock()
        self._write(line, final=True)

    def _write(self, line: str, *, final: bool) -> None:
        if self._tty:
            self._stream.write("\r" + line + ("\n" if final else ""))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()


class RejectsPathError(ValueError):
    """The rejects file cannot be created where asked; raised before anything is sent."""


class RejectsWriter:
    """Writes refused records as JSON lines, with enough context to fix and re-send them.

    :meth:`open` creates the file (and missing folders) before anything is sent, so a folder,
    an existing file or an unwritable place stops the run while nothing has been ingested; an
    existing file is never overwritten. :meth:`close` removes the file and the folders it made
    when no record was rejected (a clean run leaves nothing behind), and only those. Lines are
    flushed one by one, so a crash keeps every reject written so far.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._handle: IO[str] | None = None
        self._created: list[Path] = []

    def open(self) -> None:
        """Create the file now; :class:`RejectsPathError` says why it cannot be."""
        if self.path.is_dir():
            raise RejectsPathError(f"--rejects {self.path}: is a folder; give a file path")
        if self.path.exists():
            raise RejectsPathError(
                f"--rejects {self.path}: already exists (rejects of an earlier run?); move it away or "
                "choose another path: it is never overwritten"
            )
        missing = [p for p in (self.path.parent, *self.path.parent.parents) if not p.exists()]
        try:
            for folder in reversed(missing):
                folder.mkdir()
                self._created.append(folder)
            self._handle = self.path.open("x", encoding="utf-8")
        except OSError as err:
            self._remove_created()
            raise RejectsPathError(
                f"--rejects {self.path}: cannot be created ({err.strerror or err})"
            ) from err
        self._created.append(self.path)

    def write(self, entry: dict[str, Any]) -> None:
        """Append one reject; called from the collecting thread only."""
        if self._handle is None:
            self.open()
        assert self._handle is not None
        self._handle.write(json.dumps(entry, sort_keys=True) + "\n")
        self._handle.flush()
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self.count == 0:
            self._remove_created()

    def _remove_created(self) -> None:
        """Remove what :meth:`open` made, newest first; folders only while still empty."""
        for path in reversed(self._created):
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
            elif path.exists():
                path.unlink()
        self._created = []


@dataclass
class Ingester:
    """Sends validated frames to a :class:`RecordSink` with ``workers`` threads.

    ``sleep`` and ``jitter`` are injectable so tests run without waiting; by default the
    sleep wakes early when the run is stopped (fatal error, Ctrl-C).
    """

    sink: RecordSink
    rejects: RejectsWriter
    workers: int = 4
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], Any] | None = None
    jitter: Callable[[float], float] = full_jitter
    progress: Progress | None = None
    #: Stop when this many records, before any got in, were all refused with one error code.
    same_error_limit: int = 10
    #: Seconds without a finished record after which the heartbeat line is printed.
    heartbeat_seconds: float = 5.0
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _succeeded: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _first_codes: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.same_error_limit < 1 or self.heartbeat_seconds <= 0:
            raise ValueError("same_error_limit must be >= 1 and heartbeat_seconds > 0")

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def ingest(
        self,
        schema: FeatureGroupSchema,
        feature_group_name: str,
        frame: pd.DataFrame,
        *,
        source: str,
        first_line: int | None = 2,
    ) -> IngestStats:
        """Put every row of ``frame``; ``first_line`` maps row 0 to its CSV line (None: row index)."""
        stats = IngestStats(total=len(frame))
        started = time.monotonic()
        context = _Context(schema, feature_group_name, source, first_line)
        try:
            self._run(context, iter_records(schema, frame), stats, started)
        except KeyboardInterrupt:
            self._stop.set()
            stats.fatal = "interrupted (Ctrl-C)"
        stats.seconds = time.monotonic() - started
        if self.progress is not None:
            self.progress.update(schema.name, stats, started, final=True)
        return stats

    def _run(self, context: _Context, records: Iterable[Record], stats: IngestStats, started: float) -> None:
        """Keep at most ``4 * workers`` records in flight; collect outcomes on this thread only."""
        window = 4 * self.workers
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ingest") as pool:
            pending: set[Future[Outcome]] = set()
            try:
                for index, record in enumerate(records):
                    if self._stop.is_set():
                        break
                    pending.add(pool.submit(self._put, context.feature_group_name, index, record))
                    if len(pending) >= window:
                        pending = self._await(pending, context, stats, started, everything=False)
            except KeyboardInterrupt:
                self._stop.set()  # wakes backing-off workers; in-flight puts finish
                raise
            finally:
                if self._stop.is_set():
                    for future in pending:
                        future.cancel()
                self._await(pending, context, stats, started, everything=True)

    def _await(
        self,
        pending: set[Future[Outcome]],
        context: _Context,
        stats: IngestStats,
        started: float,
        *,
        everything: bool,
    ) -> set[Future[Outcome]]:
        """Wait for one (or every) pending put; print the heartbeat while none finishes."""
        silent_since = time.monotonic()
        while pending:
            done, pending = wait(pending, timeout=self.heartbeat_seconds, return_when=FIRST_COMPLETED)
            done = {f for f in done if not f.cancelled()}
            if done:
                self._collect(done, context, stats, started)
                silent_since = time.monotonic()
                if not everything:
                    break
            elif self.progress is not None:
                self.progress.waiting(context.schema.name, stats, time.monotonic() - silent_since)
        return pending

    def _put(self, feature_group_name: str, index: int, record: Record) -> Outcome:
        """One record with retries; runs on a worker thread and touches no shared counters."""
        outcome = Outcome(index, record)
        while not self._stop.is_set():
            outcome.attempts += 1
            try:
                self.sink.put_record(feature_group_name, record)
            except Exception as error:  # noqa: BLE001 - classified below; unknown errors reject the record
                outcome.error, outcome.failure = error, classify(error)
            else:
                outcome.ingested, outcome.error, outcome.failure = True, None, None
                self._succeeded.set()
                return outcome
            if is_timeout(outcome.error) and (not self._succeeded.is_set() or outcome.attempts >= 2):
                # silent before anything got in: every record would wait as long; later, one retry
                outcome.failure = Failure.FATAL
            if outcome.failure is Failure.FATAL:
                self._stop.set()
                return outcome
            if outcome.failure is Failure.REJECT or outcome.attempts >= self.policy.max_attempts:
                if is_connection_error(outcome.error):
                    outcome.failure = Failure.FATAL  # endpoint unreachable: every record would fail
                    self._stop.set()
                else:
                    outcome.failure = Failure.REJECT
                return outcome
            self._wait(self.jitter(self.policy.cap(outcome.attempts)))
        return outcome

    def _wait(self, seconds: float) -> None:
        """Back off; the default wait ends early when the run is stopped."""
        if self.sleep is not None:
            self.sleep(seconds)
        else:
            self._stop.wait(seconds)

    def _collect(
        self, done: Iterable[Future[Outcome]], context: _Context, stats: IngestStats, started: float
    ) -> None:
        """Fold finished outcomes into the counts and the rejects file (main thread only)."""
        for future in done:
            outcome = future.result()
            stats.retried += max(outcome.attempts - 1, 0)
            if outcome.ingested:
                stats.ingested += 1
            elif outcome.failure is Failure.REJECT:
                stats.rejected += 1
                self.rejects.write(context.reject_entry(outcome))
                self._watch_first_failures(outcome, stats)
            elif outcome.failure is Failure.FATAL and stats.fatal is None:
                stats.fatal = _fatal_reason(outcome.error)
        if self.progress is not None:
            self.progress.update(context.schema.name, stats, started)

    def _watch_first_failures(self, outcome: Outcome, stats: IngestStats) -> None:
        """Stop when the first records, before any success, all failed with the same error code."""
        if self._succeeded.is_set() or self._stop.is_set() or outcome.error is None:
            return
        self._first_codes.append(error_code(outcome.error))
        codes = set(self._first_codes)
        if len(self._first_codes) >= self.same_error_limit and len(codes) == 1:
            self._stop.set()
            stats.fatal = (
                f"the first {len(self._first_codes)} records all failed with {codes.pop()}: {outcome.error} "
                "(every record would; check the endpoint, the feature group and its schema)"
            )


def _fatal_reason(error: BaseException | None) -> str:
    """The stop message: what failed and, for a silent endpoint, what that means."""
    if error is None:
        return "stopped"
    if is_timeout(error):
        return f"no answer within the per-call timeout ({error}); is the endpoint right and reachable?"
    return f"{error_code(error)}: {error}"


@dataclass(frozen=True)
class _Context:
    """What a reject entry needs to point back at the input."""

    schema: FeatureGroupSchema
    feature_group_name: str
    source: str
    first_line: int | None

    def reject_entry(self, outcome: Outcome) -> dict[str, Any]:
        """A JSON-ready reject: where it came from, why it failed, and the full record to re-send."""
        values = {item["FeatureName"]: item["ValueAsString"] for item in outcome.record}
        line = None if self.first_line is None else outcome.index + self.first_line
        return {
            "feature_group": self.feature_group_name,
            "source": self.source,
            "line": line,
            "row": outcome.index,
            "record_id": values.get(self.schema.record_identifier),
            "event_time": values.get(self.schema.event_time),
            "error_code": error_code(outcome.error) if outcome.error else None,
            "error": str(outcome.error),
            "attempts": outcome.attempts,
            "record": values,
        }
