"""Human reference data: counts, ranges, uniqueness, ISO joins, sources, GlobalOpinionQA."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import reference as ref
from workbench.errors import WorkbenchError
from workbench.instrument_files import load_instrument


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


def _reference_csvs() -> dict[str, pd.DataFrame]:
    """Every shipped reference CSV read as plain strings ("NA" stays Namibia's ISO2 code)."""
    from workbench.paths import data_dir

    return {p.name: pd.read_csv(p, dtype=str, keep_default_na=False)
            for p in sorted((data_dir() / "reference").glob("*.csv"))}


def test_every_iso3_in_every_reference_csv_is_a_known_country():
    csvs = _reference_csvs()
    countries = csvs.pop("countries.csv")
    assert countries["iso3"].is_unique and countries["iso2"].is_unique
    assert countries["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    known = set(countries["iso3"])
    with_iso3 = {name: frame for name, frame in csvs.items() if "iso3" in frame.columns}
    # the files that must join on ISO3 really have the column (so the loop cannot pass empty)
    assert {"hofstede_6d.csv", "mfq2_country_norms.csv", "wvs7_item_distributions.csv",
            "wvs7_map.csv"} <= set(with_iso3)
    for name, frame in with_iso3.items():
        blank = frame["iso3"].eq("")
        if name == "hofstede_6d.csv":  # regions (Africa East, ...) have no country code
            assert frame.loc[blank, "kind"].eq("region").all()
        else:
            assert not blank.any(), name
        unknown = sorted(set(frame.loc[~blank, "iso3"]) - known)
        assert not unknown, f"{name}: ISO3 codes missing from countries.csv: {unknown}"


def test_reference_tables_have_no_duplicate_keys():
    m2 = ref.mfq2_country_norms()
    dupes = m2[m2.duplicated(["iso3", "foundation"], keep=False)]
    assert dupes.empty, dupes[["iso3", "foundation"]].to_dict("records")
    mfq2 = load_instrument("mfq2")
    foundations = {s.id for s in mfq2.scores}
    assert set(m2["foundation"]) == foundations
    assert m2.groupby("iso3")["foundation"].nunique().eq(len(foundations)).all()
    assert m2.groupby("iso3")["country"].nunique().eq(1).all()
    d = ref.wvs_distributions()
    assert not d.duplicated(["iso3", "item_id", "code"]).any()
    assert ref.hofstede_scores(kind=None)["hofstede_code"].is_unique
    m30 = ref.mfq30_norms()
    assert not m30.duplicated(["group", "foundation"]).any()


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


def test_ess_human_values_ship_without_numbers_and_load_a_built_table(tmp_path):
    shipped = ref.ess_human_values()
    assert shipped.empty and list(shipped.columns) == ref.ESS_VALUES_COLUMNS
    sources = ref.reference_sources().set_index("file")
    assert "CC BY-NC-SA 4.0" in sources.loc["ess_human_values.csv", "terms"]
    built = pd.DataFrame([{"iso3": "DEU", "country": "Germany", "essround": 10,
                           "score_id": "power_centred", "mean": -1.2, "n": 2000,
                           "source": "ESS10 ed. 3.2, anweight"}])
    path = tmp_path / "ess.csv"
    built.to_csv(path, index=False)
    assert ref.ess_human_values(path)["mean"].tolist() == [-1.2]
    built.drop(columns="n").to_csv(path, index=False)
    with pytest.raises(WorkbenchError, match=r"lacks column\(s\) \['n'\]"):
        ref.ess_human_values(path)
    with pytest.raises(WorkbenchError, match="does not exist"):
        ref.ess_human_values(tmp_path / "nope.csv")


def test_ess_variables_cover_every_pvq21_item_once():
    variables = ref.ess_variables()
    pvq = load_instrument("pvq21")
    assert list(variables) == [it.id for it in pvq.items]
    assert len(set(variables.values())) == 21
    # each item's notes name the same ESS variable
    assert all(pvq.item(i).notes == f"ESS variable {v}" for i, v in variables.items())


# ---------------------------------------------------------------------- full WVS-7 battery
def test_wvs_full_distributions_cover_every_item_with_shares_that_sum_to_one():
    full = load_instrument("wvs7_full")
    d = ref.wvs_full_distributions()
    assert d["substantive"].all() and d["share"].notna().all()
    assert d["item_id"].nunique() > 200
    assert set(d["item_id"]) == {it.id for it in full.items}  # every item, no stray ones
    sums = d.groupby(["iso3", "item_id"])["share"].sum()
    assert (sums - 1).abs().max() < 1e-3  # within rounding (5 decimals per share)
    assert not d.duplicated(["iso3", "item_id", "code"]).any()
    assert d["share"].between(0, 1).all() and d["percent"].between(0, 100).all()
    for item_id, group in d.groupby("item_id"):  # codes and labels are the instrument's
        scale = full.scale_of(item_id)
        labels = dict(zip(scale.codes, scale.labels["en"], strict=True))
        assert set(group["code"]) == set(scale.codes), item_id  # every option for every country
        assert (group["label"] == group["code"].map(labels)).all(), item_id
    per_country = d.groupby("iso3")["item_id"].nunique()
    assert (per_country >= 0.9 * len(full.items)).sum() >= 40  # most societies have most items


def test_wvs_full_keeps_missing_answers_as_facts_outside_the_shares():
    alld = ref.wvs_full_distributions(substantive=False)
    facts = alld[~alld["substantive"]]
    assert facts["share"].isna().all() and not facts.empty
    assert {-1, -2, -5} <= set(facts["code"])  # don't know, no answer, other missing
    full = load_instrument("wvs7_full")
    volunteered = facts[facts["code"] >= 0]
    for item_id, code in volunteered[["item_id", "code"]].drop_duplicates().itertuples(
            index=False):
        assert code not in full.scale_of(item_id).codes  # e.g. Q254 5 "I am not [nationality]"
    # every published row sums to 100 percent over substantive and non-substantive codes
    totals = alld.groupby(["iso3", "item_id"])["percent"].sum()
    assert (totals - 100).abs().max() <= 0.6
    # shares are the substantive percents renormalised
    sub = alld[alld["substantive"]]
    denom = sub.groupby(["iso3", "item_id"])["percent"].transform("sum")
    assert ((sub["percent"] / denom - sub["share"]).abs() < 1e-4).all()


def test_wvs_full_agrees_with_the_map_item_file_and_joins_on_iso3():
    full = ref.wvs_full_distributions()
    small = ref.wvs_distributions()
    both = small.merge(full, on=["iso3", "item_id", "code"], suffixes=("_small", "_full"))
    assert len(both) == len(small)  # every map-item row is in the full file
    assert (both["share_small"] - both["share_full"]).abs().max() < 1e-4
    assert set(full["iso3"]) <= set(ref.countries()["iso3"])
    sidecar = ref.reference_sources().set_index("file").loc["wvs7_full_distributions.csv"]
    assert "v6.0.0" in sidecar["version"] and "non-profit" in sidecar["terms"]


def _converter():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "sources" / "wvs7_full" / "convert.py"
    spec = importlib.util.spec_from_file_location("wvs7_full_convert", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converter_helpers_on_hand_made_cases():
    conv = _converter()
    known = ["Q1", "Q2", "Q4", "Q234", "Q234A", "Q235"]
    assert conv.expand("Q1-Q3", known) == ["Q1", "Q2"]  # ids missing in the source skipped
    assert conv.expand("Q2-Q234A", known) == ["Q2", "Q4", "Q234", "Q234A"]
    assert conv.expand("Q234A", known) == ["Q234A"]
    # the trailing missing-data columns are decided by position; INAP by its text
    assert [c for c, _ in conv.tail_codes(["Don't know No", "answer", "Missing"], "Q")] == [
        conv.DONT_KNOW, conv.NO_ANSWER, conv.OTHER_MISSING]
    assert conv.tail_codes(["Don't know", "No answer", "INAP: No internet"], "Q")[2][0] == \
        conv.NOT_APPLICABLE
    battery = {"split": ["first stem?", "other stem?"]}
    assert conv.split_battery("A other stem?: Sub-item.", battery, "Q9") == "Sub-item"
    with pytest.raises(conv.SpecError, match="Q9: none of the battery's split markers"):
        conv.split_battery("no marker here", battery, "Q9")
