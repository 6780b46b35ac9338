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
