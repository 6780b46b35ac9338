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


def _first_position_model(synth, items=("i1", "i2", "i3"), personas=("p0", "p1")):
    """A model that puts 0.7 on whatever label is shown first, 0.075 on each other."""
    metas, probs, positions = [], [], []
    for order, perm in ORDERS.items():
        # perm[i] = canonical index of the option shown at position i
        pos_of_code = np.argsort(perm)
        for item, persona in itertools.product(items, personas):
            metas.append({"instrument": "likert", "item_id": item, "persona": persona,
                          "order": order})
            probs.append(np.where(pos_of_code == 0, 0.7, 0.075))
            positions.append(pos_of_code)
    meta = pd.DataFrame(metas)
    return synth.dists_from_probs(meta, np.array(probs), positions=np.array(positions))


def test_position_bias_first_label_model(synth):
    d = _first_position_model(synth)
    pb = position_bias(d)
    row = pb.iloc[0]
    assert row["first_mass"] == pytest.approx(0.7)
    assert row["last_mass"] == pytest.approx(0.075)
    assert row["uniform"] == pytest.approx(0.2)
    assert row["first_excess"] == pytest.approx(0.5)
    assert row["n_orders"] == 3 and row["n_requests"] == 18
    per_item = position_bias(d, per_item=True)
    assert len(per_item) == 3 and np.allclose(per_item["first_mass"], 0.7)


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
