"""Language effects section: the same model's scores per questionnaire language minus its
scores in the reference language (English), with paired bootstrap intervals, how far each
item's answer moves, and, beside the numbers, which wordings are official.

Statistics: :func:`workbench.stats.factor_effects` (``score(language) - score(en)`` on the
prompt variants asked in both languages, paired bootstrap; Efron & Tibshirani 1993, ch. 6)
and the per-item shifts of :func:`workbench.sections.robustness.factor_effect`
(:func:`workbench.stats.consistency_across`). Wording status: :mod:`workbench.languages`,
read from the instrument files (``official``), the prompt template and the persona file.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from workbench.languages import comparison_note, wording_note
from workbench.sections.base import (
    CONSISTENCY_FACTORS,
    ReportData,
    Section,
    attempt,
    shipped_answers,
    shipped_instrument,
    varied,
)
from workbench.sections.registry import section
from workbench.sections.render import safe_frame, style_figure
from workbench.sections.robustness import factor_effect, shift_heatmap
from workbench.sections.settings import Settings
from workbench.stats import factor_effects

FACTOR = "language"
EFFECT_TABLE_COLUMNS = ["model", "instrument", "score_id", "score_label", "level",
                        "reference", "score_level", "score_reference", "difference", "ci_low",
                        "ci_high", "n_pairs", "resampled", "wording", "note"]


def effect_forest(effects: pd.DataFrame) -> go.Figure:
    """Each score's language effect with its interval (0 = no effect), one trace per
    language; scores on the y axis as ``instrument:score``."""
    e = safe_frame(effects)
    fig = go.Figure()
    for level, sub in e.groupby("level", sort=False):
        label = sub["instrument"] + ":" + sub["score_id"]
        fig.add_scatter(x=sub["difference"], y=label, mode="markers", name=f"{level} - "
                        f"{sub['reference'].iloc[0]}",
                        error_x={"type": "data", "symmetric": False,
                                 "array": (sub["ci_high"] - sub["difference"]).to_numpy(),
                                 "arrayminus": (sub["difference"] - sub["ci_low"]).to_numpy()},
                        hovertemplate="%{y}: %{x:.3f}<extra>" + str(level) + "</extra>")
    fig.add_vline(x=0, line_dash="dash", line_color="grey")
    return style_figure(fig, "Language effect per score (score in language - score in the "
                        "reference language, scale points)", height=220 + 18 * len(e),
                        xaxis_title="difference")


def language_figures(s: Section) -> list[go.Figure]:
    out = [effect_forest(s.data["effects"])] if "effects" in s.data else []
    if "across" in s.data:
        out.append(shift_heatmap(s.data["across"], FACTOR))
    return out


@section("language", title="Language effects", reports={"probe": 40}, figures=language_figures,
         description="The same model's scores per questionnaire language minus its English "
                     "scores, with paired bootstrap intervals over the prompt variants asked "
                     "in both languages, and the items whose answers move most. Beside the "
                     "numbers: whether each wording is official (the instrument authors' "
                     "own) or written here.")
def language_effect_section(data: ReportData, settings: Settings) -> Section:
    """Score differences between languages (``data["effects"]``), per-item shifts
    (``data["across"]``, ``data["summary"]``) and the wording status of every language."""
    sec = factor_effect(data, FACTOR)
    a = shipped_answers(data)
    if FACTOR not in varied(a):
        return sec
    levels = set(a[FACTOR])
    default = dict(CONSISTENCY_FACTORS)[FACTOR]
    ref = default if default in levels else sorted(levels)[0]
    frames = []
    for inst_id in data.instruments:
        if shipped_instrument(inst_id) is None:
            continue
        d = data.dists(inst_id)
        langs = list(dict.fromkeys([ref, *sorted(set(d[FACTOR]))]))
        if d[FACTOR].nunique() < 2 or ref not in set(d[FACTOR]):
            sec.notes.append(f"{inst_id}: asked in {', '.join(sorted(set(d[FACTOR])))} only, "
                             f"so no language effect against {ref}")
            continue
        eff = attempt(sec, f"{inst_id} language effects", factor_effects, d, inst_id,
                      factor=FACTOR, reference=ref, by=["model"], n_boot=settings.n_boot,
                      ci=settings.ci, seed=settings.seed)
        if eff is None or eff.empty:
            continue
        personas = bool((d["persona"] != "none").any())
        paraphrases = bool((d["paraphrase"] != 0).any())
        eff["instrument"] = inst_id
        eff["wording"] = comparison_note(inst_id, langs, personas, paraphrases)
        frames.append(eff)
        _wording_notes(sec, inst_id, langs, personas, paraphrases)
    if frames:
        effects = pd.concat(frames, ignore_index=True)
        sec.data["effects"] = effects
        sec.tables[f"Language effect per score: score(language) - score({ref}) with "
                   f"{settings.ci:.0%} paired bootstrap intervals (wording: which texts are "
                   "official)"] = effects[EFFECT_TABLE_COLUMNS]
    return sec


def _wording_notes(sec: Section, inst_id: str, langs: list[str], personas: bool,
                   paraphrases: bool) -> None:
    """One note per language with each text's status and source; a warning where the item
    wording itself is not official."""
    inst = shipped_instrument(inst_id)
    for lang in langs:
        sec.notes.append(f"{inst_id} in {lang}: "
                         + wording_note(inst_id, lang, personas, paraphrases))
        if inst is not None and inst.languages[lang].official is not True:
            mark = ("marked official: false" if inst.languages[lang].official is False
                    else "no official mark")
            sec.notes.append(
                f"{inst_id} in {lang}: the item wording is not an official version ({mark} "
                f"in data/instruments/{inst_id}.yaml): its difference from other languages "
                "may be a translation effect")
    sec.notes.append(
        f"{inst_id}: the prompt frame{' and persona texts' if personas else ''} are the "
        "workbench's own wording in every language, so a difference between languages "
        "includes their translation, not only the instrument's")
