"""What every report section shares: the :class:`Section` record, the data a report reads
(:class:`ReportData`, :func:`load`) and the helpers that keep one gap from sinking a report.

Why: report notebooks hold only parameters and calls, so every computation a report shows
lives in :mod:`workbench.sections`, where it is tested without Jupyter. A section never raises
for data that is merely absent (an instrument not probed, one model only, a missing reference
file, a statistic that fails): it returns with a visible note instead (:func:`attempt`).
Problems the user must fix (a results folder that does not exist, a model that is not
stored) still raise :class:`~workbench.errors.WorkbenchError`. A statistic that does not
exist is an ``ImportError`` when :mod:`workbench.sections` is imported, so tests catch it.

Reports only read: the store is opened with ``read_only=True`` and answers are never
recomputed.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from workbench import reference
from workbench.errors import WorkbenchError
from workbench.instrument_files import load_instrument
from workbench.instruments import Instrument
from workbench.sections.estimators import Estimate, apply_estimator
from workbench.sections.settings import Settings
from workbench.stats import bootstrap_scores
from workbench.store import ResultStore

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Factors whose levels act as "respondents" (resampled, or rows of a reliability table).
VARIANT_FACTORS = ("persona", "language", "order", "paraphrase", "answer_format",
                   "instruction", "repeat")
#: Prompt-variant factors and their reference levels for consistency checks.
CONSISTENCY_FACTORS: tuple[tuple[str, object], ...] = (
    ("order", "original"), ("paraphrase", 0), ("language", "en"),
)
NOT_AVAILABLE = "not available"

SAMPLE_NOTE = (
    "How scores are computed: the VSM 2013 index formulas and the MFQ foundation means are "
    "defined for samples of human respondents (item means over the sample, then the published "
    "formula). A language model has no sample, so the workbench treats its personas, repeats, "
    "prompt variants (option order, paraphrase, language) and, in log-probability mode, its "
    "answer distributions (the expected code of each request) as the sample. Scores describe "
    "the model under this design, not a population. VSM constants (C) only shift an index; "
    "they default to 0, so VSM indices are not on Hofstede's country scale unless constants "
    "are passed or anchored; the Hofstede chart states which constants it uses."
)


@dataclass
class Section:
    """One report section: tables to show, frames for figures, and visible notes.

    ``tables`` maps a caption to a frame shown as an (escaped) HTML table; ``data`` holds
    tidy frames that figures are built from (and that tests inspect). ``key`` and ``title``
    are filled in from the registry (:func:`workbench.sections.registry.section`).
    """

    key: str = ""
    title: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    data: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return bool(self.tables or self.data)


@dataclass
class ReportData:
    """What a report reads from the store, loaded once (read-only) and filtered.

    ``distributions`` and ``answers`` are always the stored (raw) ones; :meth:`dists` gives
    the score sections the distributions of the report's estimator (:meth:`using`, from the
    ``estimator`` setting), :meth:`raw_dists` the stored ones. ``asked`` holds the stored
    distributions with follow-up items as asked, which the estimators start from.
    """

    results_dir: Path
    store: ResultStore
    distributions: pd.DataFrame
    answers: pd.DataFrame
    personas: pd.DataFrame
    models: list[str]
    instruments: list[str]
    notes: list[str] = field(default_factory=list)
    asked: pd.DataFrame | None = None
    estimation: Estimate | None = None  # None: raw
    _variants: dict[str, ReportData] = field(default_factory=dict, repr=False, compare=False)

    @property
    def estimator(self) -> str:
        return self.estimation.method if self.estimation is not None else "raw"
    #: Results computed once per report and shared by sections (e.g. the validity verdicts,
    #: :func:`workbench.sections.marks.report_validity`), keyed by what they depend on.
    cache: dict[object, object] = field(default_factory=dict, repr=False, compare=False)

    def dists(self, instrument: str) -> pd.DataFrame:
        """The instrument's distributions under the report's estimator (raw by default)."""
        frame = self.estimation.frame if self.estimation is not None else self.distributions
        return frame[frame["instrument"] == instrument]

    def raw_dists(self, instrument: str) -> pd.DataFrame:
        """The instrument's stored distributions, whatever the estimator."""
        return self.distributions[self.distributions["instrument"] == instrument]

    def using(self, estimator: str) -> ReportData:
        """The same data with ``estimator`` applied to :meth:`dists` (computed once per
        estimator and shared by the copies; see :mod:`workbench.sections.estimators`)."""
        if estimator == self.estimator:
            return self
        if estimator not in self._variants:
            est = None if estimator == "raw" else apply_estimator(
                self.asked if self.asked is not None else self.distributions,
                self.distributions, estimator)
            self._variants[estimator] = replace(self, estimation=est,
                                                _variants=self._variants)
        return self._variants[estimator]

    def answers_for(self, instrument: str) -> pd.DataFrame:
        return self.answers[self.answers["instrument"] == instrument]


