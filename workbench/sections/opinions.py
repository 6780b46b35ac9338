"""The full WVS-7 value battery in the reports: how similar is each model's answer distribution
to each country's (GlobalOpinionQA-style), and does a country persona move it toward that
country (cultural prompting)?

Statistics come from :mod:`workbench.stats.opinions`: per item and country the similarity
``s = 1 - JSdist(p_model, p_country)`` (Jensen-Shannon distance, base 2), averaged over items
with a bootstrap interval over items (Durmus et al. 2023, sec. 2.3), next to the *uniform*
answerer's mean on the same items (``uniform``) and the model's margin over it
(``vs_uniform``), which every table here shows: a similarity means little until it is set
against what equal probability on every option already gets. Cultural prompting is the
difference in differences ``D_T - mean_{c != T} D_c`` with ``D_c = s(persona, c) - s(none, c)``
and a permutation p-value (:func:`workbench.stats.opinions.cultural_prompting`).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from workbench.opinion_figures import similarity_map
from workbench.sections.base import NOT_AVAILABLE, ReportData, Section, absent_note, attempt
from workbench.sections.registry import section
from workbench.sections.render import colors, interval_bars, safe, safe_frame, style_figure
from workbench.sections.settings import Settings
from workbench.stats.opinions import (
    ALL_ITEMS,
    COUNTRY_PREFIX,
    ItemBootstrap,
    cultural_prompting,
    extremes,
    opinion_similarity,
)

INSTRUMENT = "wvs7_full"
N_EXTREMES = 5
SHOWN = ["model", "iso3", "country", "similarity", "ci_low", "ci_high", "uniform", "vs_uniform",
         "vs_uniform_low", "vs_uniform_high", "n_items", "rank", "n_countries"]


def _bootstrap(settings: Settings) -> ItemBootstrap:
    return ItemBootstrap(n_boot=settings.n_boot, confidence=settings.ci, seed=settings.seed)


# ---------------------------------------------------------------------- figures
def opinion_map_figures(s: Section) -> list[go.Figure]:
    """One offline choropleth per model (all items)."""
    sim = s.data.get("similarity")
    if sim is None:
        return []
    return [similarity_map(sub, ALL_ITEMS,
                           title=f"{safe(model)}: similarity to each country's answers "
                                 f"(all {int(sub['n_model_items'].iloc[0])} items)")
            for model, sub in sim[sim["block"] == ALL_ITEMS].groupby("model", sort=False)]


def prompting_bars(prompting: pd.DataFrame) -> go.Figure:
    """Bars: each persona's effect (gain toward its country minus mean gain toward the others)
    with its bootstrap interval, the mean over personas last; 0 = no targeted effect."""
    p = safe_frame(prompting.dropna(subset=["effect"]))
    fig = go.Figure()
    palette = colors(p["model"])
    for model, sub in p.groupby("model", sort=False):
        sub = pd.concat([sub[sub["level"] == "persona"].sort_values("persona"),
                         sub[sub["level"] == "overall"]])
        fig.add_bar(x=sub["persona"], y=sub["effect"], name=model, marker_color=palette[model],
                    error_y=interval_bars(sub, "effect"),
                    customdata=sub[["p_value"]].to_numpy(),
                    hovertemplate=f"{model}<br>%{{x}}: %{{y:.4f}} (p = %{{customdata[0]:.3g}})"
                                  "<extra></extra>")
    fig.add_hline(y=0, line_dash="dot", line_color="grey")
    return style_figure(fig, "Cultural prompting: similarity gain toward the persona's country "
                             "minus the mean gain toward the others", barmode="group",
                        yaxis_title="difference in similarity (1 - JS distance)")


def prompting_figures(s: Section) -> list[go.Figure]:
    return [prompting_bars(s.data["prompting"])] if "prompting" in s.data else []


# ---------------------------------------------------------------------- helpers
def _summary(full: pd.DataFrame) -> pd.DataFrame:
    """Per model and block: the spread of the country similarities next to the uniform
    answerer's on the same items, and how many countries the model beats it on (interval of
    ``vs_uniform`` above 0)."""
    g = full.groupby(["model", "block"], sort=False)
    out = g.agg(n_items=("n_model_items", "max"), n_countries=("iso3", "size"),
                median_similarity=("similarity", "median"), max_similarity=("similarity", "max"),
                min_similarity=("similarity", "min"), uniform_median=("uniform", "median"),
                median_vs_uniform=("vs_uniform", "median"),
                countries_above_uniform=("vs_uniform_low", lambda v: int((v > 0).sum())))
    top = full.loc[full.groupby(["model", "block"], sort=False)["similarity"].idxmax(),
                   ["model", "block", "country", "ci_low", "ci_high"]]
    top = top.rename(columns={"country": "most_similar", "ci_low": "max_ci_low",
                              "ci_high": "max_ci_high"})
    return out.reset_index().merge(top, on=["model", "block"], how="left")


# ---------------------------------------------------------------------- sections
@section("opinions", title="WVS-7 value battery: similarity to countries",
         reports={"culture": 52, "compare": 65}, figures=opinion_map_figures,
         description="GlobalOpinionQA-style similarity (1 - Jensen-Shannon distance, mean over "
                     "items with a bootstrap interval over items) of each model's answers "
                     "without persona to each WVS-7 country's answer shares, over the full "
                     "battery and per questionnaire block. Every table shows the uniform "
                     "answerer (equal probability on each option) on the same items "
                     "(uniform) and the model's margin over it (vs_uniform).")
def opinions_section(data: ReportData, settings: Settings) -> Section:
    """Per model (``settings.baseline`` persona): countries ranked by similarity, the top and
    bottom five, a per-block summary and a world map; all with the uniform baseline."""
    sec = Section()
    d = data.dists(INSTRUMENT)
    if d.empty:
        sec.notes.append(absent_note(INSTRUMENT, data))
        return sec
    d = d[d["persona"] == settings.baseline]
    if d.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no '{INSTRUMENT}' answers with the "
                         f"'{settings.baseline}' persona (the model without persona)")
        return sec
    sim = attempt(sec, "WVS-7 similarity", opinion_similarity, d, instrument=INSTRUMENT,
                  per_block=True, by=["model"], bootstrap=_bootstrap(settings))
    if sim is None:
        return sec
    sec.data["similarity"] = sim
    full = sim[sim["block"] == ALL_ITEMS]
    ext = extremes(full, N_EXTREMES)
    sec.data["extremes"] = ext
    ci = f"{settings.ci:.0%}"
    sec.tables[f"Per model and block: country similarities and the uniform answerer on the "
               f"same items (countries_above_uniform: {ci} interval of vs_uniform above 0)"] = (
        _summary(sim))
    sec.tables[f"The {N_EXTREMES} most and least similar countries, all items ({ci} "
               "intervals over items)"] = ext[["end", *SHOWN]]
    sec.tables[f"Every country ranked, all items ({ci} intervals)"] = full[SHOWN]
    sec.notes.append(
        f"countries are compared on the same items (those with answer shares for every item "
        f"the model answered: {int(full['n_model_items'].max())} items); a country lacking "
        "any of them is left out. Similarities over different item sets are not comparable.")
    return sec


@section("cultural_prompting", title="Cultural prompting (WVS-7)", reports={"culture": 56},
         figures=prompting_figures,
         description="With the persona 'a typical person from T', does the model's similarity "
                     "to country T rise more than its similarity to the other countries? Effect "
                     "= gain toward T minus the mean gain toward the others (0: no targeted "
                     "effect), with a bootstrap interval over items; p: the target's rank among "
                     "all countries' gains / number of countries (permutation of the target "
                     "label); the last row averages the personas (randomisation test).")
def cultural_prompting_section(data: ReportData, settings: Settings) -> Section:
    """:func:`workbench.stats.opinions.cultural_prompting` on the WVS-7 battery, per model."""
    sec = Section()
    d = data.dists(INSTRUMENT)
    if d.empty:
        sec.notes.append(absent_note(INSTRUMENT, data))
        return sec
    personas = set(d["persona"].astype(str))
    if settings.baseline not in personas or not any(
            p.startswith(COUNTRY_PREFIX) for p in personas):
        sec.notes.append(f"{NOT_AVAILABLE}: needs '{INSTRUMENT}' answers with the "
                         f"'{settings.baseline}' persona and with country personas "
                         "(country:ISO3); probe designs/culture_wvs.yaml")
        return sec
    prompting = attempt(sec, "cultural prompting", cultural_prompting, d,
                        baseline=settings.baseline, instrument=INSTRUMENT, by=["model"],
                        bootstrap=_bootstrap(settings), n_perm=settings.n_perm)
    if prompting is None:
        return sec
    sec.data["prompting"] = prompting
    sec.tables[f"Cultural prompting per persona ({settings.ci:.0%} intervals over items)"] = (
        prompting)
    lacking = prompting[(prompting["level"] == "persona") & prompting["effect"].isna()]
    if not lacking.empty:
        sec.notes.append("no effect for personas whose country has no WVS-7 shares for all "
                         f"the items: {', '.join(sorted(set(lacking['persona'])))}")
    return sec
