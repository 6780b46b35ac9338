"""Robustness sections: reliability, consistency and position bias, answer distributions,
and how answers move with persona, language, option order and wording.

Statistics: Cronbach's alpha and McDonald's omega (:func:`workbench.stats.
reliability_by_score`; Cronbach 1951, McDonald 1999), mean absolute shift / midpoint flips /
Spearman rho against a reference variant (:func:`workbench.stats.consistency_summary`),
position bias centred on each answer's mean over orders (:func:`workbench.stats.
position_bias`; after Dominguez-Olmedo et al. 2024) and acquiescence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.scoring import score_instrument
from workbench.sections.base import (
    CONSISTENCY_FACTORS,
    NOT_AVAILABLE,
    ReportData,
    Section,
    attempt,
    shipped_answers,
    shipped_instrument,
    sort_items,
    varied,
)
from workbench.sections.registry import section
from workbench.sections.render import colors, safe_frame, style_figure
from workbench.sections.settings import Settings
from workbench.stats import (
    acquiescence,
    consistency_across,
    consistency_summary,
    model_item_distributions,
    position_bias,
    reliability_by_score,
)

BY = ["model"]


# ---------------------------------------------------------------------- figures
def reliability_bars(rel: pd.DataFrame, threshold: float = 0.7) -> go.Figure | None:
    """Cronbach's alpha per score and model, one panel per instrument, threshold line."""
    r = safe_frame(rel.dropna(subset=["alpha"]))
    if r.empty:
        return None
    insts = list(dict.fromkeys(r["instrument"]))
    fig = make_subplots(rows=1, cols=len(insts), subplot_titles=insts, shared_yaxes=True)
    palette = colors(r["model"])
    for i, inst in enumerate(insts, start=1):
        sub = r[r["instrument"] == inst]
        for model, ms in sub.groupby("model", sort=False):
            fig.add_bar(x=ms["score_id"], y=ms["alpha"].clip(lower=-1), name=model,
                        marker_color=palette[model], showlegend=i == 1, legendgroup=model,
                        row=1, col=i, hovertemplate=f"{model}<br>%{{x}}: alpha %{{y:.2f}}"
                                                   "<extra></extra>")
        fig.add_hline(y=threshold, line_dash="dash", line_color="firebrick", row=1, col=i)
    return style_figure(fig, f"Cronbach's alpha (dashed: {threshold})", barmode="group")


def position_bias_bars(pb: pd.DataFrame) -> go.Figure:
    """Mass an option gains by being shown first or last, beyond what its answer code gets
    averaged over orders (0 = no position bias; a preference for an answer does not count)."""
    p = safe_frame(pb)
    x = p["model"] + " / " + p["instrument"] if "instrument" in p.columns else p["model"]
    centred = "first_excess_centred" in p.columns
    first = p["first_excess_centred"] if centred else p["first_excess"]
    last = p["last_excess_centred"] if centred else p["last_excess"]
    fig = go.Figure()
    fig.add_bar(x=x, y=first, name="shown first" if centred else "first option - 1/k")
    fig.add_bar(x=x, y=last, name="shown last" if centred else "last option - 1/k")
    return style_figure(fig, "Position bias (centred on each answer's mean over orders)"
                        if centred else "Position bias", barmode="group",
                        yaxis_title="excess probability")


def distribution_heatmap(dist: pd.DataFrame, title: str) -> go.Figure:
    """Mean probability of each answer code per item (rows) as a heatmap."""
    d = safe_frame(dist, ["item_id"])
    wide = d.pivot_table(index="item_id", columns="code", values="prob", aggfunc="mean",
                         sort=False)
    fig = go.Figure(go.Heatmap(z=wide.to_numpy(), x=[str(c) for c in wide.columns],
                               y=list(wide.index), colorscale="Blues", zmin=0,
                               hovertemplate="%{y}, code %{x}: %{z:.2f}<extra></extra>"))
    return style_figure(fig, title, height=160 + 16 * len(wide), xaxis_title="answer code")


