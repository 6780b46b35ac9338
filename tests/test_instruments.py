"""Instrument files: shipped ones validate; malformed ones fail with one clear message."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.errors import WorkbenchError
from workbench.instrument_files import (
    available_instruments,
    instruments_dir,
    load_instrument,
    load_instrument_file,
)
from workbench.instruments import Instrument

FIXTURE = Path(__file__).parent / "fixtures" / "mini.yaml"


def _raw() -> dict:
    return yaml.safe_load(FIXTURE.read_text())


def _rule(item: str, op: str, value: float) -> dict:
    return {"item": item, "op": op, "value": value, "reason": "catch"}


def _write(tmp_path, raw) -> Path:
    path = tmp_path / "inst.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def test_fixture_loads():
    inst = load_instrument_file(FIXTURE)
    assert [i.id for i in inst.items] == ["a1", "a2", "b1"]
    assert inst.constant_params == {"C_lin": 0.0}
    assert inst.n_paraphrases("en") == 2


@pytest.mark.parametrize("name", ["mfq30", "mfq2", "wvs7", "vsm2013", "pvq21"])
def test_shipped_instruments_validate(name):
    if name not in available_instruments():
        pytest.skip(f"{name} not shipped yet")
    inst = load_instrument(name)
    assert inst.source.terms and inst.source.citation
    assert len(inst.items) > 0


def test_mfq30_is_complete():
    inst = load_instrument("mfq30")
    assert len(inst.items) == 32
    assert {s.id for s in inst.scores} == {"care", "fairness", "loyalty", "authority", "purity"}
    assert all(len(s.items) == 6 for s in inst.scores)
    catch = [i.id for i in inst.items if i.role == "catch"]
    assert catch == ["q06", "q22"]
    assert inst.scales[inst.items[0].scale].codes == [0, 1, 2, 3, 4, 5]
    assert inst.n_paraphrases("en") >= 2


@pytest.mark.parametrize("name", available_instruments())
def test_declared_languages_are_complete_and_sourced(name):
    """Every declared language (e.g. mfq2's official Spanish) records its source and covers every
    item, scale label and instruction; the schema does not check instructions per language."""
    inst = load_instrument(name)
    for lang, info in inst.languages.items():
        assert info.source.strip(), f"{name}: language '{lang}' records no source"
        assert all(it.text.get(lang, "").strip() for it in inst.items), (name, lang, "items")
        for scale_id, scale in inst.scales.items():
            labels = scale.labels.get(lang, [])
            assert len(labels) == len(scale.codes) and all(lab.strip() for lab in labels), (
                name, lang, scale_id)
        for instr_id, texts in inst.instructions.items():
            assert texts.get(lang, "").strip(), (name, lang, instr_id)


@pytest.mark.parametrize("name", available_instruments())
def test_every_language_and_wording_form_states_its_source_and_official_status(name):
    """A report must be able to say beside every number whether its wording is official, so
    every shipped file marks each language (and each wording form) with a source and
    official: true/false; an unmarked language would read as unknown."""
    inst = load_instrument(name)
    raw = yaml.safe_load((instruments_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    for lang, info in raw["languages"].items():
        assert str(info.get("source", "")).strip(), (name, lang)
        assert isinstance(info.get("official"), bool), f"{name}: '{lang}' lacks official: bool"
        assert inst.languages[lang].official is info["official"]
    if inst.forms is not None:
        for form, spec in inst.forms.forms.items():
            assert spec.source.strip() and isinstance(spec.official, bool), (name, form)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.pop("scales"), "required key 'scales' is missing"),
        (lambda r: r["scores"][0].update(reverse=["q99"]),
         "unknown key 'reverse' (reverse keying belongs to an item"),
        (lambda r: r["items"].append(copy.deepcopy(r["items"][0])), "duplicate item id"),
        (lambda r: r["scores"][0]["items"].append("zz9"), "unknown item 'zz9'"),
        (lambda r: r.update(exclusions=[{"item": "nope", "op": "gt", "value": 1,
                                         "reason": "x"}]), "unknown item 'nope'"),
        (lambda r: r["scales"]["agree"]["labels"]["en"].pop(), "5 codes but 4 labels"),
        (lambda r: r["items"][0].update(scale="missing"), "scale 'missing'"),
        (lambda r: r["items"][2].update(reverse=True), "nominal"),
        (lambda r: r["scores"][1]["terms"].append({"item": "b1", "weight": 1}), "needs 'codes'"),
        (lambda r: r["items"][0]["text"].update(de="Familie"), "not declared"),
        (lambda r: r.update(id="Bad Id"), "id"),
        (lambda r: r["items"][1].update(role="catch"), "score 'd1' uses catch item 'a2'"),
        (lambda r: r["items"][0].update(role="catch"), "score 'd1' uses catch item 'a1'"),
        (lambda r: r["scores"][0]["items"].append("b1"),
         "score 'd1' (method 'mean') includes item 'b1', whose scale 'yesno' is nominal"),
        (lambda r: r.update(exclusions=[_rule("b1", "gt", 1)]),
         "exclusion rule on item 'b1': its scale 'yesno' is nominal"),
        (lambda r: r.update(exclusions=[_rule("a1", "gt", 9)]),
         "(gt 9) has a threshold outside its scale's codes 1..5, so it flags no answer"),
        (lambda r: r.update(exclusions=[_rule("a1", "lt", 0)]),
         "(lt 0) has a threshold outside its scale's codes 1..5, so it flags no"),
        (lambda r: r.update(exclusions=[_rule("a1", "lt", 7)]),
         "(lt 7) has a threshold outside its scale's codes 1..5, so it flags every"),
        (lambda r: r.update(exclusions=[_rule("a1", "gt", 5)]),
         "(gt 5) flags no answer on its scale's codes 1..5"),
        (lambda r: r.update(exclusions=[_rule("a1", "lt", 1)]), "(lt 1) flags no answer"),
        (lambda r: r.update(exclusions=[_rule("a1", "ge", 1)]), "(ge 1) flags every answer"),
        (lambda r: r.update(exclusions=[_rule("a1", "le", 5)]), "(le 5) flags every answer"),
    ],
)
def test_malformed_instruments_fail_clearly(tmp_path, mutate, message):
    raw = _raw()
    mutate(raw)
    with pytest.raises(WorkbenchError) as info:
        load_instrument_file(_write(tmp_path, raw))
    text = str(info.value)
    assert message in text
    assert "\n" not in text  # one line


@pytest.mark.parametrize("op, value", [("gt", 4), ("ge", 5), ("lt", 2), ("le", 1), ("gt", 1),
                                       ("gt", 2.5), ("lt", 4.5)])
def test_exclusion_rules_that_split_the_scale_are_accepted(tmp_path, op, value):
    raw = _raw()
    raw["exclusions"] = [_rule("a1", op, value)]
    inst = load_instrument_file(_write(tmp_path, raw))
    assert inst.exclusions[0].value == value


def _shipped_raw(name: str) -> dict:
    return yaml.safe_load(load_instrument(name).model_dump_json())


@pytest.mark.parametrize(
    "name, mutate, message",
    [
        ("mfq30", lambda r: r["scores"][0]["items"].append("q06"),
         "score 'care' uses catch item 'q06'"),
        ("mfq30", lambda r: r["scores"][4]["items"].__setitem__(5, "q22"),
         "score 'purity' uses catch item 'q22'"),
        ("mfq30", lambda r: r["exclusions"][0].update(value=5),
         "exclusion rule on item 'q06' (gt 5) flags no answer on its scale's codes 0..5"),
        ("mfq30", lambda r: r["exclusions"][1].update(value=6),
         "rule on item 'q22' (lt 6) has a threshold outside its scale's codes 0..5"),
        ("wvs7", lambda r: r["scores"].append({"id": "aims", "label": "aims", "method": "mean",
                                                "items": ["Q46", "Q154"]}),
         "score 'aims' (method 'mean') includes item 'Q154', whose scale 'aims4' is nominal"),
        ("wvs7", lambda r: r["scores"][2]["items"].append("Q8"),
         "(method 'mean') includes item 'Q8', whose scale 'child_quality2' is nominal"),
    ],
)
def test_malformed_copies_of_shipped_instruments_fail_clearly(tmp_path, name, mutate, message):
    raw = _shipped_raw(name)
    load_instrument_file(_write(tmp_path, raw))  # the unmodified copy is valid
    mutate(raw)
    with pytest.raises(WorkbenchError) as info:
        load_instrument_file(_write(tmp_path, raw))
    text = str(info.value)
    assert message in text, text
    assert "\n" not in text


def _item(raw: dict, item_id: str) -> dict:
    return next(it for it in raw["items"] if it["id"] == item_id)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: _item(r, "Q155")["follows"].update(item="Q999"),
         "item 'Q155' follows unknown item 'Q999'"),
        (lambda r: _item(r, "Q155")["follows"].update(item="Q164"),
         "item 'Q155' follows 'Q164', which must come before it"),
        (lambda r: _item(r, "Q155")["follows"].update(item="Q46"),
         "item 'Q155' excludes the answer to 'Q46' but their scales differ"),
        (lambda r: _item(r, "Q164").update(follows={"item": "Q155"}),
         "item 'Q164' follows 'Q155', which is itself a follow-up"),
        (lambda r: _item(r, "Q182").update(follows={"item": "Q57", "exclude_answer": False},
                                          scale="trust2") or _item(r, "Q184").update(
            follows={"item": "Q57"}, scale="trust2"),
         "excludes the earlier answer from a 2-option scale"),
    ],
)
def test_malformed_follow_ups_fail_clearly(tmp_path, mutate, message):
    raw = _shipped_raw("wvs7")
    assert _item(raw, "Q155")["follows"] == {"item": "Q154", "exclude_answer": True}
    mutate(raw)
    with pytest.raises(WorkbenchError) as info:
        load_instrument_file(_write(tmp_path, raw))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_mfq2_is_complete():
    inst = load_instrument("mfq2")
    assert [it.id for it in inst.items] == [f"q{i:02d}" for i in range(1, 37)]
    assert [s.id for s in inst.scores] == ["care", "equality", "proportionality", "loyalty",
                                           "authority", "purity"]
    assert all(s.method == "mean" and len(s.items) == 6 for s in inst.scores)
    scored = sorted(i for s in inst.scores for i in s.items)
    assert scored == [it.id for it in inst.items]  # each item in exactly one foundation
    assert all(it.role == "scored" and not it.reverse for it in inst.items)
    assert not inst.exclusions  # the MFQ-2 form has no catch items
    for it in inst.items:
        scale = inst.scale_of(it.id)
        assert scale.type == "ordinal" and scale.codes == [1, 2, 3, 4, 5]
        assert len(scale.labels["en"]) == 5 and all(lab.strip() for lab in scale.labels["en"])
        assert it.dimension == next(s.id for s in inst.scores if it.id in s.items)


def test_vsm2013_is_complete():
    inst = load_instrument("vsm2013")
    assert [it.id for it in inst.items] == [f"m{i:02d}" for i in range(1, 25)]
    assert [s.id for s in inst.scores] == ["PDI", "IDV", "MAS", "UAI", "LTO", "IVR"]
    used = sorted(t.item for s in inst.scores for t in s.terms)
    assert used == [it.id for it in inst.items]  # each item in exactly one index
    for it in inst.items:
        scale = inst.scale_of(it.id)
        assert scale.type == "ordinal" and scale.codes == [1, 2, 3, 4, 5], it.id
        assert len(scale.labels["en"]) == 5 and all(lab.strip() for lab in scale.labels["en"])
        assert it.text["en"].strip() and it.role == "scored" and not it.reverse
        index = next(s.id for s in inst.scores if it.id in s.item_ids)
        assert it.dimension == index.lower()


WVS7_CODES = {
    "Q8": [1, 2], "Q14": [1, 2], "Q15": [1, 2], "Q17": [1, 2], "Q45": [1, 2, 3],
    "Q46": [1, 2, 3, 4], "Q57": [1, 2], "Q154": [1, 2, 3, 4], "Q155": [1, 2, 3, 4],
    "Q164": list(range(1, 11)), "Q182": list(range(1, 11)), "Q184": list(range(1, 11)),
    "Q209": [1, 2, 3], "Q254": [1, 2, 3, 4],
}


def test_wvs7_is_complete():
    inst = load_instrument("wvs7")
    assert {it.id: inst.scale_of(it.id).codes for it in inst.items} == WVS7_CODES
    assert [it.id for it in inst.items if inst.scale_of(it.id).type == "nominal"] == [
        "Q8", "Q14", "Q15", "Q17", "Q154", "Q155"]
    for it in inst.items:
        labels = inst.scale_of(it.id).labels["en"]
        assert len(labels) == len(WVS7_CODES[it.id]) and all(lab.strip() for lab in labels)
        assert it.text["en"].strip()
        # nominal items only feed the indices; ordinal ones are scored (mean code)
        expected_role = "index_input" if inst.scale_of(it.id).type == "nominal" else "scored"
        assert it.role == expected_role, it.id
    assert {s.id for s in inst.scores} >= {"autonomy", "postmaterialism"}


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nitems: [\n  - a: b\n")
    with pytest.raises(WorkbenchError, match="not valid YAML at line"):
        load_instrument_file(path)


def test_unknown_instrument_suggests_close_names():
    with pytest.raises(WorkbenchError, match="did you mean 'mfq30'"):
        load_instrument("mfq3")


_scalar = st.one_of(st.none(), st.integers(-3, 9), st.text(max_size=8), st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_instrument_files_never_crash(tmp_path_factory, data):
    """Random edits to a valid file either validate or raise WorkbenchError, nothing else."""
    raw = _raw()
    for _ in range(data.draw(st.integers(1, 4))):
        target = data.draw(st.sampled_from(["top", "item", "scale", "score"]))
        if target == "top":
            key = data.draw(st.sampled_from(list(raw) + ["extra"]))
            raw[key] = data.draw(_scalar)
        elif target == "item" and isinstance(raw.get("items"), list) and raw["items"]:
            item = raw["items"][data.draw(st.integers(0, len(raw["items"]) - 1))]
            if isinstance(item, dict):
                item[data.draw(st.sampled_from(["id", "scale", "reverse", "text", "role"]))] = (
                    data.draw(_scalar))
        elif target == "scale" and isinstance(raw.get("scales"), dict):
            scale = raw["scales"].get("agree")
            if isinstance(scale, dict):
                scale[data.draw(st.sampled_from(["codes", "labels", "type"]))] = data.draw(
                    st.one_of(_scalar, st.lists(st.integers(0, 5), max_size=6)))
        elif isinstance(raw.get("scores"), list) and raw["scores"]:
            score = raw["scores"][0]
            if isinstance(score, dict):
                score[data.draw(st.sampled_from(["items", "method", "id"]))] = data.draw(
                    st.one_of(_scalar, st.lists(st.text(max_size=3), max_size=3)))
    path = tmp_path_factory.mktemp("fuzz") / "inst.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    try:
        inst = load_instrument_file(path)
    except WorkbenchError as exc:
        assert str(exc) and "\n" not in str(exc), str(exc)  # one line, as the CLI prints it
    else:
        assert isinstance(inst, Instrument)


# ---------------------------------------------------------------------- blocks and wvs7_full
def _with_blocks() -> dict:
    raw = _raw()
    raw["blocks"] = {"values": {"label": "Values"}, "votes": {"label": "Voting", "notes": "n"}}
    for it in raw["items"]:
        it["block"] = "votes" if it["id"] == "b1" else "values"
    return raw


def test_blocks_group_items_in_questionnaire_order(tmp_path):
    inst = load_instrument_file(_write(tmp_path, _with_blocks()))
    assert [it.id for it in inst.block_items("values")] == ["a1", "a2"]
    assert [it.id for it in inst.block_items(["votes", "values"])] == ["a1", "a2", "b1"]
    assert inst.blocks["votes"].notes == "n"
    with pytest.raises(WorkbenchError, match=r"no block\(s\) \['vote'\].*did you mean 'votes'"):
        inst.block_items("vote")
    with pytest.raises(WorkbenchError, match="defines no blocks"):
        load_instrument_file(FIXTURE).block_items("values")


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["items"][0].update(block="valuez"),
     "item 'a1' is in block 'valuez', which is not defined under 'blocks'"),
    (lambda r: r["blocks"].update(empty={"label": "Empty"}),
     r"block\(s\) \['empty'\] have no items"),
    (lambda r: r["blocks"]["values"].pop("label"), "required key 'label' is missing"),
    (lambda r: r["blocks"]["values"].update(title="x"), "unknown key 'title'"),
])
def test_malformed_blocks_fail_clearly(tmp_path, mutate, message):
    raw = _with_blocks()
    mutate(raw)
    with pytest.raises(WorkbenchError, match=message):
        load_instrument_file(_write(tmp_path, raw))


def test_wvs7_full_is_the_whole_value_battery():
    full = load_instrument("wvs7_full")
    assert len(full.items) > 200
    assert set(full.blocks) == {
        "social_values", "wellbeing", "social_capital", "economic", "corruption", "migration",
        "security", "postmaterialism", "science", "religion", "ethics",
        "political_participation", "political_culture"}
    assert all(it.block in full.blocks for it in full.items)
    assert sum(len(full.block_items(b)) for b in full.blocks) == len(full.items)
    numbers = [int(it.id[1:].rstrip("A")) for it in full.items]
    assert numbers == sorted(numbers) and max(numbers) < 260  # no demography (Q260 on)
    for it in full.items:  # batteries keep their stem; every item can be asked
        assert it.text["en"].strip() and "[" not in it.text["en"].replace("[nationality]", "")
        assert 2 <= len(full.scale_of(it.id).codes) <= 12, it.id
    follow = {it.id: it.follows.item for it in full.items if it.follows}
    assert follow == {"Q153": "Q152", "Q155": "Q154", "Q157": "Q156"}


def test_wvs7_is_a_named_subset_of_wvs7_full():
    """The 14 map items are the same items (text, codes, labels, stem, role) in both files, and
    wvs7's scores are defined on wvs7_full too, so scores and map positions agree."""
    small, full = load_instrument("wvs7"), load_instrument("wvs7_full")
    for it in small.items:
        other = full.item(it.id)
        assert other.model_dump(exclude={"block"}) == it.model_dump(exclude={"block"}), it.id
        assert full.scale_of(it.id) == small.scale_of(it.id)
        if it.instruction:
            assert full.instructions[it.instruction] == small.instructions[it.instruction]
    assert [s.model_dump() for s in full.scores] == [s.model_dump() for s in small.scores]
