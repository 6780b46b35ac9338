"""Model-vs-model section: permutation tests of every score between every pair of models,
with Holm and Benjamini-Hochberg corrections and Cohen's d effect sizes.

Tests: :func:`workbench.stats.permutation_test_scores` (paired sign-flip when both models
were asked the same respondent units, independent permutations otherwise); corrections:
:func:`workbench.stats.correct_pvalues` (Holm 1979; Benjamini & Hochberg 1995).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench.scoring import UNIT
from workbench.sections import marks
from workbench.sections.base import (
    NOT_AVAILABLE,
    ReportData,
    Section,
    attempt,
    shipped_instrument,
)
from workbench.sections.registry import section
from workbench.sections.render import safe_frame, style_figure
from workbench.sections.settings import Settings
from workbench.stats import correct_pvalues, permutation_test_scores


def effect_sizes(tests: pd.DataFrame) -> go.Figure:
    """Effect size per score and model pair; filled markers = significant after Holm. A
    difference involving a model whose cell is not interpretable (``validity_a`` /
    ``validity_b``) is faded."""
    t = safe_frame(tests)
    t = t.assign(pair=t["a"] + " vs " + t["b"], label=t["instrument"] + ":" + t["score_id"])
    faded_all = np.zeros(len(t), dtype=bool)
    for col in ("validity_a", "validity_b"):
        if col in t.columns:
            faded_all |= marks.unreadable(t[col])
    t["faded"] = faded_all
    fig = go.Figure()
    for pair, sub in t.groupby("pair", sort=False):
        sig = sub["significant_holm"].fillna(False).astype(bool)
        opacity = np.where(sub["faded"], marks.FADED_MARKER_OPACITY, 1.0)
        fig.add_scatter(x=sub["effect_size"], y=sub["label"], mode="markers",
                        name=marks.legend_name(pair, bool(sub["faded"].all())),
                        marker={"size": 10, "symbol": np.where(sig, "circle", "circle-open"),
                                "opacity": opacity},
                        customdata=np.stack([sub["p_holm"].to_numpy(dtype=float)], axis=-1),
                        hovertemplate=f"{pair}<br>%{{y}}: d=%{{x:.2f}}, p(Holm)="
                                      "%{customdata[0]:.3g}<extra></extra>")
    fig.add_vline(x=0, line_color="#888")
    style_figure(fig, "Effect sizes (filled: significant after Holm)",
                 height=160 + 18 * t["label"].nunique(), xaxis_title="Cohen's d")
    return marks.caption(fig, bool(faded_all.any()))


def comparison_figures(s: Section) -> list[go.Figure]:
    return [effect_sizes(s.data["tests"])]


@section("tests", title="Model-vs-model tests", reports={"compare": 90},
         figures=comparison_figures,
         description="Permutation tests of every score between every pair of models, with Holm "
                     "and Benjamini-Hochberg corrections over all tests and Cohen's d effect "
                     "sizes.")
def comparison_section(data: ReportData, settings: Settings) -> Section:
    """Permutation tests of every score between every pair of models, Holm and BH corrected.

    Paired sign-flip tests where the two models were asked the same respondent units,
    independent permutation tests otherwise (column ``test``). The family for both
    corrections is every test in the report. Effect size: difference / pooled SD of
    respondent-unit scores (Cohen's d). ``settings``: ``n_perm``, ``seed``, ``alpha`` and
    ``vsm_constants`` (for VSM 2013).
    """
    alpha = settings.alpha
    sec = Section()
    if len(data.models) < 2:
        sec.notes.append(f"{NOT_AVAILABLE}: only one model selected, nothing to compare")
        return sec
    frames = []
    for inst_id in data.instruments:
        if shipped_instrument(inst_id) is None:
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
            res = attempt(sec, f"{inst_id} {a} vs {b}", permutation_test_scores, d, inst_id,
                          a=a, b=b, factor="model", n_perm=settings.n_perm,
                          seed=settings.seed,
                          constants=dict(settings.vsm_constants) if inst_id == "vsm2013"
                          else None)
            if res is not None and not res.empty:
                frames.append(res.assign(instrument=inst_id))
    if not frames:
        sec.notes.append(f"{NOT_AVAILABLE}: no instrument was answered by two selected models")
        return sec
    tests = pd.concat(frames, ignore_index=True)
    holm = attempt(sec, "Holm correction", correct_pvalues, tests, method="holm", alpha=alpha)
    if holm is not None:
        tests["p_holm"] = holm["p_adjusted"].to_numpy()
    bh = attempt(sec, "Benjamini-Hochberg correction", correct_pvalues, tests,
                 method="fdr_bh", alpha=alpha)
    if bh is not None:
        tests["p_bh"] = bh["p_adjusted"].to_numpy()
    for col in ("p_holm", "p_bh"):
        if col not in tests.columns:
            tests[col] = np.nan
    tests["significant_holm"] = tests["p_holm"] < alpha
    tests = marks.mark_scores(tests, data, settings, model_col="a", column="validity_a")
    tests = marks.mark_scores(tests, data, settings, model_col="b", column="validity_b")
    sides = pd.concat([tests[[c, f"validity_{c}"]].set_axis(["model", marks.VALIDITY], axis=1)
                       for c in ("a", "b")], ignore_index=True)
    marks.note_marks(sec, sides, "scores compared in these tests")
    sec.data["tests"] = tests
    sec.tables[f"Score differences (permutation tests; Holm and BH over all {len(tests)} "
               f"tests, alpha {alpha})"] = tests[[
                   "instrument", "score_id", "a", "b", "score_a", "score_b", "difference",
                   "effect_size", "p_value", "p_holm", "p_bh", "significant_holm", "test",
                   "n_units_a", "n_units_b", "validity_a", "validity_b"]]
    sec.notes.append("effect size: difference / pooled SD of unit-level scores (units = "
                     "persona x variant x repeat combinations of each model); when both "
                     "models were asked the same units the test is a paired sign-flip test "
                     "(column test), otherwise an independent permutation test")
    return sec
