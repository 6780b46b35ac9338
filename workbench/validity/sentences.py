"""Two to four generated sentences per model that state the verdicts with their numbers.

Why: the first screen of a report must say, in words a reader cannot miss, whether a model's
scores mean anything, e.g. "smollm2-135m answers MFQ-30 by position: item means under the
original and reversed order correlate r = -0.12 [-0.48, 0.27]; the shown position alone
explains 62% of the variation in option probabilities and the content alone 0%; catch items
failed. Its MFQ-30 scores are not interpretable." Instruments with the same verdict share one
sentence; a last sentence says what may be read.
"""

from __future__ import annotations

import math

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.scoring import as_instrument
from workbench.validity.cells import cell_columns, instrument_label
from workbench.validity.reasons import fmt, interval, pct_text

VERDICT_ORDER = ("position-driven", "mixed", "content-driven", "insufficient data")
HOW = {"position-driven": "answers {what} by position",
       "content-driven": "answers {what} by content",
       "mixed": "gives mixed answers to {what}",
       "insufficient data": "cannot be judged on {what}"}
READ = {"not interpretable": "its {what} scores are not interpretable",
        "caution": "read its {what} scores with caution",
        "interpretable": "its {what} scores can be read as answers to the items"}


def _label(row: pd.Series, extra: list[str]) -> str:
    try:
        name = instrument_label(as_instrument(str(row["instrument"])))
    except WorkbenchError:
        name = str(row["instrument"])
    cell = ", ".join(f"{c} {row[c]}" for c in extra)
    return f"{name} ({cell})" if cell else name


def _join(words: list[str]) -> str:
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _tagged(values: list[str], labels: list[str]) -> str:
    """One value per instrument, tagged with the instrument when there are several."""
    if len(values) == 1:
        return values[0]
    return _join([f"{v} ({lab})" for v, lab in zip(values, labels, strict=True)])


def _evidence(group: pd.DataFrame, labels: list[str], table: pd.DataFrame,
              by: list[str]) -> str:
    parts = []
    with_r = [(row, lab) for (_, row), lab in zip(group.iterrows(), labels, strict=True)
              if not math.isnan(row["order_r"])]
    if with_r:
        pairs = {row["order_pair"] for row, _ in with_r}
        pair = pairs.pop().replace(" vs ", " and ") if len(pairs) == 1 else "two"
        rs = [f"r = {fmt(row['order_r'])}{interval(row['order_r_low'], row['order_r_high'])}"
              for row, _ in with_r]
        parts.append(f"item means under the {pair} order correlate "
                     f"{_tagged(rs, [lab for _, lab in with_r])}")
    with_share = [(row, lab) for (_, row), lab in zip(group.iterrows(), labels, strict=True)
                  if not math.isnan(row["position_share"])]
    if with_share:
        pos = _tagged([pct_text(r["position_share"]) for r, _ in with_share],
                      [lab for _, lab in with_share])
        con = _join([pct_text(r["content_share"]) for r, _ in with_share])
        parts.append(f"the shown position alone explains {pos} of the variation in option "
                     f"probabilities and the content alone {con}")
    failed = [lab for (_, row), lab in zip(group.iterrows(), labels, strict=True)
              if pd.notna(row["catch_failed"]) and bool(row["catch_failed"])]
    if failed:
        parts.append("catch items failed" + (f" ({_join(failed)})" if len(labels) > 1 else ""))
    uniform = _cautioned(group, labels, table, by, "answer_entropy")
    if uniform:
        parts.append("the answers are near uniform" + (f" ({_join(uniform)})"
                                                       if len(labels) > 1 else ""))
    prior = _cautioned(group, labels, table, by, "position_prior")
    if prior:
        tv = _tagged([fmt(r["position_prior"]) for (_, r), lab in
                      zip(group.iterrows(), labels, strict=True) if lab in prior], prior)
        parts.append(f"the estimated position prior is {tv} from uniform (total variation)")
    return "; ".join(parts)


def _cautioned(group: pd.DataFrame, labels: list[str], table: pd.DataFrame,
               by: list[str], statistic: str) -> list[str]:
    """The labels of the group's cells whose ``statistic`` raised a caution."""
    out = []
    for (_, row), lab in zip(group.iterrows(), labels, strict=True):
        sel = (table["statistic"] == statistic) & (table["outcome"] == "caution")
        for col in by:
            sel &= table[col] == row[col]
        if sel.any():
            out.append(lab)
    return out


def summary_sentences(verdicts_frame: pd.DataFrame,
                      stats_frame: pd.DataFrame) -> dict[str, list[str]]:
    """Per model, 2-4 sentences stating its verdicts with the numbers behind them.

    Why: the executive summary of every report. One sentence per verdict that occurs
    (instruments sharing a verdict share the sentence: order agreement r with its interval,
    the position and content shares, failed catch items, near-uniform answers, a position
    prior far from uniform, or why a cell cannot be judged), then one sentence on what may
    be read. ``verdicts_frame`` and ``stats_frame`` are the outputs of :func:`verdicts` and
    :func:`validity_table`.

    >>> summary_sentences(verdicts(table), table)["smollm2-135m"]  # doctest: +SKIP
    """
    if "verdict" not in verdicts_frame.columns or "model" not in verdicts_frame.columns:
        raise WorkbenchError("summary_sentences needs the frame verdicts() returned (columns "
                             "model, instrument, verdict, ...)")
    by = cell_columns(stats_frame)
    extra = [c for c in by if c not in ("model", "instrument")]
    out: dict[str, list[str]] = {}
    for model, rows in verdicts_frame.groupby("model", sort=False):
        labels = {i: _label(row, extra) for i, row in rows.iterrows()}
        present = [v for v in VERDICT_ORDER if (rows["verdict"] == v).any()]
        sentences, folded = [], ""
        for verdict in present:
            group = rows[rows["verdict"] == verdict]
            names = [labels[i] for i in group.index]
            if verdict == "insufficient data":
                why = "; ".join(dict.fromkeys(group["coverage"]))
                if len(present) == 4:  # keep to four sentences: say it in the closing one
                    folded = f"; {_join(names)} cannot be judged ({why})"
                    continue
                evidence = why
            else:
                evidence = _evidence(group, names, stats_frame, by)
            sentences.append(f"{model} {HOW[verdict].format(what=_join(names))}: {evidence}.")
        closing = []
        for st in READ:
            names = [labels[i] for i in rows.index[rows["status"] == st]]
            if names:
                closing.append(READ[st].format(what=_join(names)))
        text = "; ".join(closing) + folded
        sentences.append(text[0].upper() + text[1:] + ".")
        out[str(model)] = sentences
    return out


__all__ = ["summary_sentences"]
