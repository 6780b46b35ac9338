"""The README's two commands: `make report` installs what the report needs and nothing else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(target: str, tmp_path: Path) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"  # does not exist: make plans the whole set-up
    # --no-print-directory: under `make test` this make is nested and would add
    # "Entering/Leaving directory" lines to the plan.
    out = subprocess.run(["make", "--no-print-directory", "-n", target, f"VENV={venv}"],
                         cwd=ROOT, text=True,
                         capture_output=True, check=True)
    return out.stdout


def test_report_installs_no_test_tools(tmp_path):
    plan = _dry_run("report", tmp_path)
    assert "pip install -q -e ." in plan
    assert "torch==2.13.0" in plan
    assert ".[test]" not in plan and "chromium" not in plan
    assert "workbench.cli report compare" in plan


def test_test_target_adds_test_tools(tmp_path):
    plan = _dry_run("test", tmp_path)
    assert '.[test]' in plan
    assert "pytest" in plan


def test_report_prints_its_phases_and_the_shell_writes_a_valid_install_record(tmp_path):
    """The install phase is timed by make's shell (no Python yet); its line must parse."""
    from workbench.phases import read_phases

    plan = _dry_run("report", tmp_path).splitlines()
    assert "workbench.cli phases" in plan[-1]
    first = next(i for i, line in enumerate(plan) if line.startswith("mkdir -p") and
                 "phases.jsonl" in "".join(plan[i:i + 3]))
    log = tmp_path / "phases.jsonl"
    script = "\n".join(plan[first:first + 3]).replace(str(ROOT / "results" / "phases.jsonl"),
                                                      str(log))
    subprocess.run(["sh", "-c", script], check=True)
    frame = read_phases(log)
    assert frame["phase"].tolist() == ["install/setup"]
    assert 0 <= frame["seconds"].iloc[0] < 60  # from make's start to now
