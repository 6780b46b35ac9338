"""Follow-up items: questions asked right after another one, with the first answer in context.

Why: some survey questions are defined only as a follow-up. WVS-7 Q155 ("which would be the
next most important?") must come right after Q154 and name a different aim; asked on its own, a
model can name its first choice again and the post-materialism index stops being the WVS one.

The workbench therefore asks a follow-up once per possible earlier answer ``c1`` (that answer
in the conversation, and left out of the options), stores each as its own request with
``given = "Q154=c1"``, and combines them when results are read:

    P(Q155 = c2 | cell) = sum over c1 of P(Q154 = c1 | cell) * P(Q155 = c2 | Q154 = c1, cell)

where a *cell* is one model x persona x language x order x paraphrase x format x instruction
x repeat. With sampled answers P(Q154 = c1 | cell) is one-hot on the parsed answer, so the
follow-up answer that counts is the one given after the model's own first answer. A cell is
combined only when every earlier answer with positive probability has its follow-up stored
(a partly finished run shows no follow-up rather than a biased one).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

# Columns identifying a cell besides the item (the store's factors minus item_id).
CELL = ["model", "instrument", "persona", "language", "order", "paraphrase", "answer_format",
        "instruction", "mode", "repeat"]


def parse_given(given: str) -> tuple[str, int]:
    """``"Q154=2"`` -> ``("Q154", 2)``."""
    item, _, code = given.partition("=")
    if not item or not code.lstrip("-").isdigit():
        raise ValueError(f"malformed follow-up condition {given!r}: expected ITEM=CODE")
    return item, int(code)


def format_given(item_id: str, code: int) -> str:
    return f"{item_id}={code}"


def _is_followup(frame: pd.DataFrame) -> pd.Series:
    if "given" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["given"].fillna("").astype(str).ne("")


def _split_followups(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(plain rows, follow-up rows with ``_prev_item``/``_prev_code`` parsed from ``given``),
    or None when the frame holds no follow-up rows."""
    follow = _is_followup(frame)
    if not follow.any():
        return None
    cond = frame[follow].copy()
    parsed = cond["given"].map(parse_given)
    cond["_prev_item"] = parsed.str[0]
    cond["_prev_code"] = parsed.str[1]
    return frame[~follow], cond


def _cell_id(row: pd.Series, item_id: str) -> str:
    text = "|".join(str(row[c]) for c in CELL) + f"|{item_id}"
    return "followup-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def marginalize_followup_distributions(dists: pd.DataFrame) -> pd.DataFrame:
    """Replace the conditional rows of follow-up items by one marginal distribution per cell.

    Input: the store's tidy distributions (one row per request x option) with a ``given``
    column. Output: the same columns; follow-up items get one synthetic request per cell
    (``request_id`` starting ``followup-``, ``given`` empty, ``position``/``key``/``logprob``
    empty because the combined answer was shown in several positions).

    >>> rows = [  # Q1 answered 1 w.p. .25, 2 w.p. .75; Q2 asked after each answer
    ...     ("a", "Q1", "", 1, .25), ("a", "Q1", "", 2, .75),
    ...     ("b", "Q2", "Q1=1", 2, .6), ("b", "Q2", "Q1=1", 3, .4),
    ...     ("c", "Q2", "Q1=2", 1, .2), ("c", "Q2", "Q1=2", 3, .8)]
    >>> d = pd.DataFrame(rows, columns=["request_id", "item_id", "given", "code", "prob"])
    >>> for c in CELL: d[c] = "x"
    >>> out = marginalize_followup_distributions(d)
    >>> out[out.item_id == "Q2"].set_index("code")["prob"].round(3).to_dict()
    {1: 0.15, 2: 0.15, 3: 0.7}
    """
    split = _split_followups(dists)
    if split is None:
        return dists
    base, cond = split
    pieces = [base]
    for (prev_item, item_id), group in cond.groupby(["_prev_item", "item_id"], sort=False):
        prev = base.loc[base["item_id"] == prev_item, [*CELL, "code", "prob"]]
        weights = prev.rename(columns={"code": "_prev_code", "prob": "_weight"})
        merged = group.merge(weights, on=[*CELL, "_prev_code"], how="left")
        for _, cell in merged.groupby(CELL, sort=False, dropna=False):
            combined = _combine_cell(cell, weights, prev_item)
            if combined is not None:
                pieces.append(combined.assign(item_id=item_id))
    out = pd.concat(pieces, ignore_index=True)
    return out[dists.columns].sort_values(["request_id", "code"], ignore_index=True)


