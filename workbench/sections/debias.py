"""Position bias and debiased scores: each model's estimated prior over shown positions, and
every official score computed from the raw distributions and from each position-debiasing
estimator the data supports, side by side with bootstrap intervals.

Why: small models put probability on an option because of where it is shown (Zheng et al.
2024, ICLR, "Large Language Models Are Not Robust Multiple Choice Selectors"), and averaging
two orders hides that bias instead of removing it. The estimators are those of
:mod:`workbench.stats.debias`; the raw numbers always stay beside them.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench import reference
from workbench.scoring import score_instrument
from workbench.sections.base import (
    NOT_AVAILABLE,
    ReportData,
    Section,
    attempt,
    shipped_instrument,
    varied,
)
from workbench.sections.estimators import calibration_items
from workbench.sections.registry import section
from workbench.sections.render import interval_bars, safe, style_figure
from workbench.sections.settings import Settings
from workbench.stats import (
    bootstrap_scores,
    inglehart_welzel_position,
    position_prior,
    pride_prior,
)
from workbench.stats.debias import METHODS, PRIOR_BY
from workbench.stats.wvs import MAP_AXES

PANELS_PER_ROW = 4
SCORE_KEYS = ["instrument", "score_id", "score_label", "model"]

ESTIMATOR_NOTES = (
    "raw: the stored answer distributions, pooled over whatever orders were asked.",
    "full_permutation: per item and prompt condition, the mean over the shown orders of each "
    "answer's probability; needs every option in every position equally often (`orders: "
    "[cyclic]` or `[all]`) for every item, and keeps a small residual bias (each order's "
    "normaliser depends on which option sits where).",
    "pride (Zheng et al. 2024): the position prior is softmax_j of the mean log-probability "
    "that position j receives across the cyclic rotations of the calibration items (here: "
    "the items asked in every rotation, e.g. designs/report_calibration.yaml), per model x "
    "instrument x prompt format x language x number of options; every request's "
    "probabilities are divided by the prior of their positions and renormalised, so items "
    "asked in fewer orders are debiased too.",
    "calibration (Zhao et al. 2021, contextual calibration): each request's probabilities "
    "are divided by those of a content-free item ('N/A' in place of the item text) at the "
    "same positions, then renormalised; needs `content_free: true` in the design.",
    "On a balanced cyclic design (every item in all k rotations, each order asked once), raw "
    "scores pooled over orders equal the full-permutation average: pooling computes that "
    "average. The estimators differ per request, and for items asked in fewer orders, which "
    "is where PriDe and calibration change the scores.",
    "Reliability, consistency, position bias and validity always read the raw answers; the "
    "other score sections show the estimator of the report's `estimator` setting.",
)


# ---------------------------------------------------------------------- figures
def prior_chart(prior: pd.DataFrame, pride: pd.DataFrame | None, model: str) -> go.Figure:
    """One model's position prior per instrument and number of options: bars with their
    bootstrap interval, the uniform 1/k as a dashed line, PriDe's prior as diamonds."""
    p = prior[prior["model"] == model].sort_values(["instrument", "n_options", "position"])
    panels = list(dict.fromkeys(zip(p["instrument"], p["n_options"], strict=True)))
    n_rows = math.ceil(len(panels) / PANELS_PER_ROW)
    n_cols = min(len(panels), PANELS_PER_ROW)
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=[
        safe(f"{inst} (k = {k})") for inst, k in panels])
    pr = pride[pride["model"] == model] if pride is not None and not pride.empty else None
    for i, (inst, k) in enumerate(panels):
        cell = {"row": i // PANELS_PER_ROW + 1, "col": i % PANELS_PER_ROW + 1}
        sub = p[(p["instrument"] == inst) & (p["n_options"] == k)]
        x = sub["position"] + 1
        fig.add_bar(x=x, y=sub["prior"], error_y=interval_bars(sub, "prior"),
                    name="position prior (all permuted items)", showlegend=i == 0,
                    marker_color="#636efa", hovertemplate="position %{x}: %{y:.3f}"
                    "<extra></extra>", **cell)
        fig.add_scatter(x=x, y=sub["uniform"], mode="lines", name="uniform 1/k",
                        line={"dash": "dash", "color": "#555"}, showlegend=i == 0,
                        hoverinfo="skip", **cell)
        if pr is not None:
            ps = pr[(pr["instrument"] == inst) & (pr["n_options"] == k)]
            if not ps.empty:
                ps = ps.groupby("position", as_index=False)["prior"].mean()
                fig.add_scatter(x=ps["position"] + 1, y=ps["prior"], mode="markers",
                                name="PriDe prior (calibration items)", showlegend=i == 0,
                                marker={"symbol": "diamond", "size": 10, "color": "#EF553B"},
                                hovertemplate="PriDe %{x}: %{y:.3f}<extra></extra>", **cell)
    return style_figure(fig, f"{model}: probability by shown position (1 = first)",
                        height=320 + 260 * n_rows, yaxis_title="prior")


def debias_figures(s: Section) -> list[go.Figure]:
    prior = s.data.get("prior")
    if prior is None or prior.empty:
        return []
    pride = s.data.get("pride_prior")
    return [prior_chart(prior, pride, model) for model in dict.fromkeys(prior["model"])]


# ---------------------------------------------------------------------- section
@section("debias", title="Position bias and debiased scores",
         reports={"compare": 15, "probe": 15, "culture": 15}, figures=debias_figures,
         description="Each model's estimated prior over shown positions (what it gives an "
                     "option for where it stands), and every official score computed from "
                     "the raw answers and from each position-debiasing estimator the data "
                     "supports (full permutation average, PriDe, contextual calibration), "
                     "side by side with bootstrap intervals.")
def debias_section(data: ReportData, settings: Settings) -> Section:
    """Position priors per model and the raw-vs-debiased score table.

    ``data["prior"]``: :func:`workbench.stats.position_prior` per model x instrument x
    number of options; ``data["pride_prior"]``: :func:`workbench.stats.pride_prior` from the
    calibration items; ``data["scores"]``: tidy, one row per instrument x score x model x
    estimator (``score, ci_low, ci_high, interval, status``; ``status`` is ``ok`` or what
    the design needs, e.g. ``needs orders: [cyclic]``); ``data["estimators"]``: per model x
    instrument x estimator whether it ran and its counts.
    """
    sec = Section()
    asked = data.asked if data.asked is not None else data.distributions
    if asked.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no answer distributions in this selection")
        return sec
    _priors(sec, asked, settings)
    scores = _all_scores(sec, data, settings)
    if scores is not None and not scores.empty:
        sec.data["scores"] = scores
        sec.tables[f"Every score from raw and debiased distributions ({settings.ci:.0%} "
                   "intervals; 'needs ...' = the design lacks what the estimator needs)"] = (
            score_table(scores))
    runs = _estimator_runs(data)
    if not runs.empty:
        sec.data["estimators"] = runs
        sec.tables["Estimators per model and instrument (PriDe: calibration items and "
                   "forward passes saved against asking every item in all rotations)"] = runs
    sec.notes.extend(ESTIMATOR_NOTES)
    sec.notes.append(f"The other score sections of this report show: {settings.estimator}.")
    return sec


def _priors(sec: Section, asked: pd.DataFrame, settings: Settings) -> None:
    """The position prior per model x instrument (bootstrap over items) and PriDe's prior
    from the calibration items, for the chart."""
    d = asked[asked["mode"] == "logprob"] if "mode" in asked.columns else asked
    if d.empty:
        sec.notes.append("position prior: needs log-probabilities (mode: logprob)")
        return
    prior = attempt(sec, "position prior", position_prior, d, by=["model", "instrument"],
                    n_boot=settings.n_boot, ci=settings.ci, seed=settings.seed)
    if prior is None or prior.empty:
        return
    sec.data["prior"] = prior
    frames = []
    for (model, inst), sub in d.groupby(["model", "instrument"], sort=True):
        items = calibration_items(sub)
        if not items:
            continue
        pp = attempt(sec, f"PriDe prior of {model} x {inst}", pride_prior, sub,
                     calibration=items)
        if pp is not None:
            frames.append(pp)
    if frames:
        pride = pd.concat(frames, ignore_index=True)
        sec.data["pride_prior"] = pride
        by = [c for c in PRIOR_BY if c in pride.columns]
        sec.tables["PriDe prior per position (calibration items: those asked in every "
                   "cyclic rotation)"] = pride[[*by, "n_options", "position", "prior",
                                                "n_items", "n_cells"]]
    have = set(zip(prior["model"], prior["instrument"], strict=True))
    lacking = sorted({f"{m} x {i}" for m, i in zip(d["model"], d["instrument"], strict=True)
                      if (m, i) not in have})
    if lacking:
        sec.notes.append(f"no position prior for {', '.join(lacking)}: no item was asked "
                         "with every option in every position; add `orders: [cyclic]` for "
                         "some items (a design with `items: [...]`)")


def _all_scores(sec: Section, data: ReportData, settings: Settings) -> pd.DataFrame | None:
    frames = []
    for inst_id in data.instruments:
        if shipped_instrument(inst_id) is None:
            continue
        for method in METHODS:
            frames.append(_instrument_scores(sec, data.using(method), inst_id, method,
                                             settings))
    frames = [f for f in frames if f is not None and not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else None


def _instrument_scores(sec: Section, data: ReportData, inst_id: str, method: str,
                       settings: Settings) -> pd.DataFrame | None:
    """One instrument's scores (and WVS map positions) under one estimator, per model;
    models the estimator cannot run on get a row per score with what they need."""
    d = data.dists(inst_id)
    est = data.estimation
    models = sorted(d["model"].unique())
    need = {m: est.requirement(m, inst_id) if est is not None else "" for m in models}
    ok = d[d["model"].isin([m for m in models if not need[m]])]
    constants = dict(settings.vsm_constants) if inst_id == "vsm2013" else None
    label = f"{inst_id} ({method})"
    rows = []
    if not ok.empty:
        scores = attempt(sec, f"{label} scores", score_instrument, ok, inst_id,
                         by=["model"], constants=constants)
        if scores is not None:
            rows.append(_with_boot(sec, scores, ok, inst_id, settings, constants, label))
        if inst_id == "wvs7":
            rows.append(_map_scores(sec, ok, settings, label))
    out = pd.concat([r for r in rows if r is not None], ignore_index=True) if rows else None
    missing = [m for m in models if need[m]]
    if missing:
        raw = score_instrument(data.raw_dists(inst_id), inst_id, by=["model"],
                               constants=constants)
        ids = raw[["score_id", "score_label"]].drop_duplicates()
        if inst_id == "wvs7":
            ids = pd.concat([ids, pd.DataFrame({"score_id": [f"map:{a}" for a in MAP_AXES],
                                                "score_label": list(map(_map_label, MAP_AXES))})],
                            ignore_index=True)
        blank = pd.DataFrame([{"model": m, **r, "status": need[m]}
                              for m in missing for r in ids.to_dict("records")])
        out = blank if out is None else pd.concat([out, blank], ignore_index=True)
    if out is None:
        return None
    return out.assign(instrument=inst_id, estimator=method)


def _with_boot(sec: Section, scores: pd.DataFrame, d: pd.DataFrame, inst_id: str,
               settings: Settings, constants: dict | None, label: str) -> pd.DataFrame:
    """Scores with :func:`workbench.stats.bootstrap_scores` intervals over items (mean
    scores) and whatever prompt factors vary."""
    out = scores[["model", "score_id", "score_label", "score"]].assign(status="ok")
    factors = [f for f in varied(d) if f != "model"]
    boot = attempt(sec, f"{label} bootstrap intervals", bootstrap_scores, d, inst_id,
                   by=["model"], resample=("items", *factors), n_boot=settings.n_boot,
                   seed=settings.seed, ci=settings.ci, constants=constants)
    if boot is None:
        return out.assign(ci_low=float("nan"), ci_high=float("nan"), interval="")
    boot = boot[["model", "score_id", "ci_low", "ci_high", "resampled"]].rename(
        columns={"resampled": "interval"})
    out = out.merge(boot, on=["model", "score_id"], how="left")
    out["interval"] = "bootstrap: " + out["interval"].fillna("none")
    return out


def _map_scores(sec: Section, d: pd.DataFrame, settings: Settings,
                label: str) -> pd.DataFrame | None:
    """The Inglehart-Welzel map axes as scores, with the regression's prediction interval."""
    pos = attempt(sec, f"{label} map position", inglehart_welzel_position, d,
                  reference.wvs_distributions(), reference.wvs_map(), by=["model"],
                  alpha=1 - settings.ci)
    if pos is None or pos.empty:
        return None
    return pd.DataFrame({
        "model": pos["model"], "score_id": "map:" + pos["axis"],
        "score_label": pos["axis"].map(_map_label),
        "score": pos["estimate"], "ci_low": pos["pi_low"], "ci_high": pos["pi_high"],
        "interval": "regression prediction interval", "status": "ok"})


def _map_label(axis: str) -> str:
    return f"Inglehart-Welzel map, {axis.replace('_', ' ')} (regression approximation)"


def _number(x: float) -> str:
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


def cell_text(row: pd.Series) -> str:
    """``2.53 [2.41, 2.66]``, the score alone without an interval, or what is needed."""
    if row["status"] != "ok":
        return str(row["status"])
    if pd.isna(row["score"]):
        return "n/a"
    text = _number(row["score"])
    if pd.notna(row.get("ci_low")) and pd.notna(row.get("ci_high")):
        text += f" [{_number(row['ci_low'])}, {_number(row['ci_high'])}]"
    return text


def score_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Wide: one row per instrument x score x model, one column per estimator."""
    s = scores.assign(cell=scores.apply(cell_text, axis=1))
    wide = s.pivot_table(index=SCORE_KEYS, columns="estimator", values="cell",
                         aggfunc="first", sort=False)
    wide = wide.reindex(columns=[m for m in METHODS if m in wide.columns])
    wide.columns = [f"{m} [ci]" for m in wide.columns]
    raw = s[s["estimator"] == "raw"].drop_duplicates(SCORE_KEYS).set_index(SCORE_KEYS)
    wide["interval"] = raw["interval"].reindex(wide.index)
    return wide.reset_index()


def _estimator_runs(data: ReportData) -> pd.DataFrame:
    rows = []
    for method in METHODS[1:]:
        est = data.using(method).estimation
        if est is None:
            continue
        for (model, inst), info in est.info.items():
            rows.append({"model": model, "instrument": inst, "estimator": method,
                         "status": "ran", "requests": info.get("n_requests"),
                         "calibration_items": info.get("calibration_items"),
                         "forward_passes_saved": info.get("forward_passes_saved"),
                         "requests_left_raw": info.get("requests_left_raw")})
        for model, inst in est.failed:
            rows.append({"model": model, "instrument": inst, "estimator": method,
                         "status": est.requirement(model, inst)})
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).sort_values(["model", "instrument", "estimator"],
                                          ignore_index=True)


__all__ = ["cell_text", "debias_figures", "debias_section", "prior_chart", "score_table"]
