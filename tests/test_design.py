"""Design expansion: counts, factors, seeded orders and personas, exact re-mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.personas import expand_personas, random_personas
from workbench.prompts import option_order

MINI = str(Path(__file__).parent / "fixtures" / "mini.yaml")


def test_two_by_two_by_two_by_two_expands_to_the_right_count():
    d = Design(models=["m"], instruments=[MINI], personas=["none", "political:liberal"],
               orders=["original", "reversed"], paraphrases=[0, 1], repeats=2,
               mode="generate", temperature=0.7)
    reqs = list(d.requests("m", "fp"))
    assert len(reqs) == 3 * 2 * 2 * 2 * 2 == d.count()
    assert len({r.request_id for r in reqs}) == len(reqs)
    cells = {(r.item_id, r.persona, r.order, r.paraphrase, r.repeat) for r in reqs}
    assert len(cells) == len(reqs)


def test_request_ids_are_stable_and_depend_on_content():
    d = Design(models=["m"], instruments=[MINI])
    a = [r.request_id for r in d.requests("m", "fp")]
    b = [r.request_id for r in d.requests("m", "fp")]
    c = [r.request_id for r in d.requests("m", "other-weights")]
    assert a == b and not set(a) & set(c)


def test_reversed_order_presents_reversed_codes_and_keys_follow_position():
    d = Design(models=["m"], instruments=[MINI], orders=["original", "reversed"], items=["a1"])
    orig, rev = list(d.requests("m", "fp"))
    assert orig.rendered.codes == (1, 2, 3, 4, 5)
    assert rev.rendered.codes == (5, 4, 3, 2, 1)
    assert rev.rendered.keys == ("1", "2", "3", "4", "5")
    assert rev.rendered.labels[0] == "strongly agree"
    assert "1. strongly agree" in rev.rendered.messages[-1].content


def test_random_orders_are_seeded_permutations():
    codes = [1, 2, 3, 4, 5]
    p1 = option_order(codes, "perm1", 0, "x:a1")
    assert sorted(p1) == codes
    assert p1 == option_order(codes, "perm1", 0, "x:a1")
    perms = {tuple(option_order(codes, f"perm{i}", 0, "x:a1")) for i in range(1, 30)}
    assert len(perms) > 10
    with pytest.raises(WorkbenchError, match="unknown option order"):
        option_order(codes, "sideways", 0, "k")


def test_random_personas_are_seeded_and_reproducible():
    a = random_personas(20, seed=3)
    b = random_personas(20, seed=3)
    c = random_personas(20, seed=4)
    assert [p.texts for p in a] == [p.texts for p in b]
    assert [p.texts for p in a] != [p.texts for p in c]
    assert len({p.id for p in a}) == 20


def test_persona_specs_expand():
    ps = expand_personas(["none", "political:conservative", "demo:a18_29|woman|bachelor|liberal",
                          "random:3"], seed=1)
    assert [p.kind for p in ps] == ["none", "political", "demo", "random", "random", "random"]
    assert "conservative" in ps[1].text("en")
    assert ps[0].text("en") is None
    with pytest.raises(WorkbenchError, match="unknown persona spec"):
        expand_personas(["alien:1"])
    with pytest.raises(WorkbenchError, match="unknown politics"):
        expand_personas(["political:anarchist"])


def test_country_personas_cover_reference_countries():
    ps = expand_personas(["country:*"])
    assert len(ps) >= 10
    assert all(p.text("en").startswith("You are a typical person from") for p in ps)
    assert expand_personas(["country:deu"])[0].attributes["country"] == "DEU"


def test_persona_is_a_system_message():
    d = Design(models=["m"], instruments=[MINI], personas=["political:liberal"], items=["a1"])
    (req,) = list(d.requests("m", "fp"))
    roles = [m.role for m in req.rendered.messages]
    assert roles == ["system", "user"]
    assert "liberal" in req.rendered.messages[0].content


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"instruments": []}, "empty design"),
        ({"personas": []}, "empty design"),
        ({"repeats": 0}, "repeats must be at least 1"),
        ({"repeats": 2}, "repeats > 1 only makes sense"),
        ({"mode": "telepathy"}, "mode must be"),
        ({"languages": ["xx"]}, r"has no \['xx'\] version"),
        ({"paraphrases": [7]}, "paraphrase"),
    ],
)
def test_bad_designs_fail_clearly(kwargs, message):
    base = {"models": ["m"], "instruments": [MINI]}
    base.update(kwargs)
    with pytest.raises(WorkbenchError, match=message):
        d = Design(**base)
        list(d.requests("m", "fp"))


def test_design_yaml_round_trip(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text(f"models: [m]\ninstruments: [{MINI}]\norders: [original, reversed]\n"
                    "random_orders: 2\n")
    d = Design.from_yaml(path)
    assert d.orders == ["original", "reversed", "perm1", "perm2"]
    path.write_text("models: [m]\ninstrumnets: [x]\n")
    with pytest.raises(WorkbenchError, match="unknown key"):
        Design.from_yaml(path)


def test_other_languages_use_their_own_prompt_and_labels():
    from workbench.instrument_files import load_instrument

    inst = load_instrument("mfq2")
    assert "es" in inst.languages and inst.languages["es"].source
    d = Design(models=["m"], instruments=["mfq2"], languages=["es"],
               personas=["political:liberal"], items=["q01"])
    (req,) = list(d.requests("m", "fp"))
    user = req.rendered.messages[-1].content
    assert inst.items[0].text["es"] in user
    assert all(label in user for label in inst.scales[inst.items[0].scale].labels["es"])
    assert "Responda" in user and req.rendered.assistant_prefix == "Respuesta:"
    assert "liberal" in req.rendered.messages[0].content
    assert "Responda a la pregunta" in req.rendered.messages[0].content
    with pytest.raises(WorkbenchError, match="no text in language 'es'"):
        list(Design(models=["m"], instruments=["mfq2"], languages=["es"],
                    personas=["random:1"], items=["q01"]).requests("m", "fp"))


def test_generation_seeds_differ_per_request_and_are_reproducible():
    """Sampled answers of one repeat must not share a random stream across items or orders."""
    def seeds(seed: int) -> list[int]:
        d = Design(models=["m"], instruments=["mfq30"], items=["q01", "q02", "q03"],
                   orders=["original", "reversed"], mode="generate", temperature=1.0,
                   repeats=3, seed=seed)
        return [r.seed for r in d.requests("m", "fp")]

    first = seeds(0)
    assert len(first) == 3 * 2 * 3 and len(set(first)) == len(first)
    assert seeds(0) == first
    assert set(seeds(1)).isdisjoint(first)
    assert all(0 <= s < 2**32 for s in first)


# ---------------------------------------------------------------- order designs (issue 16)
def test_cyclic_orders_expand_per_item_by_its_number_of_options():
    d = Design(models=["m"], instruments=[MINI], orders=["cyclic"], paraphrases=[0, 1],
               personas=["none", "political:liberal"])
    reqs = list(d.requests("m", "fp"))
    # a1, a2: 5 rotations each, b1 (yes/no): 2; x 2 paraphrases x 2 personas
    assert len(reqs) == (5 + 5 + 2) * 2 * 2 == d.count()
    a1 = {r.order: r.rendered.codes for r in reqs
          if r.item_id == "a1" and r.paraphrase == 0 and r.persona == "none"}
    assert a1 == {"cyc0": (1, 2, 3, 4, 5), "cyc1": (2, 3, 4, 5, 1), "cyc2": (3, 4, 5, 1, 2),
                  "cyc3": (4, 5, 1, 2, 3), "cyc4": (5, 1, 2, 3, 4)}
    b1 = {r.order: r.rendered.codes for r in reqs if r.item_id == "b1"}
    assert b1 == {"cyc0": (1, 2), "cyc1": (2, 1)}


def test_all_orders_are_every_permutation_and_refused_for_long_scales():
    from itertools import permutations

    d = Design(models=["m"], instruments=[MINI], orders=["all"])
    reqs = list(d.requests("m", "fp"))
    assert len(reqs) == 120 + 120 + 2 == d.count()
    shown = [r.rendered.codes for r in reqs if r.item_id == "a1"]
    assert shown == list(permutations([1, 2, 3, 4, 5]))  # all0 = original, lexicographic
    with pytest.raises(WorkbenchError, match=r"720 orders.*data/orders.yaml.*cyclic"):
        Design(models=["m"], instruments=["mfq30"], orders=["all"]).count()


def test_permutations_key_adds_seeded_random_orders():
    def shown(seed: int) -> list[tuple[int, ...]]:
        d = Design(models=["m"], instruments=[MINI], permutations=4, items=["a1"], seed=seed)
        assert d.orders == ["original", "perm1", "perm2", "perm3", "perm4"]
        reqs = list(d.requests("m", "fp"))
        assert len(reqs) == 5 == d.count()
        return [r.rendered.codes for r in reqs]

    assert shown(0) == shown(0)  # reproducible
    assert shown(0) != shown(1)  # and seeded
    assert all(sorted(c) == [1, 2, 3, 4, 5] for c in shown(0))
    assert Design(models=["m"], instruments=[MINI], random_orders=2,
                  permutations=2).orders[-2:] == ["perm1", "perm2"]
    with pytest.raises(WorkbenchError, match="keep one of them"):
        Design(models=["m"], instruments=[MINI], random_orders=2, permutations=3)
    with pytest.raises(WorkbenchError, match="unknown option order"):
        Design(models=["m"], instruments=[MINI], orders=["cyclical"])


def test_follow_ups_expand_with_their_earlier_item():
    d = Design(models=["m"], instruments=["wvs7"], orders=["cyclic"], items=["Q154", "Q155"])
    reqs = list(d.requests("m", "fp"))
    assert len(reqs) == d.count() == 4 + 4 * 4  # Q154 in 4 rotations; Q155 after each answer
    q155 = [r for r in reqs if r.item_id == "Q155" and r.order == "cyc1"]
    assert {len(r.rendered.codes) for r in q155} == {3}  # the earlier answer is left out


def test_content_free_items_are_asked_per_scale_and_order():
    d = Design(models=["m"], instruments=[MINI], orders=["original", "reversed"],
               paraphrases=[0, 1], content_free=True)
    reqs = list(d.requests("m", "fp"))
    cf = [r for r in reqs if r.item_id.startswith("content-free:")]
    # one per scale (agree, yesno) x order, once per cell (no paraphrases)
    assert sorted({r.item_id for r in cf}) == ["content-free:agree:0", "content-free:yesno:0"]
    assert len(cf) == 2 * 2 and len(reqs) == 3 * 2 * 2 + 4 == d.count()
    agree = next(r for r in cf if r.item_id == "content-free:agree:0" and r.order == "reversed")
    text = agree.rendered.messages[-1].content
    assert text.startswith("Say how much you agree.\n\nN/A\n\n1. strongly agree")
    with pytest.raises(WorkbenchError, match="content_free"):
        Design(models=["m"], instruments=[MINI], content_free="yes")


def test_the_stored_options_carry_the_shown_order(tmp_path):
    from tests.fakes import FirstPositionBackend
    from workbench.probe import run_probe

    d = Design(models=["fake"], instruments=[MINI], orders=["cyclic"], items=["a1"])
    store = run_probe(d, tmp_path, backends={"fake": FirstPositionBackend()},
                      progress=False).store
    dists = store.distributions()
    shown = (dists.sort_values("position").groupby("order")["code"]
             .agg(tuple).to_dict())
    assert shown == {f"cyc{r}": tuple([1, 2, 3, 4, 5][r:] + [1, 2, 3, 4, 5][:r])
                     for r in range(5)}
    top = dists.loc[dists.groupby("request_id")["prob"].idxmax()].set_index("order")["code"]
    assert top.to_dict() == {"cyc0": 1, "cyc1": 2, "cyc2": 3, "cyc3": 4, "cyc4": 5}


# ---------------------------------------------------------------------- questionnaire blocks
def _asked(instrument, items) -> int:
    """Requests per cell, counted independently: a follow-up once per earlier answer."""
    return sum(len(instrument.scale_of(it.follows.item).codes) if it.follows else 1
               for it in items)


def test_blocks_restrict_a_design_to_questionnaire_sections():
    from workbench.instrument_files import load_instrument

    full = load_instrument("wvs7_full")
    religion = full.block_items("religion")
    d = Design(models=["m"], instruments=["wvs7_full"], blocks=["religion"])
    assert {r.item_id for r in d.requests("m", "fp")} == {it.id for it in religion}
    assert d.count() == _asked(full, religion)
    post = full.block_items("postmaterialism")  # three follow-ups, each asked per first answer
    d = Design(models=["m"], instruments=["wvs7_full"], blocks=["postmaterialism"])
    assert d.count() == _asked(full, post) > len(post)
    both = Design(models=["m"], instruments=["wvs7_full"], blocks=["religion", "ethics"],
                  items=["Q164", "Q182", "Q46"])  # items and blocks: both must hold
    assert [r.item_id for r in both.requests("m", "fp")] == ["Q164", "Q182"]


@pytest.mark.parametrize("kwargs, message", [
    ({"instruments": ["wvs7_full"], "blocks": ["religon"]},
     r"no block\(s\) \['religon'\] \(did you mean 'religion'"),
    ({"instruments": ["mfq30"], "blocks": ["religion"]}, "'mfq30' has no blocks"),
    ({"instruments": ["wvs7_full"], "blocks": "religion, ethics, oops"}, "oops"),
])
def test_bad_blocks_fail_clearly(kwargs, message):
    with pytest.raises(WorkbenchError, match=message):
        Design(models=["m"], **kwargs).count()


def test_culture_wvs_design_asks_its_blocks_for_each_persona_and_order():
    from workbench.instrument_files import load_instrument

    d = Design.from_yaml(Path(__file__).resolve().parents[1] / "designs" / "culture_wvs.yaml")
    full = load_instrument("wvs7_full")
    per_cell = _asked(full, full.block_items(d.blocks))
    assert d.count() == per_cell * len(d.personas) * len(d.orders)
    assert d.instruments == ["wvs7_full"] and "none" in d.personas


def test_every_wvs7_full_item_renders_with_its_stem_and_options():
    from workbench.instrument_files import load_instrument

    full = load_instrument("wvs7_full")
    requests = list(Design(models=["m"], instruments=["wvs7_full"]).requests("m", "fp"))
    assert {r.item_id for r in requests} == {it.id for it in full.items}
    for r in requests:
        item = full.item(r.item_id)
        prompt = r.rendered.messages[-1].content
        assert item.text["en"] in prompt
        if item.instruction:
            assert full.instructions[item.instruction]["en"] in prompt
        shown = len(full.scale_of(item.id).codes) - (1 if item.follows else 0)
        assert len(r.rendered.codes) == shown, item.id  # a follow-up leaves one answer out
