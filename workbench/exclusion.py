"""Catch-item screening: the instruments' published exclusion rules applied to each respondent.

Why a module of its own: scoring computes what the manual prescribes for everyone kept;
screening decides who is kept, and the validity checks reuse it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from workbench.instruments import RULE_OPS
from workbench.scoring import (
    UNIT,
    InstrumentLike,
    as_instrument,
    require_columns,
    select_instrument,
)


def exclusion_flags(
    distributions: pd.DataFrame,
    instrument: InstrumentLike,
    by: Sequence[str] = UNIT,
) -> pd.DataFrame:
    """Apply the instrument's catch-item rules to each respondent unit.

    Why: the MFQ manual drops respondents who fail its catch items; the same rule screens
    personas/variants of a model. The rule is applied to the unit's expected canonical code
    of the catch item (not reverse-flipped: rules are written in canonical codes). The
    published rule is about one person's single answer, so ``p_fail`` adds the probability
    that one answer drawn from the unit's distribution fails it (the share of such
    respondents a survey would cut). Returns one row per (unit, rule): ``[*by, item_id, op,
    threshold, value, flagged, p_fail, reason]``; a unit that lacks the catch item has
    ``value`` and ``p_fail`` NaN and ``flagged`` False. Units to drop:
    ``flags.groupby(by).flagged.any()``.

    >>> exclusion_flags(dists, "mfq30").query("flagged")  # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    by = [c for c in by if c in distributions.columns]
    cols = [*by, "item_id", "op", "threshold", "value", "flagged", "p_fail", "reason"]
    if not inst.exclusions:
        return pd.DataFrame(columns=cols)
    require_columns(distributions, ["request_id", "item_id", "code", "prob"], "distributions frame")
    frame = select_instrument(distributions, inst, "distributions frame")
    keys = [*by, "request_id"]
    prob_sum = frame.groupby(keys + ["item_id"], dropna=False)["prob"].transform("sum")
    frame = frame.assign(_w=frame["code"] * frame["prob"] / prob_sum)
    expected = frame.groupby([*keys, "item_id"], dropna=False)["_w"].sum().rename("value")
    expected = expected.reset_index()
    units = frame[by].drop_duplicates().reset_index(drop=True) if by else pd.DataFrame(index=[0])
    out = []
    for rule in inst.exclusions:
        sub = expected[expected["item_id"] == rule.item]
        fails = frame[frame["item_id"] == rule.item]
        fails = fails.assign(_f=np.where(RULE_OPS[rule.op](fails["code"].to_numpy(float),
                                                       rule.value),
                                         fails["prob"] / prob_sum.loc[fails.index], 0.0))
        p_fail = fails.groupby(keys, dropna=False)["_f"].sum().rename("p_fail").reset_index()
        if by:
            unit_value = sub.groupby(by, dropna=False)["value"].mean().reset_index()
            unit_fail = p_fail.groupby(by, dropna=False)["p_fail"].mean().reset_index()
            merged = units.merge(unit_value, on=by, how="left").merge(unit_fail, on=by,
                                                                      how="left")
        else:
            merged = units.assign(value=sub["value"].mean(), p_fail=p_fail["p_fail"].mean())
        merged["item_id"] = rule.item
        merged["op"] = rule.op
        merged["threshold"] = rule.value
        merged["flagged"] = RULE_OPS[rule.op](merged["value"].to_numpy(float), rule.value)
        merged["reason"] = rule.reason
        out.append(merged)
    return pd.concat(out, ignore_index=True)[cols]
