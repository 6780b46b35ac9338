"""Checking the values of design keys as YAML gives them, with one error that shows what to write.

Why a module of its own: a design file is written by hand, and YAML turns ``0, 1`` into a
string and ``[0]`` into a list; every key gets the same coercion and the same kind of error
("design key 'paraphrases' must be a list of integers ..., got ...: write paraphrases: [0, 1]").
"""

from __future__ import annotations

from workbench.errors import WorkbenchError


def kind(value: object) -> str:
    """A value's YAML kind in words (for error messages)."""
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "an integer", float: "a number", list: "a list",
            dict: "a mapping", type(None): "nothing"}.get(type(value), type(value).__name__)


def wrong(name: str, want: str, value: object, example: str) -> WorkbenchError:
    """The error for design key ``name`` holding ``value`` instead of ``want``."""
    return WorkbenchError(f"design key '{name}' must be {want}, got {value!r} "
                          f"({kind(value)}): write {name}: {example}")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def str_list(name: str, value: object) -> list[str]:
    """A list of strings; a comma-separated string is split (as the CLI's flags give it)."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        shown = value if isinstance(value, list | tuple) else [value]
        raise wrong(name, "a list of strings", value,
                    "[" + ", ".join(f"'{v}'" for v in shown) + "]")
    return list(value)


def int_list(name: str, value: object) -> list[int]:
    """A list of integers (paraphrase indices); a comma-separated string or one int works."""
    if isinstance(value, str):
        pieces = [v.strip() for v in value.split(",") if v.strip()]
        if not all(v.lstrip("-").isdigit() for v in pieces):
            raise wrong(name, "a list of integers (0 = original wording)", value, "[0, 1]")
        value = [int(v) for v in pieces]
    elif is_int(value):
        value = [value]
    if not isinstance(value, list | tuple) or not all(is_int(v) for v in value):
        raise wrong(name, "a list of integers (0 = original wording)", value, "[0, 1]")
    return list(value)
