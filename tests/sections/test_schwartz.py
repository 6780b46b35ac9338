"""The Schwartz values section (ESS PVQ-21): values with intervals, the circumplex, and the
ESS country comparison only where a country table exists (the shipped one is empty)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.fakes import HashBackend
from workbench import sections
from workbench.design import Design
from workbench.instrument_files import load_instrument
from workbench.probe import run_probe
from workbench.reference import ESS_VALUES_COLUMNS
from workbench.sections.schwartz import schwartz_section
from workbench.sections.settings import Settings

WOMAN = "demo:a30_44|woman|bachelor|moderate"
FAST = {"n_boot": 300, "seed": 1}


@pytest.fixture(scope="module")
def pvq_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("pvq-store")
    run_probe(Design(models=["alpha", "beta"], instruments=["pvq21"], personas=["none", WOMAN],
                     orders=["original", "reversed"]),
              root, backends={"alpha": HashBackend("alpha"),
                              "beta": HashBackend("beta", tilt=1.0)}, progress=False)
    return sections.load(root)


@pytest.fixture(scope="module")
def plain(pvq_data):
    return schwartz_section(pvq_data, Settings(**FAST))


def test_values_raw_and_centred_with_intervals(plain):
    inst = load_instrument("pvq21")
    values = next(t for c, t in plain.tables.items() if c.startswith("The ten basic values"))
    higher = next(t for c, t in plain.tables.items() if c.startswith("The four higher-order"))
    assert len(values) == 2 * 10 and len(higher) == 2 * 4
    # rows in the instrument's order, labels from its file
    labels = [s.label for s in inst.scores if s.method == "mean" and s.id in
              {p.removesuffix("_centred") for p in inst.profile}]
    assert list(values[values["model"] == "alpha"]["value"]) == labels
    # centred = raw - MRAT (each unit answers every item, so the mean of unit-centred scores
    # is the raw mean minus the mean MRAT)
    mrat = next(t for c, t in plain.tables.items() if c.startswith("MRAT")).set_index(
        "model")["score"]
    for table in (values, higher):
        np.testing.assert_allclose(table["centred"], table["raw"] - table["model"].map(mrat))
        for col in ("raw", "centred"):
            assert (table[f"{col}_ci_low"] <= table[col]).all()
            assert (table[col] <= table[f"{col}_ci_high"]).all()
            assert (table[f"{col}_ci_high"] > table[f"{col}_ci_low"]).all()
    assert values["raw"].between(1, 6).all()
    # intervals resample the 4 units (2 personas x 2 orders), never the 2-3 items of a value
    resampled = set(plain.data["scores"]["resampled"])
    assert resampled == {"persona×order"}


def test_profile_in_circle_order_and_circumplex_without_band(plain):
    inst = load_instrument("pvq21")
    prof = plain.data["profile"]
    assert list(prof[prof["model"] == "beta"]["score_id"]) == list(inst.profile)
    fig = sections.figures(plain)[0]
    assert [t.type for t in fig.data] == ["scatterpolar", "scatterpolar"]
    assert {t.name for t in fig.data} == {"alpha", "beta"}
    r = list(fig.data[0].r)
    assert r[0] == r[-1] and len(r) == 11  # closed polygon over the ten values


def test_empty_ess_table_gives_a_plain_note_and_no_country_comparison(plain):
    note = next(n for n in plain.notes if n.startswith("ESS country comparison"))
    assert "data/reference/ess_human_values.yaml" in note
    assert "ess_country_values" in note and "ess_values" in note
    assert "no country comparison is shown" in note
    assert not any(k.startswith("nearest") for k in plain.data)
    assert "reference" not in plain.data
    assert not any("Nearest ESS countries" in c for c in plain.tables)
    assert any(n.startswith("Portrait wording: a persona's gender picks") for n in plain.notes)


def _table(path, plain, shift: dict[str, float], old_round: str | None = None):
    """A hand-made ESS table: country X = alpha's centred profile + shift[X] on every value."""
    prof = plain.data["profile"]
    alpha = prof[prof["model"] == "alpha"].set_index("score_id")["score"]
    rows = []
    for iso3, s in shift.items():
        for sid, v in alpha.items():
            rows.append({"iso3": iso3, "country": iso3, "essround": 10, "score_id": sid,
                         "mean": v + s, "n": 100, "source": "hand-made test table"})
            if iso3 == old_round:  # an older round far away: must not be used
                rows.append({**rows[-1], "essround": 9, "mean": v + 5})
    pd.DataFrame(rows, columns=ESS_VALUES_COLUMNS).to_csv(path, index=False)
    return str(path)


def test_a_country_table_gives_nearest_countries_with_intervals_and_a_band(pvq_data, plain,
                                                                          tmp_path):
    path = _table(tmp_path / "ess.csv", plain, {"DEU": 0.0, "FRA": 0.5, "ESP": -1.0},
                  old_round="DEU")
    sec = schwartz_section(pvq_data, Settings(ess_values=path, countries=["FRA", "USA"],
                                              **FAST))
    near = sec.data["nearest:euclidean"]
    alpha = near[near["model"] == "alpha"].set_index("iso3")
    assert list(alpha.sort_values("rank").index) == ["DEU", "FRA", "ESP"]
    assert alpha.loc["DEU", "distance"] == pytest.approx(0.0, abs=1e-12)
    assert alpha.loc["FRA", "distance"] == pytest.approx(np.sqrt(10 * 0.5 ** 2))
    assert alpha.loc["ESP", "distance"] == pytest.approx(np.sqrt(10 * 1.0 ** 2))
    assert ((near["ci_low"] <= near["distance"] + 1e-12)
            & (near["distance"] <= near["ci_high"] + 1e-12)).all()
    assert near.groupby("model")["p_nearest"].sum().round(6).eq(1).all()
    corr = sec.data["nearest:correlation_distance"]
    # a constant shift keeps the profile's shape: correlation distance 0 for every country
    np.testing.assert_allclose(corr[corr["model"] == "alpha"]["distance"], 0, atol=1e-9)
    assert set(sec.data["reference"]["essround"]) == {10}  # the latest round per country
    assert any(n.startswith("ESS reference: 3 countries") and "hand-made test table" in n
               for n in sec.notes)
    selected = next(t for c, t in sec.tables.items() if c.startswith("Selected countries"))
    assert list(selected["iso3"]) == ["FRA"]
    fig = sections.figures(sec)[0]
    assert fig.data[0].fill == "toself" and fig.data[0].name.startswith("countries (3")
    assert not any(n.startswith("ESS country comparison") for n in sec.notes)


def test_a_missing_table_path_is_a_visible_note(pvq_data, tmp_path):
    sec = schwartz_section(pvq_data, Settings(ess_values=str(tmp_path / "nope.csv"), **FAST))
    assert any("not available" in n and "nope.csv" in n for n in sec.notes)
    assert "profile" in sec.data  # the values are still shown


def test_absent_instrument_is_a_note(data):
    sec = schwartz_section(data, Settings(**FAST))
    assert not sec.available
    assert any("no 'pvq21' results" in n for n in sec.notes)


def test_registered_after_mfq2_in_compare_and_in_probe():
    compare = [s.key for s in sections.layout("compare")]
    assert compare.index("schwartz") == compare.index("mfq2") + 1
    assert "schwartz" in [s.key for s in sections.layout("probe")]
