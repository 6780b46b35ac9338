"""Report sections: each function reads stored results and returns a :class:`Section` of frames.

Why this module exists: report notebooks hold only parameters, calls and display, so every
computation a report shows lives here, where it is tested without Jupyter. A section never
raises for data that is merely absent (an instrument not probed, one model only, a missing
reference file, a statistics helper that is missing or broken): it returns with a visible
note instead, so one gap does not sink a whole report. Problems the user must fix (a results
folder that does not exist, a model that is not stored) still raise
:class:`~workbench.errors.WorkbenchError`.

Reports only read: the store is opened with ``read_only=True`` and answers are never
recomputed.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import platform
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import stats as sps

from workbench import reference
from workbench.errors import WorkbenchError
from workbench.instruments import Instrument, load_instrument
from workbench.scoring import UNIT, exclusion_flags, item_values, score_instrument
from workbench.store import ResultStore

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Instruments with a dedicated section (others still get coverage, reliability, consistency).
KNOWN_INSTRUMENTS = ("vsm2013", "mfq30", "mfq2", "wvs7")
#: Factors whose levels act as "respondents" (resampled, or rows of a reliability table).
VARIANT_FACTORS = ("persona", "language", "order", "paraphrase", "answer_format",
                   "instruction", "repeat")
#: Prompt-variant factors and their reference levels for consistency checks.
CONSISTENCY_FACTORS: tuple[tuple[str, object], ...] = (
    ("order", "original"), ("paraphrase", 0), ("language", "en"),
)
NOT_AVAILABLE = "not available"

# Stable section titles: notebooks use them as headings and tests look for them.
TITLES = {
    "coverage": "Data coverage",
    "hofstede": "Hofstede dimensions (VSM 2013)",
    "mfq30": "Moral foundations (MFQ-30)",
    "mfq2": "Moral foundations (MFQ-2)",
    "wvs": "World Values Survey items (WVS-7)",
    "map": "Inglehart-Welzel cultural map",
    "reliability": "Reliability",
    "consistency": "Consistency and position bias",
    "tests": "Model-vs-model tests",
    "generation": "Generated answers",
    "provenance": "Provenance",
    "probe_overview": "Overview",
    "distributions": "Answer distributions",
    "persona": "Persona effects",
    "language": "Language effects",
    "order": "Option order sensitivity",
    "paraphrase": "Paraphrase sensitivity",
    "country_personas": "Country personas",
    "persona_hofstede": "Hofstede dimensions by persona country",
    "persona_anchored": "Hofstede profile anchored on country personas",
    "persona_map": "WVS map by persona country",
    "persona_similarity": "WVS answer similarity by persona country",
    "explorer": "Explorer",
}
COMPARE_SECTIONS = [TITLES[k] for k in ("coverage", "hofstede", "mfq30", "mfq2", "wvs", "map",
                                        "reliability", "consistency", "tests", "generation",
                                        "provenance")]
PROBE_SECTIONS = [TITLES[k] for k in ("probe_overview", "distributions", "persona", "language",
                                      "order", "paraphrase", "generation", "provenance")]
CULTURE_SECTIONS = [TITLES[k] for k in ("country_personas", "persona_hofstede",
                                        "persona_anchored", "persona_map",
                                        "persona_similarity", "provenance")]
EXPLORE_SECTIONS = [TITLES["explorer"]]

SAMPLE_NOTE = (
    "How scores are computed: the VSM 2013 index formulas and the MFQ foundation means are "
    "defined for samples of human respondents (item means over the sample, then the published "
    "formula). A language model has no sample, so the workbench treats its personas, repeats, "
    "prompt variants (option order, paraphrase, language) and, in log-probability mode, its "
    "answer distributions (the expected code of each request) as the sample. Scores describe "
    "the model under this design, not a population. VSM constants (C) only shift an index; "
    "they default to 0 here, so VSM indices are not on Hofstede's country scale unless you "
    "pass constants."
)


@dataclass
class Section:
    """One report section: tables to show, frames for figures, and visible notes.

    ``tables`` maps a caption to a frame shown as an (escaped) HTML table; ``data`` holds
    tidy frames that figures are built from (and that tests inspect).
    """

    key: str
    title: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    data: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return bool(self.tables or self.data)


@dataclass
class ReportData:
    """What a report reads from the store, loaded once (read-only) and filtered."""

    results_dir: Path
    store: ResultStore
    distributions: pd.DataFrame
    answers: pd.DataFrame
    personas: pd.DataFrame
    models: list[str]
    instruments: list[str]
    notes: list[str] = field(default_factory=list)

    def dists(self, instrument: str) -> pd.DataFrame:
        return self.distributions[self.distributions["instrument"] == instrument]

    def answers_for(self, instrument: str) -> pd.DataFrame:
        return self.answers[self.answers["instrument"] == instrument]


# ---------------------------------------------------------------------- helpers
def _stat(name: str) -> Callable[..., Any]:
    """A function of :mod:`workbench.stats`, or a stand-in that raises a clear 'missing'."""
    try:
        module = importlib.import_module("workbench.stats")
        fn = getattr(module, name, None)
        problem = "is not defined"
    except Exception as exc:  # the package itself may be half-written
        fn, problem = None, f"cannot be imported ({type(exc).__name__}: {exc})"
    if callable(fn):
        return fn

    def missing(*_: object, **__: object) -> None:
        raise NotImplementedError(f"workbench.stats.{name} {problem}")

    return missing


def _attempt(section: Section, what: str, fn: Callable[..., T], *args: Any,
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


def _instrument(instrument_id: str) -> Instrument | None:
    try:
        return load_instrument(instrument_id)
    except WorkbenchError:
        return None


def item_order(instrument_id: str) -> dict[str, int]:
    """Position of each item in its instrument (for sorting tables and figures)."""
    inst = _instrument(instrument_id)
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


def _absent(instrument: str, data: ReportData) -> str:
    stored = ", ".join(data.instruments) or "none"
    return (f"{NOT_AVAILABLE}: no '{instrument}' results for the selected models in "
            f"{data.results_dir} (stored instruments: {stored}); probe it to fill this section")


def _iso3(persona: str) -> str | None:
    kind, _, arg = str(persona).partition(":")
    return arg.upper() if kind == "country" and arg else None


def _country_names() -> dict[str, str]:
    try:
        names = reference.countries()
        return dict(zip(names["iso3"], names["name"], strict=False))
    except Exception:  # the countries table may be absent while data is being prepared
        return {}


def _versions(packages: Sequence[str]) -> pd.DataFrame:
    rows = [{"package": "python", "version": platform.python_version()}]
    for name in packages:
        try:
            rows.append({"package": name, "version": metadata.version(name)})
        except metadata.PackageNotFoundError:
            rows.append({"package": name, "version": "not installed"})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- loading
def load(results_dir: str | Path, models: Sequence[str] | None = None,
         instruments: Sequence[str] | None = None,
         personas: Sequence[str] | None = None) -> ReportData:
    """Read the store once (read-only) and keep the selected models/instruments/personas.

    Why: every section works on the same snapshot. Empty selections mean "all stored".
    Requested models or instruments that are not stored are noted (and skipped); if none of
    the requested models is stored that is a typo, so it raises. A model stored in several
    modes (log-prob and generation) is split into ``"model [mode]"`` so that scores never
    pool the two.
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
            answers = snap.answers(**filters)
        else:
            dists = snap.distributions(model=["\x00none"])
            answers = snap.answers(model=["\x00none"])
        persona_rows = snap.query(
            "SELECT persona, language, persona_text, COUNT(*) AS n_requests FROM requests "
            "GROUP BY ALL ORDER BY persona, language")
    persona_rows = persona_rows[persona_rows["persona"].isin(answers["persona"].unique())]
    multi = inv.groupby("model")["mode"].nunique()
    multi = sorted(multi[multi > 1].index)
    if multi:
        notes.append(f"models stored in several modes are shown per mode: {', '.join(multi)}")
        for frame in (dists, answers):
            mask = frame["model"].isin(multi)
            frame.loc[mask, "model"] = (frame.loc[mask, "model"] + " ["
                                        + frame.loc[mask, "mode"] + "]")
    return ReportData(
        results_dir=Path(results_dir), store=store, distributions=dists, answers=answers,
        personas=persona_rows.reset_index(drop=True),
        models=sorted(answers["model"].unique()),
        instruments=sorted(answers["instrument"].unique()), notes=notes,
    )


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


