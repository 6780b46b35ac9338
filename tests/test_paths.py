"""workbench.paths: cache location, file hashes (a weights file's identity) and display_path
(what reports and messages show instead of an absolute machine path)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from workbench.paths import cache_dir, cached_sha256, display_path, sha256_file


def test_sha256_of_a_file_read_in_chunks(tmp_path):
    data = os.urandom(3000)
    path = tmp_path / "w.bin"
    path.write_bytes(data)
    assert sha256_file(path, chunk=1024) == hashlib.sha256(data).hexdigest()


def test_the_cached_hash_follows_a_changed_file(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"first")
    assert cached_sha256(path) == hashlib.sha256(b"first").hexdigest()
    path.write_bytes(b"second, longer")  # another size: never the stale hash
    assert cached_sha256(path) == hashlib.sha256(b"second, longer").hexdigest()


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()



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
