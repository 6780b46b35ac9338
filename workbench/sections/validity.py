"""Validity section: are a model's answers about what the items say, or about where an option
is shown? The first section of every report, opening with the executive summary.

Statistics, verdicts and sentences: :mod:`workbench.validity` (order agreement, position vs
content decomposition, item discrimination against a permutation null, answer entropy,
catch items, reliability beside human values; cut-offs in ``data/validity/thresholds.yaml``;
Dominguez-Olmedo, Hardt & Mendler-Dunner 2024). They are computed once per report
(:func:`workbench.sections.marks.report_validity`), and every later score is marked with its
cell's verdict (:func:`workbench.sections.marks.mark_scores`).
"""

from __future__ import annotations

import html
import math

import pandas as pd

from workbench.sections.base import NOT_AVAILABLE, ReportData, Section, shipped_instrument
from workbench.sections.marks import OVERALL, SYMBOLS, label, report_validity
from workbench.sections.registry import section
from workbench.sections.settings import Settings
from workbench.validity import Thresholds, load_thresholds
from workbench.validity.cells import instrument_label
from workbench.validity.reasons import fmt, interval, p_text, pct_text
from workbench.validity.verdict import cell_columns

#: The executive summary's verdict table: a stable id for links and the browser test.
VERDICT_TABLE_ID = "wb-verdicts"
#: Cell colours of the verdict table (the symbol and word carry the verdict without them).
COLOURS = {"content-driven": "#d4edda", "mixed": "#fff3cd", "position-driven": "#f8d7da",
           "insufficient data": "#e2e3e5"}
READ = {"interpretable": "scores can be read as answers to the items",
        "caution": "read the scores with caution",
        "not interpretable": "scores are not interpretable"}
_CELL = "padding:4px 10px;border:1px solid #ccc;text-align:left"


def _instrument_name(instrument: str) -> str:
    inst = shipped_instrument(instrument)
    return instrument_label(inst) if inst is not None else instrument


# ---------------------------------------------------------------------- summary (lead block)
def summary_html(sec: Section) -> str:
    """The executive summary: verdict table (model x instrument; colour, symbol and word) with
    a legend, then each model's generated sentences. Every text is HTML-escaped."""
    verdicts = sec.data.get("verdicts")
    if verdicts is None or verdicts.empty:
        return ""
    th = load_thresholds()
    insts = list(dict.fromkeys(verdicts["instrument"]))
    head = "".join(f'<th style="{_CELL}">{html.escape(_instrument_name(i))}</th>'
                   for i in insts)
    rows = []
    for model, sub in verdicts.groupby("model", sort=False):
        by_inst = dict(zip(sub["instrument"], sub["verdict"], strict=True))
        cells = []
        for inst in insts:
            verdict = by_inst.get(inst)
            if verdict is None:
                cells.append(f'<td style="{_CELL}">–</td>')
                continue
            colour = COLOURS.get(verdict, "#ffffff")
            cells.append(f'<td class="wb-verdict" data-verdict="{html.escape(verdict)}" '
                         f'style="{_CELL};background:{colour}" '
                         f'title="{html.escape(th.status.get(verdict, ""))}">'
                         f"{html.escape(label(verdict))}</td>")
        rows.append(f'<tr><th style="{_CELL}">{html.escape(str(model))}</th>'
                    f"{''.join(cells)}</tr>")
    legend = " · ".join(f"{html.escape(label(v))}: {html.escape(READ[th.status[v]])}"
                        for v in SYMBOLS if v in th.status)
    table = (f'<table id="{VERDICT_TABLE_ID}" class="wb-table wb-verdicts" '
             'style="border-collapse:collapse;margin:6px 0">'
             '<caption style="caption-side:top;text-align:left;font-weight:600;padding:4px 0">'
             "Verdict per model and instrument: do the answers follow the items' content?"
             f'</caption><thead><tr><th style="{_CELL}">model</th>{head}</tr></thead>'
             f"<tbody>{''.join(rows)}</tbody></table>"
             f'<div style="font-size:0.9em;margin:2px 0 8px">{legend}</div>')
    sentences = sec.data.get("sentences")
    paragraphs = []
    if sentences is not None:
        for model, sub in sentences.groupby("model", sort=False):
            text = " ".join(html.escape(s) for s in sub["sentence"])
            paragraphs.append(f'<p class="wb-sentences"><strong>{html.escape(str(model))}'
                              f"</strong>: {text}</p>")
    return f'<div class="wb-summary">{table}{"".join(paragraphs)}</div>'


