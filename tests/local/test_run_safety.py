"""The local run's edges: arguments checked before any write, the workdir lock, inputs inside the
workdir, SIGTERM, failure-first summaries and a malformed run.json (issue 15, local run safety)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipeline_def.local import __main__ as cli
from pipeline_def.local.jobs import PROJECT_ROOT
from pipeline_def.local.run import LocalRun, RunOptions, _lock_path
from pipeline_def.local.stopping import descendants

pytestmark = pytest.mark.long_module(20)


def _run(workdir: Path, *extra: str) -> int:
    return cli.main(["run", "--workdir", str(workdir), "--quiet", *extra])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rows", "0"], "--rows must be in"),
        (["--rows", "-5"], "--rows must be in"),
        (["--seed", "-1"], "--seed must be 0 or more"),
        (["--signal", "2"], "--signal must be in [0, 1]"),
        (["--param", "MinAuc=abc"], "parameter MinAuc: 'abc' is not a valid Float"),
        (["--param", "NoSuch=1"], "unknown parameter(s) NoSuch"),
    ],
)
def test_a_bad_argument_is_one_line_and_touches_nothing(tmp_path, capsys, extra, message):
    # Given an earlier run's folder with a file in it
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / ".fraud-local-run").write_text("x")
    (workdir / "earlier.txt").write_text("kept")
    # When the run is started with a bad argument
    code = _run(workdir, *extra)
    err = capsys.readouterr().err
    # Then it exits 2 with one error line and the folder is untouched
    assert code == 2
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1
    assert (workdir / "earlier.txt").read_text() == "kept"


def test_a_bad_argument_does_not_create_the_workdir(tmp_path, capsys):
    # When a new folder is named with a bad --rows
    code = _run(tmp_path / "new", "--rows", "0")
    # Then nothing is created
    assert code == 2
    assert not (tmp_path / "new").exists()
    assert "Traceback" not in capsys.readouterr().err


def test_a_workdir_that_is_a_file_is_refused(tmp_path, capsys):
    # Given a file where the workdir should be
    target = tmp_path / "file"
    target.write_text("data")
    # When it is given as --workdir
    code = _run(target, "--rows", "300")
    # Then exit 2, one line, the file unchanged
    assert code == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "data"


def test_inputs_inside_the_workdir_are_refused_before_anything_is_wiped(tmp_path, capsys):
    # Given input files inside an earlier run's folder
    workdir = tmp_path / "run"
    (workdir / "data").mkdir(parents=True)
    (workdir / ".fraud-local-run").write_text("x")
    for name in ("claims.csv", "customers.csv"):
        (workdir / "data" / name).write_text("header\n")
    # When they are given as --claims/--customers with that --workdir
    code = _run(
        workdir,
        "--claims",
        str(workdir / "data/claims.csv"),
        "--customers",
        str(workdir / "data/customers.csv"),
    )
    # Then the run refuses and says so, and the files survive
    assert code == 2
    assert "inside --workdir" in capsys.readouterr().err
    assert (workdir / "data" / "claims.csv").exists()


def test_a_second_run_on_a_locked_workdir_is_refused_naming_the_pid(tmp_path, capsys):
    # Given a lock held by a live process
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        workdir = tmp_path / "run"
        _lock_path(workdir).write_text(f"{holder.pid}\n")
        # When a run is started on the same folder
        code = _run(workdir, "--rows", "300")
        # Then it is refused naming the PID, and the folder is not created
        assert code == 2
        assert f"PID {holder.pid}" in capsys.readouterr().err
        assert not workdir.exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over_with_a_notice(tmp_path, capsys):
    # Given a lock whose process has ended
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    workdir = tmp_path / "run"
    _lock_path(workdir).write_text(f"{dead.pid}\n")
    # When a run is started on that folder
    code = _run(workdir, "--rows", "300", "--param", "MinAuc=0.1")
    # Then the stale lock is taken over with a notice and released at the end
    assert code in (0, 1)
    assert "taking over the stale lock" in capsys.readouterr().err
    assert not _lock_path(workdir).exists()


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _job_running_in(workdir: Path, pid: int) -> bool:
    """A process below ``pid`` writes its output into ``workdir``: a job, logging to its job.log."""
    for child in descendants(pid):
        try:
            if str(workdir) in os.readlink(f"/proc/{child}/fd/1"):
                return True
        except OSError:
            continue
    return False


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_sigterm_during_a_job_stops_every_child_and_leaves_a_stopped_run_json(tmp_path):
    # Given a run with a job at work in its folder
    workdir = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline_def.local",
            "run",
            "--rows",
            "20000",
            "--workdir",
            str(workdir),
            "--quiet",
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while not _job_running_in(workdir, proc.pid) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        helpers = descendants(proc.pid)
        assert _job_running_in(workdir, proc.pid), "no job started"
        # When it is sent SIGTERM
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Then it exits 143 without a traceback, run.json names the step, and no child is left
    assert proc.returncode == 128 + signal.SIGTERM
    assert b"Traceback" not in err
    assert f"{workdir / 'run.json'} says Stopped".encode() in err
    summary = json.loads((workdir / "run.json").read_text())
    assert summary["status"] == "Stopped"
    assert summary["failure_reason"].startswith("stopped by SIGTERM during step ")
    time.sleep(0.5)
    assert [pid for pid in helpers if _alive(pid)] == []
    assert _processes_mentioning(str(workdir)) == []


def _earlier_run_then_stopped(
    tmp_path: Path, script: str, *arguments: str, **env: str
) -> tuple[Path, subprocess.CompletedProcess]:
    """An earlier run's folder, then a run on it that ``script`` stops with SIGTERM at some point."""
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / ".fraud-local-run").write_text("x")
    (workdir / "run.json").write_text('{"status": "Succeeded"}')
    done = subprocess.run(
        [sys.executable, "-c", script, str(workdir), *arguments],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return workdir, done


#: A SIGTERM sent to itself at the Nth request for the job host: the command line asks first,
#: as it starts (argv[2] = 1), the run asks again once it has started the definition worker (2).
_STOPPED_WHILE_STARTING = """
import os, signal, sys
from pipeline_def.local import __main__ as cli, job_host, stopping

started = job_host.JobHost.shared
requests = []

def stop_at_the_nth_request():
    host = started()
    requests.append(host)
    if len(requests) == int(sys.argv[2]):
        print(" ".join(str(pid) for pid in stopping.descendants(os.getpid())), flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
    return host

job_host.JobHost.shared = stop_at_the_nth_request
sys.exit(cli.main(["run", "--workdir", sys.argv[1], "--quiet"]))
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize(
    ("request_number", "said"),
    [
        (1, "every job subprocess ended; nothing was written"),
        (2, "stopped before replacing the work directory; nothing was written"),
    ],
    ids=["as-the-command-line-starts-the-job-host", "as-the-run-starts-the-definition-worker"],
)
def test_sigterm_while_the_run_starts_ends_its_helpers_and_keeps_the_previous_run(
    tmp_path, request_number, said
):
    # Given an earlier run's folder, and a SIGTERM that arrives as helpers start
    # When the run is started (the definition cache off, so the definition worker starts)
    workdir, done = _earlier_run_then_stopped(
        tmp_path, _STOPPED_WHILE_STARTING, str(request_number), PIPELINE_DEF_CACHE="off"
    )
    # Then it exits 143, says nothing was written, keeps the earlier run and ends the helpers
    helpers = [int(pid) for pid in done.stdout.split()]
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "Traceback" not in done.stderr
    assert said in done.stderr
    assert (workdir / "run.json").read_text() == '{"status": "Succeeded"}'
    assert len(helpers) >= request_number, "the job host (and then the definition worker) had not started"
    time.sleep(0.5)
    assert [pid for pid in helpers if _alive(pid)] == []


def test_a_passing_pipeline_gate_and_a_rejecting_approval_show_each_threshold_source(tmp_path, capsys):
    # Given a run whose pipeline gate is lowered with --param but whose approval keeps cdk.json's bar
    workdir = tmp_path / "run"
    code = _run(
        workdir, "--rows", "1000", "--signal", "0.3", "--param", "MinRecall=0.01", "--param", "MinAuc=0.01"
    )
    out = capsys.readouterr().out
    summary = json.loads((workdir / "run.json").read_text())
    # Then run.json shows each gate's threshold and its source
    recall = next(g for g in summary["gates"]["pipeline"] if g["name"] == "recall")
    assert recall["threshold"] == 0.01
    assert recall["source"] == "--param MinRecall=0.01"
    approval = {g["name"]: g for g in summary["gates"]["approval"]}
    assert "MIN_RECALL" in approval["recall"]["source"]
    assert "cdk.json" in approval["recall"]["source"]
    # And the summary says the approval function rejected it, and from where each bar came
    if summary["approval"]["status"] == "Rejected":
        assert "rejected the model" in summary["outcome"]
    assert "threshold from --param MinRecall=0.01" in out
    assert code == 0


def test_a_failed_run_leads_with_the_step_the_reason_and_the_gates(tmp_path, capsys):
    # Given a run on data without signal (the quality gate fails)
    workdir = tmp_path / "run"
    code = _run(workdir, "--rows", "1000", "--signal", "0")
    out = capsys.readouterr().out
    summary = json.loads((workdir / "run.json").read_text())
    # Then the summary leads with the failed step and the gates with their sources
    assert code == 1
    assert summary["failed_step"] == "FraudModelBelowQualityBar"
    assert summary["outcome"].startswith("Failed at step FraudModelBelowQualityBar")
    lines = out.strip().splitlines()
    assert lines[1].strip().startswith("Failed at step")
    assert "pipeline parameter MinAuc default, from cdk.json environments.dev.pipeline.minAuc" in out
    # And the report opens with the outcome section
    html = (workdir / "report.html").read_text()
    assert html.index('id="outcome"') < html.index("Registry decision")
    assert "FraudModelBelowQualityBar" in html[: html.index("Registry decision")]


@pytest.mark.parametrize("content", ["", "{", '{"status": "Succeeded"}', "[1]", '{"status": 3}'])
def test_summary_of_a_partial_run_json_is_one_line(tmp_path, capsys, content):
    # Given a partial or malformed run.json
    (tmp_path / "run.json").write_text(content)
    # When its summary is asked for
    code = cli.main(["summary", "--workdir", str(tmp_path)])
    err = capsys.readouterr().err
    # Then one error line, exit 2
    assert code == 2
    assert err.startswith("error: ")
    assert err.count("\n") == 1


def test_synthetic_refuses_to_overwrite_without_force(tmp_path, capsys):
    from pipeline_def.data import synthetic

    # Given an earlier claims.csv in --out
    (tmp_path / "claims.csv").write_text("mine")
    # When the generator writes there without --force, then with it
    refused = synthetic.main(["--rows", "20", "--out", str(tmp_path)])
    kept = (tmp_path / "claims.csv").read_text()
    forced = synthetic.main(["--rows", "20", "--out", str(tmp_path), "--force"])
    # Then the first is refused with exit 2 and the file kept, the second replaces it
    assert refused == 2
    assert kept == "mine"
    assert "--force" in capsys.readouterr().err
    assert forced == 0
    assert (tmp_path / "claims.csv").read_text() != "mine"


_STOPPED_WHILE_DELETING = """
import os, signal, sys
from pipeline_def.local import __main__ as cli, run

real_rmtree = run.shutil.rmtree

def stop_while_deleting(path):
    os.kill(os.getpid(), signal.SIGTERM)
    real_rmtree(path)

run.shutil.rmtree = stop_while_deleting
sys.exit(cli.main(["run", "--workdir", sys.argv[1], "--quiet"]))
"""


def test_sigterm_while_the_previous_run_is_deleted_says_so_and_releases_the_lock(tmp_path):
    # Given an earlier run's folder, and a SIGTERM that arrives as the run starts deleting it
    # When the run is started
    workdir, done = _earlier_run_then_stopped(tmp_path, _STOPPED_WHILE_DELETING)
    # Then it exits 143, says the previous run may be partly gone, and the lock is released
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "Traceback" not in done.stderr
    assert f"it stopped while deleting the previous run in {workdir}; part of it may be gone" in done.stderr
    assert not _lock_path(workdir).exists()


_STOPPED_IN_A_COMMAND = """
import os, signal, sys
from pipeline_def.local import __main__ as cli, commands, stopping

def stopped_landing(args, progress):
    print(" ".join(str(pid) for pid in stopping.descendants(os.getpid())), flush=True)
    os.kill(os.getpid(), signal.SIGINT)
    raise AssertionError("the stop did not interrupt the command")

commands.COMMANDS["land"] = stopped_landing
sys.exit(cli.main(["land", "--file", "x.csv", "--group", "claims", "--workdir", sys.argv[1]]))
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_ctrl_c_in_a_command_outside_the_runs_own_handling_ends_the_job_host_without_a_traceback(tmp_path):
    # Given a command (land) stopped by Ctrl-C after the command line started the job host
    workdir, done = _earlier_run_then_stopped(tmp_path, _STOPPED_IN_A_COMMAND)
    # Then it exits 130 without a traceback, says the command did not finish, and the host is gone
    helpers = [int(pid) for pid in done.stdout.split()]
    assert done.returncode == 128 + signal.SIGINT, done.stderr
    assert "Traceback" not in done.stderr
    assert "stopped by SIGINT; every job subprocess ended; the land did not finish" in done.stderr
    assert (workdir / "run.json").read_text() == '{"status": "Succeeded"}'
    assert helpers, "the job host had not started"
    time.sleep(0.5)
    assert [pid for pid in helpers if _alive(pid)] == []


def test_a_step_that_needs_the_registry_before_tuning_has_ended_gets_it(tmp_path, monkeypatch):
    # Given a run whose registry is waiting for a tuning step to end
    monkeypatch.setattr(LocalRun, "make_registry", lambda self, cloud: f"registry on {cloud}")
    run = LocalRun(RunOptions(workdir=tmp_path / "run"), progress=print)
    with ThreadPoolExecutor(max_workers=2) as threads:
        made = threads.submit(run.make_registry_after_training, "moto")
        # When a step (RegisterModel without tuning before it) asks for the registry
        asked = threads.submit(run.registry_when_needed, made)
        try:
            registry = asked.result(timeout=10)
        finally:
            run.training_ended.set()  # ends both threads even if the ask was left waiting
    # Then it was made for that step at once, instead of waiting for tuning forever
    assert registry == "registry on moto"


def test_the_registry_is_made_once_tuning_has_ended(tmp_path, monkeypatch):
    # Given a record of the steps' states at the moment the local registry is made
    seen: list[dict[str, str]] = []
    make_registry = LocalRun.make_registry

    def recording(self: LocalRun, cloud: object) -> object:
        seen.append({name: step["status"] for name, step in self.started_steps.items()})
        return make_registry(self, cloud)

    monkeypatch.setattr(LocalRun, "make_registry", recording)
    # When a run goes through
    _run(tmp_path / "run", "--rows", "1000", "--param", "MinAuc=0.01", "--param", "MinRecall=0.01")
    # Then the registry was made once, after the tuning step had ended (it trains on both cores)
    assert len(seen) == 1
    assert seen[0]["FraudHyperParameterTuning"] == "Succeeded"
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "Succeeded"
