"""Instrument files: shipped ones validate; malformed ones fail with one clear message."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.errors import WorkbenchError
from workbench.instruments import (
    Instrument,
    available_instruments,
    load_instrument,
    load_instrument_file,
)

FIXTURE = Path(__file__).parent / "fixtures" / "mini.yaml"


def _raw() -> dict:
    return yaml.safe_load(FIXTURE.read_text())


def _write(tmp_path, raw) -> Path:
    path = tmp_path / "inst.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def test_fixture_loads():
    inst = load_instrument_file(FIXTURE)
    assert [i.id for i in inst.items] == ["a1", "a2", "b1"]
    assert inst.constant_params == {"C_lin": 0.0}
    assert inst.n_paraphrases("en") == 2


@pytest.mark.parametrize("name", ["mfq30", "mfq2", "wvs7", "vsm2013"])
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


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.pop("scales"), "scales"),
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
        assert str(exc)
    else:
        assert isinstance(inst, Instrument)
