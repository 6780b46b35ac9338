"""Cell preparation (per-request quantities, grouping, input errors) and the resampling
helpers (row-wise statistics against numpy/scipy, seeded generators)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from workbench.errors import WorkbenchError
from workbench.validity.cells import cell_breakdowns, instrument_label, prepare_cells
from workbench.validity.resample import (
    generator,
    mean_interval,
    ratio_draws,
    rowwise_pearson,
    weighted_sd,
    weights,
)


def test_requests_hold_expected_code_rescaling_and_entropy(toy):
    path = toy.write(n_items=2, codes=(1, 2, 3))
    frame = toy.frame([{"item_id": "i1", "order": "original", "probs": [2, 1, 1]},
                       {"item_id": "i2", "order": "reversed", "probs": [0, 0, 3]}],
                      codes=(1, 2, 3))
    by, (cell,) = prepare_cells(frame, by=("model",), instruments={"toy": path})
    assert by == ["model", "instrument"]
    req = cell.requests.set_index("item_id")
    # probabilities renormalised: (.5, .25, .25) -> expected 1.75, 0-1 scale .375
    assert req.loc["i1", "expected"] == pytest.approx(1.75)
    assert req.loc["i1", "pomp"] == pytest.approx(0.375)
    h = -(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25)) / np.log(3)
    assert req.loc["i1", "entropy"] == pytest.approx(h)
    assert req.loc["i2", "pomp"] == 1.0 and req.loc["i2", "entropy"] == 0
    assert cell.label == "TOY" and cell.orders == ["original", "reversed"]


def test_breakdowns_follow_the_data(toy):
    frame = toy.frame([{"item_id": "i1", "order": "original", "probs": [1, 0, 0, 0, 0]},
                       {"item_id": "i1", "order": "original", "persona": "x",
                        "probs": [1, 0, 0, 0, 0]}])
    assert cell_breakdowns(frame) == [("model", "instrument"),
                                      ("model", "instrument", "persona")]
    _, cells = prepare_cells(frame, by=("model", "instrument", "persona"),
                             instruments={"toy": toy.write()})
    assert [c.key["persona"] for c in cells] == ["none", "x"]


def test_bad_frames(toy):
    path = toy.write()
    frame = toy.frame([{"item_id": "i1", "order": "original", "probs": [1, 0, 0, 0, 0]}])
    with pytest.raises(WorkbenchError, match="missing or negative 'prob'"):
        prepare_cells(frame.assign(prob=np.nan), instruments={"toy": path})
    with pytest.raises(WorkbenchError, match="summing to 0"):
        prepare_cells(frame.assign(prob=0.0), instruments={"toy": path})
    with pytest.raises(WorkbenchError, match="does not define"):
        prepare_cells(frame.assign(item_id="zz"), instruments={"toy": path})
    with pytest.raises(WorkbenchError, match="unknown instrument"):
        prepare_cells(frame)


def test_instrument_label_from_the_name():
    from workbench.instrument_files import load_instrument

    assert instrument_label(load_instrument("mfq30")) == "MFQ-30"
    assert instrument_label(load_instrument("vsm2013")) == "VSM 2013"
    assert instrument_label(load_instrument("wvs7")) == "wvs7"


def test_rowwise_statistics_match_numpy_and_scipy():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(50, 12)), rng.normal(size=(50, 12))
    r = rowwise_pearson(x, y)
    assert r == pytest.approx([stats.pearsonr(a, b).statistic for a, b in zip(x, y,
                                                                               strict=True)])
    assert np.isnan(rowwise_pearson(np.ones((1, 5)), y[:1, :5])).all()
    values = rng.normal(size=7)
    idx = rng.integers(0, 7, size=(40, 7))
    w = weights(idx, 7)
    assert weighted_sd(values, w) == pytest.approx(values[idx].std(axis=1, ddof=1))
    num, den = rng.random(7), rng.random(7) + 1
    assert ratio_draws(num, den, w) == pytest.approx(num[idx].sum(1) / den[idx].sum(1))


def test_seeded_generators_and_mean_interval():
    a = generator(0, "cell", "stat").random(3)
    assert a == pytest.approx(generator(0, "cell", "stat").random(3))
    assert not np.allclose(a, generator(0, "cell", "other").random(3))
    x = np.arange(10.0)
    est, lo, hi = mean_interval(x, generator(1), 2000, 0.95)
    assert est == 4.5 and lo < 4.5 < hi
    # expanded interval: wider than the plain percentile one
    plain = np.quantile(x[generator(1).integers(0, 10, (2000, 10))].mean(1), [0.025, 0.975])
    assert lo < plain[0] and hi > plain[1]