def header(data: ReportData, **parameters: object) -> pd.DataFrame:
    """What this report is about: store, selection and parameters (one row per setting)."""
    rows = [("results", str(data.results_dir.resolve())),
            ("generated", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
            ("models", ", ".join(data.models)), ("instruments", ", ".join(data.instruments)),
            ("answers", str(len(data.answers)))]
    rows += [(k, str(v)) for k, v in parameters.items()]
    return pd.DataFrame(rows, columns=["setting", "value"])


# ---------------------------------------------------------------------- compare: coverage
def coverage_section(data: ReportData) -> Section:
    """Requests per model x instrument x mode, with answer statuses and design factors."""
    sec = Section("coverage", TITLES["coverage"], notes=list(data.notes))
    a = data.answers
    if a.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no answers for this selection")
        return sec
    keys = ["model", "instrument", "mode"]
    cov = a.groupby(keys).agg(
        n_requests=("request_id", "size"), n_items=("item_id", "nunique"),
        personas=("persona", "nunique"), languages=("language", "nunique"),
        orders=("order", "nunique"), paraphrases=("paraphrase", "nunique"),
        repeats=("repeat", "nunique"),
        share_ok=("status", lambda s: float((s == "ok").mean())),
    ).reset_index()
    sec.tables["Requests per model and instrument"] = cov
    sec.data["coverage"] = cov
    if not data.personas.empty:
        sec.tables["Personas (system texts as stored)"] = data.personas
    return sec


def generation_section(data: ReportData, max_examples: int = 20) -> Section:
    """Statuses of generated answers and examples of refusals / unparseable text."""
    sec = Section("generation", TITLES["generation"])
    a = data.answers[data.answers["mode"] == "generate"]
    if a.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no generation-mode results in this selection "
                         "(log-probability answers have no text)")
        return sec
    status = a.groupby(["model", "instrument", "status"]).size().rename("n").reset_index()
    sec.data["status"] = status
    sec.tables["Answer status"] = status.pivot_table(
        index=["model", "instrument"], columns="status", values="n", fill_value=0
    ).reset_index()
    cols = ["model", "instrument", "item_id", "persona", "status", "generated_text"]
    examples = (a[a["status"] != "ok"].groupby(["model", "status"]).head(max_examples)[cols]
                .head(max_examples))
    ok = a[a["status"] == "ok"].groupby("model").head(3)[[*cols[:5], "answer_code",
                                                            "generated_text"]]
    if not examples.empty:
        sec.tables["Refused or unparseable answers (text as generated)"] = examples
    if not ok.empty:
        sec.tables["Parsed answers (examples)"] = ok
    return sec


# ---------------------------------------------------------------------- compare: Hofstede
def _boot(sec: Section, d: pd.DataFrame, instrument: str, by: list[str], n_boot: int,
          seed: int, ci: float, items: bool, constants: dict | None = None
          ) -> pd.DataFrame | None:
    factors = [f for f in varied(d) if f not in by]
    resample = (["items"] if items else []) + factors
    if not resample:
        sec.notes.append(
            f"{instrument}: no intervals, one persona/variant per model and a linear index "
            "keeps its items, so there is nothing to resample")
        return None
    return _attempt(sec, f"{instrument} bootstrap intervals", _stat("bootstrap_scores"), d,
                    instrument, by=by, resample=tuple(resample), n_boot=n_boot, seed=seed,
                    ci=ci, constants=constants)


def _with_ci(scores: pd.DataFrame, boot: pd.DataFrame | None, by: list[str]) -> pd.DataFrame:
    out = scores[[*by, "score_id", "score_label", "score", "n_items"]].copy()
    if boot is not None and not boot.empty:
        out = out.merge(boot[[*by, "score_id", "ci_low", "ci_high", "resampled"]],
                        on=[*by, "score_id"], how="left")
    else:
        out["ci_low"] = out["ci_high"] = np.nan
        out["resampled"] = ""
    return out


def hofstede_section(data: ReportData, countries: Sequence[str] = (), k: int = 10,
                     constants: dict | None = None, n_boot: int = 1000, seed: int = 0,
                     ci: float = 0.95, min_dims: int | None = None) -> Section:
    """VSM 2013 profile per model, next to selected countries, and the nearest countries.

    ``data["profile"]`` is long (``subject, kind, dimension, score, ci_low, ci_high``);
    tables hold the wide profile, the k nearest countries per model (Euclidean distance
    among countries with every dimension the model has, or with at least ``min_dims``
    dimensions; RMSD and correlation distance alongside) and the distances to the selected
    countries.
    """
    sec = Section("hofstede", TITLES["hofstede"])
    d = data.dists("vsm2013")
    if d.empty:
        sec.notes.append(_absent("vsm2013", data))
        return sec
    constants = dict(constants or {})
    scores = _attempt(sec, "VSM 2013 scores", score_instrument, d, "vsm2013", by=["model"],
                      constants=constants)
    if scores is None:
        return sec
    if not any(constants.values()):
        sec.notes.append(
            "VSM constants are all 0 (the default): indices keep the manual's formulas but are "
            "not anchored to Hofstede's 0-100 country scale. Each dimension has its own "
            "constant, so both distances depend on them: Euclidean through the offsets and "
            "the correlation distance because different shifts per dimension change the "
            "profile's shape. workbench.stats.anchor_vsm_constants fits constants on country "
            "personas")
    boot = _boot(sec, d, "vsm2013", ["model"], n_boot, seed, ci, items=False,
                 constants=constants)
    prof = _with_ci(scores, boot, ["model"])
    long = prof.rename(columns={"model": "subject", "score_id": "dimension"}).assign(
        kind="model")[["subject", "kind", "dimension", "score", "ci_low", "ci_high"]]
    ref = _attempt(sec, "Hofstede country scores", reference.hofstede_scores)
    if ref is not None:
        countries = [c.upper() for c in countries]
        unknown = sorted(set(countries) - set(ref["iso3"].dropna()))
        if unknown:
            sec.notes.append(f"no Hofstede scores for selected countries: {', '.join(unknown)}")
        hl = _attempt(sec, "Hofstede country scores", reference.hofstede_long)
        if hl is not None:
            hl = hl[hl["iso3"].isin(countries)].rename(columns={"country": "subject"})
            long = pd.concat([long, hl.assign(kind="country", ci_low=np.nan, ci_high=np.nan)[
                ["subject", "kind", "dimension", "score", "ci_low", "ci_high"]]],
                ignore_index=True)
    sec.data["profile"] = long
    wide = long.pivot_table(index=["kind", "subject"], columns="dimension", values="score",
                            sort=False).reset_index()
    dims = [d_ for d_ in ("PDI", "IDV", "MAS", "UAI", "LTO", "IVR") if d_ in wide.columns]
    sec.tables["Profile: models and selected countries"] = wide[["kind", "subject", *dims]]
    if prof["ci_low"].notna().any():
        sec.tables[f"Model indices with {ci:.0%} bootstrap intervals"] = prof
    if ref is not None:
        _distances(sec, scores[["model", "score_id", "score"]], ref, countries, k, min_dims)
    return sec


