"""Reliability, consistency, answer distributions and factor effects."""

from __future__ import annotations

from workbench.sections.robustness import (
    answer_distribution_section,
    consistency_section,
    order_effect_section,
    reliability_section,
)
from workbench.sections.settings import Settings


def test_reliability_and_consistency(data):
    rel = reliability_section(data, Settings(reliability_threshold=0.7)).data["reliability"]
    assert set(rel["reliability"]) <= {"LOW", "ok", "n/a"}
    assert (rel.loc[rel["reliability"] == "LOW", "alpha"] < 0.7).all()
    cons = consistency_section(data)
    assert set(cons.data["consistency"]["factor"]) == {"order", "paraphrase"}
    assert {"first_excess", "last_excess"} <= set(cons.data["position_bias"].columns)


def test_distributions_keep_the_first_items_and_order_effects_reference_the_original(data):
    dist = answer_distribution_section(data, Settings(max_items=3))
    assert any(n.startswith("mfq30: showing the first 3 of 32 items") for n in dist.notes)
    assert dist.data["dist:mfq30"]["item_id"].nunique() == 3
    order = order_effect_section(data)
    assert "reference order: original" in order.notes
    assert set(order.data["across"]["level"]) == {"reversed"}
    assert "position_bias" in order.data
