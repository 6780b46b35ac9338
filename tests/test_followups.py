"""Follow-up items (WVS Q155 after Q154): combining conditional answers into one distribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.followups import (
    CELL,
    marginalize_followup_answers,
    marginalize_followup_distributions,
    parse_given,
)


def frame(rows, cell=None):
    d = pd.DataFrame(rows, columns=["request_id", "item_id", "given", "code", "prob"])
    for c in CELL:
        d[c] = (cell or {}).get(c, "x")
    d["position"], d["key"], d["label"], d["logprob"] = 0, "1", d["code"].map(str), 0.0
    return d


FIRST = [("a", "Q1", "", 1, 0.5), ("a", "Q1", "", 2, 0.3), ("a", "Q1", "", 3, 0.2)]
SECOND = [  # asked after each first answer, which is left out of the options
    ("b1", "Q2", "Q1=1", 2, 0.5), ("b1", "Q2", "Q1=1", 3, 0.5),
    ("b2", "Q2", "Q1=2", 1, 0.9), ("b2", "Q2", "Q1=2", 3, 0.1),
    ("b3", "Q2", "Q1=3", 1, 0.4), ("b3", "Q2", "Q1=3", 2, 0.6),
]


def test_the_combined_distribution_is_the_law_of_total_probability():
    out = marginalize_followup_distributions(frame(FIRST + SECOND))
    q2 = out[out.item_id == "Q2"].set_index("code")["prob"]
    # computed by hand: P(c2) = sum_c1 P(c1) P(c2 | c1)
    assert q2[1] == pytest.approx(0.3 * 0.9 + 0.2 * 0.4)
    assert q2[2] == pytest.approx(0.5 * 0.5 + 0.2 * 0.6)
    assert q2[3] == pytest.approx(0.5 * 0.5 + 0.3 * 0.1)
    assert q2.sum() == pytest.approx(1)
    assert out[out.item_id == "Q2"].request_id.nunique() == 1
    assert out[out.item_id == "Q2"].position.isna().all()
    # the earlier item is untouched
    pd.testing.assert_frame_equal(out[out.item_id == "Q1"].reset_index(drop=True),
                                  frame(FIRST), check_dtype=False)


def test_a_cell_missing_a_needed_follow_up_is_left_out_not_biased():
    out = marginalize_followup_distributions(frame(FIRST + SECOND[:4]))  # no Q1=3 follow-up
    assert out[out.item_id == "Q2"].empty


def test_cells_are_combined_separately():
    a = frame(FIRST + SECOND, {"persona": "p1"})
    flipped = [(r + "x", i, g, c, p) for r, i, g, c, p in FIRST[:1]] + [
        ("ax", "Q1", "", 2, 0.0), ("ax", "Q1", "", 3, 0.0)]  # persona 2 always answers 1
    b = frame(flipped + [(r + "x", i, g, c, p) for r, i, g, c, p in SECOND[:2]],
              {"persona": "p2"})
    b.loc[b.request_id == "ax", "prob"] = [1.0, 0.0, 0.0]
    out = marginalize_followup_distributions(pd.concat([a, b], ignore_index=True))
    p2 = out[(out.item_id == "Q2") & (out.persona == "p2")].set_index("code")["prob"]
    assert p2.to_dict() == pytest.approx({2: 0.5, 3: 0.5})  # only the Q1=1 follow-up counts
    assert out[(out.item_id == "Q2")].request_id.nunique() == 2


def test_sampled_answers_keep_the_follow_up_after_the_models_own_answer():
    dists = frame([("a", "Q1", "", 2, 1.0)] + [
        ("b1", "Q2", "Q1=1", 3, 1.0), ("b2", "Q2", "Q1=2", 1, 1.0), ("b3", "Q2", "Q1=3", 2, 1.0)],
        {"mode": "generate"})
    out = marginalize_followup_distributions(dists)
    q2 = out[out.item_id == "Q2"]
    assert q2.set_index("code")["prob"].to_dict() == {1: 1.0}
    answers = pd.DataFrame({
        "request_id": ["a", "b1", "b2", "b3"], "item_id": ["Q1", "Q2", "Q2", "Q2"],
        "given": ["", "Q1=1", "Q1=2", "Q1=3"], "answer_code": [2, 3, 1, 2],
        "status": ["ok"] * 4, "generated_text": ["2", "3", "I pick 1", "2"],
        "expected": [2.0, 3.0, 1.0, 2.0], "argmax_code": [2, 3, 1, 2]})
    for c in CELL:
        answers[c] = "generate" if c == "mode" else "x"
    got = marginalize_followup_answers(answers, out)
    row = got[got.item_id == "Q2"].iloc[0]
    assert len(got) == 2 and row.generated_text == "I pick 1" and row.answer_code == 1
    assert row.request_id == q2.request_id.iloc[0]


def test_an_unanswerable_first_item_gives_no_follow_up():
    dists = frame([("b1", "Q2", "Q1=1", 3, 1.0)], {"mode": "generate"})  # Q1 unparseable
    out = marginalize_followup_distributions(dists)
    assert out.empty


def test_log_prob_answers_use_the_combined_expected_and_argmax():
    dists = frame(FIRST + SECOND)
    out = marginalize_followup_distributions(dists)
    q2 = out[out.item_id == "Q2"]
    answers = pd.DataFrame({"request_id": ["a", "b1", "b2", "b3"],
                            "item_id": ["Q1", "Q2", "Q2", "Q2"],
                            "given": ["", "Q1=1", "Q1=2", "Q1=3"],
                            "answer_code": [np.nan] * 4, "status": ["ok"] * 4,
                            "generated_text": [None] * 4, "expected": [1.7, 2.5, 1.2, 1.6],
                            "argmax_code": [1, 2, 1, 2]})
    for c in CELL:
        answers[c] = "x"
    got = marginalize_followup_answers(answers, out).set_index("item_id")
    assert got.loc["Q2", "expected"] == pytest.approx((q2.code * q2.prob).sum())
    assert got.loc["Q2", "argmax_code"] == q2.loc[q2.prob.idxmax(), "code"]


@pytest.mark.parametrize("bad", ["Q1", "=2", "Q1=x", ""])
def test_malformed_conditions_are_rejected(bad):
    with pytest.raises(ValueError, match="malformed follow-up condition"):
        parse_given(bad)