def rank_comparable(dist: pd.DataFrame, by: Sequence[str],
                    min_dims: int | None = None) -> pd.DataFrame:
    """Countries comparable with the profile, re-ranked within ``by``.

    Why: a Euclidean distance over two published dimensions is smaller than one over six by
    construction. ``min_dims=None`` keeps countries with every dimension the profile has
    (``n_model_dims`` of :func:`workbench.stats.hofstede_distance`); an integer keeps those
    sharing at least that many (then compare them by ``rmsd``, per shared dimension).
    """
    if min_dims is None:
        need = (dist["n_model_dims"] if "n_model_dims" in dist.columns
                else dist.groupby(list(by))["n_dims"].transform("max"))
    else:
        need = min_dims
    comparable = dist[dist["n_dims"] >= need].copy()
    for metric, rank in (("euclidean", "rank_euclidean"), ("rmsd", "rank_rmsd"),
                         ("correlation_distance", "rank_correlation")):
        comparable[rank] = comparable.groupby(list(by))[metric].rank(method="min")
    return comparable


def _distances(sec: Section, profile: pd.DataFrame, ref: pd.DataFrame,
               countries: Sequence[str], k: int, min_dims: int | None) -> None:
    """Nearest countries and distances to the selected ones, ranked among comparable countries.

    By default only countries with every dimension the model has are ranked, by Euclidean
    distance; with ``min_dims`` countries sharing at least that many are ranked by RMSD
    (Euclidean per shared dimension), since Euclidean sums over fewer dimensions are smaller.
    """
    metric = "euclidean" if min_dims is None else "rmsd"
    rank = {"euclidean": "rank_euclidean", "rmsd": "rank_rmsd"}[metric]
    cols = ["model", "country", "iso3", "n_dims", metric, rank,
            *[c for c in ("euclidean", "rmsd") if c != metric],
            "correlation_distance", "rank_correlation"]
    dist = _attempt(sec, "country distances", _stat("hofstede_distance"), profile, ref,
                    by=["model"])
    if dist is None:
        return
    comparable = rank_comparable(dist, ["model"], min_dims)
    n = comparable.groupby("model")["iso3"].nunique().max()
    which = ("every dimension the model has" if min_dims is None
             else f"at least {min_dims} dimensions")
    near = _attempt(sec, "nearest countries", _stat("nearest_countries"), profile, ref, k=k,
                    metric=metric, min_dims=min_dims, by=["model"])
    if near is not None:
        near = near[["model", "iso3"]].merge(comparable, on=["model", "iso3"], how="left")
        near["ranked_by"] = metric
        sec.data["nearest"] = near
        sec.tables[f"Nearest {k} countries per model ({metric}; ranks among {n} countries "
                   f"with {which})"] = near[cols]
    if countries:
        sel = dist[dist["iso3"].isin(countries)].drop(
            columns=["rank_euclidean", "rank_rmsd", "rank_correlation"], errors="ignore").merge(
            comparable[["model", "iso3", "n_dims", "rank_euclidean", "rank_rmsd",
                        "rank_correlation"]], on=["model", "iso3", "n_dims"], how="left")
        sec.data["selected_distance"] = sel
        sec.tables["Distance to the selected countries (rank among comparable countries; "
                   f"none unless the country has {which})"] = sel[cols]


# ---------------------------------------------------------------------- compare: MFQ
def mfq_section(data: ReportData, instrument: str = "mfq30", countries: Sequence[str] = (),
                norm_groups: Sequence[str] = ("liberal", "moderate", "conservative"),
                n_boot: int = 1000, seed: int = 0, ci: float = 0.95) -> Section:
    """Foundation scores per model with bootstrap intervals, against human norms.

    MFQ-30 is compared with political-orientation norm groups (where the norms file has
    means; otherwise a note says so), MFQ-2 with the selected countries' means.
    ``data["scores"]``: ``model, score_id, score, ci_low, ci_high``; ``data["norms"]``:
    ``group, foundation, mean, sd``.
    """
    sec = Section(instrument, TITLES[instrument])
    d = data.dists(instrument)
    if d.empty:
        sec.notes.append(_absent(instrument, data))
        return sec
    scores = _attempt(sec, f"{instrument} scores", score_instrument, d, instrument,
                      by=["model"])
    if scores is None:
        return sec
    boot = _boot(sec, d, instrument, ["model"], n_boot, seed, ci, items=True)
    prof = _with_ci(scores, boot, ["model"])
    sec.data["scores"] = prof
    sec.tables[f"Foundation scores with {ci:.0%} bootstrap intervals"] = prof
    norms = _mfq_norms(sec, instrument, countries, norm_groups)
    if norms is not None and not norms.empty:
        sec.data["norms"] = norms
        group_col = "iso3" if instrument == "mfq2" else "group"
        raw = norms.drop(columns=[group_col], errors="ignore").rename(
            columns={"group_key": group_col})
        z = _attempt(sec, "z-scores against norms", _stat("mfq_zscores"),
                     scores[["model", "score_id", "score"]], raw, group_col=group_col)
        if z is not None:
            names = norms.set_index("group_key")["group"].to_dict()
            z = z.assign(human_group=z[group_col].map(names).fillna(z[group_col]),
                         difference=z["score"] - z["norm_mean"].astype(float))
            sec.data["zscores"] = z
            with_sd = z[z["z"].notna()]
            if not with_sd.empty:
                sec.tables["Model scores as z-scores within each human group ((model - human "
                           "mean) / human SD)"] = with_sd.pivot_table(
                    index=["model", "human_group"], columns="score_id", values="z",
                    sort=False).reset_index()
            no_sd = z[z["z"].isna() & z["norm_mean"].notna()]
            if not no_sd.empty:
                groups = ", ".join(sorted(no_sd["human_group"].astype(str).unique()))
                sec.notes.append(f"no published SD for {groups}: the table shows the raw "
                                 "difference (model - human mean) instead of a z-score")
                sec.tables["Model minus human mean, groups without a published SD"] = (
                    no_sd.pivot_table(index=["model", "human_group"], columns="score_id",
                                      values="difference", sort=False).reset_index())
    if "persona" in varied(d):
        by_p = _attempt(sec, f"{instrument} scores by persona", score_instrument, d,
                        instrument, by=["model", "persona"])
        if by_p is not None:
            sec.data["by_persona"] = by_p
            sec.tables["Scores by persona"] = by_p.pivot_table(
                index=["model", "persona"], columns="score_id", values="score",
                sort=False).reset_index()
    flags = _attempt(sec, "catch items", exclusion_flags, d, instrument,
                     by=[c for c in UNIT if c in d.columns])
    if flags is not None and not flags.empty:
        unit = flags.groupby([c for c in UNIT if c in flags.columns], dropna=False)[
            "flagged"].any().reset_index()
        table = unit.groupby("model").agg(units=("flagged", "size"),
                                          flagged=("flagged", "sum")).reset_index()
        per_rule = flags.pivot_table(index="model", columns="item_id", values="p_fail",
                                     aggfunc="mean")
        per_rule.columns = [f"p_fail_{c}" for c in per_rule.columns]
        sec.tables["Catch items: respondent units the manual would exclude (flagged: expected "
                   "answer fails a rule; p_fail: chance that one sampled answer fails it)"] = (
            table.merge(per_rule.reset_index(), on="model", how="left"))
    return sec


