"""The example script runs end to end on a tiny synthetic result store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fakes import HashBackend
from workbench.design import Design
from workbench.probe import run_probe

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "stats_from_store.py"


def test_stats_from_store_example_runs(tmp_path):
    backends = {"m": HashBackend("m")}
    run_probe(Design(models=["m"], instruments=["mfq30", "vsm2013"],
                     orders=["original", "reversed"]), tmp_path, backends=backends,
              progress=False)
    run_probe(Design(models=["m"], instruments=["vsm2013"],
                     personas=["country:JPN", "country:USA", "country:BRA"]),
              tmp_path, backends=backends, progress=False)
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "mfq30: scores with 95% bootstrap intervals (items within score + order" in out
    assert "expanded_percentile" in out
    assert "vsm2013: scores with 95% bootstrap intervals (order" in out
    assert "Nearest countries by Hofstede profile (euclidean, C = 0)" in out
    assert "VSM constants anchored on 3 country personas" in out
    assert "(correlation_distance, C anchored on country personas)" in out
    for section in out.split("Nearest countries by Hofstede profile")[1:]:
        rows = [line.split() for line in section.strip().splitlines()[2:7]]
        assert len(rows) == 5 and all(r[-2] == "6" for r in rows)  # complete countries only
