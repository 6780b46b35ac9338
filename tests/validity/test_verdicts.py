"""Verdicts on synthetic respondents of known behaviour, probed through the real pipeline
(MFQ-30 and VSM 2013, original + reversed order, two wordings), and the verdict rule."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from workbench.errors import WorkbenchError
from workbench.validity import (
    interpretable,
    status,
    summary_sentences,
    validity_table,
    verdicts,
)
from workbench.validity.verdict import TABLE_COLUMNS, VERDICT_COLUMNS


def _verdict(judged, model, instrument):
    v = judged.verdicts
    return v[(v["model"] == model) & (v["instrument"] == instrument)].iloc[0]


@pytest.mark.parametrize("instrument", ["mfq30", "vsm2013"])
@pytest.mark.parametrize("model, expected", [
    ("position", "position-driven"),  # (a) mass on the first shown option only
    ("content", "content-driven"),  # (b) a fixed preferred answer per item, whatever the order
    ("mixed", "mixed"),  # (c) half of each
])
def test_known_respondents_get_their_verdict(judged, model, expected, instrument):
    row = _verdict(judged, model, instrument)
    assert row["verdict"] == expected, row["reasons"]
    assert row["reasons"].strip(". ")  # always with reasons in words
    assert row["status"] == {"position-driven": "not interpretable", "mixed": "caution",
                             "content-driven": "interpretable"}[expected]


def test_one_order_is_insufficient_data(respondent_store):
    table = validity_table(respondent_store.single, n_boot=200, n_perm=199)
    v = verdicts(table)
    assert set(v["verdict"]) == {"insufficient data"}
    assert v["reasons"].str.contains("only 1 option order").all()
    assert (v["status"] == "not interpretable").all()


def test_the_numbers_behind_the_verdicts(judged):
    pos = _verdict(judged, "position", "mfq30")
    con = _verdict(judged, "content", "mfq30")
    mix = _verdict(judged, "mixed", "mfq30")
    # a pure-slot respondent: position explains (nearly) all it can, content nothing
    assert pos["position_fraction"] > 0.95 and pos["content_share"] < 0.01
    assert con["position_fraction"] < 0.01 and con["position_share"] < 0.01
    assert 0.2 < mix["position_fraction"] < 0.8
    # item differences survive reversing the options only when they come from content
    assert con["order_r"] > 0.95 and mix["order_r"] > 0.9 and pos["order_r"] < 0.5
    assert con["discrimination_p"] < 0.01 and pos["discrimination_p"] > 0.05
    # the attentive content respondent passes the catch items, the slot respondent fails them
    assert pd.notna(con["catch_failed"]) and not con["catch_failed"]
    assert bool(pos["catch_failed"])
    assert pd.isna(_verdict(judged, "position", "vsm2013")["catch_failed"])


def test_table_is_tidy_with_intervals_and_sentences(judged):
    t = judged.table
    assert list(t.columns) == ["model", "instrument", *TABLE_COLUMNS]
    assert list(judged.verdicts.columns) == ["model", "instrument", *VERDICT_COLUMNS]
    core = t[t["role"] == "core"]
    assert set(core["statistic"]) == {"order_agreement", "position_vs_content",
                                      "item_discrimination"}
    assert (core["ci_low"] <= core["estimate"] + 1e-9).all()
    assert (core["estimate"] <= core["ci_high"] + 1e-9).all()
    assert t["sentence"].str.len().gt(10).all()
    vsm = t[(t["instrument"] == "vsm2013") & (t["statistic"] == "catch_items")]
    assert (vsm["outcome"] == "n/a").all()
    assert vsm["sentence"].str.contains("no catch items: not applicable").all()


def test_same_seed_same_numbers_and_cells_are_independent(respondent_store, judged):
    again = validity_table(respondent_store.both, n_boot=1000, n_perm=999, seed=3)
    pd.testing.assert_frame_equal(again, judged.table)
    alone = validity_table(respondent_store.both.query("model == 'mixed'"), n_boot=1000,
                           n_perm=999, seed=3)
    both = judged.table[judged.table["model"] == "mixed"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, both)


def test_summary_sentences_state_the_numbers(judged):
    out = summary_sentences(judged.verdicts, judged.table)
    assert set(out) == {"position", "content", "mixed"}
    for sentences in out.values():
        assert 2 <= len(sentences) <= 4
    first = out["position"][0]
    assert first.startswith("position answers MFQ-30 and VSM 2013 by position:")
    r = _verdict(judged, "position", "mfq30")["order_r"]
    assert f"{r:.2f}".replace("-", "\u2212") in first
    assert "catch items failed (MFQ-30)" in first
    assert re.search(r"r = .*\[.*, .*\]", first)
    assert out["position"][-1] == "Its MFQ-30 and VSM 2013 scores are not interpretable."
    assert out["content"][-1].endswith("can be read as answers to the items.")
    assert out["mixed"][-1].startswith("Read its MFQ-30 and VSM 2013 scores with caution")


def test_status_lookup_for_marking_scores(judged):
    v = judged.verdicts
    assert status(v, "position", "mfq30") == "not interpretable"
    assert interpretable(v, "content", "vsm2013")
    assert not interpretable(v, "mixed", "mfq30")
    with pytest.raises(WorkbenchError, match="no validity verdict.*judged cells"):
        status(v, "nobody", "mfq30")
    with pytest.raises(WorkbenchError, match="no column"):
        status(v, "position", "mfq30", persona="none")


def test_worst_status_counts_over_finer_cells():
    frame = pd.DataFrame({"model": ["m", "m"], "instrument": ["mfq30"] * 2,
                          "persona": ["a", "b"], "status": ["interpretable", "caution"]})
    assert status(frame, "m", "mfq30") == "caution"
    assert status(frame, "m", "mfq30", persona="a") == "interpretable"


# ---------------------------------------------------------------------- the rule itself
def _table(outcomes: dict[str, str], gate: str = "ok", caution: str = "ok") -> pd.DataFrame:
    rows = [{"model": "m", "instrument": "mfq30", "statistic": "coverage", "role": "gate",
             "rule": "coverage", "outcome": gate, "estimate": 10.0, "sentence": "coverage"}]
    for name, outcome in outcomes.items():
        rows.append({"model": "m", "instrument": "mfq30", "statistic": name, "role": "core",
                     "rule": name, "outcome": outcome, "estimate": 0.5, "sentence": name})
    rows.append({"model": "m", "instrument": "mfq30", "statistic": "answer_entropy",
                 "role": "caution", "rule": "answer_entropy", "outcome": caution,
                 "estimate": 0.99, "sentence": "near uniform"})
    frame = pd.DataFrame(rows)
    for col in TABLE_COLUMNS:
        if col not in frame.columns:
            frame[col] = pd.NA
    return frame[["model", "instrument", *TABLE_COLUMNS]]


CORE = ("order_agreement", "position_vs_content", "item_discrimination")


@pytest.mark.parametrize("votes, caution, expected", [
    (("content", "content", "content"), "ok", "content-driven"),
    (("content", "content", "content"), "caution", "mixed"),  # near-uniform blocks content
    (("position", "position", "neutral"), "ok", "position-driven"),
    (("position", "position", "content"), "ok", "mixed"),  # one dissenting statistic
    (("position", "neutral", "neutral"), "ok", "mixed"),
    (("content", "neutral", "content"), "ok", "mixed"),
])
def test_verdict_rule(votes, caution, expected):
    table = _table(dict(zip(CORE, votes, strict=True)), caution=caution)
    row = verdicts(table).iloc[0]
    assert row["verdict"] == expected
    if caution == "caution":
        assert "near uniform" in row["reasons"]


def test_failed_gate_wins_and_keeps_only_its_reason():
    table = _table(dict(zip(CORE, ("content",) * 3, strict=True)), gate="insufficient")
    row = verdicts(table).iloc[0]
    assert row["verdict"] == "insufficient data" and row["reasons"] == "coverage."


def test_bad_inputs_fail_with_one_clear_error(respondent_store):
    d = respondent_store.both
    with pytest.raises(WorkbenchError, match="lacks column"):
        validity_table(d.drop(columns="position"))
    with pytest.raises(WorkbenchError, match="cannot group by"):
        validity_table(d, by=("model", "nope"))
    with pytest.raises(WorkbenchError, match="n_boot"):
        validity_table(d, n_boot=10)
    with pytest.raises(WorkbenchError, match="not a validity table"):
        verdicts(d)
    with pytest.raises(WorkbenchError, match="empty"):
        validity_table(d.iloc[:0])


def test_four_verdicts_still_make_at_most_four_sentences(judged):
    v = judged.verdicts[judged.verdicts["model"].isin(["position", "content", "mixed"])]
    rows = pd.concat([v[v["model"] == m].head(1) for m in ("position", "content", "mixed")])
    rows = rows.assign(model="m", instrument=["mfq30", "vsm2013", "mfq2"])
    gate = rows.iloc[:1].assign(instrument="wvs7", verdict="insufficient data",
                                status="not interpretable",
                                coverage="only 1 option order (original) was asked")
    frame = pd.concat([rows, gate], ignore_index=True)
    (sentences,) = summary_sentences(frame, judged.table).values()
    assert len(sentences) == 4
    assert sentences[0].startswith("m answers MFQ-30 by position")
    assert "wvs7 cannot be judged (only 1 option order" in sentences[-1]


def test_finer_cells_are_named_in_the_sentences(respondent_store):
    d = respondent_store.both.query("model == 'content' and instrument == 'vsm2013'")
    table = validity_table(d, by=("model", "instrument", "language"), n_boot=200, n_perm=199)
    v = verdicts(table)
    assert list(v.columns[:3]) == ["model", "instrument", "language"]
    (sentences,) = summary_sentences(v, table).values()
    assert sentences[0].startswith("content answers VSM 2013 (language en) by content")
