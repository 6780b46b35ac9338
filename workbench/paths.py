"""Where the workbench finds its data files and keeps its caches, and what a file holds (hash)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The ``data/`` folder; ``WORKBENCH_DATA_DIR`` overrides it (e.g. for a custom library)."""
    override = os.environ.get("WORKBENCH_DATA_DIR")
    return Path(override) if override else project_root() / "data"


def cache_dir() -> Path:
    """Where assembled GGUF files and converted weights are kept (``WORKBENCH_CACHE``)."""
    base = os.environ.get("WORKBENCH_CACHE") or Path.home() / ".cache" / "workbench"
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (weights files are gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


_HASHES: dict[tuple[str, float, int], str] = {}


def cached_sha256(path: Path) -> str:
    """:func:`sha256_file`, computed once per process for an unchanged file (same path, mtime
    and size): a weights file is hashed for the model's identity and again when it loads."""
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _HASHES:
        _HASHES[key] = sha256_file(path)
    return _HASHES[key]


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
