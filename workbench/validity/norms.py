"""Published reliability of the instruments' scales in people (``reliability_norms.csv``).

Why: a model's alpha means little alone; beside it the report shows what the instrument
achieves in human samples, or says plainly that no citable value was found or that the
instrument is not validated that way (the VSM 2013 manual: country level, not individuals).
"""

from __future__ import annotations

import math
from functools import cache

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.paths import data_dir

NORM_COLUMNS = ["instrument", "score_id", "statistic", "value", "value_low", "value_high",
                "level", "sample", "source", "note"]
ALL_SCALES = "*"


@cache
def _read() -> pd.DataFrame:
    path = data_dir() / "reference" / "reliability_norms.csv"
    if not path.is_file():
        raise WorkbenchError(f"reference file '{path}' is missing: reinstall or restore data/")
    frame = pd.read_csv(path, dtype={"score_id": str})
    missing = [c for c in NORM_COLUMNS if c not in frame.columns]
    if missing:
        raise WorkbenchError(f"{path.name} lacks column(s) {missing}: see its YAML sidecar")
    return frame


def reliability_norms() -> pd.DataFrame:
    """The published human reliabilities, one row per (instrument, scale or '*', source)."""
    return _read().copy()


def human_reliability_text(norms: pd.DataFrame, instrument: str, score_id: str) -> str:
    """What people achieve on this scale, in words with the source; the rows for the scale
    itself and for the whole instrument (``*``) are joined."""
    rows = norms[(norms["instrument"] == instrument)
                 & norms["score_id"].isin([score_id, ALL_SCALES])]
    if rows.empty:
        return "no published value on file"
    parts = []
    for row in rows.itertuples():
        stat = str(row.statistic)
        if _num(row.value):
            parts.append(f"{stat} {row.value:.2f} ({row.source})")
        elif _num(row.value_low) and _num(row.value_high):
            parts.append(f"{stat} {row.value_low:.2f}-{row.value_high:.2f} over its scales "
                         f"({row.source})")
        else:
            parts.append(f"{_gist(str(row.note))} ({row.source})")
    return "; ".join(parts)


def _gist(note: str) -> str:
    """``MISSING: ...`` -> ``no citable value found``, ``NOT APPLICABLE: ...`` -> ``not
    applicable``; otherwise the note's first clause."""
    head, sep, _ = note.partition(":")
    if sep and head.isupper():
        return "no citable value found" if head == "MISSING" else head.lower()
    return note.split(";")[0].strip()


def _num(x: object) -> bool:
    return isinstance(x, int | float) and not math.isnan(float(x))


__all__ = ["reliability_norms", "human_reliability_text"]
