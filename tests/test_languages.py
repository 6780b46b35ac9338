"""Which wordings exist in which language and which are official: the status table, the notes
reports put beside numbers, and the README table (docs/languages.md) generated from the files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.instrument_files import available_instruments, load_instrument
from workbench.languages import (
    OFFICIAL,
    UNMARKED,
    UNOFFICIAL,
    WRITTEN_HERE,
    comparison_note,
    frame_languages,
    instrument_languages,
    languages_markdown,
    wording_note,
)
from workbench.paths import data_dir

DOC = Path(__file__).parents[1] / "docs" / "languages.md"


def _variant(tmp_path, marks: dict[str, bool | None]) -> str:
    """A copy of mfq2.yaml with its languages' official marks replaced (None: no mark)."""
    raw = yaml.safe_load((data_dir() / "instruments" / "mfq2.yaml").read_text("utf-8"))
    raw["id"] = "mfq2_marks"
    for lang, mark in marks.items():
        raw["languages"][lang].pop("official", None)
        if mark is not None:
            raw["languages"][lang]["official"] = mark
    path = tmp_path / "mfq2_marks.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_every_shipped_language_has_a_source_and_a_status():
    table = instrument_languages()
    assert set(table["instrument"]) == set(available_instruments())
    assert table["source"].str.len().gt(10).all()
    assert set(table["status"]) <= {OFFICIAL, UNOFFICIAL, UNMARKED}
    for inst_id, sub in table.groupby("instrument"):
        assert list(sub["language"]) == list(load_instrument(inst_id).languages)
    mfq2 = table[table["instrument"] == "mfq2"].set_index("language")
    assert mfq2.loc["es", "status"] == OFFICIAL and "OSF" in mfq2.loc["es", "source"]
    pvq = table[table["instrument"] == "pvq21"]
    assert pvq["forms"].iloc[0] == "male (official), female (official)"


def test_unofficial_and_unmarked_wordings_are_marked(tmp_path):
    path = _variant(tmp_path, {"en": True, "es": False})
    table = instrument_languages([path]).set_index("language")
    assert table.loc["es", "status"] == UNOFFICIAL
    assert list(table["official"]) == [True, False]
    assert comparison_note(path, ["en", "es"]) == (
        f"items: en official, es unofficial; prompt frame {WRITTEN_HERE}")
    assert "| `mfq2_marks`" in languages_markdown([path])
    assert "| official | **unofficial** |" in languages_markdown([path])
    unmarked = _variant(tmp_path, {"es": None})
    assert instrument_languages([unmarked]).set_index("language").loc["es", "status"] == UNMARKED
    assert "| official | **unmarked** |" in languages_markdown([unmarked])
    assert wording_note(unmarked, "es", detail=False).startswith(f"items: {UNMARKED};")


def test_prompt_frame_and_persona_texts_are_always_written_here():
    frames = frame_languages()
    assert set(frames["status"]) == {WRITTEN_HERE}
    assert set(frames["text"]) == {"prompt frame 'default'", "persona texts"}
    es = frames[frames["language"] == "es"].set_index("text")
    assert "translated by the workbench developers" in es.loc["prompt frame 'default'", "source"]
    note = wording_note("mfq2", "es", personas=True, paraphrases=True)
    assert note.startswith("items: official (official Spanish translation")
    assert f"paraphrased items: {WRITTEN_HERE} (hand-written paraphrases" in note
    assert f"persona texts: {WRITTEN_HERE} (translated by the workbench developers" in note
    assert "persona texts" not in wording_note("mfq2", "es")
    assert comparison_note("mfq2", ["en", "es"], personas=True, paraphrases=True) == (
        "items: en official, es official; prompt frame, persona texts and paraphrases "
        f"{WRITTEN_HERE}")
    with pytest.raises(WorkbenchError, match="has no 'fr' version"):
        wording_note("mfq2", "fr")


def test_a_frame_file_without_language_sources_is_a_clear_error(tmp_path, monkeypatch):
    shutil.copytree(data_dir() / "personas", tmp_path / "personas")
    raw = yaml.safe_load((data_dir() / "prompts" / "default.yaml").read_text("utf-8"))
    raw.pop("language_sources")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "default.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    with pytest.raises(WorkbenchError, match="has no language_sources"):
        frame_languages()


def test_the_cli_prints_the_table_and_the_readme_text_holds_it(capsys):
    assert main(["instruments", "--languages"]) == 0
    printed = capsys.readouterr().out
    assert printed == languages_markdown()
    assert printed.splitlines()[0] == "| instrument | en | es | forms |"
    # docs/languages.md (folded into the README) quotes the generated table verbatim
    assert languages_markdown() in DOC.read_text(encoding="utf-8")
