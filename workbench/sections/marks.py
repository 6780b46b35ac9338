"""Validity marks: the verdict of each score's model x instrument cell, computed once per
report and carried to every table and figure that shows the score.

Why: a score of a cell whose answers follow the option position, or that cannot be judged,
is not a finding, wherever it appears (Dominguez-Olmedo, Hardt & Mendler-Dunner 2024,
"Questioning the survey responses of large language models"). :func:`report_validity` runs
:func:`workbench.validity.assess` once per report (per breakdown: model x instrument, and x
language / x persona where the data hold several; see
:func:`workbench.validity.cell_breakdowns`) and caches it on the
:class:`~workbench.sections.base.ReportData`; :func:`mark_scores` adds a ``validity`` column
(symbol and verdict word, readable without colour); figures fade and hatch what
:func:`unreadable` flags and say so in their title (:func:`caption`). The cut-offs behind the
verdicts are in ``data/validity/thresholds.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.errors import WorkbenchError
from workbench.sections.base import ReportData, Section
from workbench.sections.settings import Settings
from workbench.validity import Validity, assess, cell_breakdowns, load_thresholds

VALIDITY = "validity"
OVERALL = ("model", "instrument")
#: One symbol per verdict, so a table reads without colour.
SYMBOLS = {"content-driven": "✔", "mixed": "◐", "position-driven": "✘",
           "insufficient data": "?"}
NOT_JUDGED = "not judged"
FADED_OPACITY = 0.35  # bars (hatched as well)
FADED_MARKER_OPACITY = 0.55  # markers (drawn open as well, where the figure can)
HATCH = "x"
CAPTION = "faded/hatched: not interpretable (position-driven or insufficient data; see Validity)"


def label(verdict: str) -> str:
    """``"position-driven"`` -> ``"✘ position-driven"`` (unknown words are kept as they are)."""
    symbol = SYMBOLS.get(verdict)
    return f"{symbol} {verdict}" if symbol else verdict


def verdict_of(text: object) -> str:
    """The verdict word of a :func:`label` (inverse of it)."""
    word = str(text)
    for verdict, symbol in SYMBOLS.items():
        if word == f"{symbol} {verdict}":
            return verdict
    return word


@dataclass
class ReportValidity:
    """The validity assessments of one report, by breakdown (``by`` columns -> result)."""

    assessments: dict[tuple[str, ...], Validity] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _lookup: dict[tuple[str, ...], dict[tuple, str]] = field(default_factory=dict, repr=False)

    @property
    def overall(self) -> Validity | None:
        """The model x instrument assessment (None when it could not be computed)."""
        return self.assessments.get(OVERALL)

    def breakdowns(self) -> list[tuple[str, ...]]:
        return list(self.assessments)

    def verdict(self, model: object, instrument: object, **cell: object) -> str:
        """The verdict of the finest judged cell matching ``cell`` (e.g. ``persona=...``),
        falling back to model x instrument; :data:`NOT_JUDGED` when there is none."""
        candidates = sorted(self.assessments, key=len, reverse=True)
        for by in candidates:
            extra = by[len(OVERALL):]
            if not set(extra) <= set(cell):
                continue
            table = self._lookup.setdefault(by, _lookup(self.assessments[by].verdicts, by))
            hit = table.get((model, instrument, *(cell[c] for c in extra)))
            if hit is not None:
                return hit
        return NOT_JUDGED


def _lookup(verdicts: pd.DataFrame, by: Sequence[str]) -> dict[tuple, str]:
    keys = verdicts[list(by)].itertuples(index=False, name=None)
    return dict(zip(keys, verdicts["verdict"], strict=True))


def report_validity(data: ReportData, settings: Settings) -> ReportValidity:
    """:func:`workbench.validity.assess` of the report's answers, once per report.

    Why: the verdicts open the report and mark every later score; computing them once keeps
    the sections consistent and the report fast. Cached on ``data.cache`` under the settings
    it depends on (``n_boot``, ``n_perm``, ``seed``, ``ci``). A failure is recorded in
    ``errors`` (every score is then "not judged"), never raised.
    """
    key = ("validity", settings.n_boot, settings.n_perm, settings.seed, settings.ci)
    cached = data.cache.get(key)
    if isinstance(cached, ReportValidity):
        return cached
    out = ReportValidity()
    dists = data.distributions
    if dists.empty:
        out.errors.append("no answer distributions in this selection: nothing to judge")
    else:
        for by in cell_breakdowns(dists):
            try:
                out.assessments[tuple(by)] = assess(
                    dists, by=by, n_boot=settings.n_boot, n_perm=settings.n_perm,
                    seed=settings.seed, ci=settings.ci)
            except WorkbenchError as exc:
                out.errors.append(f"validity by {' x '.join(by)}: not available ({exc})")
    data.cache[key] = out
    return out


def _model_values(frame: pd.DataFrame, model_col: str) -> pd.Series:
    return frame[model_col] if model_col in frame.columns else pd.Series("", index=frame.index)


def mark_scores(frame: pd.DataFrame, data: ReportData, settings: Settings,
                instrument: str | None = None, model_col: str = "model",
                column: str = VALIDITY, cells: Iterable[str] = ("persona", "language")
                ) -> pd.DataFrame:
    """A copy of ``frame`` with a ``column`` holding each row's validity label.

    Why: a score table must say, row by row, whether its number can be read. The instrument
    is the frame's ``instrument`` column or ``instrument``; columns named in ``cells`` that
    the frame has (persona, language) select a finer judged cell where one exists. Rows whose
    ``model_col`` is not a model of the report (a country in a profile table) get ``""``.
    """
    if instrument is None and "instrument" not in frame.columns:
        raise WorkbenchError("mark_scores needs an 'instrument' column or instrument=...")
    rv = report_validity(data, settings)
    models = set(data.models)
    extra = [c for c in cells if c in frame.columns]
    insts = (frame["instrument"] if "instrument" in frame.columns
             else pd.Series(instrument, index=frame.index))
    values = []
    for i, (model, inst) in enumerate(zip(_model_values(frame, model_col), insts,
                                          strict=True)):
        if model not in models:
            values.append("")
            continue
        cell = {c: frame[c].iloc[i] for c in extra}
        values.append(label(rv.verdict(model, inst, **cell)))
    out = frame.copy()
    out[column] = values
    return out


def mark_tables(sec: Section, data: ReportData, settings: Settings, prefixes: Sequence[str],
                instrument: str | None = None, model_col: str = "model") -> None:
    """:func:`mark_scores` on every table of ``sec`` whose caption starts with a prefix."""
    for caption in [c for c in sec.tables if c.startswith(tuple(prefixes))]:
        sec.tables[caption] = mark_scores(sec.tables[caption], data, settings,
                                          instrument=instrument, model_col=model_col)


def mark_columns(frame: pd.DataFrame, data: ReportData, settings: Settings,
                 instrument: str) -> pd.DataFrame:
    """A wide table whose columns are models (e.g. item means): each model column's header
    gets its validity label, ``"alpha [✘ position-driven]"``."""
    rv = report_validity(data, settings)
    names = {c: f"{c} [{label(rv.verdict(c, instrument))}]" for c in frame.columns
             if c in set(data.models)}
    return frame.rename(columns=names)


def _status() -> dict[str, str]:
    return {label(v): s for v, s in load_thresholds().status.items()}


def unreadable(values: Iterable[object]) -> np.ndarray:
    """True where a validity label's verdict is "not interpretable" (thresholds file)."""
    status = _status()
    return np.array([status.get(str(v)) == "not interpretable" for v in values], dtype=bool)