def _combine_cell(cell: pd.DataFrame, weights: pd.DataFrame, prev_item: str
                  ) -> pd.DataFrame | None:
    """Sum P(c1) * P(c2 | c1) over the earlier answers c1 for one cell (None if incomplete)."""
    first = cell.iloc[0]
    mask = np.ones(len(weights), dtype=bool)
    for c in CELL:
        mask &= (weights[c] == first[c]).to_numpy()
    w = weights[mask].groupby("_prev_code")["_weight"].sum()
    w = w[w > 0]
    if w.empty:
        return None  # the earlier item was not answered (e.g. unparseable): no follow-up
    asked = set(cell["_prev_code"])
    if not set(w.index) <= asked:
        return None  # a follow-up the earlier answers need is not stored yet
    joint = cell[cell["_prev_code"].isin(w.index)].copy()
    joint["prob"] = joint["prob"] * joint["_prev_code"].map(w)
    total = float(w.sum())
    spec = {"prob": ("prob", "sum")}
    if "label" in joint.columns:
        spec["label"] = ("label", "first")
    out = joint.groupby("code", as_index=False).agg(**spec)
    out["prob"] = out["prob"] / total
    for c in CELL:
        out[c] = first[c]
    out["request_id"] = _cell_id(first, str(first["item_id"]))
    out["given"] = ""
    for c in ("position", "key", "logprob"):
        out[c] = np.nan
    return out


def marginalize_followup_answers(answers: pd.DataFrame, marginal: pd.DataFrame
                                 ) -> pd.DataFrame:
    """One answer row per cell for follow-up items, consistent with the combined distributions.

    Sampled answers keep the follow-up asked after the model's own first answer (its text,
    status and parsed code); log-prob answers take expected and argmax codes from the combined
    distribution.
    """
    split = _split_followups(answers)
    if split is None:
        return answers
    base, cond = split
    pieces = [base]
    combined = marginal[marginal["request_id"].astype(str).str.startswith("followup-")]
    stats = (combined.assign(_wc=combined["code"] * combined["prob"])
             .groupby("request_id")
             .agg(expected=("_wc", "sum"),
                  argmax_code=("code", lambda s: s.loc[combined.loc[s.index, "prob"].idxmax()])))
    for (prev_item, _), group in cond.groupby(["_prev_item", "item_id"], sort=False):
        prev = base.loc[base["item_id"] == prev_item, [*CELL, "answer_code"]]
        prev = prev.rename(columns={"answer_code": "_own_answer"})
        merged = group.merge(prev, on=CELL, how="left")
        for _, cell in merged.groupby(CELL, sort=False, dropna=False):
            row = cell.iloc[0].copy()
            rid = _cell_id(row, str(row["item_id"]))
            if row["mode"] == "generate":
                own = cell[cell["_prev_code"] == cell["_own_answer"]]
                if own.empty:
                    continue
                row = own.iloc[0].copy()
            elif rid not in stats.index:
                continue
            row["request_id"] = rid
            row["given"] = ""
            if rid in stats.index:
                row["expected"] = stats.loc[rid, "expected"]
                row["argmax_code"] = stats.loc[rid, "argmax_code"]
            pieces.append(row.to_frame().T)
    out = pd.concat(pieces, ignore_index=True)
    out = out[answers.columns].sort_values("request_id", ignore_index=True)
    return out.astype({c: answers[c].dtype for c in answers.columns
                       if c in ("paraphrase", "repeat")}, errors="ignore")
