"""Where the workbench finds its data files."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The ``data/`` folder; ``WORKBENCH_DATA_DIR`` overrides it (e.g. for a custom library)."""
    override = os.environ.get("WORKBENCH_DATA_DIR")
    return Path(override) if override else project_root() / "data"


def display_path(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None
                 ) -> str:
    """``path`` as a report or a message shows it: never an absolute machine path.

    Why: reports and CLI output are shared (pasted into papers, issues, CI logs), and an
    absolute path leaks the machine's layout and means nothing elsewhere. A relative path is
    kept as given; an absolute one is shown relative to ``base`` (default: the current
    directory) when it lies below it, as ``~/...`` when it lies in the home directory, and
    otherwise relative to ``base`` with ``..`` steps (as given when no relative form exists,
    e.g. another drive on Windows).

    >>> display_path("results")
    'results'
    """
    p = Path(path)
    if not p.is_absolute():
        return str(p)
    here = Path(base).resolve() if base is not None else Path.cwd()
    p = p.resolve()
    if p == here or here in p.parents:
        return str(p.relative_to(here)) if p != here else "."
    home = Path.home().resolve()
    if home != Path(home.anchor) and (p == home or home in p.parents):
        return str(Path("~") / p.relative_to(home))
    try:
        return os.path.relpath(p, here)
    except ValueError:
        return str(path)
