"""GlobalOpinionQA as an askable instrument and as reference shares for the similarity code,
on a small hand-made file in the dataset's format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from workbench.errors import WorkbenchError
from workbench.goqa import goqa_country_distributions, goqa_item_id, write_goqa_instrument
from workbench.instrument_files import load_instrument
from workbench.reference import load_global_opinion_qa

MANY = [f"option {i}" for i in range(13)]
ROWS = [  # (question, shares per country, options, source), as in global_opinions.csv
    ("How happy are you?", {"Belgium": [0.5, 0.3, 0.2], "Kenya": [0.1, 0.6, 0.3],
                            "Great Britain": [0.4, 0.4, 0.2], "Narnia": [0.2, 0.2, 0.6]},
     ["Very happy", "Quite happy", "Not happy"], "WVS"),
    ("Do you trust people?", {"Belgium": [0.4, 0.6]}, ["Yes", "No"], "GAS"),
    ("Which of these thirteen?", {"Belgium": [1 / 13] * 13}, MANY, "WVS"),
    ("Is religion important?", {"Belgium": [0.3, 0.7], "Kenya": [0.9, 0.1]}, ["Yes", "No"],
     "WVS"),
]


@pytest.fixture
def goqa_csv(tmp_path):
    path = tmp_path / "global_opinions.csv"
    pd.DataFrame([{"question": q, "selections": f"defaultdict(<class 'list'>, {shares!r})",
                   "options": repr(options), "source": source}
                  for q, shares, options, source in ROWS]).to_csv(path, index=False)
    return path


def test_goqa_questions_become_an_askable_instrument(goqa_csv, tmp_path):
    out = tmp_path / "goqa.yaml"
    skipped = write_goqa_instrument(goqa_csv, out)
    inst = load_instrument(str(out))
    assert [it.id for it in inst.items] == [goqa_item_id(0), goqa_item_id(3)]  # WVS rows only
    assert inst.scale_of("GOQA0000").labels["en"] == ["Very happy", "Quite happy", "Not happy"]
    assert inst.scale_of("GOQA0003").codes == [1, 2] and inst.scale_of("GOQA0003").type == "nominal"
    assert inst.item("GOQA0000").text["en"] == "How happy are you?"
    assert list(skipped["question_id"]) == [2] and "13 options" in skipped["reason"].iloc[0]
    assert "CC BY-NC-SA" in inst.source.terms and "sha256" in inst.source.retrieved_from
    everything = write_goqa_instrument(goqa_csv, tmp_path / "all.yaml", source=None)
    assert len(load_instrument(str(tmp_path / "all.yaml")).items) == 3 and len(everything) == 1
    with pytest.raises(WorkbenchError, match="no questions with source 'XYZ'"):
        write_goqa_instrument(goqa_csv, tmp_path / "none.yaml", source="XYZ")


def test_goqa_shares_map_countries_to_iso3_and_options_to_codes(goqa_csv):
    shares = goqa_country_distributions(load_global_opinion_qa(goqa_csv))
    iso = dict(zip(shares["country"], shares["iso3"], strict=False))
    assert iso["Belgium"] == "BEL" and iso["Kenya"] == "KEN"
    assert iso["Great Britain"] == "GBR"  # a WVS society name (wvs7_full_distributions.csv)
    assert iso["Narnia"] == "Narnia"  # unmatched names stay their own key
    happy = shares[(shares["item_id"] == "GOQA0000") & (shares["iso3"] == "KEN")]
    assert list(happy["code"]) == [1, 2, 3] and list(happy["label"]) == [
        "Very happy", "Quite happy", "Not happy"]
    assert np.allclose(happy["share"], [0.1, 0.6, 0.3])
    assert np.allclose(shares.groupby(["iso3", "item_id"])["share"].sum(), 1)


def test_probed_goqa_items_feed_the_similarity_code(goqa_csv, tmp_path):
    from tests.fakes import PreferredLabelBackend
    from workbench.design import Design
    from workbench.probe import run_probe
    from workbench.stats.opinions import goqa_comparison
    from workbench.store import ResultStore

    out = tmp_path / "goqa.yaml"
    write_goqa_instrument(goqa_csv, out)
    store = tmp_path / "store"
    design = Design(models=["m"], instruments=[str(out)], items=["GOQA0000"],
                    orders=["original", "reversed"])
    run_probe(design, store, backends={"m": PreferredLabelBackend("Very happy", p=0.8, name="m")},
              progress=False)
    dists = ResultStore(store).distributions()
    # the model's answer is mapped to the GOQA option by position: code 1 = "Very happy"
    mean = dists.groupby("code")["prob"].mean()
    assert mean[1] == pytest.approx(0.8)
    sim = goqa_comparison(dists, str(goqa_csv), min_coverage=1.0)
    assert set(sim["iso3"]) == {"BEL", "KEN", "GBR", "Narnia"}
    bel = sim.set_index("iso3").loc["BEL"]
    expected = 1 - jensenshannon([0.8, 0.1, 0.1], [0.5, 0.3, 0.2], base=2)
    assert bel["similarity"] == pytest.approx(expected)
    assert bel["uniform"] == pytest.approx(1 - jensenshannon([1 / 3] * 3, [0.5, 0.3, 0.2], base=2))
    assert (sim["n_model_items"] == 1).all()
    assert pd.Series(sim["rank"]).is_monotonic_increasing
