"""paths.display_path: what reports and messages show instead of an absolute machine path."""

from __future__ import annotations

from pathlib import Path

from workbench.paths import display_path


def test_relative_paths_are_kept_as_given():
    assert display_path("results") == "results"
    assert display_path(Path("../results")) == str(Path("../results"))


def test_absolute_paths_become_relative_or_home_relative(tmp_path, monkeypatch):
    home, work = tmp_path / "home" / "me", tmp_path / "work" / "proj"
    (home / "stores").mkdir(parents=True)
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    assert display_path(work / "reports" / "a.html") == str(Path("reports/a.html"))
    assert display_path(work) == "."
    assert display_path(home / "stores" / "s") == str(Path("~/stores/s"))
    assert display_path(tmp_path / "elsewhere") == str(Path("../../elsewhere"))
    assert display_path(home / "stores", base=home) == "stores"  # base wins over home
