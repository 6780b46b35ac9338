"""Phase log of a run: records written only when asked, one run's table read back."""

from __future__ import annotations

import json
import time

import pytest

from workbench import phases
from workbench.cli import main
from workbench.errors import WorkbenchError


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "results" / "phases.jsonl"
    monkeypatch.setenv(phases.LOG_ENV, str(path))
    monkeypatch.setenv(phases.RUN_ENV, "1000.0")
    return path


def _write(path, run, phase, seconds, end, detail=""):
    with path.open("a") as fh:
        fh.write(json.dumps({"run": run, "phase": phase, "detail": detail, "seconds": seconds,
                             "end": end}) + "\n")


def test_nothing_is_written_without_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(phases.LOG_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    phases.record("load", 1.0, "m")
    with phases.timed("scoring"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_timed_records_its_block_also_when_it_raises(log):
    with pytest.raises(ValueError), phases.timed("notebook execution", "compare"):
        time.sleep(0.05)
        raise ValueError("cell failed")
    frame = phases.read_phases(log)
    assert frame[["run", "phase", "detail"]].values.tolist() == [
        ["1000.0", "notebook execution", "compare"]]
    assert 0.05 <= frame["seconds"].iloc[0] < 5


def test_the_table_of_one_run_with_shares_other_and_nested_conversion(log):
    log.parent.mkdir(parents=True)
    _write(log, "900.0", "scoring", 50.0, 960.0, "old run")
    _write(log, "1000.0", "install/setup", 20.0, 1020.0)
    _write(log, "1000.0", "GGUF conversion", 6.0, 1027.0, "model.gguf")
    _write(log, "1000.0", "load", 10.0, 1030.0, "smollm2-135m")
    _write(log, "1000.0", "scoring", 50.0, 1080.0, "smollm2-135m")
    _write(log, "1000.0", "HTML export", 10.0, 1100.0, "compare")
    frame = phases.read_phases(log)  # the last run, not the old one
    assert frame["phase"].tolist() == ["install/setup", "GGUF conversion", "load", "scoring",
                                       "HTML export"]
    table = phases.phase_table(frame).splitlines()
    row = {line.split()[0]: line for line in table[1:]}
    # wall clock 1100 - 1000 = 100 s; top-level phases 20 + 10 + 50 + 10 = 90 s; other 10 s.
    assert row["scoring"].split()[-2:] == ["50.0", "50%"]
    assert "within load" in row["GGUF"]
    assert row["other"].split()[-2:] == ["10.0", "10%"]
    assert table[-1].split()[-2:] == ["100.0", "100%"]
    old = phases.read_phases(log, run="900.0")
    assert old["detail"].tolist() == ["old run"]


def test_a_missing_log_a_bad_line_and_an_unknown_run_are_clear_errors(log):
    with pytest.raises(WorkbenchError, match="no phase log .* `make report`"):
        phases.read_phases(log)
    phases.record("load", 1.0, "m")
    with pytest.raises(WorkbenchError, match="no run 'x': runs there are 1000.0"):
        phases.read_phases(log, run="x")
    with log.open("a") as fh:
        fh.write("not json\n")
    with pytest.raises(WorkbenchError, match="line 2 is not a phase record"):
        phases.read_phases(log)


def test_cli_phases_prints_the_table(log, capsys):
    phases.record("load", 2.5, "smollm2-135m")
    assert main(["phases", "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert "load" in out and "smollm2-135m" in out and "2.5" in out and "total" in out
    assert main(["phases", "--log", str(log.with_name("none.jsonl"))]) == 2
    assert "no phase log" in capsys.readouterr().err
