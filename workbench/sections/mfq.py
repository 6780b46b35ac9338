"""Moral foundations sections (MFQ-30, MFQ-2): foundation means with bootstrap intervals,
against human norms, with catch-item screening.

Norm comparison: :func:`workbench.stats.mfq_zscores`, ``z = (model - human mean) / human SD``
(a raw difference where no SD is published). MFQ-30: Graham et al. (2011); MFQ-2: Atari et
al. (2023).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from workbench import reference
from workbench.exclusion import exclusion_flags
from workbench.scoring import UNIT, score_instrument
from workbench.sections import marks
from workbench.sections.base import (
    ReportData,
    Section,
    absent_note,
    attempt,
    bootstrap_or_note,
    varied,
    with_intervals,
)
from workbench.sections.registry import section
from workbench.sections.render import interval_bars, safe_frame, style_figure
from workbench.sections.settings import Settings
from workbench.stats import mfq_zscores

FIGURE_TITLES = {"mfq30": "MFQ-30 foundations", "mfq2": "MFQ-2 foundations"}


def foundation_bars(scores: pd.DataFrame, norms: pd.DataFrame | None = None,
                    title: str = "Moral foundations") -> go.Figure:
    """Grouped bars of foundation scores per model with intervals; norms as diamonds. A model
    whose validity verdict is not interpretable is faded and hatched (column ``validity``)."""
    s = safe_frame(scores)
    fig = go.Figure()
    faded_any = False
    for model, sub in s.groupby("model", sort=False):
        faded = marks.is_faded(sub)
        faded_any |= faded
        fig.add_bar(x=sub["score_id"], y=sub["score"], name=marks.legend_name(model, faded),
                    error_y=interval_bars(sub),
                    hovertemplate=f"{model}<br>%{{x}}: %{{y:.2f}}<extra></extra>",
                    **marks.trace_style(faded, bar=True))
    if norms is not None and not norms.empty:
        n = safe_frame(norms)
        for group, sub in n.groupby("group", sort=False):
            fig.add_scatter(x=sub["foundation"], y=sub["mean"], mode="markers",
                            name=f"{group} (human)", marker={"symbol": "diamond", "size": 11},
                            hovertemplate=f"{group}<br>%{{x}}: %{{y:.2f}}<extra></extra>")
    style_figure(fig, title, barmode="group", yaxis_title="foundation score")
    return marks.caption(fig, faded_any)


def mfq_figures(s: Section) -> list[go.Figure]:
    return [foundation_bars(s.data["scores"], s.data.get("norms"), FIGURE_TITLES[s.key])]


@section("mfq30", title="Moral foundations (MFQ-30)", reports={"compare": 30},
         figures=mfq_figures,
         description="Foundation means (0-5) with bootstrap intervals over items and variants, "
                     "against liberal/conservative norm groups where published means are "
                     "available.")
def mfq30_section(data: ReportData, settings: Settings) -> Section:
    """MFQ-30 against the political-orientation norm groups ``settings.mfq30_norm_groups``."""
    return mfq_section(data, settings, "mfq30")


@section("mfq2", title="Moral foundations (MFQ-2)", reports={"compare": 40},
         figures=mfq_figures,
         description="Foundation means (1-5) with bootstrap intervals, against the selected "
                     "countries' MFQ-2 means (Atari et al. 2023).")
def mfq2_section(data: ReportData, settings: Settings) -> Section:
    """MFQ-2 against the selected countries' means (``settings.countries``)."""
    return mfq_section(data, settings, "mfq2")


def mfq_section(data: ReportData, settings: Settings, instrument: str) -> Section:
    """Foundation scores per model with bootstrap intervals, against human norms.

    MFQ-30 is compared with political-orientation norm groups (where the norms file has
    means; otherwise a note says so), MFQ-2 with the selected countries' means.
    ``data["scores"]``: ``model, score_id, score, ci_low, ci_high``; ``data["norms"]``:
    ``group, foundation, mean, sd``.
    """
    sec = Section()
    d = data.dists(instrument)
    if d.empty:
        sec.notes.append(absent_note(instrument, data))
        return sec
    scores = attempt(sec, f"{instrument} scores", score_instrument, d, instrument,
                     by=["model"])
    if scores is None:
        return sec
    boot = bootstrap_or_note(sec, d, instrument, ["model"], settings, items=True)
    prof = marks.mark_scores(with_intervals(scores, boot, ["model"]), data, settings,
                             instrument=instrument)
    marks.note_marks(sec, prof, f"{instrument} foundation scores")
    sec.data["scores"] = prof
    sec.tables[f"Foundation scores with {settings.ci:.0%} bootstrap intervals"] = prof
    norms = _mfq_norms(sec, instrument, settings.countries, settings.mfq30_norm_groups)
    if norms is not None and not norms.empty:
        sec.data["norms"] = norms
        _norm_tables(sec, instrument, scores, norms)
    if "persona" in varied(d):
        by_p = attempt(sec, f"{instrument} scores by persona", score_instrument, d,
                       instrument, by=["model", "persona"])
        if by_p is not None:
            sec.data["by_persona"] = by_p
            sec.tables["Scores by persona"] = marks.mark_scores(by_p.pivot_table(
                index=["model", "persona"], columns="score_id", values="score",
                sort=False).reset_index(), data, settings, instrument=instrument)
    _catch_items(sec, d, instrument)
    marks.mark_tables(sec, data, settings, ("Model scores as z", "Model minus", "Catch items"),
                      instrument=instrument)
    return sec


def _norm_tables(sec: Section, instrument: str, scores: pd.DataFrame,
                 norms: pd.DataFrame) -> None:
    """z-scores within each human group, or raw differences where no SD is published."""
    group_col = "iso3" if instrument == "mfq2" else "group"
    raw = norms.drop(columns=[group_col], errors="ignore").rename(
        columns={"group_key": group_col})
    z = attempt(sec, "z-scores against norms", mfq_zscores,
                scores[["model", "score_id", "score"]], raw, group_col=group_col)
    if z is None:
        return
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


def _catch_items(sec: Section, d: pd.DataFrame, instrument: str) -> None:
    """Respondent units the manual's catch-item rule would exclude, and p_fail per rule."""
    flags = attempt(sec, "catch items", exclusion_flags, d, instrument,
                    by=[c for c in UNIT if c in d.columns])
    if flags is None or flags.empty:
        return
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


def _mfq_norms(sec: Section, instrument: str, countries: Sequence[str],
               norm_groups: Sequence[str]) -> pd.DataFrame | None:
    if instrument == "mfq30":
        norms = attempt(sec, "MFQ-30 norms", reference.mfq30_norms)
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
    norms = attempt(sec, "MFQ-2 country norms", reference.mfq2_country_norms)
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