def shift_heatmap(across: pd.DataFrame, factor: str) -> go.Figure:
    """Mean shift of each item (columns) at each level (rows) from the reference level."""
    a = safe_frame(across)
    a = a.assign(label=a["instrument"] + ":" + a["item_id"]) if "instrument" in a else a.assign(
        label=a["item_id"])
    wide = a.pivot_table(index="level", columns="label", values="mean_shift", sort=False)
    lim = float(np.nanmax(np.abs(wide.to_numpy()))) if wide.size else 1.0
    fig = go.Figure(go.Heatmap(
        z=wide.to_numpy(), x=list(wide.columns), y=[f"{factor}={v}" for v in wide.index],
        colorscale="RdBu", zmid=0, zmin=-lim, zmax=lim, colorbar_title="shift",
        hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>"))
    return style_figure(fig, f"Shift of expected answers by {factor} (vs reference, scale "
                        "points)", height=220 + 26 * len(wide))


def score_heatmaps(scores: pd.DataFrame, by: str = "persona") -> list[go.Figure]:
    """One heatmap per instrument: scores (rows) by persona or other factor (columns)."""
    s = safe_frame(scores)
    out = []
    for inst, sub in s.groupby("instrument", sort=True):
        wide = sub.pivot_table(index="score_id", columns=by, values="score", sort=False)
        fig = go.Figure(go.Heatmap(z=wide.to_numpy(), x=list(wide.columns),
                                   y=list(wide.index), colorscale="Viridis",
                                   hovertemplate="%{y} / %{x}: %{z:.2f}<extra></extra>"))
        out.append(style_figure(fig, f"{inst} scores by {by}", height=200 + 22 * len(wide)))
    return out


def reliability_figures(s: Section) -> list[go.Figure | None]:
    rel = s.data["reliability"]
    return [reliability_bars(rel, float(rel["threshold"].iloc[0]))]


def consistency_figures(s: Section) -> list[go.Figure]:
    return [position_bias_bars(s.data["position_bias"])] if "position_bias" in s.data else []


def distribution_figures(s: Section) -> list[go.Figure]:
    return [distribution_heatmap(v, f"Answer distribution per item: {k.split(':', 1)[1]}")
            for k, v in s.data.items() if k.startswith("dist:")]


def factor_figures(s: Section) -> list[go.Figure]:
    out = []
    if "across" in s.data:
        out.append(shift_heatmap(s.data["across"], s.key))
    if "scores" in s.data:
        out.extend(score_heatmaps(s.data["scores"]))
    return out


# ---------------------------------------------------------------------- compare report
@section("reliability", title="Reliability", reports={"compare": 70},
         figures=reliability_figures,
         description="Do a score's items hang together across the model's personas/variants? "
                     "Cronbach's alpha and McDonald's omega; LOW marks alpha below the "
                     "threshold.")
def reliability_section(data: ReportData, settings: Settings) -> Section:
    """Cronbach's alpha and McDonald's omega per score, flagged LOW below
    ``settings.reliability_threshold``."""
    threshold = settings.reliability_threshold
    sec = Section()
    frames = []
    for inst_id in data.instruments:
        if shipped_instrument(inst_id) is None:
            sec.notes.append(f"{inst_id}: not a shipped instrument, skipped")
            continue
        a = data.answers_for(inst_id)
        respondents = [f for f in varied(a) if f not in BY]
        if not respondents:
            sec.notes.append(
                f"{inst_id}: reliability {NOT_AVAILABLE}, only one persona/variant/repeat per "
                "model, so there are no respondents to correlate items over")
            continue
        rel = attempt(sec, f"{inst_id} reliability", reliability_by_score, a, inst_id,
                      respondent=tuple(respondents), by=tuple(BY), threshold=threshold)
        if rel is not None and not rel.empty:
            frames.append(rel.assign(instrument=inst_id,
                                     respondents=" x ".join(respondents)))
    if frames:
        rel = pd.concat(frames, ignore_index=True)
        rel["reliability"] = np.select(
            [rel["alpha"].isna(), rel["flag_low"].astype(bool)],
            ["n/a", "LOW"], "ok")
        sec.data["reliability"] = rel
        cols = [*BY, "instrument", "score_id", "reliability", "alpha", "omega", "threshold",
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


@section("consistency", title="Consistency and position bias", reports={"compare": 80},
         figures=consistency_figures,
         description="How far answers move when options are reversed, the question is "
                     "reworded or translated, and how much probability sits on the first or "
                     "last presented option.")
def consistency_section(data: ReportData, settings: Settings) -> Section:
    """Answer shifts across option orders / paraphrases / languages, and position bias."""
    sec = Section()
    a = shipped_answers(data)
    frames = []
    for factor, ref in CONSISTENCY_FACTORS:
        if factor not in varied(a):
            continue
        levels = set(a[factor].unique())
        if ref not in levels:
            ref = sorted(levels, key=str)[0]
        res = attempt(sec, f"consistency across {factor}", consistency_summary, a,
                      factor=factor, reference_level=ref, by=tuple([*BY, "instrument"]))
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
        pb = attempt(sec, "position bias", position_bias, d, by=tuple([*BY, "instrument"]))
        if pb is not None:
            sec.data["position_bias"] = pb
            sec.tables["Probability on the first / last presented option: raw vs uniform 1/k, "
                       "and centred (each answer's mean mass across orders subtracted, so "
                       "label preference does not count as position bias)"] = pb
    acq = []
    for inst_id in data.instruments:
        if shipped_instrument(inst_id) is None:
            continue
        res = attempt(sec, f"{inst_id} acquiescence", acquiescence,
                      data.answers_for(inst_id), inst_id, by=tuple(BY))
        if res is not None and not res.empty:
            acq.append(res.assign(instrument=inst_id))
    if acq:
        sec.tables["Acquiescence (agreeing with regular and reversed items)"] = pd.concat(
            acq, ignore_index=True)
    else:
        sec.notes.append("acquiescence not computed: no selected instrument mixes regular and "
                         "reverse-keyed items in one score")
    return sec


# ---------------------------------------------------------------------- probe report
@section("distributions", title="Answer distributions", reports={"probe": 20},
         figures=distribution_figures,
         description="Mean probability of each answer per item, over all personas and prompt "
                     "variants.")
def answer_distribution_section(data: ReportData, settings: Settings) -> Section:
    """Mean answer distribution per item (over all requests) and expected values, for the
    first ``settings.max_items`` items of each instrument.

    ``data["dist:<instrument>"]``: ``item_id, label, code, prob``; ``data["items"]``: per
    item expected code (mean, min, max over requests) and item text.
    """
    max_items = settings.max_items
    sec = Section()
    if data.distributions.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no answer distributions (generation-only results "
                         "with no parsed answer)")
        return sec
    rows = []
    for inst_id in data.instruments:
        di = data.raw_dists(inst_id)  # what the model answered, whatever the estimator
        if di.empty:
            continue
        items = list(dict.fromkeys(di["item_id"]))
        if len(items) > max_items:
            sec.notes.append(f"{inst_id}: showing the first {max_items} of {len(items)} items")
            di = di[di["item_id"].isin(items[:max_items])]
        dist = attempt(sec, f"{inst_id} distributions", model_item_distributions, di,
                       by=("instrument",))
        if dist is not None:
            sec.data[f"dist:{inst_id}"] = sort_items(dist, ["code"])
        inst = shipped_instrument(inst_id)
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


@section("persona", title="Persona effects", reports={"probe": 30}, figures=factor_figures,
         description="Answers and scores per persona, compared with the reference persona.")
def persona_effect_section(data: ReportData, settings: Settings) -> Section:
    """Answers by persona against ``settings.persona_reference``, scores and persona texts."""
    return factor_effect(data, "persona", settings.persona_reference)


@section("order", title="Option order sensitivity", reports={"probe": 50},
         figures=factor_figures,
         description="Answers with reversed or permuted options, compared with the original "
                     "order, and the probability on the first/last presented option per item.")
def order_effect_section(data: ReportData, settings: Settings) -> Section:
    return factor_effect(data, "order")


@section("paraphrase", title="Paraphrase sensitivity", reports={"probe": 60},
         figures=factor_figures,
         description="Answers to reworded items, compared with the original wording.")
def paraphrase_effect_section(data: ReportData, settings: Settings) -> Section:
    return factor_effect(data, "paraphrase")


def factor_effect(data: ReportData, factor: str,
                  reference_level: object | None = None) -> Section:
    """How answers move with one factor (persona, language, order or paraphrase).

    Summary per level (mean |shift|, flips, Spearman rho) and per item shifts; for option
    order also position bias per item; for personas also scores by persona and the texts.
    Without ``reference_level`` the factor's reference of ``CONSISTENCY_FACTORS`` is used.
    """
    sec = Section()
    a = shipped_answers(data)
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
    summ = attempt(sec, f"consistency across {factor}", consistency_summary, a,
                   factor=factor, reference_level=reference_level, by=("model", "instrument"))
    if summ is not None:
        sec.data["summary"] = summ
        sec.tables[f"Shift from {factor} = {reference_level} (per instrument)"] = summ
    across = attempt(sec, f"per-item shifts across {factor}", consistency_across, a,
                     factor=factor, reference_level=reference_level,
                     by=("model", "instrument"))
    if across is not None and not across.empty:
        across = sort_items(across.assign(level=across["level"].astype(str)), ["level"])
        sec.data["across"] = across
        worst = across.reindex(across["mean_abs_shift"].sort_values(ascending=False).index)
        sec.tables["Items that move most"] = worst.head(15)
    if factor == "order":
        _position_bias_per_item(sec, data)
    if factor == "persona":
        _persona_scores(sec, data)
    return sec


def _position_bias_per_item(sec: Section, data: ReportData) -> None:
    d = data.distributions[data.distributions["mode"] == "logprob"]
    if d.empty:
        return
    pb = attempt(sec, "position bias per item", position_bias, d, by=("model", "instrument"),
                 per_item=True)
    if pb is not None:
        sec.data["position_bias"] = pb
        sec.tables["Position bias per item (mass on the first/last presented option "
                   "net of each answer's mass across orders)"] = (
            pb.sort_values("first_excess_centred", ascending=False,
                           na_position="last").head(20))


def _persona_scores(sec: Section, data: ReportData) -> None:
    frames = []
    for inst_id in data.instruments:
        if shipped_instrument(inst_id) is None:
            continue
        s = attempt(sec, f"{inst_id} scores by persona", score_instrument,
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
