"""factor_effects: paired differences of scores between levels of one factor (language)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.errors import WorkbenchError
from workbench.scoring import score_instrument
from workbench.stats import factor_effects


def _frame(synth, values: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    """One-hot answers of the likert instrument: ``values[(language, persona)]`` are the
    codes of items i1..i8 (so every item mean is known exactly)."""
    meta, codes = [], []
    for (lang, persona), row in values.items():
        for j, code in enumerate(row, start=1):
            meta.append({"instrument": "likert", "language": lang, "persona": persona,
                         "item_id": f"i{j}"})
            codes.append(code)
    return synth.dists_from_probs(pd.DataFrame(meta), synth.one_hot(np.array(codes)))


def test_hand_worked_difference_is_the_difference_of_official_scores(synth, likert):
    # two personas; in Spanish every answer is one code higher, except persona p2's item i1
    en = {"p1": [1, 2, 3, 4, 5, 4, 3, 2], "p2": [2, 2, 2, 2, 1, 1, 1, 1]}
    es = {"p1": [2, 3, 4, 5, 5, 5, 4, 3], "p2": [2, 3, 3, 3, 2, 2, 2, 2]}
    d = _frame(synth, {**{("en", p): v for p, v in en.items()},
                       **{("es", p): v for p, v in es.items()}})
    eff = factor_effects(d, likert, n_boot=500).set_index("score_id")
    # a: en item means (1.5, 2, 2.5, 3) -> 2.25; es (2, 3, 3.5, 4) -> 3.125
    assert eff.loc["a", "score_reference"] == pytest.approx(2.25)
    assert eff.loc["a", "score_level"] == pytest.approx(3.125)
    assert eff.loc["a", "difference"] == pytest.approx(0.875)
    # b: every item +1 except p1's i5 (5 -> 5): item means +0.5, +1, +1, +1 -> +0.875
    assert eff.loc["b", "difference"] == pytest.approx(0.875)
    # linear: 10 + 2 i1 - i5: en 10 + 2*1.5 - 3 = 10; es 10 + 2*2 - 3.5 = 10.5
    assert eff.loc["lin", "difference"] == pytest.approx(0.5)
    official = score_instrument(d, likert, by=["language"]).pivot_table(
        index="score_id", columns="language", values="score")
    np.testing.assert_allclose(eff["difference"],
                               (official["es"] - official["en"]).reindex(eff.index))
    assert set(eff["level"]) == {"es"} and set(eff["reference"]) == {"en"}
    assert (eff["n_pairs"] == 2).all()
    assert eff.loc["a", "resampled"] == "persona pairs"  # items define the score
    both = factor_effects(d, likert, n_boot=500, items=True).set_index("score_id")
    assert both.loc["a", "resampled"] == "persona pairs + items within score"
    assert both.loc["lin", "resampled"] == "persona pairs"  # a linear index keeps its items
    assert (eff["ci_low"] <= eff["difference"]).all()
    assert (eff["difference"] <= eff["ci_high"]).all()


def test_a_constant_shift_has_a_zero_width_interval_and_swapping_levels_negates(synth, likert):
    rng = np.random.default_rng(3)
    base = {p: rng.integers(1, 5, size=8).tolist() for p in ("p1", "p2", "p3")}
    d = _frame(synth, {**{("en", p): v for p, v in base.items()},
                       **{("es", p): [c + 1 for c in v] for p, v in base.items()}})
    eff = factor_effects(d, likert, n_boot=300).set_index("score_id")
    np.testing.assert_allclose(eff.loc[["a", "b"], ["difference", "ci_low", "ci_high"]], 1.0)
    back = factor_effects(d, likert, reference="es", n_boot=300).set_index("score_id")
    np.testing.assert_allclose(back["difference"], -eff["difference"])
    assert set(back["level"]) == {"en"}


def test_units_asked_at_one_level_only_are_left_out_and_noted(synth, likert):
    d = _frame(synth, {("en", "p1"): [1] * 8, ("en", "p2"): [5] * 8, ("es", "p1"): [2] * 8})
    eff = factor_effects(d, likert, n_boot=200).set_index("score_id")
    assert eff.loc["a", "difference"] == pytest.approx(1.0)  # p1 only: 2 - 1, not 2 - 3
    assert (eff["n_pairs"] == 1).all()
    assert eff.loc["a", "resampled"] == "items within score"  # one pair: items, as a fallback
    assert "1 unit(s) asked at only one of the two levels left out" in eff.loc["a", "note"]
    assert eff.loc["lin", "resampled"] == "none"
    assert np.isnan(eff.loc["lin", "ci_low"])


def test_unit_bootstrap_matches_scipys_paired_bootstrap(synth, likert):
    """Items fixed and plain percentile: the interval is scipy's percentile bootstrap of the
    mean per-unit difference (every unit answers every item, so the difference of scores is
    the mean of the units' differences)."""
    rng = np.random.default_rng(11)
    n_units = 12
    en = {f"p{i}": rng.integers(1, 6, size=8).tolist() for i in range(n_units)}
    es = {p: np.clip(np.array(v) + rng.integers(-1, 3, size=8), 1, 5).tolist()
          for p, v in en.items()}
    d = _frame(synth, {**{("en", p): v for p, v in en.items()},
                       **{("es", p): v for p, v in es.items()}})
    eff = factor_effects(d, likert, n_boot=20000, items=False, expanded=False,
                         seed=1).set_index("score_id")
    unit_diff = np.array([np.mean(es[p][:4]) - np.mean(en[p][:4]) for p in en])
    ref = stats.bootstrap((unit_diff,), np.mean, n_resamples=20000, method="percentile",
                          rng=np.random.default_rng(2)).confidence_interval
    width = ref.high - ref.low
    assert eff.loc["a", "difference"] == pytest.approx(unit_diff.mean())
    assert eff.loc["a", "ci_low"] == pytest.approx(ref.low, abs=0.05 * width)
    assert eff.loc["a", "ci_high"] == pytest.approx(ref.high, abs=0.05 * width)
    assert eff.loc["a", "ci_tail"] == pytest.approx(0.025)
    expanded = factor_effects(d, likert, n_boot=20000, items=False, seed=1).set_index(
        "score_id")
    assert expanded.loc["a", "ci_tail"] < 0.025  # Hesterberg's widening for 12 units
    assert expanded.loc["a", "ci_low"] < eff.loc["a", "ci_low"]


def _two_point(means: np.ndarray) -> np.ndarray:
    """Distributions over codes 1..5 whose expected code is exactly ``means`` (mass on the
    two codes around each mean)."""
    means = np.clip(means, 1, 5)
    low = np.minimum(np.floor(means), 4).astype(int)
    probs = np.zeros((len(means), 5))
    probs[np.arange(len(means)), low - 1] = 1 - (means - low)
    probs[np.arange(len(means)), low] = means - low
    return probs


def test_coverage_of_the_paired_interval(synth, likert):
    """A true language effect of +0.4 on every item, with item and persona effects shared by
    both languages and independent noise per answer: the 95% interval of score a (paired
    personas, items fixed) covers +0.4 in 88-99% of 80 simulated datasets (8 personas, 4
    items; 94.5% over 200 datasets when measured)."""
    rng = np.random.default_rng(5)
    hits, n_sim = 0, 80
    for _ in range(n_sim):
        item = rng.normal(0, 0.4, size=8)
        rows = {}
        for p in range(8):
            persona = rng.normal(0, 0.4)
            for lang, shift in (("en", 0.0), ("es", 0.4)):
                rows[(lang, f"p{p}")] = _two_point(3 + item + persona + shift
                                                   + rng.normal(0, 0.3, size=8))
        meta = pd.DataFrame([{"instrument": "likert", "language": lang, "persona": p,
                              "item_id": f"i{j}"} for (lang, p) in rows for j in range(1, 9)])
        d = synth.dists_from_probs(meta, np.vstack(list(rows.values())))
        eff = factor_effects(d, likert, n_boot=400, seed=int(rng.integers(1000))).set_index(
            "score_id")
        hits += eff.loc["a", "ci_low"] <= 0.4 <= eff.loc["a", "ci_high"]
    assert 0.88 <= hits / n_sim <= 0.99


def test_bad_arguments_fail_clearly(synth, likert):
    d = _frame(synth, {("en", "p1"): [1] * 8, ("es", "p1"): [2] * 8})
    with pytest.raises(WorkbenchError, match="reference language 'fr' does not occur"):
        factor_effects(d, likert, reference="fr")
    with pytest.raises(WorkbenchError, match="also group by it"):
        factor_effects(d, likert, by=["model", "language"])
    with pytest.raises(WorkbenchError, match="too few"):
        factor_effects(d, likert, n_boot=10)
