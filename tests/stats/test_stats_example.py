"""The example script runs end to end on a tiny synthetic result store."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from workbench.backends.base import ModelInfo, OptionScores, ScoreRequest
from workbench.design import Design
from workbench.probe import run_probe

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "stats_from_store.py"


class _HashBackend:
    """Deterministic answers that depend on the whole prompt (persona, item, order)."""

    supports_logprobs = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.info = ModelInfo(key=name, model_id=name, backend="synthetic",
                              file_hash=f"synthetic-{name}")

    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        out = []
        for r in requests:
            text = "\n".join(m.content for m in r.messages)
            weights = [0.2 + hashlib.sha256(f"{self.name}|{text}|{o}".encode()).digest()[0] / 255
                       for o in r.options]
            total = sum(weights)
            out.append(OptionScores(tuple(math.log(w / total) for w in weights),
                                    tuple(1 for _ in weights)))
        return out

    def generate(self, requests):
        return ["1" for _ in requests]


def test_stats_from_store_example_runs(tmp_path):
    backends = {"m": _HashBackend("m")}
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