def cautious(values: Iterable[object]) -> np.ndarray:
    """True where a validity label's status is "caution" (a mixed verdict)."""
    status = _status()
    return np.array([status.get(str(v)) == "caution" for v in values], dtype=bool)


def trace_style(faded: bool, bar: bool = False) -> dict:
    """Trace keywords for a not-interpretable series: lower opacity, and hatching for bars."""
    if not faded:
        return {"opacity": 1.0, "marker_pattern_shape": ""} if bar else {"opacity": 1.0}
    if bar:
        return {"opacity": FADED_OPACITY, "marker_pattern_shape": HATCH}
    return {"opacity": FADED_MARKER_OPACITY}


def legend_name(name: object, faded: bool) -> str:
    return f"{name} (not interpretable)" if faded else str(name)


def caption(fig: go.Figure, faded: bool) -> go.Figure:
    """Add the faded/hatched legend line under the title when a trace is faded."""
    if faded:
        title = fig.layout.title.text or ""
        top = fig.layout.margin.t or 60
        fig.update_layout(title_text=f"{title}<br><sup>{CAPTION}</sup>",
                          margin={"t": top + 20})
    return fig


def is_faded(frame: pd.DataFrame | None, column: str = VALIDITY) -> bool:
    """Whether any row of ``frame`` is not interpretable."""
    return (frame is not None and column in frame.columns
            and bool(unreadable(frame[column]).any()))


def note_marks(sec: Section, frame: pd.DataFrame, what: str, model_col: str = "model",
               column: str = VALIDITY) -> None:
    """A note in words naming the models whose ``what`` are not interpretable (or mixed).

    Why: a faded bar or a table column can be missed; a sentence cannot.
    """
    if column not in frame.columns or frame.empty:
        return
    models = _model_values(frame, model_col).astype(str)
    bad = sorted(set(models[unreadable(frame[column])]))
    mixed = sorted(set(models[cautious(frame[column])]) - set(bad))
    if bad:
        sec.notes.append(
            f"Not interpretable: the {what} of {', '.join(bad)} come from answers judged "
            "position-driven or insufficient data (see Validity); they are marked in the "
            "tables' validity column and faded/hatched in the figures. Do not read them as "
            "findings.")
    if mixed:
        sec.notes.append(f"Read with caution: the {what} of {', '.join(mixed)} come from "
                         "answers judged mixed (see Validity).")


__all__ = ["CAPTION", "NOT_JUDGED", "SYMBOLS", "VALIDITY", "ReportValidity", "caption",
           "cautious", "is_faded", "label", "legend_name", "mark_columns", "mark_scores",
           "mark_tables", "note_marks", "report_validity", "trace_style", "unreadable",
           "verdict_of"]