def _mfq_norms(sec: Section, instrument: str, countries: Sequence[str],
               norm_groups: Sequence[str]) -> pd.DataFrame | None:
    if instrument == "mfq30":
        norms = _attempt(sec, "MFQ-30 norms", reference.mfq30_norms)
        if norms is None:
            return None
        norms = norms[norms["group"].isin(norm_groups)] if norm_groups else norms
        if norms["mean"].notna().sum() == 0:
            sec.notes.append(
                f"MFQ-30 norms not available for {', '.join(norm_groups) or 'any group'}: "
                "data/reference/mfq30_norms.csv has published means only where its YAML sidecar "
                "says, so no human comparison is drawn")
            return None
        norms = norms.dropna(subset=["mean"])
        return norms.assign(group_key=norms["group"])[
            ["group", "group_key", "foundation", "mean", "sd"]]
    norms = _attempt(sec, "MFQ-2 country norms", reference.mfq2_country_norms)
    if norms is None:
        return None
    countries = [c.upper() for c in countries]
    if not countries:
        sec.notes.append("no countries selected: MFQ-2 country means are not shown")
        return None
    unknown = sorted(set(countries) - set(norms["iso3"]))
    if unknown:
        sec.notes.append(f"no MFQ-2 norms for selected countries: {', '.join(unknown)}")
    norms = norms[norms["iso3"].isin(countries)].dropna(subset=["mean"])
    return norms.assign(group=norms["country"], group_key=norms["iso3"])[
        ["group", "group_key", "foundation", "mean", "sd"]]


# ---------------------------------------------------------------------- compare: WVS
def wvs_section(data: ReportData, countries: Sequence[str] = (), k: int = 10,
                min_items: int | None = None, by: Sequence[str] = ("model",)) -> Section:
    """WVS-7 answer distributions against every country's (1 - Jensen-Shannon distance).

    Countries are compared on every item the model answered (``min_items=None``), or on at
    least ``min_items`` shared items. ``data["similarity"]``: ``[*by, iso3, country,
    similarity, n_items, n_model_items, rank]``; ``data["items"]``: item means of models and
    selected countries.
    """
    by = list(by)
    sec = Section("wvs", TITLES["wvs"])
    d = data.dists("wvs7")
    if d.empty:
        sec.notes.append(_absent("wvs7", data))
        return sec
    cd = _attempt(sec, "WVS country distributions", reference.wvs_distributions)
    if cd is None:
        return sec
    if min_items is not None:
        min_items = max(1, min(min_items, int(d["item_id"].nunique())))
    sim = _attempt(sec, "WVS similarity", _stat("wvs_similarity"), d, cd, by=by,
                   min_items=min_items)
    if sim is None or sim.empty:
        return sec
    sim = sim.copy()
    sim["rank"] = sim.groupby(by)["similarity"].rank(ascending=False, method="min")
    sec.data["similarity"] = sim
    which = ("on every item the model answered" if min_items is None
             else f"on at least {min_items} shared items")
    sec.tables[f"Top {k} countries by answer similarity (1 - JS distance, base 2; countries "
               f"compared {which})"] = sim.sort_values([*by, "rank"]).groupby(by).head(k)
    countries = [c.upper() for c in countries]
    if countries:
        sel = sim[sim["iso3"].isin(countries)].sort_values([*by, "rank"])
        sec.tables["Selected countries (rank among all countries)"] = sel
    iv = _attempt(sec, "WVS item means", item_values, d, "wvs7", by=by)
    if iv is not None:
        iv = iv[iv["quantity"] == "mean"]
        means = reference.wvs_item_means()
        names = _country_names()
        cm = means[means["iso3"].isin(countries)].assign(
            subject=lambda f: f["iso3"].map(names).fillna(f["iso3"]), kind="country")
        items = pd.concat([
            iv.assign(subject=iv[by].astype(str).agg(" / ".join, axis=1), kind="model")[
                ["subject", "kind", "item_id", "value"]],
            cm.rename(columns={"mean": "value"})[["subject", "kind", "item_id", "value"]],
        ], ignore_index=True)
        items = items[items["item_id"].isin(iv["item_id"])]
        sec.data["items"] = items
        sec.tables["Item means (ordinal items): models and selected countries"] = (
            items.pivot_table(index="item_id", columns="subject", values="value",
                              sort=False).reset_index())
    return sec


def map_positions(data: ReportData, by: Sequence[str] = ("model",),
                  sec: Section | None = None) -> pd.DataFrame | None:
    """Inglehart-Welzel map positions of each ``by`` group.

    Wide: per axis ``estimate_``, ``pi_low_``, ``pi_high_``, ``r_squared_``,
    ``r_squared_loo_``, ``leverage_``, ``extrapolation_``, ``n_countries_`` and
    ``predictors_`` + axis name;
    ``n_countries``, ``n_items`` and ``items`` over both axes.
    """
    sec = sec or Section("map", TITLES["map"])
    by = list(by)
    d = data.dists("wvs7")
    pos = _attempt(sec, "map position", _stat("inglehart_welzel_position"), d,
                   reference.wvs_distributions(), reference.wvs_map(), by=by)
    if pos is None or pos.empty:
        return None
    values = ["estimate", "pi_low", "pi_high", "r_squared", "r_squared_loo", "leverage",
              "extrapolation", "n_countries", "predictors"]
    wide = pos.pivot_table(index=by, columns="axis", values=values, aggfunc="first",
                           dropna=False)
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    wide = wide.reset_index()
    for col in [c for c in wide.columns if c.startswith("extrapolation_")]:
        wide[col] = wide[col].astype(bool)
    wide["n_countries"] = int(pos["n_countries"].min())
    items = list(dict.fromkeys(i for row in pos["items"] for i in str(row).split(",")))
    wide["n_items"] = len(items)
    wide["items"] = ",".join(items)
    lacking = pos.loc[pos["note"].str.startswith("model lacks"), "note"]
    for note in dict.fromkeys(lacking):
        sec.notes.append(f"map position not computed for some groups: {note}")
    return wide


