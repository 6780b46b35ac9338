"""The estimated position prior as a validity reason, on hand-worked frames of a known
prior x content preference asked in every cyclic rotation (toy instrument, k = 5)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.validity import summary_sentences, validity_table, verdicts
from workbench.validity.cells import prepare_cells
from workbench.validity.context import Context
from workbench.validity.norms import reliability_norms
from workbench.validity.prior import position_prior, prior_tv
from workbench.validity.thresholds import load_thresholds

FIRST = [0.45, 0.25, 0.15, 0.10, 0.05]
UNIFORM = [0.2] * 5
CODES = (1, 2, 3, 4, 5)


def _preferences(n_items: int = 8) -> list[np.ndarray]:
    """Item j prefers code 1 + j mod 5 strongly: a content-driven respondent."""
    prefs = []
    for j in range(n_items):
        q = np.full(5, 0.02)
        q[j % 5] = 0.92
        prefs.append(q / q.sum())
    return prefs


def _frame(toy, prior, orders=("cyclic", "original", "reversed"), n_items=8):
    """Requests ``p(code at position j) propto prior[j] * q_item[code]`` for every item in
    every listed order (``cyclic`` = the 5 rotations cyc0..cyc4)."""
    shown = {}
    for order in orders:
        if order == "cyclic":
            shown.update({f"cyc{r}": [CODES[(r + j) % 5] for j in range(5)] for r in range(5)})
        elif order == "original":
            shown["original"] = list(CODES)
        else:
            shown["reversed"] = list(CODES[::-1])
    reqs = []
    for i, q in enumerate(_preferences(n_items), start=1):
        for order, codes in shown.items():
            weight = {c: prior[j] * q[c - 1] for j, c in enumerate(codes)}
            total = sum(weight.values())
            positions = [codes.index(c) for c in CODES]
            reqs.append({"item_id": f"i{i}", "order": order, "positions": positions,
                         "probs": [weight[c] / total for c in CODES]})
    return toy.frame(reqs)


def _reason(toy, frame, n_items=8, **ctx):
    _, cells = prepare_cells(frame, instruments={"toy": toy.write(n_items=n_items)})
    ctx = Context(load_thresholds(), reliability_norms(), n_boot=500, **ctx)
    return position_prior(cells[0], ctx)[0]


def test_hand_worked_distance_from_uniform(toy):
    # Content cancels over the rotations, so every item's prior is FIRST exactly:
    # TV = (|.45 - .2| + |.25 - .2| + |.15 - .2| + |.10 - .2| + |.05 - .2|) / 2
    #    = (.25 + .05 + .05 + .10 + .15) / 2 = .30; position 1 gets .45 / .2 = 2.25 times
    # its uniform share. Every item has the same prior, so the interval has no width.
    reason = _reason(toy, _frame(toy, FIRST))
    assert reason.estimate == pytest.approx(0.30)
    assert reason.ci_low == pytest.approx(0.30) and reason.ci_high == pytest.approx(0.30)
    assert reason.outcome == "caution" and reason.passes is False and reason.threshold == 0.1
    assert reason.role == "caution" and reason.n_units == 8
    assert "0.30" in reason.sentence and "position 1 gets 2.25 times" in reason.sentence
    assert "Zheng" in reason.basis and "0.1 is this workbench's convention" in reason.basis
    calm = _reason(toy, _frame(toy, UNIFORM))
    assert calm.estimate == pytest.approx(0.0, abs=1e-12) and calm.outcome == "ok"


def test_mixed_numbers_of_options_are_weighted_by_items():
    # k = 2: two items with priors (.7, .3) and (.5, .5): mean (.6, .4), TV = .1;
    # k = 3: one item with a uniform prior, TV = 0. Weighted by items: (2 * .1 + 0) / 3.
    groups = [(2, np.array([[0.7, 0.3], [0.5, 0.5]])), (3, np.full((1, 3), 1 / 3))]
    assert prior_tv(groups, np.ones((1, 3)))[0] == pytest.approx(0.2 / 3)
    # a resample drawing the first item twice and the k = 3 item once: TV_2 = .2
    assert prior_tv(groups, np.array([[2.0, 0.0, 1.0]]))[0] == pytest.approx(0.4 / 3)
    # a resample without any k = 3 item weighs k = 2 alone
    assert prior_tv(groups, np.array([[1.0, 1.0, 0.0]]))[0] == pytest.approx(0.1)


def test_without_cyclic_items_the_reason_is_not_available(toy):
    reason = _reason(toy, _frame(toy, FIRST, orders=("original", "reversed")))
    assert reason.outcome == "n/a" and np.isnan(reason.estimate)
    assert "orders: [cyclic]" in reason.sentence


def test_a_strong_prior_keeps_a_content_driven_cell_from_being_called_so(toy):
    path = toy.write(n_items=8)
    verdict = {}
    for name, prior in (("flat", UNIFORM), ("first", FIRST)):
        frame = _frame(toy, prior)
        table = validity_table(frame, instruments={"toy": path}, n_boot=500, n_perm=499,
                               seed=1)
        row = table[table["statistic"] == "position_prior"].iloc[0]
        frame_v = verdicts(table)
        verdict[name] = (row, frame_v.iloc[0], summary_sentences(frame_v, table)["m"])
    flat, first = verdict["flat"], verdict["first"]
    assert flat[0]["outcome"] == "ok" and flat[1]["verdict"] == "content-driven"
    assert tuple(flat[1][["n_content", "n_position", "n_core"]]) == (3, 0, 3)
    assert first[0]["outcome"] == "caution"
    assert first[1]["n_content"] == 3  # the answers still follow the items ...
    assert first[1]["verdict"] == "mixed"  # ... but the prior blocks 'content-driven'
    assert first[1]["position_prior"] == pytest.approx(0.30)
    assert "position prior" in first[1]["reasons"]
    assert any("position prior is 0.30 from uniform" in s for s in first[2])