# ---------------------------------------------------------------------- helpers
def attempt(section: Section, what: str, fn: Callable[..., T], *args: Any,
            **kwargs: Any) -> T | None:
    """Run one computation; on failure add a visible 'not available' note and return None.

    Why: a report must show everything it can; the note says what is missing and why.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    except WorkbenchError as exc:
        section.notes.append(f"{what}: {NOT_AVAILABLE} ({exc})")
    except Exception as exc:  # a broken helper must not sink the whole report
        log.warning("%s failed", what, exc_info=True)
        section.notes.append(f"{what}: {NOT_AVAILABLE}, it failed ({type(exc).__name__}: {exc})")
    return None


def shipped_instrument(instrument_id: str) -> Instrument | None:
    """The shipped instrument of that id, or None (stored answers of an ad-hoc file)."""
    try:
        return load_instrument(instrument_id)
    except WorkbenchError:
        return None


def item_order(instrument_id: str) -> dict[str, int]:
    """Position of each item in its instrument (for sorting tables and figures)."""
    inst = shipped_instrument(instrument_id)
    return {it.id: i for i, it in enumerate(inst.items)} if inst is not None else {}


def sort_items(frame: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Sort by instrument, then the instrument's own item order (not by request hash)."""
    if frame.empty or "item_id" not in frame.columns:
        return frame
    pos = {}
    for inst_id in (frame["instrument"].unique() if "instrument" in frame.columns else []):
        pos.update({(inst_id, k): v for k, v in item_order(inst_id).items()})
    inst = frame["instrument"] if "instrument" in frame.columns else pd.Series("", frame.index)
    key = [pos.get((i, it), 10**6) for i, it in zip(inst, frame["item_id"], strict=True)]
    cols = [c for c in ("instrument",) if c in frame.columns]
    return (frame.assign(_pos=key).sort_values([*cols, "_pos", "item_id", *extra])
            .drop(columns="_pos").reset_index(drop=True))


def varied(frame: pd.DataFrame, columns: Iterable[str] = VARIANT_FACTORS) -> list[str]:
    """The columns of ``frame`` (among ``columns``) with more than one level."""
    return [c for c in columns if c in frame.columns and frame[c].nunique(dropna=False) > 1]


def shipped_answers(data: ReportData) -> pd.DataFrame:
    """Answers to shipped instruments only (ad-hoc instruments have no scores to compare)."""
    a = data.answers
    return a[a["instrument"].map(lambda i: shipped_instrument(i) is not None)]


def absent_note(instrument: str, data: ReportData) -> str:
    stored = ", ".join(data.instruments) or "none"
    return (f"{NOT_AVAILABLE}: no '{instrument}' results for the selected models in "
            f"{data.results_dir} (stored instruments: {stored}); probe it to fill this section")


def persona_iso3(persona: str) -> str | None:
    """``country:JPN`` -> ``JPN``; None for personas that are not country personas."""
    kind, _, arg = str(persona).partition(":")
    return arg.upper() if kind == "country" and arg else None


def country_names() -> dict[str, str]:
    try:
        names = reference.countries()
        return dict(zip(names["iso3"], names["name"], strict=False))
    except Exception:  # the countries table may be absent while data is being prepared
        return {}


def bootstrap_or_note(sec: Section, d: pd.DataFrame, instrument: str, by: list[str],
                      settings: Settings, items: bool, constants: dict | None = None
                      ) -> pd.DataFrame | None:
    """Bootstrap intervals over whatever varies (items when ``items``, personas, variants).

    :func:`workbench.stats.bootstrap_scores` with ``settings.n_boot``, ``seed`` and ``ci``;
    a note instead when nothing can be resampled.
    """
    factors = [f for f in varied(d) if f not in by]
    resample = (["items"] if items else []) + factors
    if not resample:
        sec.notes.append(
            f"{instrument}: no intervals, one persona/variant per model and a linear index "
            "keeps its items, so there is nothing to resample")
        return None
    return attempt(sec, f"{instrument} bootstrap intervals", bootstrap_scores, d,
                   instrument, by=by, resample=tuple(resample), n_boot=settings.n_boot,
                   seed=settings.seed, ci=settings.ci, constants=constants)


def with_intervals(scores: pd.DataFrame, boot: pd.DataFrame | None,
                   by: list[str]) -> pd.DataFrame:
    """Scores with their bootstrap interval columns (empty when there is no bootstrap)."""
    out = scores[[*by, "score_id", "score_label", "score", "n_items"]].copy()
    if boot is not None and not boot.empty:
        out = out.merge(boot[[*by, "score_id", "ci_low", "ci_high", "resampled"]],
                        on=[*by, "score_id"], how="left")
    else:
        out["ci_low"] = out["ci_high"] = np.nan
        out["resampled"] = ""
    return out


