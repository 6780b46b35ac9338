"""The ESS Human Values Scale (pvq21): key, MRAT centring, gendered forms, probing, schema."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml

from tests.fakes import HashBackend
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.instrument_files import load_instrument, load_instrument_file
from workbench.probe import run_probe
from workbench.prompts import item_text
from workbench.scoring import score_instrument, score_terms

#: The published key (Schwartz, "Computing scores for the 10 human values", ESS EduNet).
ESS_KEY = {"conformity": [7, 16], "tradition": [9, 20], "benevolence": [12, 18],
           "universalism": [3, 8, 19], "self_direction": [1, 11], "stimulation": [6, 15],
           "hedonism": [10, 21], "achievement": [4, 13], "power": [2, 17], "security": [5, 14]}
CIRCLE = ["self_direction", "stimulation", "hedonism", "achievement", "power", "security",
          "conformity", "tradition", "benevolence", "universalism"]
#: One respondent's ESS codes (1 = very much like me ... 6 = not like me at all), items 1-21.
CODES = [2, 5, 1, 3, 2, 4, 5, 2, 3, 4, 1, 1, 3, 4, 5, 6, 6, 2, 1, 3, 4]


def _q(numbers) -> list[str]:
    return [f"q{n:02d}" for n in numbers]


def _dists(codes_by_unit: dict[str, list[int | None]]) -> pd.DataFrame:
    """One-hot distributions: each unit (an ``order`` level) answers item i with its code."""
    rows = []
    for order, codes in codes_by_unit.items():
        for i, code in enumerate(codes, start=1):
            if code is None:
                continue
            rid = f"{order}-{i}"
            for c in range(1, 7):
                rows.append({"model": "m", "instrument": "pvq21", "persona": "none",
                             "language": "en", "order": order, "paraphrase": 0, "repeat": 0,
                             "item_id": f"q{i:02d}", "request_id": rid, "code": c,
                             "prob": float(c == code)})
    return pd.DataFrame(rows)


def test_key_forms_scale_and_profile_are_the_published_ones():
    inst = load_instrument("pvq21")
    assert [it.id for it in inst.items] == _q(range(1, 22))
    scores = {s.id: s for s in inst.scores}
    for value, numbers in ESS_KEY.items():
        assert scores[value].method == "mean" and scores[value].items == _q(numbers)
        assert scores[f"{value}_centred"].items == _q(numbers)
        assert scores[f"{value}_centred"].centre == "mrat"
        assert all(inst.item(i).dimension == value for i in _q(numbers))
    assert sorted(scores["mrat"].items) == _q(range(1, 22))
    assert sorted(sum(ESS_KEY.values(), [])) == list(range(1, 22))  # each item in one value
    assert scores["openness_to_change"].items == _q([1, 11, 6, 15, 10, 21])
    assert scores["self_enhancement"].items == _q([2, 17, 4, 13])
    assert scores["conservation"].items == _q([5, 14, 7, 16, 9, 20])
    assert scores["self_transcendence"].items == _q([3, 8, 19, 12, 18])
    assert inst.profile == [f"{v}_centred" for v in CIRCLE]
    scale = inst.scale_of("q01")
    assert scale.codes == [1, 2, 3, 4, 5, 6]
    assert scale.labels["en"][0] == "Very much like me"
    assert scale.labels["en"][-1] == "Not like me at all"
    assert all(it.reverse for it in inst.items)  # 7 - code: high = more important
    assert inst.languages["en"].official is True
    assert {n: f.official for n, f in inst.forms.forms.items()} == {"male": True, "female": True}


def test_female_form_is_the_male_form_with_female_pronouns():
    inst = load_instrument("pvq21")
    swap = {"him": "her", "his": "her", "he": "she", "himself": "herself"}
    for it in inst.items:
        male, female = it.text["en"], it.forms["female"]["en"]
        words = [swap.get(w.lower(), w.lower()) for w in male.replace(".", " .").split()]
        assert words == female.lower().replace(".", " .").split(), it.id
        assert " her " in f" {female} " or " she " in f" {female.lower()} ", it.id


def test_hand_worked_respondent_raw_mrat_and_centred_scores():
    dists = _dists({"original": CODES})
    got = score_instrument(dists, "pvq21", by=["model"]).set_index("score_id")["score"]
    # values = 7 - code: 5 2 6 4 5 3 2 5 4 3 6 6 4 3 2 1 1 5 6 4 3, sum 80
    mrat = 80 / 21  # 3.8095
    assert got["mrat"] == pytest.approx(mrat)
    assert got["conformity"] == pytest.approx(1.5)  # items 7, 16: (2 + 1) / 2
    assert got["universalism"] == pytest.approx(17 / 3)  # items 3, 8, 19: (6 + 5 + 6) / 3
    assert got["self_direction"] == pytest.approx(5.5)  # items 1, 11: (5 + 6) / 2
    assert got["conformity_centred"] == pytest.approx(1.5 - mrat)  # -2.3095
    assert got["universalism_centred"] == pytest.approx(17 / 3 - mrat)  # 1.8571
    assert got["power_centred"] == pytest.approx(1.5 - mrat)  # items 2, 17: (2 + 1) / 2
    # openness to change: items 1, 11, 6, 15, 10, 21 -> (5 + 6 + 3 + 2 + 3 + 3) / 6 = 22 / 6
    assert got["openness_to_change_centred"] == pytest.approx(22 / 6 - mrat)  # -0.1429
    # the ten centred values weighted by their item counts sum to zero (sum_i (x_i - MRAT))
    n = {v: len(items) for v, items in ESS_KEY.items()}
    assert sum(got[f"{v}_centred"] * n[v] for v in ESS_KEY) == pytest.approx(0, abs=1e-12)


def test_centring_is_per_unit_then_averaged():
    """Unit 'reversed' lacks item 21: its MRAT has no complete set, so it has no centred scores;
    the group's centred score is the complete unit's, not a difference of item means."""
    other = [6 - c + 1 for c in CODES]  # mirrored answers: values 7 - code become code
    dists = _dists({"original": CODES, "reversed": other[:-1] + [None]})
    got = score_instrument(dists, "pvq21", by=["model"]).set_index("score_id")["score"]
    assert got["conformity_centred"] == pytest.approx(1.5 - 80 / 21)
    # with both units complete, the mean of per-unit centred scores: unit 2 values = CODES
    dists = _dists({"original": CODES, "reversed": other})
    got = score_instrument(dists, "pvq21", by=["model"]).set_index("score_id")["score"]
    unit2 = (5 + 6) / 2 - sum(CODES) / 21  # conformity items 7, 16 have codes 5, 6
    assert got["conformity_centred"] == pytest.approx(((1.5 - 80 / 21) + unit2) / 2)
    per_unit = score_instrument(dists, "pvq21", by=["model", "order"])
    assert set(per_unit["order"]) == {"original", "reversed"}


def test_centred_scores_are_linear_in_item_means():
    key = score_terms("pvq21").query("score_id == 'conformity_centred'").set_index("item_id")
    assert key.loc["q07", "weight"] == pytest.approx(1 / 2 - 1 / 21)
    assert key.loc["q01", "weight"] == pytest.approx(-1 / 21)
    assert key["weight"].sum() == pytest.approx(0, abs=1e-12)
    assert set(key["method"]) == {"centred"} and len(key) == 21


def test_persona_gender_picks_the_form():
    inst = load_instrument("pvq21")
    assert inst.form_for({"gender": "woman"}) == "female"
    assert inst.form_for({"gender": "man"}) == "male"
    assert inst.form_for({"gender": "nonbinary"}) == "male"  # the stated default
    assert inst.form_for({}) == "male"
    assert load_instrument("mfq30").form_for({"gender": "woman"}) is None
    design = Design(models=["m"], instruments=["pvq21"], items=["q01"],
                    personas=["none", "demo:a18_29|woman|bachelor|liberal",
                              "demo:a18_29|man|bachelor|liberal", "country:DEU"])
    texts = {r.persona: r.rendered.messages[-1].content for r in design.requests("m", "fp")}
    female = inst.item("q01").forms["female"]["en"]
    male = inst.item("q01").text["en"]
    assert female in texts["demo:a18_29|woman|bachelor|liberal"]
    for persona in ("none", "demo:a18_29|man|bachelor|liberal", "country:DEU"):
        assert male in texts[persona] and female not in texts[persona], persona
    assert inst.instructions["portraits"]["en"] in texts["none"]


def test_forms_have_no_paraphrases():
    item = load_instrument("pvq21").item("q01")
    assert item_text(item, "en", 0, "female").endswith("her own original way.")
    with pytest.raises(WorkbenchError, match="paraphrases of its default wording only"):
        item_text(item, "en", 1, "female")


def test_probes_and_scores_on_a_synthetic_backend(tmp_path):
    design = Design(models=["alpha"], instruments=["pvq21"], orders=["original", "reversed"],
                    personas=["none", "demo:a18_29|woman|bachelor|liberal"])
    store = run_probe(design, tmp_path, backends={"alpha": HashBackend("alpha")},
                      progress=False).store
    dists = store.distributions()
    assert dists["request_id"].nunique() == 21 * 2 * 2
    assert set(dists["code"]) == set(range(1, 7))
    scores = score_instrument(dists, "pvq21", by=["model", "persona"])
    assert len(scores) == 2 * 29 and scores["score"].notna().all()
    raw = scores[scores["method"] == "mean"]["score"]
    assert raw.between(1, 6).all()
    for persona, sub in scores.groupby("persona"):
        s = sub.set_index("score_id")["score"]
        n = {v: len(items) for v, items in ESS_KEY.items()}
        total = sum(s[f"{v}_centred"] * n[v] for v in ESS_KEY)
        assert math.isclose(total, 0, abs_tol=1e-9), persona  # centring removes the MRAT
        assert s["tradition_centred"] == pytest.approx(s["tradition"] - s["mrat"])


def _pvq_raw() -> dict:
    return yaml.safe_load(load_instrument("pvq21").model_dump_json())


def _write(tmp_path, raw) -> str:
    path = tmp_path / "pvq.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return str(path)


def _score(raw: dict, score_id: str) -> dict:
    return next(s for s in raw["scores"] if s["id"] == score_id)


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["items"][0]["forms"].pop("female"), "item 'q01' lacks its 'female' form"),
    (lambda r: r["items"][0]["forms"]["female"].update(de="x"),
     "'female' form in undeclared language(s) ['de']"),
    (lambda r: r["items"][0]["forms"].update(neutral={"en": "x"}),
     "item 'q01' has form(s) ['neutral'] that are not non-default forms"),
    (lambda r: r["forms"].update(default="neutral"), "default 'neutral' is not under 'forms'"),
    (lambda r: r["forms"]["forms"]["male"]["when"].append("woman"),
     "'gender: woman' picks both"),
    (lambda r: _score(r, "conformity_centred").update(centre="nope"),
     "centred on 'nope', which is not a 'mean' score"),
    (lambda r: _score(r, "conformity_centred").update(centre="power_centred"),
     "centred on 'power_centred', which is not a 'mean' score"),
    (lambda r: _score(r, "conformity_centred").update(centre=None),
     "'centre' (the score subtracted, e.g. mrat) goes with method 'centred'"),
    (lambda r: _score(r, "conformity").update(centre="mrat"), "goes with method 'centred'"),
    (lambda r: r["profile"].append("nope"), "profile names unknown score(s) ['nope']"),
])
def test_malformed_forms_and_centred_scores_fail_clearly(tmp_path, mutate, message):
    raw = _pvq_raw()
    load_instrument_file(_write(tmp_path, raw))  # the unmodified copy is valid
    mutate(raw)
    with pytest.raises(WorkbenchError) as info:
        load_instrument_file(_write(tmp_path, raw))
    assert message in str(info.value) and "\n" not in str(info.value)
