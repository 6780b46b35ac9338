"""Cache location and file hashes (a weights file's identity)."""

from __future__ import annotations

import hashlib
import os

from workbench.paths import cache_dir, cached_sha256, sha256_file


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