def map_section(data: ReportData, countries: Sequence[str] = ()) -> Section:
    """Place each model among countries on the Inglehart-Welzel map (regression estimate)."""
    sec = Section("map", TITLES["map"])
    if data.dists("wvs7").empty:
        sec.notes.append(_absent("wvs7", data))
        return sec
    wide = map_positions(data, ("model",), sec)
    if wide is None:
        return sec
    ts, se = "traditional_secular", "survival_self_expression"
    p_ts, p_se = (wide[f"predictors_{ax}"].iloc[0].replace(",", ", ") for ax in (ts, se))
    sec.notes.append(
        "Approximation: each map axis is an OLS regression of the countries' published map "
        f"coordinates on that axis's own indicators only (traditional-secular: {p_ts}; "
        f"survival-self-expression: {p_se}; computed from the countries' WVS-7 answer shares "
        f"as from the model's answers) over {wide[f'n_countries_{ts}'].iloc[0]} and "
        f"{wide[f'n_countries_{se}'].iloc[0]} countries. In-sample R² = "
        f"{wide[f'r_squared_{ts}'].iloc[0]:.2f} and {wide[f'r_squared_{se}'].iloc[0]:.2f}; "
        f"leave-one-country-out R² = {wide[f'r_squared_loo_{ts}'].iloc[0]:.2f} and "
        f"{wide[f'r_squared_loo_{se}'].iloc[0]:.2f}. The model is placed by applying the fit "
        "to its indicators, with 95% prediction intervals. The published map comes from "
        "factor scores of individual survey data, so this placement is an approximation.")
    flagged = wide.loc[wide[f"extrapolation_{ts}"] | wide[f"extrapolation_{se}"], "model"]
    if not flagged.empty:
        sec.notes.append(
            f"extrapolated (indicators outside the countries' range, leverage above every "
            f"country's): {', '.join(map(str, flagged))}: the placement goes beyond the "
            "countries the regression was fitted on")
    sec.data["models"] = wide
    countries_frame = reference.wvs_map()
    countries_frame["selected"] = countries_frame["iso3"].isin([c.upper() for c in countries])
    sec.data["countries"] = countries_frame
    sec.tables["Estimated map positions (regression approximation)"] = wide[[
        "model", f"estimate_{ts}", f"pi_low_{ts}", f"pi_high_{ts}", f"estimate_{se}",
        f"pi_low_{se}", f"pi_high_{se}", f"r_squared_{ts}", f"r_squared_loo_{ts}",
        f"r_squared_{se}", f"r_squared_loo_{se}", f"extrapolation_{ts}", f"extrapolation_{se}",
        "n_countries", "n_items"]]
    return sec


# ---------------------------------------------------------------------- compare: reliability
def reliability_section(data: ReportData, threshold: float = 0.7,
                        by: Sequence[str] = ("model",)) -> Section:
    """Cronbach's alpha and McDonald's omega per score, with the low-reliability flag."""
    sec = Section("reliability", TITLES["reliability"])
    frames = []
    for inst_id in data.instruments:
        if _instrument(inst_id) is None:
            sec.notes.append(f"{inst_id}: not a shipped instrument, skipped")
            continue
        a = data.answers_for(inst_id)
        respondents = [f for f in varied(a) if f not in by]
        if not respondents:
            sec.notes.append(
                f"{inst_id}: reliability {NOT_AVAILABLE}, only one persona/variant/repeat per "
                "model, so there are no respondents to correlate items over")
            continue
        rel = _attempt(sec, f"{inst_id} reliability", _stat("reliability_by_score"), a,
                       inst_id, respondent=tuple(respondents), by=tuple(by),
                       threshold=threshold)
        if rel is not None and not rel.empty:
            frames.append(rel.assign(instrument=inst_id,
                                     respondents=" x ".join(respondents)))
    if frames:
        rel = pd.concat(frames, ignore_index=True)
        rel["reliability"] = np.select(
            [rel["alpha"].isna(), rel["flag_low"].astype(bool)],
            ["n/a", "LOW"], "ok")
        sec.data["reliability"] = rel
        cols = [*by, "instrument", "score_id", "reliability", "alpha", "omega", "threshold",
                "n_respondents", "n_items", "respondents", "note"]
        sec.tables[f"Internal consistency (LOW = alpha below {threshold}; n/a = not "
                   "computable, e.g. a single-item score)"] = rel[cols]
        n_low = int((rel["reliability"] == "LOW").sum())
        n_na = int((rel["reliability"] == "n/a").sum())
        if n_low:
            sec.notes.append(f"{n_low} of {len(rel)} scores have low reliability (flag LOW): "
                             "interpret them with care")
        if n_na:
            sec.notes.append(f"{n_na} scores have no reliability estimate (fewer than 2 items "
                             "or respondents): their internal consistency is unknown")
    return sec


# ---------------------------------------------------------------------- compare: consistency
def consistency_section(data: ReportData, by: Sequence[str] = ("model",)) -> Section:
    """Answer shifts across option orders / paraphrases / languages, and position bias."""
    sec = Section("consistency", TITLES["consistency"])
    by = list(by)
    a = data.answers[data.answers["instrument"].map(lambda i: _instrument(i) is not None)]
    frames = []
    for factor, ref in CONSISTENCY_FACTORS:
        if factor not in varied(a):
            continue
        levels = set(a[factor].unique())
        if ref not in levels:
            ref = sorted(levels, key=str)[0]
        res = _attempt(sec, f"consistency across {factor}", _stat("consistency_summary"), a,
                       factor=factor, reference_level=ref, by=tuple([*by, "instrument"]))
        if res is not None:
            frames.append(res.assign(reference_level=res["reference_level"].astype(str),
                                     level=res["level"].astype(str)))
    if frames:
        cons = pd.concat(frames, ignore_index=True)
        sec.data["consistency"] = cons
        sec.tables["Shift from the reference variant (mean |shift| in scale points; flips "
                   "across the midpoint; Spearman rho of item means)"] = cons
    else:
        sec.notes.append(f"consistency {NOT_AVAILABLE}: every model was asked with one option "
                         "order, one wording and one language")
    d = data.distributions[data.distributions["mode"] == "logprob"]
    if not d.empty:
        pb = _attempt(sec, "position bias", _stat("position_bias"), d,
                      by=tuple([*by, "instrument"]))
        if pb is not None:
            sec.data["position_bias"] = pb
            sec.tables["Probability on the first / last presented option: raw vs uniform 1/k, "
                       "and centred (each answer's mean mass across orders subtracted, so "
                       "label preference does not count as position bias)"] = pb
    acq = []
    for inst_id in data.instruments:
        if _instrument(inst_id) is None:
            continue
        res = _attempt(sec, f"{inst_id} acquiescence", _stat("acquiescence"),
                       data.answers_for(inst_id), inst_id, by=tuple(by))
        if res is not None and not res.empty:
            acq.append(res.assign(instrument=inst_id))
    if acq:
        sec.tables["Acquiescence (agreeing with regular and reversed items)"] = pd.concat(
            acq, ignore_index=True)
    else:
        sec.notes.append("acquiescence not computed: no selected instrument mixes regular and "
                         "reverse-keyed items in one score")
    return sec


