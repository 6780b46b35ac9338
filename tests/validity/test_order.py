"""Order agreement, the position/content decomposition and the coverage gate on
hand-worked frames, with a statsmodels cross-check of the decomposition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.validity import validity_table
from workbench.validity.cells import prepare_cells, sort_orders
from workbench.validity.context import Context
from workbench.validity.norms import reliability_norms
from workbench.validity.order import (
    coverage,
    item_sums_of_squares,
    order_agreement,
    position_decomposition,
)
from workbench.validity.thresholds import load_thresholds


def _cell(frame, toy_path, **ctx):
    _, cells = prepare_cells(frame, instruments={"toy": toy_path})
    assert len(cells) == 1
    return cells[0], Context(load_thresholds(), reliability_norms(), **ctx)


def _answers(toy, orig, rev):
    """One-hot answers: item i{j} answers code orig[j] under original, rev[j] reversed."""
    reqs = []
    for j, (a, b) in enumerate(zip(orig, rev, strict=True), start=1):
        reqs.append({"item_id": f"i{j}", "order": "original", "probs": toy.one_hot(a)})
        reqs.append({"item_id": f"i{j}", "order": "reversed", "probs": toy.one_hot(b)})
    return toy.frame(reqs)


def test_order_agreement_hand_worked(toy):
    # 0-1 rescaled answers x = (0, .25, .5, .75, 1), y = (.25, 0, .75, .5, 1): deviations
    # give sxy = .5 and sxx = syy = .625, so r = .8; ranks 1..5 vs 2,1,4,3,5 give
    # sum d^2 = 4 and Spearman rho = 1 - 6 * 4 / (5 * 24) = .8
    cell, ctx = _cell(_answers(toy, [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]), toy.write())
    pearson, spearman = order_agreement(cell, ctx)
    assert pearson.estimate == pytest.approx(0.8)
    assert spearman.estimate == pytest.approx(0.8)
    assert pearson.outcome == "content" and pearson.threshold == 0.5
    assert pearson.ci_low <= 0.8 <= pearson.ci_high
    assert pearson.detail == "original vs reversed"
    assert "r = 0.80" in pearson.sentence and "over 5 items" in pearson.sentence


def test_order_agreement_flags_reversal_and_flat_items(toy):
    path = toy.write()
    # a pure slot respondent picks the first shown option: code 1, then code 5 reversed, so
    # the two vectors are constant: no item signal at all
    flat, _ = order_agreement(*_cell(_answers(toy, [1] * 5, [5] * 5), path))
    assert np.isnan(flat.estimate) and flat.outcome == "position"
    assert "do not vary" in flat.sentence
    # answers that flip with the order (x -> 1 - x) correlate -1
    flipped, _ = order_agreement(*_cell(_answers(toy, [1, 2, 3, 4, 5], [5, 4, 3, 2, 1]), path))
    assert flipped.estimate == pytest.approx(-1.0) and flipped.outcome == "position"


def test_reverse_keyed_items_are_not_flipped(toy):
    import yaml

    path = toy.write()
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    doc["items"][1]["reverse"] = True  # i2
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(yaml.safe_dump(doc))
    orig, rev = [5, 1, 3, 5, 5], [5, 1, 5, 3, 5]
    cell, ctx = _cell(_answers(toy, orig, rev), path)
    pearson, _ = order_agreement(cell, ctx)
    canonical = np.corrcoef(orig, rev)[0, 1]
    flipped = np.corrcoef([5, 5, 3, 5, 5], [5, 5, 5, 3, 5])[0, 1]  # i2 as 6 - code
    assert pearson.estimate == pytest.approx(canonical)
    assert canonical == pytest.approx(0.6875) and flipped == pytest.approx(-0.25)
    assert cell.requests.set_index(["item_id", "order"]).loc[("i2", "original"),
                                                             "expected"] == 1


def test_decomposition_hand_worked_two_options():
    # one item, codes 1/2, original and reversed: p = .5 + .2 [code 1] + .2 [shown first]
    # (centred +-1 codes) -> rows .9, .1 (original), .5, .5 (reversed); grand mean .5,
    # code means .7/.3 and slot means .7/.3: SS_code = SS_pos = 4 * .2^2 = .16, SS_tot = .32
    rows = pd.DataFrame({"item_id": "i1", "code": [1, 2, 1, 2], "position": [0, 1, 1, 0],
                         "p": [0.9, 0.1, 0.5, 0.5]})
    ss = item_sums_of_squares(rows).iloc[0]
    assert ss["ss_total"] == pytest.approx(0.32)
    assert ss["ss_position"] == pytest.approx(0.16)
    assert ss["ss_content"] == pytest.approx(0.16)
    assert ss["ss_shared"] == pytest.approx(0.0, abs=1e-12)
    assert ss["ss_residual"] == pytest.approx(0.0, abs=1e-12)
    pure_slot = rows.assign(p=[0.8, 0.2, 0.2, 0.8])  # .8 on whatever is shown first
    ss = item_sums_of_squares(pure_slot).iloc[0]
    assert ss["ss_position"] == pytest.approx(0.36) and ss["ss_content"] == pytest.approx(0)


def _random_item(rng, orders=3, k=5, reps=2):
    rows = []
    perms = [np.arange(k), np.arange(k)[::-1]] + [rng.permutation(k) for _ in range(orders - 2)]
    for o, perm in enumerate(perms):
        for r in range(reps):
            p = rng.dirichlet(np.ones(k))
            for slot, code in enumerate(perm):
                rows.append({"item_id": "i1", "order": o, "rep": r, "code": int(code) + 1,
                             "position": slot, "p": p[slot]})
    return pd.DataFrame(rows)


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
@pytest.mark.parametrize("orders", [2, 3, 4])
def test_decomposition_matches_statsmodels_model_comparison(orders):
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    rows = _random_item(np.random.default_rng(orders), orders=orders)
    ss = item_sums_of_squares(rows).iloc[0]
    full = smf.ols("p ~ C(code) + C(position)", data=rows).fit()
    code_only = smf.ols("p ~ C(code)", data=rows).fit()
    slot_only = smf.ols("p ~ C(position)", data=rows).fit()
    # type-II SS of a main effect = the drop in RSS when it joins the other main effect
    assert ss["ss_position"] == pytest.approx(anova_lm(code_only, full)["ss_diff"][1],
                                              abs=1e-10)
    assert ss["ss_content"] == pytest.approx(anova_lm(slot_only, full)["ss_diff"][1],
                                             abs=1e-10)
    assert ss["ss_residual"] == pytest.approx(full.ssr, abs=1e-10)
    assert ss["ss_total"] == pytest.approx(full.centered_tss)


def test_decomposition_matches_anova_lm_type_ii_when_full_rank():
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    # with original and reversed only, the middle of 5 codes always sits in the middle slot
    # (two identical dummy columns); four orders separate every code from every slot
    rows = _random_item(np.random.default_rng(4), orders=4)
    fit = smf.ols("p ~ C(code) + C(position)", data=rows).fit()
    assert np.linalg.matrix_rank(fit.model.exog) == fit.model.exog.shape[1]
    table = anova_lm(fit, typ=2)
    ss = item_sums_of_squares(rows).iloc[0]
    assert ss["ss_position"] == pytest.approx(table.loc["C(position)", "sum_sq"], abs=1e-10)
    assert ss["ss_content"] == pytest.approx(table.loc["C(code)", "sum_sq"], abs=1e-10)


def test_pooled_shares_and_their_interval(toy):
    # item 1: .9/.1 vs .5/.5 (half position, half content); item 2: pure slot .8 first
    path = toy.write(n_items=5, codes=(1, 2))
    reqs = []
    for j in range(1, 6):
        orig, rev = ([0.9, 0.1], [0.5, 0.5]) if j % 2 else ([0.8, 0.2], [0.2, 0.8])
        reqs += [{"item_id": f"i{j}", "order": "original", "probs": orig},
                 {"item_id": f"i{j}", "order": "reversed", "probs": rev}]
    frame = toy.frame(reqs, codes=(1, 2))
    cell, ctx = _cell(frame, path)
    main, pos_share, con_share = position_decomposition(cell, ctx)
    # 3 mixed items (.16 + .16 of .32 each) and 2 slot items (.36 of .36 each)
    expected_pos = (3 * 0.16 + 2 * 0.36) / (3 * 0.32 + 2 * 0.36)
    expected_con = 3 * 0.16 / (3 * 0.32 + 2 * 0.36)
    assert pos_share.estimate == pytest.approx(expected_pos)
    assert con_share.estimate == pytest.approx(expected_con)
    assert main.estimate == pytest.approx((3 * 0.16 + 2 * 0.36) / (6 * 0.16 + 2 * 0.36))
    assert main.outcome == "position"  # 0.714 >= 0.5
    assert main.ci_low <= main.estimate <= main.ci_high
    assert pos_share.role == "info" and main.role == "core"


def test_coverage_gate(toy):
    path = toy.write(n_items=4)
    frame = _answers(toy, [1, 2, 3, 4], [1, 2, 3, 4])
    gate = coverage(*_cell(frame, path))[0]
    assert gate.outcome == "insufficient" and gate.estimate == 4 and gate.threshold == 5
    assert "only 4 items" in gate.sentence
    one = coverage(*_cell(frame[frame["order"] == "original"], path))[0]
    assert one.outcome == "insufficient" and "only 1 option order" in one.sentence


def test_any_orders_work_and_original_reversed_is_the_pair(toy):
    path = toy.write()
    reqs = []
    for j in range(1, 6):
        for order, pos in (("cyc1", [1, 2, 3, 4, 0]), ("perm2", [4, 0, 1, 2, 3])):
            reqs.append({"item_id": f"i{j}", "order": order, "probs": toy.one_hot(j),
                         "positions": pos})
    frame = toy.frame(reqs)
    cell, ctx = _cell(frame, path)
    assert cell.orders == ["cyc1", "perm2"] and cell.pair == ("cyc1", "perm2")
    pearson, _ = order_agreement(cell, ctx)
    assert pearson.estimate == pytest.approx(1.0) and pearson.detail == "cyc1 vs perm2"
    more = pd.concat([frame, _answers(toy, [1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
                      .assign(request_id=lambda f: "x" + f["request_id"])])
    cell, _ = _cell(more, path)
    assert cell.pair == ("original", "reversed")
    assert cell.orders == ["original", "reversed", "cyc1", "perm2"]
    table = validity_table(more, instruments={"toy": path}, n_boot=200, n_perm=199)
    share = table.set_index("statistic").loc["position_vs_content"]
    assert share["estimate"] == pytest.approx(0.0, abs=1e-9)  # one-hot on content


def test_sort_orders_is_natural():
    assert sort_orders(["perm10", "cyc2", "perm2", "reversed", "original", "cyc10"]) == [
        "original", "reversed", "cyc2", "cyc10", "perm2", "perm10"]
