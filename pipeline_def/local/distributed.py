"""A training job on several instances, as the built-in XGBoost container runs it: distributed.

Each host is a process of its own that reads only its channel files (its shard of a
``ShardedByS3Key`` channel, all of a ``FullyReplicated`` one) and joins XGBoost's collective
through a tracker on 127.0.0.1; the hosts build each tree together (histograms are summed over
the hosts) and end with the same model, which rank 0 returns. Its output goes to
``<job folder>/algo-N.log``, as each instance's log stream would.

The processes are spawned once per tuning step (:class:`Cluster`) and reused by its training
jobs: spawning re-imports xgboost, a second per host.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from xgboost import collective
from xgboost.tracker import RabitTracker

#: A host that has not finished its share within this long has hung (the tracker waits for all).
TRACKER_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class HostTask:
    """What one host of one training job needs: all plain data, so it pickles to the process."""

    tracker: Mapping[str, Any]
    params: Mapping[str, Any]
    num_round: int
    early_stopping_rounds: int | None
    channels: Mapping[str, Sequence[str]]
    log: str


def read_csv_files(files: Sequence[str | Path]) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of label-first, header-less CSV files, in the order given."""
    frame = pd.concat([pd.read_csv(f, header=None) for f in files], ignore_index=True)
    values = frame.to_numpy(dtype=np.float32)
    return values[:, 1:], values[:, 0]


def _redirect_output(log: str) -> None:
    """The host's stdout and stderr (the library's own lines included) into its log file."""
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)


def train_host(task: HostTask) -> tuple[int, bytes, str]:
    """One host's part of a training job: returns its rank, the model and the last evaluation."""
    _redirect_output(task.log)
    with collective.CommunicatorContext(**task.tracker):
        train = xgb.DMatrix(*read_csv_files(task.channels["train"]))
        validation = xgb.DMatrix(*read_csv_files(task.channels["validation"]))
        booster = xgb.train(
            dict(task.params),
            train,
            num_boost_round=task.num_round,
            evals=[(validation, "validation")],
            early_stopping_rounds=task.early_stopping_rounds,
            verbose_eval=False,
        )
        return collective.get_rank(), bytes(booster.save_raw("json")), booster.eval(validation, "validation")


class Cluster:
    """``hosts`` processes that train one job at a time together."""

    def __init__(self, hosts: int) -> None:
        self.hosts = hosts
        self._pool = multiprocessing.get_context("spawn").Pool(hosts)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self._pool.close()
        else:
            self._pool.terminate()
        self._pool.join()

    def train(
        self,
        params: Mapping[str, Any],
        *,
        num_round: int,
        early_stopping_rounds: int | None,
        host_channels: Sequence[Mapping[str, Sequence[Path]]],
        job_dir: Path,
    ) -> tuple[xgb.Booster, str]:
        """One training job over the hosts; the model and rank 0's last validation line."""
        tracker = RabitTracker(n_workers=self.hosts, host_ip="127.0.0.1")
        tracker.start()
        tasks = [
            HostTask(
                tracker=tracker.worker_args(),
                params=params,
                num_round=num_round,
                early_stopping_rounds=early_stopping_rounds,
                channels={name: [str(f) for f in files] for name, files in channels.items()},
                log=str(job_dir / f"algo-{host + 1}.log"),
            )
            for host, channels in enumerate(host_channels)
        ]
        results = self._pool.map(train_host, tasks)
        tracker.wait_for(TRACKER_TIMEOUT_SECONDS)
        _, raw, evaluation = min(results)
        booster = xgb.Booster()
        booster.load_model(bytearray(raw))
        return booster, evaluation
