"""Finding and reading instrument files: the shipped library under ``data/instruments`` and
any file by path, validated against the schema in :mod:`workbench.instruments` with one clear
error per problem, and cached by id.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from workbench.datafiles import invalid, read_mapping
from workbench.errors import WorkbenchError
from workbench.instruments import Instrument, suggest
from workbench.paths import data_dir


def instruments_dir() -> Path:
    return data_dir() / "instruments"


def available_instruments() -> list[str]:
    """Ids of the instruments shipped under ``data/instruments``."""
    return sorted(p.stem for p in instruments_dir().glob("*.yaml"))


def load_instrument_file(path: str | Path) -> Instrument:
    """Load and validate one instrument file, turning schema errors into one clear message."""
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"instrument file '{path}' does not exist: check the path")
    raw = read_mapping(path, "instrument file", "id, name, items, ...")
    try:
        return Instrument.model_validate(raw)
    except ValidationError as exc:
        raise invalid(exc, "instrument file", path, "data/instruments/README.md", _KEY_HINTS
                      ) from exc


#: Where an unknown key that people often write belongs instead.
_KEY_HINTS = {"reverse": " (reverse keying belongs to an item: write `reverse: true` on that "
                         "item)"}


_CACHE: dict[str, Instrument] = {}


def load_instrument(name_or_path: str | Path) -> Instrument:
    """Load a shipped instrument by id (``mfq30``) or any instrument file by path."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text:
        return load_instrument_file(text)
    if text not in _CACHE:
        path = instruments_dir() / f"{text}.yaml"
        if not path.is_file():
            known = available_instruments()
            raise WorkbenchError(
                f"unknown instrument '{text}'" + suggest(text, known)
                + f"; shipped instruments: {', '.join(known)}"
            )
        _CACHE[text] = load_instrument_file(path)
    return _CACHE[text]
