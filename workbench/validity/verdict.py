"""Validity verdicts: is each model answering each instrument by content or by option position?

:func:`validity_table` computes every statistic of every cell (one row per cell x statistic,
each with its interval, cut-off, outcome and sentence); :func:`verdicts` turns a table into
one verdict per cell with the reasons in words; :func:`status` / :func:`interpretable` are the
lookups a report uses to mark scores. The rule (cut-offs and counts from
``data/validity/thresholds.yaml``):

1. ``insufficient data`` when the coverage gate fails (fewer than ``min_orders`` orders, or
   fewer than ``min_items`` items in both compared orders);
2. ``content-driven`` when every core statistic votes content and no caution statistic
   (near-uniform answers, a failed catch item, a position prior far from uniform) is raised;
3. ``position-driven`` when at least ``position_min`` core statistics vote position and at
   most ``content_max_for_position`` vote content;
4. ``mixed`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.scoring import InstrumentLike
from workbench.validity.cells import Cell, cell_columns, prepare_cells
from workbench.validity.content import answer_entropy, catch_items, item_discrimination, reliability
from workbench.validity.context import Context
from workbench.validity.norms import reliability_norms
from workbench.validity.order import (
    coverage,
    first_position_excess,
    order_agreement,
    position_decomposition,
)
from workbench.validity.prior import position_prior
from workbench.validity.reasons import Reason
from workbench.validity.sentences import summary_sentences
from workbench.validity.thresholds import Thresholds, load_thresholds

StatisticFn = Callable[[Cell, Context], list[Reason]]
#: The statistics of a cell, in table order; a new check is one more function here plus its
#: entry in the thresholds file (its role there decides how it enters the verdict).
STATISTICS: tuple[StatisticFn, ...] = (
    coverage, order_agreement, position_decomposition, item_discrimination, answer_entropy,
    catch_items, first_position_excess, position_prior, reliability,
)
TABLE_COLUMNS = ["statistic", "estimate", "ci_low", "ci_high", "threshold", "passes",
                 "outcome", "role", "rule", "p_value", "n_units", "sentence", "basis", "detail"]
VERDICT_COLUMNS = ["verdict", "status", "reasons", "n_items", "coverage", "order_pair", "order_r",
                   "order_r_low", "order_r_high", "position_share", "content_share",
                   "position_fraction", "discrimination_p", "entropy", "catch_failed",
                   "n_content", "n_position", "n_core", "position_prior"]
STATUS_RANK = {"interpretable": 0, "caution": 1, "not interpretable": 2}


def validity_table(
    distributions: pd.DataFrame,
    by: Sequence[str] = ("model", "instrument"),
    n_boot: int = 2000,
    seed: int = 0,
    ci: float = 0.95,
    n_perm: int = 2000,
    thresholds: Thresholds | str | None = None,
    instruments: Mapping[str, InstrumentLike] | None = None,
) -> pd.DataFrame:
    """Every validity statistic of every cell: one row per cell x statistic.

    Why: the first question about a model's survey answers is whether they depend on what the
    items say; each statistic here answers part of it with an interval and a sentence.
    ``distributions`` is ``ResultStore.distributions()`` (one row per request x option with
    ``code``, 0-based shown ``position`` and ``prob``); ``by`` names the cells (``instrument``
    is always added). ``n_boot`` resamples items for intervals, ``n_perm`` shuffles for the
    item-discrimination p-value, both from ``seed``. Returns ``[*by, statistic, estimate,
    ci_low, ci_high, threshold, passes, outcome, role, rule, p_value, n_units, sentence,
    basis, detail]`` (``detail``: e.g. the compared orders); the formulas are in
    :mod:`.order` and :mod:`.content`.

    >>> table = validity_table(store.distributions(), n_boot=2000, seed=0)  # doctest: +SKIP
    """
    th = thresholds if isinstance(thresholds, Thresholds) else load_thresholds(thresholds)
    ctx = Context(thresholds=th, norms=reliability_norms(), n_boot=int(n_boot),
                  n_perm=int(n_perm), ci=float(ci), seed=int(seed))
    by, cells = prepare_cells(distributions, by, instruments)
    rows = []
    for cell in cells:
        for fn in STATISTICS:
            for reason in fn(cell, ctx):
                rows.append({**cell.key, **reason.as_row()})
    return pd.DataFrame(rows, columns=[*by, *TABLE_COLUMNS])


def _value(sub: pd.DataFrame, statistic: str, column: str = "estimate") -> float:
    hit = sub.loc[sub["statistic"] == statistic, column]
    return float(hit.iloc[0]) if len(hit) and pd.notna(hit.iloc[0]) else float("nan")


def _text(sub: pd.DataFrame, statistic: str, column: str) -> str:
    hit = sub.loc[sub["statistic"] == statistic, column]
    return str(hit.iloc[0]) if len(hit) and pd.notna(hit.iloc[0]) else ""


def _decide(sub: pd.DataFrame, th: Thresholds) -> tuple[str, list[str], dict[str, int]]:
    gate = sub[sub["role"] == "gate"]
    core = sub[sub["role"] == "core"]
    cautions = sub[(sub["role"] == "caution") & (sub["outcome"] == "caution")]
    counts = {"n_content": int((core["outcome"] == "content").sum()),
              "n_position": int((core["outcome"] == "position").sum()),
              "n_core": len(core)}
    if (gate["outcome"] == "insufficient").any():
        return "insufficient data", list(gate["sentence"]), counts
    reasons = list(core["sentence"]) + list(cautions["sentence"])
    position_min = th.verdict["position_min"].value
    content_max = th.verdict["content_max_for_position"].value
    if counts["n_core"] and counts["n_content"] == counts["n_core"] and cautions.empty:
        return "content-driven", reasons, counts
    if counts["n_position"] >= position_min and counts["n_content"] <= content_max:
        return "position-driven", reasons, counts
    return "mixed", reasons, counts


def verdicts(table: pd.DataFrame, thresholds: Thresholds | str | None = None) -> pd.DataFrame:
    """One verdict per cell, with the reasons in words and the key numbers.

    Why: a report opens with this: ``content-driven``, ``mixed``, ``position-driven`` or
    ``insufficient data`` per model x instrument (the rule is in the module notes), and
    ``status`` = interpretable / caution / not interpretable as the thresholds file maps it.
    Returns ``[*cells, verdict, status, reasons, n_items, coverage, order_pair, order_r,
    order_r_low,
    order_r_high, position_share, content_share, position_fraction, discrimination_p,
    entropy, catch_failed, n_content, n_position, n_core, position_prior]``;
    ``catch_failed`` is NA where the instrument has no catch items, ``position_prior`` (the
    prior's distance from uniform) NaN where no item was asked in every rotation.

    >>> verdicts(validity_table(dists))[["model", "instrument", "verdict"]]  # doctest: +SKIP
    """
    th = thresholds if isinstance(thresholds, Thresholds) else load_thresholds(thresholds)
    by = cell_columns(table)
    rows = []
    for key, sub in table.groupby(by, sort=False, dropna=False):
        key = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        verdict, reasons, counts = _decide(sub, th)
        catch = sub[sub["rule"] == "catch_items"].dropna(subset=["passes"])
        cov = sub[sub["statistic"] == "coverage"]["sentence"]
        rows.append({
            **key, "verdict": verdict, "status": th.status[verdict],
            "reasons": "; ".join(reasons) + ".",
            "n_items": int(_value(sub, "coverage")) if pd.notna(_value(sub, "coverage")) else 0,
            "coverage": cov.iloc[0] if len(cov) else "",
            "order_pair": _text(sub, "order_agreement", "detail"),
            "order_r": _value(sub, "order_agreement"),
            "order_r_low": _value(sub, "order_agreement", "ci_low"),
            "order_r_high": _value(sub, "order_agreement", "ci_high"),
            "position_share": _value(sub, "position_share"),
            "content_share": _value(sub, "content_share"),
            "position_fraction": _value(sub, "position_vs_content"),
            "discrimination_p": _value(sub, "item_discrimination", "p_value"),
            "entropy": _value(sub, "answer_entropy"),
            "catch_failed": (pd.NA if catch.empty else bool((~catch["passes"].astype(bool)).any())),
            **counts, "position_prior": _value(sub, "position_prior"),
        })
    return pd.DataFrame(rows, columns=[*by, *VERDICT_COLUMNS])


def _match(verdicts_frame: pd.DataFrame, model: str, instrument: str,
           cell: Mapping[str, object]) -> pd.DataFrame:
    missing = [c for c in ("model", "instrument", *cell) if c not in verdicts_frame.columns]
    if missing:
        raise WorkbenchError(f"the verdicts frame has no column(s) {missing}: pass the frame "
                             "verdicts() returned for a grouping with them")
    sel = (verdicts_frame["model"] == model) & (verdicts_frame["instrument"] == instrument)
    for col, val in cell.items():
        sel &= verdicts_frame[col] == val
    hit = verdicts_frame[sel]
    if hit.empty:
        have = sorted({f"{m} x {i}" for m, i in zip(verdicts_frame["model"],
                                                    verdicts_frame["instrument"], strict=True)})
        raise WorkbenchError(f"no validity verdict for model '{model}' x instrument "
                             f"'{instrument}' {dict(cell) or ''}; judged cells: {have}")
    return hit


def status(verdicts_frame: pd.DataFrame, model: str, instrument: str, **cell: object) -> str:
    """``interpretable`` / ``caution`` / ``not interpretable`` for a model x instrument.

    Why: every score of a cell shown later in a report is marked with this. Extra keywords
    select one cell of a finer grouping (``persona="none"``); when several cells match (e.g.
    per-persona verdicts) the worst status counts.

    >>> status(verdicts_frame, "smollm2-135m", "mfq30")  # doctest: +SKIP
    'not interpretable'
    """
    hit = _match(verdicts_frame, model, instrument, cell)
    return max(hit["status"], key=STATUS_RANK.__getitem__)


def interpretable(verdicts_frame: pd.DataFrame, model: str, instrument: str,
                  **cell: object) -> bool:
    """True only for a content-driven cell (status ``interpretable``); see :func:`status`."""
    return status(verdicts_frame, model, instrument, **cell) == "interpretable"


@dataclass
class Validity:
    """The three products a report needs, computed once."""

    table: pd.DataFrame
    verdicts: pd.DataFrame
    sentences: dict[str, list[str]]


def assess(distributions: pd.DataFrame, by: Sequence[str] = ("model", "instrument"),
           **options: object) -> Validity:
    """:func:`validity_table`, :func:`verdicts` and the summary sentences in one call
    (``options`` go to :func:`validity_table`)."""
    table = validity_table(distributions, by=by, **options)  # type: ignore[arg-type]
    frame = verdicts(table, options.get("thresholds"))  # type: ignore[arg-type]
    return Validity(table=table, verdicts=frame, sentences=summary_sentences(frame, table))


__all__ = ["STATISTICS", "Validity", "assess", "interpretable", "status", "validity_table",
           "verdicts"]
