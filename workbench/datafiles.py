"""Reading the project's YAML data files with one clear error per problem.

Why: instruments, validity thresholds and other data files are written by hand; a typo must
come back as one sentence that names the file, the place and the fix, not a parser or
pydantic traceback. Every reader of a schema-checked YAML file goes through these two
functions, so the wording is the same everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from workbench.errors import WorkbenchError


def read_mapping(path: Path, what: str, keys: str) -> dict[str, Any]:
    """The YAML mapping in ``path``; ``what`` names the file kind, ``keys`` its top keys."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise WorkbenchError(f"{what} '{path}' is not UTF-8 text: save it as UTF-8 "
                             f"({exc.reason})") from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise WorkbenchError(f"{what} '{path.name}' is not valid YAML{at}: fix the syntax "
                             f"({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(raw, dict):
        raise WorkbenchError(f"{what} '{path.name}' must hold a mapping with keys {keys}; got "
                             f"{type(raw).__name__}")
    return raw


def invalid(exc: ValidationError, what: str, path: Path, format_doc: str,
            hints: dict[str, str] | None = None) -> WorkbenchError:
    """One error for the first schema problem of ``exc`` (and how many more there are).

    ``hints`` maps an unknown key to a sentence that says where it belongs.
    """
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    key = first["loc"][-1] if first["loc"] else ""
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        msg = f"required key '{key}' is missing: add it (the format is in {format_doc})"
    elif first["type"] == "extra_forbidden":
        hint = (hints or {}).get(str(key), "")
        msg = (f"unknown key '{key}'{hint}: remove it or fix its spelling (the format is in "
               f"{format_doc})")
    more = exc.error_count() - 1
    return WorkbenchError(f"{what} '{path.name}' is invalid at {loc}: {msg}"
                          + (f" (and {more} more problem(s))" if more else ""))