# ---------------------------------------------------------------------- compare: tests
def comparison_section(data: ReportData, n_perm: int = 2000, seed: int = 0,
                       alpha: float = 0.05, constants: dict | None = None) -> Section:
    """Permutation tests of every score between every pair of models, Holm and BH corrected.

    Paired sign-flip tests where the two models were asked the same respondent units,
    independent permutation tests otherwise (column ``test``). The family for both
    corrections is every test in the report. Effect size: difference / pooled SD of
    respondent-unit scores (Cohen's d).
    """
    sec = Section("tests", TITLES["tests"])
    if len(data.models) < 2:
        sec.notes.append(f"{NOT_AVAILABLE}: only one model selected, nothing to compare")
        return sec
    frames = []
    for inst_id in data.instruments:
        if _instrument(inst_id) is None:
            continue
        d = data.dists(inst_id)
        present = sorted(d["model"].unique())
        units = d.drop_duplicates([c for c in UNIT if c in d.columns]).groupby("model").size()
        for a, b in itertools.combinations(present, 2):
            single = [m for m in (a, b) if units.get(m, 0) < 2]
            if single:
                sec.notes.append(
                    f"{inst_id} {a} vs {b}: not tested, {', '.join(single)} has a single "
                    "respondent unit (one persona/variant/repeat); a permutation test needs "
                    "at least 2 per model")
                continue
            res = _attempt(sec, f"{inst_id} {a} vs {b}", _stat("permutation_test_scores"), d,
                           inst_id, a=a, b=b, factor="model", n_perm=n_perm, seed=seed,
                           constants=constants if inst_id == "vsm2013" else None)
            if res is not None and not res.empty:
                frames.append(res.assign(instrument=inst_id))
    if not frames:
        sec.notes.append(f"{NOT_AVAILABLE}: no instrument was answered by two selected models")
        return sec
    tests = pd.concat(frames, ignore_index=True)
    correct = _stat("correct_pvalues")
    holm = _attempt(sec, "Holm correction", correct, tests, method="holm", alpha=alpha)
    if holm is not None:
        tests["p_holm"] = holm["p_adjusted"].to_numpy()
    bh = _attempt(sec, "Benjamini-Hochberg correction", correct, tests, method="fdr_bh",
                  alpha=alpha)
    if bh is not None:
        tests["p_bh"] = bh["p_adjusted"].to_numpy()
    for col in ("p_holm", "p_bh"):
        if col not in tests.columns:
            tests[col] = np.nan
    tests["significant_holm"] = tests["p_holm"] < alpha
    sec.data["tests"] = tests
    sec.tables[f"Score differences (permutation tests; Holm and BH over all {len(tests)} "
               f"tests, alpha {alpha})"] = tests[[
                   "instrument", "score_id", "a", "b", "score_a", "score_b", "difference",
                   "effect_size", "p_value", "p_holm", "p_bh", "significant_holm", "test",
                   "n_units_a", "n_units_b"]]
    sec.notes.append("effect size: difference / pooled SD of unit-level scores (units = "
                     "persona x variant x repeat combinations of each model); when both "
                     "models were asked the same units the test is a paired sign-flip test "
                     "(column test), otherwise an independent permutation test")
    return sec


# ---------------------------------------------------------------------- provenance
PACKAGES = ("workbench", "numpy", "pandas", "scipy", "statsmodels", "duckdb", "plotly",
            "papermill", "nbconvert", "nbformat", "ipykernel", "ipywidgets", "transformers",
            "torch")


def provenance_section(data: ReportData) -> Section:
    """Which models, weights, templates and reference data produced these numbers."""
    sec = Section("provenance", TITLES["provenance"])
    prov = _attempt(sec, "model provenance", data.store.provenance)
    if prov is not None:
        models = {m.split(" [")[0] for m in data.models}
        prov = prov[prov["model"].isin(models)]
        sec.tables["Models and answers (from the result store)"] = prov
    sources = _attempt(sec, "reference sources", reference.reference_sources)
    if sources is not None:
        sec.tables["Human reference data"] = sources
    sec.tables["Software"] = _versions(PACKAGES)
    return sec


# ---------------------------------------------------------------------- probe (one model)
def probe_overview_section(data: ReportData) -> Section:
    """Requests by instrument, mode and status, and the factor levels used."""
    sec = Section("probe_overview", TITLES["probe_overview"], notes=list(data.notes))
    a = data.answers
    if a.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no answers for this selection")
        return sec
    status = a.groupby(["instrument", "mode", "status"]).size().rename("n").reset_index()
    sec.tables["Requests by instrument, mode and status"] = status
    levels = [{"factor": f, "levels": ", ".join(map(str, sorted(a[f].unique(), key=str))),
               "n_levels": int(a[f].nunique())} for f in VARIANT_FACTORS if f in a.columns]
    sec.tables["Design factors"] = pd.DataFrame(levels)
    return sec


def answer_distribution_section(data: ReportData, max_items: int = 60) -> Section:
    """Mean answer distribution per item (over all requests) and expected values.

    ``data["dist:<instrument>"]``: ``item_id, label, code, prob``; ``data["items"]``: per
    item expected code (mean, min, max over requests) and item text.
    """
    sec = Section("distributions", TITLES["distributions"])
    d = data.distributions
    if d.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no answer distributions (generation-only results "
                         "with no parsed answer)")
        return sec
    mid = _stat("model_item_distributions")
    rows = []
    for inst_id in data.instruments:
        di = data.dists(inst_id)
        if di.empty:
            continue
        items = list(dict.fromkeys(di["item_id"]))
        if len(items) > max_items:
            sec.notes.append(f"{inst_id}: showing the first {max_items} of {len(items)} items")
            di = di[di["item_id"].isin(items[:max_items])]
        dist = _attempt(sec, f"{inst_id} distributions", mid, di, by=("instrument",))
        if dist is not None:
            sec.data[f"dist:{inst_id}"] = sort_items(dist, ["code"])
        inst = _instrument(inst_id)
        a = data.answers_for(inst_id)
        summary = a.groupby("item_id", sort=False)["expected"].agg(
            n_requests="size", mean_expected="mean", min_expected="min",
            max_expected="max").reset_index()
        if inst is not None:
            text = {it.id: next(iter(it.text.values()), "") for it in inst.items}
            summary.insert(1, "text", summary["item_id"].map(text))
        rows.append(summary.assign(instrument=inst_id))
    if rows:
        items = sort_items(pd.concat(rows, ignore_index=True))
        sec.data["items"] = items
        sec.tables["Expected answer per item (over all personas and variants)"] = items
    return sec


def factor_effect_section(data: ReportData, factor: str,
                          reference_level: object | None = None) -> Section:
    """How answers move with one factor (persona, language, order or paraphrase).

    Summary per level (mean |shift|, flips, Spearman rho) and per item shifts; for option
    order also position bias per item; for personas also scores by persona and the texts.
    """
    sec = Section(factor, TITLES[factor])
    a = data.answers[data.answers["instrument"].map(lambda i: _instrument(i) is not None)]
    if factor not in varied(a):
        level = a[factor].iloc[0] if len(a) else "-"
        sec.notes.append(f"{NOT_AVAILABLE}: every answer used the same {factor} ({level}); "
                         f"probe with several {factor} levels to see its effect")
        return sec
    levels = list(a[factor].unique())
    if reference_level is None or reference_level not in levels:
        default = dict(CONSISTENCY_FACTORS).get(factor, "none")
        reference_level = default if default in levels else sorted(levels, key=str)[0]
    sec.notes.append(f"reference {factor}: {reference_level}")
    summ = _attempt(sec, f"consistency across {factor}", _stat("consistency_summary"), a,
                    factor=factor, reference_level=reference_level,
                    by=("model", "instrument"))
    if summ is not None:
        sec.data["summary"] = summ
        sec.tables[f"Shift from {factor} = {reference_level} (per instrument)"] = summ
    across = _attempt(sec, f"per-item shifts across {factor}", _stat("consistency_across"), a,
                      factor=factor, reference_level=reference_level,
                      by=("model", "instrument"))
    if across is not None and not across.empty:
        across = sort_items(across.assign(level=across["level"].astype(str)), ["level"])
        sec.data["across"] = across
        worst = across.reindex(across["mean_abs_shift"].sort_values(ascending=False).index)
        sec.tables["Items that move most"] = worst.head(15)
    if factor == "order":
        d = data.distributions[data.distributions["mode"] == "logprob"]
        if not d.empty:
            pb = _attempt(sec, "position bias per item", _stat("position_bias"), d,
                          by=("model", "instrument"), per_item=True)
            if pb is not None:
                sec.data["position_bias"] = pb
                sec.tables["Position bias per item (mass on the first/last presented option "
                           "net of each answer's mass across orders)"] = (
                    pb.sort_values("first_excess_centred", ascending=False,
                                   na_position="last").head(20))
    if factor == "persona":
        frames = []
        for inst_id in data.instruments:
            if _instrument(inst_id) is None:
                continue
            s = _attempt(sec, f"{inst_id} scores by persona", score_instrument,
                         data.dists(inst_id), inst_id, by=["model", "persona"])
            if s is not None:
                frames.append(s)
        if frames:
            scores = pd.concat(frames, ignore_index=True)
            sec.data["scores"] = scores
            sec.tables["Scores by persona"] = scores.pivot_table(
                index=["instrument", "score_id"], columns="persona", values="score",
                sort=False).reset_index()
        if not data.personas.empty:
            sec.tables["Persona texts"] = data.personas
    return sec


