"""Split stored answer distributions into the cells a verdict is given for.

A *cell* is one model x instrument (optionally x language, persona, ...): the unit a report
marks as interpretable or not. Each cell keeps its option rows (probabilities renormalised per
request) and one row per request with the quantities every statistic starts from:

* ``expected``: the expected canonical code, sum(code * p) (reverse-keyed items NOT flipped:
  the validity checks ask whether the model's answer follows the item, and reverse keying is
  a scoring step that would add spread correlated with the keying pattern, not the answer);
* ``pomp``: ``expected`` rescaled to 0-1 of the item's scale, (x - min) / (max - min), the
  "percent of maximum possible" metric (Cohen, Cohen, Aiken & West 1999, Multivariate
  Behavioral Research 34(3)), so items on 2- to 10-point scales are comparable; NaN for
  nominal items, whose codes have no order;
* ``entropy``: the normalised entropy H / log(k) of the request's answer distribution.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.instruments import Instrument
from workbench.scoring import FACTORS, InstrumentLike, as_instrument, check_by, require_columns
from workbench.stats.consistency import position_bias

REQUIRED = ("request_id", "model", "instrument", "item_id", "order", "code", "position", "prob")
#: Factors whose levels are a model's "respondents" for reliability (never the order: within
#: one order a position-driven model's answers co-vary across items and would inflate alpha).
RESPONDENT_FACTORS = ("persona", "language", "paraphrase", "answer_format", "instruction",
                      "repeat")


@dataclass
class Cell:
    """One model x instrument (x ...) cell: its key, instrument, option and request rows,
    the orders asked, and :func:`workbench.stats.position_bias` per item (computed for all
    cells at once: it is the slowest step)."""

    key: dict[str, object]
    instrument: Instrument
    options: pd.DataFrame
    requests: pd.DataFrame
    orders: list[str] = field(default_factory=list)
    position_bias: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def pair(self) -> tuple[str, str] | None:
        """The orders compared for order agreement: original vs reversed when both were asked,
        else the first two orders present (see :func:`sort_orders`)."""
        if "original" in self.orders and "reversed" in self.orders:
            return ("original", "reversed")
        return (self.orders[0], self.orders[1]) if len(self.orders) >= 2 else None

    @property
    def label(self) -> str:
        return instrument_label(self.instrument)

    def respondents(self) -> list[str]:
        """Factors varied within the cell that act as respondents for reliability."""
        return [c for c in RESPONDENT_FACTORS if c in self.requests.columns
                and c not in self.key and self.requests[c].nunique(dropna=False) > 1]

    def units(self) -> list[str]:
        """Columns identifying one respondent unit (every factor but the item)."""
        return [c for c in FACTORS if c in self.requests.columns and c != "item_id"]


def instrument_label(inst: Instrument) -> str:
    """A short name for sentences: the parenthesised part of the instrument's name
    (``"Moral Foundations Questionnaire (MFQ-30)"`` -> ``"MFQ-30"``), else its id."""
    found = re.search(r"\(([^()]+)\)\s*$", inst.name)
    return found.group(1) if found else inst.id


def sort_orders(levels: Sequence[object]) -> list[str]:
    """Orders in a stable reading order: original, reversed, then the rest in natural order
    (``perm2`` before ``perm10``, ``cyc1`` before ``perm1``).

    >>> sort_orders(["perm10", "reversed", "perm2", "original"])
    ['original', 'reversed', 'perm2', 'perm10']
    """
    first = {"original": 0, "reversed": 1}

    def key(level: str) -> tuple:
        parts = re.split(r"(\d+)", level)
        return (first.get(level, 2), [int(p) if p.isdigit() else p for p in parts])

    return sorted({str(o) for o in levels}, key=key)


def cell_breakdowns(distributions: pd.DataFrame) -> list[tuple[str, ...]]:
    """The groupings a report should judge: model x instrument always, and x language /
    x persona when the data hold several of them."""
    out = [("model", "instrument")]
    for factor in ("language", "persona"):
        if factor in distributions.columns and distributions[factor].nunique(dropna=False) > 1:
            out.append(("model", "instrument", factor))
    return out


def prepare_cells(
    distributions: pd.DataFrame,
    by: Sequence[str] = ("model", "instrument"),
    instruments: Mapping[str, InstrumentLike] | None = None,
) -> tuple[list[str], list[Cell]]:
    """The cells of ``distributions`` grouped by ``by`` (``instrument`` is always added).

    ``instruments`` maps instrument ids to instrument files for instruments that are not
    shipped. Returns the grouping columns and the cells in sorted order.
    """
    require_columns(distributions, REQUIRED, "distributions frame")
    by = check_by(distributions, by, "distributions frame")
    if "instrument" not in by:
        by = [*by, "instrument"]
    if distributions.empty:
        raise WorkbenchError("the distributions frame is empty: probe some items first")
    d = distributions.reset_index(drop=True)
    prob = d["prob"].to_numpy(dtype=float)
    if np.isnan(prob).any() or (prob < 0).any():
        raise WorkbenchError("the distributions frame has missing or negative 'prob' values: "
                             "drop or fix those rows (a refusal has no distribution)")
    total = d.groupby("request_id", sort=False)["prob"].transform("sum").to_numpy(dtype=float)
    if (total <= 0).any():
        raise WorkbenchError("some requests have probabilities summing to 0: drop them")
    d = d.assign(p=prob / total)
    shown = d.dropna(subset=["position"])
    bias = (position_bias(shown, by=by, per_item=True) if not shown.empty
            else pd.DataFrame(columns=[*by, "item_id", "first_excess_centred"]))
    bias_groups = dict(iter(bias.groupby(by, sort=False, dropna=False))) if len(bias) else {}
    cells = []
    for key, sub in d.groupby(by, sort=True, dropna=False):
        cell_bias = bias_groups.get(key, bias.iloc[:0])
        key = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        inst_id = str(key["instrument"])
        source = (instruments or {}).get(inst_id, inst_id)
        inst = as_instrument(source)
        requests = _requests(sub, inst)
        cells.append(Cell(key=key, instrument=inst, options=sub, requests=requests,
                          orders=sort_orders(pd.unique(sub["order"])), position_bias=cell_bias))
    return by, cells


def _requests(options: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """One row per request: factors, expected canonical code, its 0-1 rescaling, entropy."""
    unknown = sorted(set(options["item_id"].astype(str)) - {it.id for it in inst.items})
    if unknown:
        raise WorkbenchError(f"the distributions frame has item(s) {unknown[:5]} that "
                             f"instrument '{inst.id}' does not define: load the matching "
                             "instrument file (instruments={...})")
    p = options["p"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    rid = pd.factorize(options["request_id"])[0]
    _, first = np.unique(rid, return_index=True)
    keys = [c for c in FACTORS if c in options.columns]
    req = options.iloc[first][["request_id", *keys]].reset_index(drop=True)
    n_req = len(first)
    k = np.bincount(rid, minlength=n_req).astype(float)
    expected = np.bincount(rid, weights=options["code"].to_numpy(dtype=float) * p,
                           minlength=n_req)
    entropy = np.bincount(rid, weights=-plogp, minlength=n_req)
    scale = {it.id: inst.scale_of(it.id) for it in inst.items}
    items = req["item_id"].astype(str)
    lo = items.map({i: min(s.codes) for i, s in scale.items()}).to_numpy(dtype=float)
    hi = items.map({i: max(s.codes) for i, s in scale.items()}).to_numpy(dtype=float)
    ordinal = items.map({i: s.type == "ordinal" for i, s in scale.items()}).to_numpy(bool)
    req["expected"] = expected
    req["pomp"] = np.where(ordinal, (expected - lo) / (hi - lo), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        req["entropy"] = np.where(k >= 2, entropy / np.log(k), np.nan)
    req["n_options"] = k.astype(int)
    return req


__all__ = ["Cell", "cell_breakdowns", "instrument_label", "prepare_cells", "sort_orders"]


def cell_columns(table: pd.DataFrame) -> list[str]:
    """The grouping columns of a validity table (those before ``statistic``)."""
    if "statistic" not in table.columns:
        raise WorkbenchError("not a validity table (no 'statistic' column): pass the frame "
                             "validity_table() returned")
    return list(table.columns[: list(table.columns).index("statistic")])
