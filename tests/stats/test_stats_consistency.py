"""Order/paraphrase consistency, position bias and acquiescence."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from workbench.stats import (
    acquiescence,
    consistency_across,
    consistency_summary,
    position_bias,
)

ORDERS = {
    "original": [0, 1, 2, 3, 4],
    "reversed": [4, 3, 2, 1, 0],
    "perm1": [2, 0, 4, 1, 3],
}


def _order_model(synth, probs_of, orders=ORDERS, items=("i1", "i2", "i3"),
                 personas=("p0", "p1")):
    """Distributions from ``probs_of(pos_of_code)`` -> mass per canonical code."""
    metas, probs, positions = [], [], []
    for order, perm in orders.items():
        # perm[i] = canonical index of the option shown at position i
        pos_of_code = np.argsort(perm)
        for item, persona in itertools.product(items, personas):
            metas.append({"instrument": "likert", "item_id": item, "persona": persona,
                          "order": order})
            probs.append(probs_of(pos_of_code))
            positions.append(pos_of_code)
    meta = pd.DataFrame(metas)
    return synth.dists_from_probs(meta, np.array(probs), positions=np.array(positions))


def _first_position(pos_of_code):
    """0.7 on whatever label is shown first, 0.075 on each other."""
    return np.where(pos_of_code == 0, 0.7, 0.075)


def _fixed_label(pos_of_code):
    """0.8 on canonical code 1 wherever it is shown (content only), 0.05 on each other."""
    return np.array([0.8, 0.05, 0.05, 0.05, 0.05])


def _first_position_model(synth, items=("i1", "i2", "i3"), personas=("p0", "p1")):
    return _order_model(synth, _first_position, items=items, personas=personas)


ORIGINAL_REVERSED = {k: ORDERS[k] for k in ("original", "reversed")}


def test_position_bias_first_label_model(synth):
    d = _first_position_model(synth)
    pb = position_bias(d)
    row = pb.iloc[0]
    assert row["first_mass"] == pytest.approx(0.7)
    assert row["last_mass"] == pytest.approx(0.075)
    assert row["uniform"] == pytest.approx(0.2)
    assert row["first_excess"] == pytest.approx(0.5)
    assert row["n_orders"] == 3 and row["n_requests"] == 18
    # Centred, three orders. Codes shown first: 1 (original), 5 (reversed), 3 (perm1); each
    # of them is first in one order and not first in the other two, so its mean mass over
    # orders is (0.7 + 2 * 0.075) / 3 = 0.28333; codes 2 and 4 are never first (0.075).
    # first: 0.7 - 0.28333 = 0.41667 in every order.
    # last: original shows code 5 last, reversed code 1 (both 0.075 - 0.28333 = -0.20833),
    # perm1 code 4 (0.075 - 0.075 = 0) -> mean -0.13889.
    assert row["first_excess_centred"] == pytest.approx(0.7 - 0.85 / 3)
    assert row["last_excess_centred"] == pytest.approx(2 / 3 * (0.075 - 0.85 / 3))
    assert row["note"] == ""
    per_item = position_bias(d, per_item=True)
    assert len(per_item) == 3 and np.allclose(per_item["first_mass"], 0.7)
    assert np.allclose(per_item["first_excess_centred"], 0.7 - 0.85 / 3)


def test_position_bias_separates_label_preference_from_position(synth):
    """Original + reversed orders (Dominguez-Olmedo et al. 2024's counterbalancing)."""
    content = position_bias(_order_model(synth, _fixed_label, ORIGINAL_REVERSED)).iloc[0]
    # raw: code 1 is first in the original order and last in the reversed one:
    # first mass = (0.8 + 0.05) / 2 = 0.425 -> a spurious raw excess of 0.225 at both ends
    assert content["first_excess"] == pytest.approx(0.225)
    assert content["last_excess"] == pytest.approx(0.225)
    # centred: every code keeps its mass in both orders, so nothing is left
    assert content["first_excess_centred"] == pytest.approx(0.0, abs=1e-12)
    assert content["last_excess_centred"] == pytest.approx(0.0, abs=1e-12)
    position = position_bias(_order_model(synth, _first_position, ORIGINAL_REVERSED)).iloc[0]
    # code 1: 0.7 (first, original) and 0.075 (last, reversed) -> mean 0.3875, code 5 the
    # same mirrored; first: 0.7 - 0.3875 = 0.3125, last: 0.075 - 0.3875 = -0.3125
    assert position["first_excess_centred"] == pytest.approx(0.3125)
    assert position["last_excess_centred"] == pytest.approx(-0.3125)
    assert position["first_excess"] == pytest.approx(0.5)
    # a half-half mixture of the two: the centred measure is linear in the probabilities
    mixed = position_bias(_order_model(
        synth, lambda pos: 0.5 * _fixed_label(pos) + 0.5 * _first_position(pos),
        ORIGINAL_REVERSED)).iloc[0]
    assert mixed["first_excess_centred"] == pytest.approx(0.15625)
    assert mixed["first_excess"] == pytest.approx(0.5 * 0.425 + 0.5 * 0.7 - 0.2)


def test_position_bias_needs_two_orders_and_ignores_repeats(synth):
    one = _order_model(synth, _first_position, {"original": ORDERS["original"]})
    row = position_bias(one).iloc[0]
    assert row["n_orders"] == 1 and row["first_excess"] == pytest.approx(0.5)
    assert np.isnan(row["first_excess_centred"]) and np.isnan(row["last_excess_centred"])
    assert "cannot be separated" in row["note"]
    # repeats of a cell are averaged, not treated as extra orders: two identical repeats
    # of the original + reversed design give the same centred values
    d = _order_model(synth, _first_position, ORIGINAL_REVERSED)
    twice = pd.concat([d, d.assign(repeat=1, request_id=d["request_id"] + "b")])
    got = position_bias(twice).iloc[0]
    assert got["n_requests"] == 24 and got["first_excess_centred"] == pytest.approx(0.3125)
    # a cell asked in one order only is left out of the centred measure
    partial = pd.concat([d, one.assign(item_id="i9", request_id=one["request_id"] + "x")])
    got = position_bias(partial).iloc[0]
    assert got["first_excess_centred"] == pytest.approx(0.3125)
    assert got["note"].startswith("centred over")


def test_predicted_shifts_after_remapping(synth, likert):
    d = _first_position_model(synth)
    answers = synth.answers_from_dists(d)
    # original: code 1 first -> E = 0.7*1 + 0.075*(2+3+4+5) = 1.75
    # reversed: code 5 first -> E = 0.7*5 + 0.075*(1+2+3+4) = 4.25
    # perm1: code 3 first -> E = 0.7*3 + 0.075*(1+2+4+5) = 3.0 (on the midpoint)
    exp = answers.groupby("order")["expected"].mean()
    assert exp.to_dict() == pytest.approx({"original": 1.75, "reversed": 4.25, "perm1": 3.0})
    cons = consistency_across(answers, factor="order", reference_level="original",
                              instrument=likert)
    got = cons.groupby("level")[["mean_shift", "mean_abs_shift", "flip_share"]].mean()
    assert got.loc["reversed"].tolist() == pytest.approx([2.5, 2.5, 1.0])
    assert got.loc["perm1"].tolist() == pytest.approx([1.25, 1.25, 0.0])  # midpoint: no side
    assert (cons["n_pairs"] == 2).all()
    assert set(cons.columns) >= {"model", "item_id", "factor", "reference_level", "level"}


def test_consistency_summary_spearman(synth, likert):
    rng = np.random.default_rng(0)
    rows = []
    level = {f"i{j}": rng.uniform(1, 5) for j in range(1, 9)}
    for para in (0, 1, 2):
        for item, v in level.items():
            shift = 0.0 if para == 0 else (0.3 if para == 1 else 6 - 2 * v)  # 2: 6 - v
            rows.append({**synth.defaults, "instrument": "likert", "item_id": item,
                         "paraphrase": para, "expected": v + shift, "status": "ok"})
    answers = pd.DataFrame(rows)
    summ = consistency_summary(answers, factor="paraphrase", reference_level=0,
                               instrument=likert)
    got = summ.set_index("level")
    assert got.loc[1, "spearman_rho"] == pytest.approx(1.0)
    assert got.loc[1, "mean_abs_shift"] == pytest.approx(0.3)
    assert got.loc[2, "spearman_rho"] == pytest.approx(-1.0)
    assert got.loc[1, "n_items"] == 8


def test_acquiescence(synth, likert, balanced):
    rows = [{**synth.defaults, "instrument": "balanced", "item_id": i, "expected": e,
             "status": "ok"} for i, e in [("r1", 5), ("r2", 4), ("v1", 5), ("v2", 4)]]
    acq = acquiescence(pd.DataFrame(rows), balanced).iloc[0]
    # agrees with statements and their reversals: (4.5 + 4.5) / 2 - 3
    assert acq["acquiescence"] == pytest.approx(1.5)
    assert acq["n_regular"] == 2 and acq["n_reversed"] == 2
    empty = acquiescence(pd.DataFrame(rows), likert)
    assert empty.empty and "acquiescence" in empty.columns


def test_sampled_repeats_are_averaged_before_pairing(synth, likert):
    """Repeat r of one order is not the counterpart of repeat r of another."""
    draws = {  # (item, order) -> sampled codes of repeats 0..3
        ("i1", "original"): [2, 5, 2, 5], ("i1", "reversed"): [5, 2, 5, 2],
        ("i2", "original"): [1, 2, 1, 2], ("i2", "reversed"): [4, 5, 5, 4],
    }
    rows = [{**synth.defaults, "instrument": "likert", "item_id": item, "order": order,
             "repeat": r, "answer_code": float(code), "status": "ok"}
            for (item, order), codes in draws.items() for r, code in enumerate(codes)]
    answers = pd.DataFrame(rows)
    cons = consistency_across(answers, factor="order", reference_level="original",
                              instrument=likert, value="sampled").set_index("item_id")
    # i1: both orders average 3.5 -> no shift and no flip (repeat-matching would pair
    # 2 with 5 and 5 with 2: |shift| 3 and every pair flipping across the midpoint 3)
    assert cons.loc["i1", ["mean_shift", "mean_abs_shift", "flip_share"]].tolist() == [0, 0, 0]
    # i2: 1.5 -> 4.5, one cell pair, shift 3 across the midpoint
    assert cons.loc["i2", ["mean_shift", "mean_abs_shift", "flip_share"]].tolist() == [3, 3, 1]
    assert (cons["n_pairs"] == 1).all()
    summ = consistency_summary(answers, factor="order", reference_level="original",
                               instrument=likert, value="sampled").iloc[0]
    assert summ["mean_abs_shift"] == pytest.approx(1.5) and summ["n_pairs"] == 2
    # asking for per-repeat results keeps repeats as matching keys
    per_repeat = consistency_across(answers, factor="order", reference_level="original",
                                    instrument=likert, value="sampled",
                                    by=("model", "repeat")).set_index(["item_id", "repeat"])
    assert per_repeat.loc[("i1", 0), "mean_shift"] == 3  # 2 -> 5
    assert per_repeat.loc[("i2", 2), "mean_shift"] == 4  # 1 -> 5
