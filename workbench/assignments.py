"""``NAME=VALUE`` command-line assignments with YAML values (report parameters, backend options)."""

from __future__ import annotations

from collections.abc import Iterable

from workbench.errors import WorkbenchError


def parse_assignments(items: Iterable[object], malformed: str, unparseable: str
                      ) -> dict[str, object]:
    """``["n_boot=500", "countries=[USA, JPN]"]`` -> ``{"n_boot": 500, ...}`` (YAML values).

    Why one parser: ``-p`` and ``--backend-option`` take the same syntax, so they must accept
    and refuse the same strings. ``malformed`` is the error for an item without ``=`` or with a
    name that is not an identifier (formatted with ``item``); ``unparseable`` the error for a
    value YAML cannot read (formatted with ``name``, ``raw`` as repr and ``first``, the first
    line of YAML's complaint). An empty value is the empty string.
    """
    import yaml

    out: dict[str, object] = {}
    for item in items:
        name, sep, raw = str(item).partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise WorkbenchError(malformed.format(item=item))
        try:
            out[name] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0]
            raise WorkbenchError(unparseable.format(name=name, raw=repr(raw), first=first)
                                 ) from exc
    return out
