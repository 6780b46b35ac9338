"""Schwartz basic values section (ESS Human Values Scale, PVQ-21): the ten values and the four
higher-order values per model, raw and centred, with bootstrap intervals, the value
circumplex, and the nearest ESS countries on centred scores where a country table exists.

Scoring: value = mean of its items (7 - ESS code, so 6 = "very much like me"), MRAT = the
respondent's mean over all 21 items, centred value = value - MRAT per respondent unit
(Schwartz 2003, ch. 7 of the ESS Questionnaire Development Package; "Computing scores for
the 10 human values", ESS EduNet). Country distances: :func:`workbench.stats.schwartz.
nearest_value_countries` (Euclidean in scale points; correlation distance 1 - r).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from workbench import reference
from workbench.instrument_files import load_instrument
from workbench.instruments import Instrument
from workbench.schwartz_figures import circumplex_figure
from workbench.scoring import score_instrument
from workbench.sections.base import (
    ReportData,
    Section,
    absent_note,
    attempt,
    bootstrap_or_note,
    country_names,
    with_intervals,
)
from workbench.sections.registry import section
from workbench.sections.settings import Settings
from workbench.stats.schwartz import METRICS, nearest_value_countries

INSTRUMENT = "pvq21"
SIDECAR = "data/reference/ess_human_values.yaml"
VALUE_COLUMNS = ["model", "value", "raw", "raw_ci_low", "raw_ci_high", "centred",
                 "centred_ci_low", "centred_ci_high", "n_items"]


def schwartz_figures(s: Section) -> list[go.Figure]:
    return [circumplex_figure(s.data["profile"], s.data.get("reference"), INSTRUMENT,
                              label="model", title="Schwartz values: centred scores (value - "
                                                    "MRAT) per model" + (
                                  ", ESS countries as a band" if "reference" in s.data
                                  else ""))]


@section("schwartz", title="Schwartz basic values (ESS PVQ-21)",
         reports={"compare": 45, "probe": 25}, figures=schwartz_figures,
         description="The ten basic values and four higher-order values of the ESS Human "
                     "Values Scale per model: raw means (1-6, 6 = very much like me) and "
                     "centred scores (value minus the mean rating over all 21 items, MRAT, "
                     "the scores Schwartz recommends for comparisons), with bootstrap "
                     "intervals over the model's personas and prompt variants; the value "
                     "circle; and the nearest ESS countries on centred scores where an ESS "
                     "country table is available.")
def schwartz_section(data: ReportData, settings: Settings) -> Section:
    """PVQ-21 values per model and, with an ESS country table, the nearest countries.

    ``data["scores"]``: every pvq21 score with its interval (tidy); ``data["profile"]``: the
    ten centred values in circle order (``model, score_id, score, ci_low, ci_high``);
    ``data["reference"]``: the ESS country means used (latest round per country), only
    when the table has rows; ``data["nearest"]``: nearest countries per metric.
    """
    sec = Section()
    d = data.dists(INSTRUMENT)
    if d.empty:
        sec.notes.append(absent_note(INSTRUMENT, data))
        return sec
    inst = load_instrument(INSTRUMENT)
    scores = attempt(sec, "PVQ-21 scores", score_instrument, d, inst, by=["model"])
    if scores is None:
        return sec
    # each value has 2-3 items fixed by the ESS key: resample respondent units, not items
    boot = bootstrap_or_note(sec, d, INSTRUMENT, ["model"], settings, items=False)
    tidy = with_intervals(scores, boot, ["model"])
    sec.data["scores"] = tidy
    sec.notes.append(_form_note(inst))
    pairs = _raw_centred_pairs(inst)
    for kind, caption in (("value", "The ten basic values"),
                          ("higher-order", "The four higher-order values")):
        table = _value_table(tidy, [p for p in pairs if p[2] == kind])
        if not table.empty:
            sec.tables[f"{caption}: raw mean and centred score (value - MRAT) with "
                       f"{settings.ci:.0%} bootstrap intervals"] = table
    centre = {s.centre for s in inst.scores if s.centre}
    mrat = tidy[tidy["score_id"].isin(centre)]
    if not mrat.empty:
        sec.tables["MRAT: mean rating over all items (what centred scores subtract)"] = mrat[
            ["model", "score_id", "score", "ci_low", "ci_high", "n_items"]]
    profile = tidy[tidy["score_id"].isin(inst.profile)]
    sec.data["profile"] = profile.assign(
        _pos=profile["score_id"].map({s: i for i, s in enumerate(inst.profile)})).sort_values(
        ["model", "_pos"]).drop(columns="_pos").reset_index(drop=True)
    _countries(sec, data, settings, d, inst)
    return sec


def _form_note(inst: Instrument) -> str:
    """Which portrait form a persona gets, from the instrument file's ``forms``."""
    if inst.forms is None:
        return f"{inst.id}: one wording for every persona"
    picks = "; ".join(f"{name}: persona {inst.forms.attribute} {', '.join(f.when)}"
                      for name, f in inst.forms.forms.items() if f.when)
    return (f"Portrait wording: a persona's {inst.forms.attribute} picks the ESS form ({picks}); "
            f"personas without one get the '{inst.forms.default}' form (the instrument "
            f"file's default, data/instruments/{inst.id}.yaml)")


