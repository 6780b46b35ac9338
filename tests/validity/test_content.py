"""Item discrimination, answer entropy, catch items and reliability on hand-worked frames;
permutation p-values against full enumeration, Feldt's interval against pingouin."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from workbench.validity.cells import prepare_cells
from workbench.validity.content import (
    answer_entropy,
    catch_items,
    feldt_interval,
    item_discrimination,
    permutation_sd,
    reliability,
)
from workbench.validity.context import Context
from workbench.validity.norms import human_reliability_text, reliability_norms
from workbench.validity.thresholds import load_thresholds


def _cell(frame, instruments=None, **ctx):
    _, cells = prepare_cells(frame, instruments=instruments)
    assert len(cells) == 1
    return cells[0], Context(load_thresholds(), reliability_norms(), **ctx)


def test_permutation_null_matches_full_enumeration():
    # 3 items x 2 strata (orders), one request each: the 3! x 3! = 36 relabellings are
    # equally likely under the null, so the exact p-value can be counted
    values = np.array([0.1, 0.5, 0.9, 0.2, 0.4, 0.8])
    items = np.array([0, 1, 2, 0, 1, 2])
    strata = np.array([0, 0, 0, 1, 1, 1])

    def sd(labels):
        means = np.bincount(labels, weights=values) / np.bincount(labels)
        return means.std(ddof=1)

    observed = sd(items)
    null = [sd(np.array([*a, *b]))
            for a in itertools.permutations([0, 1, 2])
            for b in itertools.permutations([0, 1, 2])]
    exact = np.mean(np.array(null) >= observed - 1e-12)
    draws = permutation_sd(values, items, strata, 20000, np.random.default_rng(0))
    assert np.mean(draws >= observed - 1e-12) == pytest.approx(exact, abs=0.01)
    # labels only move within their stratum: every draw keeps each stratum's value multiset
    assert set(np.round(draws, 12)) <= set(np.round(null, 12))


def _two_orders(toy, orig, rev, reps=1):
    reqs = []
    for r in range(reps):
        for j, (a, b) in enumerate(zip(orig, rev, strict=True), start=1):
            reqs.append({"item_id": f"i{j}", "order": "original", "paraphrase": r,
                         "probs": toy.one_hot(a)})
            reqs.append({"item_id": f"i{j}", "order": "reversed", "paraphrase": r,
                         "probs": toy.one_hot(b)})
    return toy.frame(reqs)


def test_item_discrimination_separates_items_from_order(toy):
    path = toy.write(n_items=6)
    # content: items differ the same way in both orders -> far beyond shuffles
    content = _two_orders(toy, [1, 1, 3, 3, 5, 5], [1, 1, 3, 3, 5, 5], reps=2)
    row = item_discrimination(*_cell(content, {"toy": path}, n_perm=999))[0]
    # item means (0, 0, .5, .5, 1, 1): SD = sqrt(((.5^2) * 4) / 5) = sqrt(.2)
    assert row.estimate == pytest.approx(math.sqrt(0.2))
    assert row.p_value == pytest.approx(1 / 1000) and row.outcome == "content"
    assert "more than when item labels are shuffled" in row.sentence
    # slot: every item 1 under original, 5 reversed -> item means all .5, nothing to find
    slot = _two_orders(toy, [1] * 6, [5] * 6, reps=2)
    row = item_discrimination(*_cell(slot, {"toy": path}, n_perm=999))[0]
    assert row.estimate == pytest.approx(0.0) and row.p_value == 1.0
    assert row.outcome == "position" and "no more than" in row.sentence


def test_answer_entropy_hand_worked(toy):
    path = toy.write(n_items=3, codes=(1, 2, 3, 4))
    codes = (1, 2, 3, 4)
    reqs = [{"item_id": "i1", "order": "original", "probs": [0.25] * 4},  # H/log4 = 1
            {"item_id": "i2", "order": "original", "probs": [0.5, 0.5, 0, 0]},  # .5
            {"item_id": "i3", "order": "original", "probs": [1, 0, 0, 0]},  # 0
            {"item_id": "i3", "order": "reversed", "probs": [0.25] * 4}]  # item 3: (0+1)/2
    row = answer_entropy(*_cell(toy.frame(reqs, codes=codes), {"toy": path}))[0]
    assert row.estimate == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert row.outcome == "ok" and row.threshold == 0.95
    uniform = [{"item_id": f"i{j}", "order": "original", "probs": [0.25] * 4}
               for j in (1, 2, 3)]
    row = answer_entropy(*_cell(toy.frame(uniform, codes=codes), {"toy": path}))[0]
    assert row.estimate == pytest.approx(1.0) and row.outcome == "caution"
    assert "no preference" in row.sentence


def _mfq_catch(q06_code, q22_code):
    rows = []
    for order in ("original", "reversed"):
        for item, code in (("q06", q06_code), ("q22", q22_code), ("q01", 3)):
            for c in range(6):
                pos = c if order == "original" else 5 - c
                rows.append({"request_id": f"{item}-{order}", "model": "m",
                             "instrument": "mfq30", "item_id": item, "persona": "none",
                             "language": "en", "order": order, "paraphrase": 0,
                             "code": c, "position": pos, "prob": float(c == code)})
    return pd.DataFrame(rows)


def test_catch_items_apply_the_mfq_rule():
    # 'good at math' rated 4 (> 2: cut) and 'better to do good' agreed 5 (not < 3: kept)
    rows = catch_items(*_cell(_mfq_catch(4, 5)))
    by = {r.statistic: r for r in rows}
    math_row, good_row = by["catch:q06"], by["catch:q22"]
    assert math_row.estimate == 4 and math_row.threshold == 2 and not math_row.passes
    assert math_row.outcome == "caution" and "fails the rule (exclude if gt 2)" in math_row.sentence
    assert "good at math" in math_row.sentence and "with probability 1.00" in math_row.sentence
    assert good_row.estimate == 5 and good_row.passes and good_row.outcome == "ok"
    assert "item key" in math_row.basis.lower()
    rows = catch_items(*_cell(_mfq_catch(0, 2)))
    assert [r.passes for r in rows] == [True, False]


def test_instruments_without_catch_items_say_so(toy):
    path = toy.write()
    frame = _two_orders(toy, [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    (row,) = catch_items(*_cell(frame, {"toy": path}))
    assert row.outcome == "n/a" and row.sentence == "TOY has no catch items: not applicable"


def test_feldt_interval_matches_pingouin():
    import pingouin as pg

    rng = np.random.default_rng(5)
    latent = rng.normal(size=(30, 1))
    wide = pd.DataFrame(latent + rng.normal(scale=0.8, size=(30, 4)), columns=list("abcd"))
    alpha, ci = pg.cronbach_alpha(data=wide, ci=0.95)
    lo, hi = feldt_interval(alpha, 30, 4, 0.95)
    assert (round(lo, 3), round(hi, 3)) == (ci[0], ci[1])
    assert all(math.isnan(v) for v in feldt_interval(0.5, 1, 4, 0.95))


def test_reliability_over_respondents_beside_people(toy):
    from workbench.stats.reliability import cronbach_alpha

    path = toy.write(n_items=3)
    rng = np.random.default_rng(2)
    reqs, wide = [], {}
    for person in range(6):
        level = 1 + person % 5
        codes = [min(5, max(1, level + int(d))) for d in rng.integers(-1, 2, size=3)]
        wide[f"p{person}"] = codes
        for j, c in enumerate(codes, start=1):
            for order in ("original", "reversed"):
                reqs.append({"item_id": f"i{j}", "order": order, "persona": f"p{person}",
                             "probs": toy.one_hot(c)})
    cell, ctx = _cell(toy.frame(reqs), {"toy": path})
    assert cell.respondents() == ["persona"]
    (row,) = reliability(cell, ctx)
    expected = cronbach_alpha(pd.DataFrame(wide).T)
    assert row.estimate == pytest.approx(expected)
    assert row.n_units == 6 and row.role == "info" and row.threshold == 0.7
    assert row.ci_low < row.estimate < row.ci_high
    assert "over 6 respondents (persona, orders averaged)" in row.sentence
    assert "people: no published value on file" in row.sentence
    few = toy.frame([r for r in reqs if r["persona"] in ("p0", "p1")])
    (row,) = reliability(*_cell(few, {"toy": path}))
    assert row.outcome == "n/a" and "at least 5 respondents" in row.sentence


def test_human_reliability_text_cites_or_says_missing():
    norms = reliability_norms()
    mfq2 = human_reliability_text(norms, "mfq2", "care")
    assert "omega 0.79-0.92" in mfq2 and "Zakharin & Bates (2023)" in mfq2
    assert "no citable value found" in mfq2
    vsm = human_reliability_text(norms, "vsm2013", "PDI")
    assert vsm.startswith("not a criterion (Hofstede & Minkov (2013)")
    # every number has a source and is not marked missing; every empty row says why
    has_number = norms[["value", "value_low", "value_high"]].notna().any(axis=1)
    assert has_number.any()
    assert norms.loc[has_number, "source"].str.len().gt(10).all()
    assert not norms.loc[has_number, "note"].str.startswith("MISSING").any()
    assert norms.loc[~has_number, "note"].str.len().gt(20).all()
    ranged = norms.dropna(subset=["value_low"])
    assert (ranged["value_low"] <= ranged["value_high"]).all()
