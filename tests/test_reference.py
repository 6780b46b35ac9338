"""Human reference data: counts, ranges, uniqueness, ISO joins, sources, GlobalOpinionQA."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import reference as ref
from workbench.errors import WorkbenchError
from workbench.instruments import load_instrument


def test_hofstede_matrix_shape_ranges_and_missing_values():
    allrows = ref.hofstede_scores(kind=None)
    assert len(allrows) == 111
    countries = ref.hofstede_scores()
    assert len(countries) == 101 and countries["iso3"].is_unique
    values = countries[ref.HOFSTEDE_DIMS]
    assert values.min().min() >= 0 and values.max().max() <= 120
    assert values.isna().any().any()  # missing kept as missing
    assert values.notna().all(axis=1).sum() >= 60
    # spot checks against the published matrix
    by = countries.set_index("iso3")
    assert by.loc["CHN", "pdi"] == 80 and by.loc["DEU", "idv"] == 67
    assert by.loc["SVN", "hofstede_code"] == "SLV" and by.loc["SLV", "country"] == "El Salvador"


def test_every_reference_country_joins_on_iso3():
    known = set(ref.countries()["iso3"])
    assert ref.countries()["iso3"].is_unique
    for frame in (ref.hofstede_scores(), ref.wvs_map(), ref.wvs_distributions(),
                  ref.mfq2_country_norms()):
        codes = set(frame["iso3"].dropna())
        assert codes <= known, codes - known
        assert all(len(c) == 3 and c.isupper() for c in codes)


def test_wvs_map_and_distributions():
    m = ref.wvs_map()
    assert len(m) >= 80 and m["iso3"].is_unique
    assert (m["year"] >= 2017).all()
    swe = m.set_index("iso3").loc["SWE"]
    assert swe.survival_self_expression > 2 and swe.traditional_secular > 1  # secular, self-expr.
    d = ref.wvs_distributions()
    sums = d.groupby(["iso3", "item_id"])["share"].sum()
    assert (sums - 1).abs().max() < 0.02
    wvs = load_instrument("wvs7")
    for item_id, group in d.groupby("item_id"):
        codes = set(wvs.scale_of(item_id).codes)
        assert set(group["code"]) <= codes, item_id
    means = ref.wvs_item_means()
    assert means["mean"].between(1, 10).all()


def test_mfq_norms_are_cited_and_not_invented():
    m2 = ref.mfq2_country_norms()
    assert m2["foundation"].nunique() == 6 and m2["iso3"].nunique() >= 5
    assert m2["mean"].between(1, 5).all() and m2["source"].notna().all()
    m30 = ref.mfq30_norms()
    assert set(m30["foundation"]) == {"care", "fairness", "loyalty", "authority", "purity"}
    # numbers that were not found in a citable source stay empty rather than guessed
    assert m30["mean"].isna().all() or m30["source"].notna().all()
    found = m30.dropna(subset=["mean"])
    assert set(found["group"]) == {"moderate"}  # the self-scoring form's published means
    assert not found["source"].str.startswith("MISSING").any()
    assert m30.loc[m30["mean"].isna(), "source"].str.startswith("MISSING").all()
    sums = found.set_index("foundation")["mean"] * 6  # the form prints sums of six items
    assert sums.round(1).to_dict() == {"care": 20.2, "fairness": 20.5, "loyalty": 16.0,
                                       "authority": 16.5, "purity": 12.6}


def test_every_reference_file_has_a_sidecar_with_source_and_terms():
    sources = ref.reference_sources()
    from workbench.paths import data_dir

    csvs = {p.name for p in (data_dir() / "reference").glob("*.csv")}
    assert csvs <= set(sources["file"])
    assert sources["citation"].notna().all() and sources["terms"].notna().all()


GOQA = '''question,selections,options,source
"How happy are you?","defaultdict(<class 'list'>, {'Belgium': [0.5, 0.3, 0.2], 'Kenya': [0.1, 0.6, 0.3]})","['Very happy', 'Quite happy', 'Not happy']",WVS
"Do you trust people?","defaultdict(<class 'list'>, {'Belgium': [0.4, 0.6]})","['Yes', 'No']",GAS
,"defaultdict(<class 'list'>, {})","[]",WVS
'''


def test_global_opinion_qa_loader_on_a_hand_made_file(tmp_path):
    path = tmp_path / "global_opinions.csv"
    path.write_text(GOQA)
    tidy = ref.load_global_opinion_qa(path)
    assert set(tidy["country"]) == {"Belgium", "Kenya"}
    assert len(tidy) == 6  # WVS only by default; the empty question is skipped
    sums = tidy.groupby(["question_id", "country"])["share"].sum()
    assert (sums - 1).abs().max() < 1e-9
    assert len(ref.load_global_opinion_qa(path, source=None)) == 8
    with pytest.raises(WorkbenchError, match="does not exist"):
        ref.load_global_opinion_qa(tmp_path / "nope.csv")
    pd.DataFrame({"question": ["q"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(WorkbenchError, match="lacks column"):
        ref.load_global_opinion_qa(tmp_path / "bad.csv")


def test_global_opinion_qa_never_evaluates_code(tmp_path):
    path = tmp_path / "evil.csv"
    evil = "{'A': [__import__('os').system('echo pwned')]}"
    path.write_text(f'question,selections,options,source\n"q","{evil}","[\'x\']",WVS\n')
    with pytest.raises(WorkbenchError, match="cannot parse"):
        ref.load_global_opinion_qa(path)