# ---------------------------------------------------------------------- culture personas
def correlation_table(frame: pd.DataFrame, x: str, y: str, by: Sequence[str],
                      ci: float = 0.95) -> pd.DataFrame:
    """Pearson r (with a ``ci`` confidence interval, scipy) and Spearman rho per group.

    Why: "do persona scores follow the countries' human scores?" is a correlation over
    countries; with few countries the interval is wide and shown as such. r needs 3 points
    and a varying x and y; its interval needs 4 (Fisher z).
    """
    rows = []
    groups = frame.groupby(list(by), sort=True) if by else [((), frame)]
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        sub = sub[[x, y]].dropna()
        row = dict(zip(by, key, strict=True))
        row.update(n=len(sub), r=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan,
                   spearman_rho=np.nan, spearman_p=np.nan)
        if len(sub) >= 3 and sub[x].nunique() > 1 and sub[y].nunique() > 1:
            res = sps.pearsonr(sub[x], sub[y])
            row.update(r=float(res.statistic), p_value=float(res.pvalue))
            if len(sub) >= 4:
                lo, hi = res.confidence_interval(confidence_level=ci)
                row.update(ci_low=float(lo), ci_high=float(hi))
            sp = sps.spearmanr(sub[x], sub[y])
            row.update(spearman_rho=float(sp.statistic), spearman_p=float(sp.pvalue))
        rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "n", "r", "ci_low", "ci_high", "p_value",
                                       "spearman_rho", "spearman_p"])


def _country_personas(data: ReportData) -> pd.DataFrame:
    personas = pd.Series(sorted(data.answers["persona"].unique()), dtype=object)
    iso = personas.map(_iso3)
    return pd.DataFrame({"persona": personas, "iso3": iso}).dropna(subset=["iso3"])


def country_personas_section(data: ReportData) -> Section:
    """Which country personas are stored, and which have human reference data."""
    sec = Section("country_personas", TITLES["country_personas"], notes=list(data.notes))
    cp = _country_personas(data)
    if cp.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no country personas (country:ISO3) in this "
                         "selection; probe a design such as designs/culture_personas.yaml")
        return sec
    names = _country_names()
    hof = set(reference.hofstede_scores()["iso3"].dropna())
    wmap = set(reference.wvs_map()["iso3"])
    counts = data.answers.groupby(["persona", "model"]).size().unstack(fill_value=0)
    cp = cp.assign(country=cp["iso3"].map(names), hofstede=cp["iso3"].isin(hof),
                   wvs_map=cp["iso3"].isin(wmap))
    cp = cp.merge(counts.reset_index(), on="persona", how="left")
    texts = data.personas.groupby("persona")["persona_text"].first()
    cp["persona_text"] = cp["persona"].map(texts)
    sec.data["personas"] = cp
    sec.tables["Country personas (answers per model)"] = cp
    return sec


def persona_hofstede_section(data: ReportData, constants: dict | None = None,
                             ci: float = 0.95, baseline: str = "none",
                             min_dims: int | None = None) -> Section:
    """Per dimension: correlation over countries of persona scores with human scores.

    Also, per persona country, the rank of its own country among all countries by distance
    to the persona's profile, and whether the persona is closer to its country than the
    baseline (no persona) is.
    """
    sec = Section("persona_hofstede", TITLES["persona_hofstede"])
    d = data.dists("vsm2013")
    cp = _country_personas(data)
    if d.empty or cp.empty:
        sec.notes.append(_absent("vsm2013", data) if d.empty else
                         f"{NOT_AVAILABLE}: no country personas in this selection")
        return sec
    scores = _attempt(sec, "VSM 2013 scores by persona", score_instrument, d, "vsm2013",
                      by=["model", "persona"], constants=constants)
    if scores is None:
        return sec
    hof = reference.hofstede_long()
    pts = scores.merge(cp, on="persona").merge(
        hof.rename(columns={"dimension": "score_id", "score": "human"})[
            ["iso3", "country", "score_id", "human"]], on=["iso3", "score_id"])
    pts = pts.rename(columns={"score": "persona_score"})[
        ["model", "persona", "iso3", "country", "score_id", "persona_score", "human"]]
    sec.data["points"] = pts
    corr = correlation_table(pts, "human", "persona_score", ["model", "score_id"], ci)
    sec.data["correlation"] = corr
    sec.tables[f"Persona score vs the country's Hofstede score, over countries (Pearson r "
               f"with {ci:.0%} CI)"] = corr
    if corr["n"].max() < 4:
        sec.notes.append("fewer than 4 country personas with scores: correlations are not "
                         "interpretable (intervals need at least 4)")
    ref = reference.hofstede_scores()
    profile = scores[["model", "persona", "score_id", "score"]]
    dist = _attempt(sec, "distances", _stat("hofstede_distance"), profile, ref,
                    by=["model", "persona"])
    if dist is not None:
        dist = rank_comparable(dist, ["model", "persona"], min_dims)
        own = dist.merge(cp, on=["persona", "iso3"])[
            ["model", "persona", "iso3", "country", "euclidean", "rank_euclidean",
             "correlation_distance", "rank_correlation"]]
        base = dist[dist["persona"] == baseline][["model", "iso3", "euclidean"]].rename(
            columns={"euclidean": "baseline_euclidean"})
        if not base.empty:
            own = own.merge(base, on=["model", "iso3"], how="left")
            own["closer_than_baseline"] = own["euclidean"] < own["baseline_euclidean"]
        else:
            sec.notes.append(f"no '{baseline}' persona answers: cannot say whether country "
                             "personas move toward their country")
        sec.data["own_country"] = own
        n = dist.groupby(["model", "persona"])["iso3"].nunique().max()
        which = ("every dimension the profile has" if min_dims is None
                 else f"at least {min_dims} published dimensions")
        sec.tables[f"Own country's rank among {n} countries (with {which}) by distance to "
                   "the persona profile"] = own
    return sec


