"""Wall-clock phases of one run (``make report``), written as they end and printed as a table.

Why: a fresh ``make report`` spends its minutes in install, GGUF work, model loads, scoring,
notebook execution and HTML export; only a per-phase breakdown shows which to cut. Each phase
appends one JSON line to the file named by ``$WORKBENCH_PHASE_LOG`` (nothing is written when it
is unset), tagged with ``$WORKBENCH_RUN`` (the Makefile sets it to the run's start time, in Unix
seconds), so the shell (install) and Python (everything else) write to one log and a log kept
across runs still yields the table of one run. :func:`phase_table` reads it back.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from workbench.errors import WorkbenchError

LOG_ENV = "WORKBENCH_PHASE_LOG"
RUN_ENV = "WORKBENCH_RUN"


@dataclass(frozen=True)
class PhaseRecord:
    """One finished phase: ``seconds`` of wall clock, ending at ``end`` (Unix seconds)."""

    run: str
    phase: str
    detail: str
    seconds: float
    end: float


def record(phase: str, seconds: float, detail: str = "") -> None:
    """Append a finished phase to ``$WORKBENCH_PHASE_LOG`` (a no-op when it is unset)."""
    path = os.environ.get(LOG_ENV, "").strip()
    if not path:
        return
    rec = PhaseRecord(os.environ.get(RUN_ENV, ""), phase, detail, float(seconds), time.time())
    log = Path(path)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(rec)) + "\n")


@contextmanager
def timed(phase: str, detail: str = "") -> Iterator[None]:
    """Record the wall clock of the ``with`` block as ``phase`` (also when it raises)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        record(phase, time.perf_counter() - t0, detail)


def read_phases(path: str | Path, run: str | None = None) -> pd.DataFrame:
    """The phases of one run (default: the run of the log's last line), one row per phase, in
    the order they ended: columns ``run, phase, detail, seconds, end``."""
    log = Path(path)
    if not log.is_file():
        raise WorkbenchError(f"no phase log at '{log}': run `make report` (it writes one) or "
                             f"set {LOG_ENV}=<file> before a probe/report command")
    rows = []
    for n, line in enumerate(log.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(PhaseRecord(**json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise WorkbenchError(f"phase log '{log}' line {n} is not a phase record ({exc}): "
                                 "delete the file, the next run writes a new one") from exc
    if not rows:
        raise WorkbenchError(f"phase log '{log}' is empty: run `make report` first")
    frame = pd.DataFrame([asdict(r) for r in rows])
    chosen = frame["run"].iloc[-1] if run is None else run
    picked = frame[frame["run"] == chosen].reset_index(drop=True)
    if picked.empty:
        raise WorkbenchError(f"phase log '{log}' has no run '{run}': runs there are "
                             f"{', '.join(map(str, frame['run'].unique()))}")
    return picked


def phase_table(phases: pd.DataFrame, now: float | None = None) -> str:
    """A plain-text table: each phase's seconds and share of the run's wall clock.

    The wall clock runs from the run id (its start time, when it is a number) to the last
    phase's end, or to ``now`` when given; ``other`` is the wall clock no phase accounts for
    (interpreter start-up, imports, cached checks). A GGUF conversion runs inside its model's
    load: it is marked ``within load`` and left out of the sum.
    """
    nested = phases["phase"] == "GGUF conversion"
    top = phases.loc[~nested, "seconds"].sum()
    try:
        start = float(phases["run"].iloc[0])
    except ValueError:
        start = None
    end = now if now is not None else float(phases["end"].max())
    wall = end - start if start is not None else top
    lines = [f"{'phase':<22} {'detail':<34} {'seconds':>8} {'share':>6}"]
    for row in phases.itertuples():
        share = "within load" if nested[row.Index] else f"{row.seconds / wall:6.0%}"
        lines.append(f"{row.phase:<22} {row.detail[:34]:<34} {row.seconds:8.1f} {share:>6}")
    if start is not None:
        other = wall - top
        lines.append(f"{'other':<22} {'start-up, imports, cached checks':<34} {other:8.1f} "
                     f"{other / wall:6.0%}")
    lines.append(f"{'total (wall clock)':<22} {'':<34} {wall:8.1f} {1:6.0%}")
    return "\n".join(lines)