# ---------------------------------------------------------------------- loading
def load(results_dir: str | Path, models: Sequence[str] | None = None,
         instruments: Sequence[str] | None = None,
         personas: Sequence[str] | None = None, estimator: str = "raw") -> ReportData:
    """Read the store once (read-only) and keep the selected models/instruments/personas.

    Why: every section works on the same snapshot. Empty selections mean "all stored".
    Requested models or instruments that are not stored are noted (and skipped); if none of
    the requested models is stored that is a typo, so it raises. A model stored in several
    modes (log-prob and generation) is split into ``"model [mode]"`` so that scores never
    pool the two. ``estimator`` is applied to :meth:`ReportData.dists` (sections apply
    the ``estimator`` setting themselves, so a notebook need not pass it here).
    """
    store = ResultStore(results_dir, read_only=True)
    notes: list[str] = []
    # One connection and one transaction for every read: a probe committing meanwhile
    # cannot make the inventory, distributions, answers and personas disagree.
    with store.snapshot() as snap:
        inventory = snap.query(
            'SELECT model, instrument, persona, "mode", COUNT(*) AS n FROM requests GROUP BY ALL')
        stored_models = sorted(inventory["model"].unique())
        if not stored_models:
            raise WorkbenchError(
                f"the store in '{results_dir}' holds no answers: run `workbench probe ... --out "
                f"{results_dir}` first")
        chosen = list(dict.fromkeys(models or stored_models))
        missing = [m for m in chosen if m not in stored_models]
        chosen = [m for m in chosen if m in stored_models]
        if not chosen:
            raise WorkbenchError(
                f"none of the models {missing} has results in '{results_dir}' (stored: "
                f"{', '.join(stored_models)}): pass --models from that list")
        if missing:
            notes.append(f"models without results here, skipped: {', '.join(missing)}")
        inv = inventory[inventory["model"].isin(chosen)]
        stored_inst = sorted(inv["instrument"].unique())
        want_inst = list(dict.fromkeys(instruments or stored_inst))
        absent = [i for i in want_inst if i not in stored_inst]
        if absent:
            notes.append(f"instruments without results for these models, skipped: "
                         f"{', '.join(absent)}")
        inst_sel = [i for i in want_inst if i in stored_inst]
        filters: dict[str, object] = {"model": chosen}
        if inst_sel:
            filters["instrument"] = inst_sel
        if personas:
            filters["persona"] = list(personas)
            absent_p = sorted(set(personas) - set(inv["persona"]))
            if absent_p:
                notes.append(f"personas without results, skipped: {', '.join(absent_p)}")
        if inst_sel:
            dists = snap.distributions(**filters)
            asked = snap.distributions(followups="asked", **filters)
            answers = snap.answers(**filters)
        else:
            dists = asked = snap.distributions(model=["\x00none"])
            answers = snap.answers(model=["\x00none"])
        persona_rows = snap.query(
            "SELECT persona, language, persona_text, COUNT(*) AS n_requests FROM requests "
            "GROUP BY ALL ORDER BY persona, language")
    persona_rows = persona_rows[persona_rows["persona"].isin(answers["persona"].unique())]
    multi = inv.groupby("model")["mode"].nunique()
    multi = sorted(multi[multi > 1].index)
    if multi:
        notes.append(f"models stored in several modes are shown per mode: {', '.join(multi)}")
        for frame in (dists, asked, answers):
            mask = frame["model"].isin(multi)
            frame.loc[mask, "model"] = (frame.loc[mask, "model"] + " ["
                                        + frame.loc[mask, "mode"] + "]")
    return ReportData(
        results_dir=Path(results_dir), store=store, distributions=dists, answers=answers,
        personas=persona_rows.reset_index(drop=True),
        models=sorted(answers["model"].unique()),
        instruments=sorted(answers["instrument"].unique()), notes=notes, asked=asked,
    ).using(estimator)


def pick_model(results_dir: str | Path, model: str = "") -> str:
    """The model a one-model report is about: ``model`` or, if empty, the first stored one."""
    store = ResultStore(results_dir, read_only=True)
    stored = sorted(store.query("SELECT DISTINCT model FROM requests")["model"])
    if not stored:
        raise WorkbenchError(f"the store in '{results_dir}' holds no answers: probe first")
    if not model:
        return stored[0]
    if model not in stored:
        raise WorkbenchError(
            f"model '{model}' has no results in '{results_dir}' (stored: {', '.join(stored)}): "
            "pass one of those")
    return model