def anchored_hofstede_section(data: ReportData, baseline: str = "none", k: int = 10
                              ) -> Section:
    """VSM 2013 constants fitted on the model's own country personas, and what they show.

    Why: with C = 0 a VSM profile is not on Hofstede's scale, so distances to countries mean
    little. Anchoring sets ``C_d`` = mean over country personas of (published score - index)
    (:func:`workbench.stats.anchor_vsm_constants`). Then (a) the baseline profile's nearest
    countries are read relative to how the model represents countries, and (b) each persona's
    own country is ranked with constants fitted on the *other* personas (leave-one-out), so
    a persona is never anchored on itself.
    """
    sec = Section("persona_anchored", TITLES["persona_anchored"])
    d = data.dists("vsm2013")
    cp = _country_personas(data)
    if d.empty or len(cp) < 3:
        sec.notes.append(_absent("vsm2013", data) if d.empty else
                         f"{NOT_AVAILABLE}: anchoring needs at least 3 country personas "
                         f"(found {len(cp)})")
        return sec
    scores = _attempt(sec, "VSM 2013 scores by persona", score_instrument, d, "vsm2013",
                      by=["model", "persona"])
    if scores is None:
        return sec
    ref = reference.hofstede_scores()
    anchor = _stat("anchor_vsm_constants")
    mapping = dict(zip(cp["persona"], cp["iso3"], strict=True))
    constants = _attempt(sec, "anchored constants", anchor, scores, ref, mapping)
    if constants is None:
        return sec
    sec.data["constants"] = constants
    sec.tables["Constants C fitted on the country personas (residual_sd: spread over countries "
               "of published - index - C)"] = constants
    shifted = scores.merge(constants[["model", "score_id", "constant"]],
                           on=["model", "score_id"], how="left")
    shifted["score"] = shifted["score"] + shifted["constant"].fillna(0.0)
    base = shifted[shifted["persona"] == baseline][["model", "persona", "score_id", "score"]]
    if base.empty:
        sec.notes.append(f"no '{baseline}' persona answers: no anchored baseline profile")
    else:
        near = _attempt(sec, "nearest countries", _stat("nearest_countries"), base, ref, k=k,
                        by=["model"])
        if near is not None:
            sec.tables[f"Countries nearest to the anchored '{baseline}' profile (Euclidean, "
                       "countries with all six dimensions)"] = near
    rows = []
    for (model, persona), _own in scores[scores["persona"].isin(mapping)].groupby(
            ["model", "persona"]):
        others = {p: c for p, c in mapping.items() if p != persona}
        fit = _attempt(sec, f"leave-one-out constants for {persona}", anchor,
                       scores[scores["model"] == model], ref, others)
        if fit is None:
            continue
        prof = scores[(scores["model"] == model) & (scores["persona"] == persona)].merge(
            fit[["score_id", "constant"]], on="score_id", how="left")
        prof = prof.assign(score=prof["score"] + prof["constant"].fillna(0.0))[
            ["model", "persona", "score_id", "score"]]
        dist = _attempt(sec, "distances", _stat("hofstede_distance"), prof, ref,
                        by=["model", "persona"])
        if dist is None:
            continue
        ranked = dist.dropna(subset=["rank_euclidean"])
        own = ranked[ranked["iso3"] == mapping[persona]]
        rows.append({"model": model, "persona": persona, "iso3": mapping[persona],
                     "own_rank": float(own["rank_euclidean"].iloc[0]) if len(own) else np.nan,
                     "n_ranked": len(ranked), "n_anchor_personas": len(others)})
    if rows:
        own = pd.DataFrame(rows)
        sec.data["own_rank"] = own
        sec.tables["Own country's rank by distance to the persona profile, constants fitted "
                   "on the other personas (1 = nearest; chance: about n_ranked / 2)"] = own
        summary = own.groupby("model").agg(
            personas=("persona", "size"), median_rank=("own_rank", "median"),
            in_top_10=("own_rank", lambda r: float((r <= 10).mean())),
            n_ranked=("n_ranked", "max")).reset_index()
        sec.tables["Summary: median own-country rank (leave-one-out anchoring)"] = summary
    sec.notes.append(
        "Anchoring removes each dimension's average offset between the model's country "
        "personas and the published scores; it cannot correct how the model orders countries. "
        "It assumes the personas' countries are a fair sample of the model's range.")
    return sec


def persona_map_section(data: ReportData, ci: float = 0.95,
                        baseline: str = "none") -> Section:
    """Per map axis: correlation over countries of persona map positions with the real ones."""
    sec = Section("persona_map", TITLES["persona_map"])
    cp = _country_personas(data)
    if data.dists("wvs7").empty or cp.empty:
        sec.notes.append(_absent("wvs7", data) if data.dists("wvs7").empty else
                         f"{NOT_AVAILABLE}: no country personas in this selection")
        return sec
    wide = map_positions(data, ("model", "persona"), sec)
    if wide is None:
        return sec
    wmap = reference.wvs_map()
    ts, se = "traditional_secular", "survival_self_expression"
    pts = wide.merge(cp, on="persona").merge(
        wmap[["iso3", "country", ts, se]], on="iso3")
    sec.data["points"] = pts
    sec.data["baseline"] = wide[wide["persona"] == baseline]
    sec.data["countries"] = wmap
    long = pd.concat([
        pts.assign(axis=ax, persona_position=pts[f"estimate_{ax}"], human=pts[ax])
        for ax in (ts, se)], ignore_index=True)
    corr = correlation_table(long, "human", "persona_position", ["model", "axis"], ci)
    sec.data["correlation"] = corr
    sec.tables[f"Persona map position vs the country's position (Pearson r with {ci:.0%} "
               "CI)"] = corr
    sec.tables["Positions"] = pts[["model", "persona", "country", ts, f"estimate_{ts}", se,
                                   f"estimate_{se}"]]
    sec.notes.append(
        f"positions are regression estimates (R² {wide[f'r_squared_{ts}'].iloc[0]:.2f} and "
        f"{wide[f'r_squared_{se}'].iloc[0]:.2f} in sample, "
        f"{wide[f'r_squared_loo_{ts}'].iloc[0]:.2f} and "
        f"{wide[f'r_squared_loo_{se}'].iloc[0]:.2f} leaving each country out, over "
        f"{wide['n_countries'].iloc[0]} countries): an approximation of the published map")
    return sec


def persona_similarity_section(data: ReportData, min_items: int | None = None,
                               baseline: str = "none") -> Section:
    """Rank of each persona's own country by WVS answer similarity, vs the baseline."""
    sec = Section("persona_similarity", TITLES["persona_similarity"])
    cp = _country_personas(data)
    d = data.dists("wvs7")
    if d.empty or cp.empty:
        sec.notes.append(_absent("wvs7", data) if d.empty else
                         f"{NOT_AVAILABLE}: no country personas in this selection")
        return sec
    if min_items is not None:
        min_items = max(1, min(min_items, int(d["item_id"].nunique())))
    sim = _attempt(sec, "WVS similarity by persona", _stat("wvs_similarity"), d,
                   reference.wvs_distributions(), by=["model", "persona"], min_items=min_items)
    if sim is None or sim.empty:
        return sec
    sim = sim.copy()
    sim["rank"] = sim.groupby(["model", "persona"])["similarity"].rank(ascending=False,
                                                                       method="min")
    own = sim.merge(cp, on=["persona", "iso3"])
    lacking = sorted(set(cp["iso3"]) - set(own["iso3"]))
    if lacking:
        sec.notes.append(f"no WVS-7 answer shares (or too few shared items) for persona "
                         f"countries: {', '.join(lacking)}")
    base = sim[sim["persona"] == baseline][["model", "iso3", "similarity", "rank"]].rename(
        columns={"similarity": "baseline_similarity", "rank": "baseline_rank"})
    own = own.merge(base, on=["model", "iso3"], how="left")
    own["more_similar_than_baseline"] = own["similarity"] > own["baseline_similarity"]
    n = sim.groupby(["model", "persona"])["iso3"].nunique().max()
    sec.data["own_country"] = own
    sec.tables[f"Own country's similarity rank among {n} countries"] = own[[
        "model", "persona", "country", "similarity", "rank", "baseline_similarity",
        "baseline_rank", "more_similar_than_baseline", "n_items"]]
    return sec
