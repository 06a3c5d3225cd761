"""``summary`` reads run.json without loading what the runs need (the SDK, moto, xgboost)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sagemaker", "moto", "xgboost", "boto3")


def test_summary_prints_a_run_without_importing_the_sdk_moto_or_xgboost(tmp_path: Path) -> None:
    # Given a finished run's run.json
    run_json = {
        "status": "Succeeded",
        "seconds": 6.5,
        "environment": "dev",
        "artifacts": {"report": "r.html"},
    }
    (tmp_path / "run.json").write_text(json.dumps(run_json))
    code = (
        "import sys\n"
        "from pipeline_def.local.__main__ import main\n"
        f"code = main(['summary', '--workdir', {str(tmp_path)!r}])\n"
        f"print('loaded:', sorted(m for m in {HEAVY!r} if m in sys.modules), 'exit:', code)\n"
    )
    # When summary runs in a fresh interpreter
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    # Then it printed the run and loaded none of them
    assert "run succeeded in 6.5s (dev)" in completed.stdout
    assert completed.stdout.strip().endswith("loaded: [] exit: 0")