# ---------------------------------------------------------------------- tables
def verdict_table(verdicts: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per judged cell: the verdict label, its status, the key numbers and reasons."""
    rows = []
    for _, row in verdicts.iterrows():
        r = row["order_r"]
        rows.append({
            **{c: row[c] for c in by},
            "verdict": label(row["verdict"]), "status": row["status"],
            "order r [CI]": (f"{fmt(r)}{interval(row['order_r_low'], row['order_r_high'])}"
                             if not math.isnan(r) else "n/a"),
            "position share": pct_text(row["position_share"]),
            "content share": pct_text(row["content_share"]),
            "item discrimination": p_text(row["discrimination_p"]),
            "entropy": fmt(row["entropy"]),
            "catch items": ("n/a" if pd.isna(row["catch_failed"])
                            else "failed" if bool(row["catch_failed"]) else "passed"),
        })
    return pd.DataFrame(rows)


def _cutoffs(th: Thresholds, rule: str) -> str:
    """The cut-offs of one statistic in words, e.g. ``content >= 0.5; position < 0.3``."""
    spec = th.statistics.get(rule)
    if spec is None:
        gate = th.gates.get("min_items") if rule == "coverage" else None
        return f"at least {gate.value:g} items" if gate is not None else ""
    parts = [f"{name} {cut.describe()}" for name, cut in (
        ("content", spec.content), ("position", spec.position), ("caution", spec.caution),
        ("pass", spec.pass_)) if cut is not None]
    return "; ".join(parts)


def _catch_rule(instrument: str, statistic: str) -> str:
    """A catch item's exclusion rule from the instrument file, e.g. ``exclude if > 2``."""
    inst = shipped_instrument(instrument)
    item = statistic.partition(":")[2]
    words = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    rules = [f"{ex.item}: exclude if {words[ex.op]} {ex.value:g}" for ex in
             (inst.exclusions if inst is not None else []) if not item or ex.item == item]
    return "; ".join(rules) or "no catch items"


def _estimate(row: pd.Series) -> str:
    est = row["estimate"]
    if est is None or (isinstance(est, float) and math.isnan(est)):
        return "n/a"
    if row["statistic"] == "coverage":
        return f"{int(est)} items"
    text = fmt(float(est), 3) + interval(row["ci_low"], row["ci_high"], 3)
    p = row.get("p_value")
    return text + (f" ({p_text(float(p))})" if p is not None and not pd.isna(p) else "")


def statistics_table(table: pd.DataFrame, th: Thresholds) -> pd.DataFrame:
    """The per-statistic table of :func:`workbench.validity.validity_table`, readable: one row
    per cell x statistic with ``estimate [CI]``, the cut-offs, pass and outcome."""
    by = cell_columns(table)
    out = table[by].copy()
    out["statistic"] = table["statistic"]
    out["role"] = table["role"]
    out["estimate [CI]"] = [_estimate(r) for _, r in table.iterrows()]
    out["cut-offs"] = [
        "" if role == "info" and pd.isna(cut) else
        _catch_rule(str(inst), str(stat)) if rule == "catch_items" else _cutoffs(th, rule)
        for inst, stat, rule, role, cut in zip(table["instrument"], table["statistic"],
                                               table["rule"], table["role"],
                                               table["threshold"], strict=True)]
    out["threshold"] = table["threshold"]
    out["pass"] = ["–" if pd.isna(p) else "✔ yes" if bool(p) else "✘ no"
                   for p in table["passes"]]
    out["outcome"] = table["outcome"]
    return out.reset_index(drop=True)


def wide_statistics(stats: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per statistic, one column per cell (``by`` minus instrument): ``estimate [CI]
    · pass outcome``, so the models of one instrument read side by side."""
    cells = [c for c in by if c != "instrument"]
    marks_ = {"✔ yes": "✔", "✘ no": "✘", "–": ""}
    frame = stats.assign(
        cell=stats[cells].astype(str).agg(" / ".join, axis=1),
        value=[f"{e} · {marks_.get(p, p)} {o}".replace("·  ", "· ")
               for e, p, o in zip(stats["estimate [CI]"], stats["pass"], stats["outcome"],
                                  strict=True)])
    order = list(dict.fromkeys(frame["statistic"]))
    wide = frame.pivot_table(index=["statistic", "role", "cut-offs"], columns="cell",
                             values="value", aggfunc="first", sort=False).reset_index()
    wide["_o"] = wide["statistic"].map({s: i for i, s in enumerate(order)})
    return wide.sort_values("_o").drop(columns="_o").reset_index(drop=True)


def _sentences(sentences: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame([{"model": m, "n": i + 1, "sentence": s}
                         for m, texts in sentences.items() for i, s in enumerate(texts)],
                        columns=["model", "n", "sentence"])


# ---------------------------------------------------------------------- section
@section("validity", title="Validity: are the answers about the content?",
         reports={"compare": 1, "probe": 1, "culture": 1}, lead=summary_html,
         description="Before any score: does each model's answer depend on what the item says, "
                     "or on where an option is shown? Verdicts per model and instrument from "
                     "order agreement (original vs reversed options), the position and "
                     "content shares of the variation, item discrimination against a "
                     "permutation null, answer entropy and catch items (cut-offs and their "
                     "sources: data/validity/thresholds.yaml). Scores of cells judged "
                     "position-driven or insufficient data are marked wherever they appear "
                     "below.")
def validity_section(data: ReportData, settings: Settings) -> Section:
    """Verdicts (summary, per cell, per language/persona cell) and the per-statistic tables.

    ``data["verdicts"]``: :func:`workbench.validity.verdicts` by model x instrument;
    ``data["sentences"]``: ``model, n, sentence``; ``data["statistics"]``: the readable
    per-statistic table (:func:`statistics_table`); ``data["verdicts_by_<factor>"]`` for
    each finer breakdown.
    """
    sec = Section()
    rv = report_validity(data, settings)
    sec.notes += rv.errors
    overall = rv.overall
    if overall is None:
        sec.notes.append(f"validity verdicts: {NOT_AVAILABLE}, so no score below can be "
                         "called interpretable")
        return sec
    th = load_thresholds()
    sec.data["verdicts"] = overall.verdicts
    sec.data["sentences"] = _sentences(overall.sentences)
    bad = overall.verdicts[overall.verdicts["status"] == "not interpretable"]
    if not bad.empty:
        cells = ", ".join(f"{m} x {_instrument_name(i)}"
                          for m, i in zip(bad["model"], bad["instrument"], strict=True))
        sec.notes.append(f"Not interpretable: {cells}. Their scores are shown below only "
                         "marked (validity column, faded/hatched in figures), not as findings.")
    sec.tables["Verdict per model and instrument, with the numbers behind it"] = verdict_table(
        overall.verdicts, list(OVERALL))
    for by, result in rv.assessments.items():
        if by == OVERALL:
            continue
        factor = by[-1]
        sec.data[f"verdicts_by_{factor}"] = result.verdicts
        sec.tables[f"Verdict per model, instrument and {factor}"] = verdict_table(
            result.verdicts, list(by))
    stats = statistics_table(overall.table, th)
    sec.data["statistics"] = stats
    for inst, sub in stats.groupby("instrument", sort=False):
        sec.tables[f"Validity statistics: {_instrument_name(str(inst))} (per model: estimate "
                   f"with {settings.ci:.0%} interval · pass and outcome)"] = wide_statistics(
            sub, list(OVERALL))
    sec.tables["Reasons for each verdict, in words"] = overall.verdicts[
        [*OVERALL, "verdict", "reasons"]].assign(verdict=lambda f: f["verdict"].map(label))
    return sec


__all__ = ["VERDICT_TABLE_ID", "statistics_table", "summary_html", "validity_section",
           "verdict_table"]