def _raw_centred_pairs(inst: Instrument) -> list[tuple[str, str, str]]:
    """(raw score, centred score, kind) for every centred score: the raw one is the mean
    score with the same items; kind is ``value`` for the circle's values (``profile``),
    ``higher-order`` otherwise. Read from the instrument file, not typed here."""
    means = {tuple(sorted(s.items)): s.id for s in inst.scores if s.method == "mean"}
    pairs = []
    for s in inst.scores:
        if s.method == "centred" and tuple(sorted(s.items)) in means:
            kind = "value" if s.id in inst.profile else "higher-order"
            pairs.append((means[tuple(sorted(s.items))], s.id, kind))
    return pairs


def _value_table(tidy: pd.DataFrame, pairs: list[tuple[str, str, str]]) -> pd.DataFrame:
    """One row per (model, value): raw and centred scores with their intervals."""
    if not pairs:
        return pd.DataFrame(columns=VALUE_COLUMNS)
    cols = ["model", "score_id", "score", "ci_low", "ci_high"]
    raw = tidy[cols + ["score_label", "n_items"]].rename(columns={
        "score": "raw", "ci_low": "raw_ci_low", "ci_high": "raw_ci_high"})
    centred = tidy[cols].rename(columns={"score_id": "centred_id", "score": "centred",
                                         "ci_low": "centred_ci_low",
                                         "ci_high": "centred_ci_high"})
    key = pd.DataFrame(pairs, columns=["score_id", "centred_id", "kind"]).reset_index()
    out = (key.merge(raw, on="score_id").merge(centred, on=["model", "centred_id"])
           .sort_values(["model", "index"]))
    return out.rename(columns={"score_label": "value"})[VALUE_COLUMNS].reset_index(drop=True)


def _countries(sec: Section, data: ReportData, settings: Settings, d: pd.DataFrame,
               inst: Instrument) -> None:
    """Nearest ESS countries on centred scores, or a note that no country table exists."""
    where = settings.ess_values or "data/reference/ess_human_values.csv"
    ref = attempt(sec, f"ESS country values ({where})", reference.ess_human_values,
                  settings.ess_values or None)
    if ref is None:
        return
    ref = ref[ref["score_id"].isin(inst.profile)].dropna(subset=["mean"])
    if ref.empty:
        sec.notes.append(
            f"ESS country comparison: {where} has no country means of the ten centred values "
            f"(the shipped table is empty: no citable ESS country means were reachable, as its "
            f"sidecar {SIDECAR} records), so no country comparison is shown. To fill it, "
            "build a table from the ESS microdata (CC BY-NC-SA 4.0, ess.sikt.no) with "
            "workbench.stats.schwartz.ess_country_values, keep its source column (ESS round, "
            "edition, weight), and pass its path as the report parameter ess_values "
            f"(-p ess_values=PATH); {SIDECAR} (how_to_fill) gives the steps")
        return
    latest = ref.groupby("iso3")["essround"].transform("max")
    ref = ref[ref["essround"] == latest].reset_index(drop=True)
    sec.data["reference"] = ref
    sources = ", ".join(sorted(ref["source"].dropna().astype(str).unique())) or "no source"
    sec.notes.append(f"ESS reference: {ref['iso3'].nunique()} countries, latest round per "
                     f"country, from {where} (source: {sources}); distances exclude the "
                     "countries' own sampling error")
    for metric in METRICS:
        near = attempt(sec, f"nearest ESS countries ({metric})", nearest_value_countries, d,
                       ref, inst, by=["model"], metric=metric, k=settings.k_nearest,
                       n_boot=settings.n_boot, ci=settings.ci, seed=settings.seed)
        if near is None:
            continue
        sec.data[f"nearest:{metric}"] = near
        sec.tables[f"Nearest ESS countries on centred values ({metric}; {settings.ci:.0%} "
                   "bootstrap interval over the model's units; p_nearest = share of resamples "
                   "in which the country is the nearest)"] = near[
            ["model", "rank", "country", "iso3", "distance", "ci_low", "ci_high", "p_nearest",
             "n_values", "resampled"]]
    chosen = [c.upper() for c in settings.countries if c.upper() in set(ref["iso3"])]
    if chosen:
        names = country_names()
        wide = ref[ref["iso3"].isin(chosen)].pivot_table(
            index="iso3", columns="score_id", values="mean").reindex(
            columns=list(inst.profile)).reset_index()
        wide.insert(1, "country", wide["iso3"].map(names))
        sec.tables["Selected countries' centred values (ESS means)"] = wide
