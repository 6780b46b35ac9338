"""Which wordings exist in which language, and which of them are official.

Why: a language effect measured with a wording produced here may be a translation effect
(issue 20), so every comparison across languages must say, beside its numbers, whether each
instrument's item wording is the authors' own (``official: true`` under ``languages`` in
the instrument file; a missing mark counts as unofficial, ``data/instruments/
TRANSLATIONS.md``) and that the prompt frame (``data/prompts/<template>.yaml``) and the
persona texts (``data/personas/personas.yaml``) are the workbench's own wording in every
language. Everything here is read from those files; nothing is hard-coded.

* :func:`instrument_languages` - one row per (instrument, language) with its status;
* :func:`frame_languages` - one row per (prompt template / persona file, language);
* :func:`wording_note` - the sentence a report puts beside a language's numbers, and
  :func:`comparison_note` its short form for a table column;
* :func:`languages_markdown` - the instruments x languages table of the README
  (``workbench instruments --languages``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import yaml

from workbench.errors import WorkbenchError
from workbench.instrument_files import available_instruments, load_instrument
from workbench.paths import data_dir

OFFICIAL = "official"
UNOFFICIAL = "unofficial"
UNMARKED = "unmarked (treated as unofficial)"
WRITTEN_HERE = "written here (not official)"
LANGUAGE_COLUMNS = ["instrument", "name", "language", "official", "status", "source", "forms"]
FRAME_COLUMNS = ["text", "file", "language", "status", "source"]
_MARKS = {OFFICIAL: "official", UNOFFICIAL: "**unofficial**", UNMARKED: "**unmarked**"}


def _status(official: bool | None) -> str:
    return {True: OFFICIAL, False: UNOFFICIAL}.get(official, UNMARKED)


def instrument_languages(instruments: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (instrument, language): ``instrument, name, language, official, status,
    source, forms``.

    ``official`` is the file's mark (None when unset); ``status`` is ``official``,
    ``unofficial`` or ``unmarked (treated as unofficial)``; ``forms`` lists the wording forms
    (e.g. ESS male/female portraits) with their own official marks.
    """
    rows = []
    for inst_id in instruments if instruments is not None else available_instruments():
        inst = load_instrument(inst_id)
        forms = ""
        if inst.forms is not None:
            forms = ", ".join(f"{name} ({_status(f.official)})"
                              for name, f in inst.forms.forms.items())
        for lang, info in inst.languages.items():
            rows.append({"instrument": inst.id, "name": inst.name, "language": lang,
                         "official": info.official, "status": _status(info.official),
                         "source": info.source, "forms": forms})
    return pd.DataFrame(rows, columns=LANGUAGE_COLUMNS)


def _sources(path_parts: tuple[str, str], what: str) -> dict[str, str]:
    path = data_dir().joinpath(*path_parts)
    if not path.is_file():
        raise WorkbenchError(f"{what} file '{path}' is missing: restore data/")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sources = raw.get("language_sources")
    if not isinstance(sources, dict) or not sources:
        raise WorkbenchError(f"{what} file '{path}' has no language_sources: add one source "
                             "per language (e.g. en: original wording by ...)")
    return {str(k): str(v) for k, v in sources.items()}


def frame_languages(template: str = "default") -> pd.DataFrame:
    """One row per language of the prompt template and of the persona texts: ``text, file,
    language, status, source``. Both are the workbench's own wording, so ``status`` is always
    ``written here (not official)``."""
    rows = []
    for text, parts in ((f"prompt frame '{template}'", ("prompts", f"{template}.yaml")),
                        ("persona texts", ("personas", "personas.yaml"))):
        for lang, source in _sources(parts, text).items():
            rows.append({"text": text, "file": "data/" + "/".join(parts), "language": lang,
                         "status": WRITTEN_HERE, "source": source})
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def wording_note(instrument: str, language: str, personas: bool = False,
                 paraphrases: bool = False, template: str = "default",
                 detail: bool = True) -> str:
    """What a report says beside the numbers of ``instrument`` asked in ``language``.

    Items: official or not; paraphrased items (when ``paraphrases``), the prompt frame and
    the persona texts (when ``personas``) are always marked as written here. ``detail`` adds
    each file's source in brackets (for notes; without it, short enough for a table cell).

    >>> wording_note("mfq2", "es", detail=False)
    "items: official; prompt frame 'default': written here (not official)"
    """
    inst = load_instrument(instrument)
    info = inst.languages.get(language)
    if info is None:
        raise WorkbenchError(f"instrument '{instrument}' has no '{language}' version (has: "
                             f"{', '.join(inst.languages)})")

    def part(what: str, status: str, source: str) -> str:
        return f"{what}: {status} ({source})" if detail else f"{what}: {status}"

    parts = [part("items", _status(info.official), info.source)]
    if paraphrases:
        parts.append(part("paraphrased items", WRITTEN_HERE,
                          inst.paraphrase_source or "no source listed"))
    frames = frame_languages(template)
    if not personas:
        frames = frames[frames["text"] != "persona texts"]
    for text, sub in frames.groupby("text", sort=False):
        hit = sub[sub["language"] == language]
        source = hit["source"].iloc[0] if not hit.empty else f"no '{language}' source listed"
        parts.append(part(text, WRITTEN_HERE, source))
    return "; ".join(parts)


def comparison_note(instrument: str, languages: Sequence[str], personas: bool = False,
                    paraphrases: bool = False) -> str:
    """A short table cell for numbers that compare ``languages`` of one instrument: the item
    wording's status per language, and that the prompt frame (and persona texts, and
    paraphrases, when used) are the workbench's own wording.

    >>> comparison_note("mfq2", ["en", "es"])
    'items: en official, es official; prompt frame written here (not official)'
    """
    inst = load_instrument(instrument)
    status = []
    for lang in languages:
        info = inst.languages.get(lang)
        status.append(f"{lang} {_status(info.official) if info else 'absent'}")
    own = ["prompt frame", *(["persona texts"] if personas else []),
           *(["paraphrases"] if paraphrases else [])]
    frame = (", ".join(own[:-1]) + " and " + own[-1]) if len(own) > 1 else own[0]
    return f"items: {', '.join(status)}; {frame} {WRITTEN_HERE}"


def languages_markdown(instruments: Sequence[str] | None = None,
                       template: str = "default") -> str:
    """The README table: instruments (rows) x languages (columns), each cell ``official``,
    ``**unofficial**``, ``**unmarked**`` or ``-`` (no version), then the prompt frame and
    persona texts (``written here``) and the item wording forms."""
    langs = instrument_languages(instruments)
    frames = frame_languages(template)
    every = list(dict.fromkeys(["en", *sorted(set(langs["language"]) | set(frames["language"]))]))
    head = ["instrument", *every, "forms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for inst_id, sub in langs.groupby("instrument", sort=False):
        status = dict(zip(sub["language"], sub["status"], strict=True))
        cells = [_MARKS[status[lang]] if lang in status else "-" for lang in every]
        name = f"`{inst_id}` {sub['name'].iloc[0]}"
        lines.append("| " + " | ".join([name, *cells, sub["forms"].iloc[0] or "-"]) + " |")
    for text, sub in frames.groupby("text", sort=False):
        have = set(sub["language"])
        cells = ["written here" if lang in have else "-" for lang in every]
        lines.append("| " + " | ".join([f"{text} (`{sub['file'].iloc[0]}`)", *cells, "-"])
                     + " |")
    return "\n".join(lines) + "\n"


__all__ = ["comparison_note", "frame_languages", "instrument_languages", "languages_markdown",
           "wording_note"]
