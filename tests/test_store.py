"""Result store: round trip, no duplicates, atomic batches, exports, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.fakes import FirstPositionBackend
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.probe import run_probe
from workbench.store import AnswerRecord, ResultStore

MINI = str(Path(__file__).parent / "fixtures" / "mini.yaml")


def _run(tmp_path, **kw):
    d = Design(models=["fake"], instruments=[MINI], **kw)
    return run_probe(d, tmp_path, backends={"fake": FirstPositionBackend()}, progress=False)


def test_round_trip_keeps_every_factor_and_distribution(tmp_path):
    _run(tmp_path, orders=["original", "reversed"])
    store = ResultStore(tmp_path, read_only=True)
    req = store.requests()
    assert len(req) == 6
    for col in ["model", "instrument", "item_id", "persona", "language", "order", "paraphrase",
                "answer_format", "instruction", "mode", "repeat", "prompt", "model_fingerprint",
                "template_version", "package_version", "created_at", "backend"]:
        assert req[col].notna().all(), col
    dists = store.distributions()
    sums = dists.groupby("request_id")["prob"].sum()
    assert ((sums - 1).abs() < 1e-12).all()
    assert set(dists.columns) >= {"request_id", "code", "position", "prob", "logprob"}


def test_writes_skip_existing_requests(tmp_path):
    result = _run(tmp_path)
    store = result.store
    before = store.count()
    rows = store.requests()
    opts = store.distributions()
    rec = AnswerRecord(rows.iloc[0].to_dict(),
                       opts[opts.request_id == rows.request_id.iloc[0]][
                           ["request_id", "code", "position", "key", "label", "logprob",
                            "prob"]].to_dict("records"))
    store.write([rec])
    assert store.count() == before
    assert store.query("SELECT COUNT(*) AS n FROM options")["n"].iloc[0] == len(opts)


def test_a_failing_batch_is_not_visible(tmp_path):
    result = _run(tmp_path)
    store = result.store
    before = store.count()
    good = store.requests().iloc[0].to_dict()
    good["request_id"] = "new-one"
    bad_options = [{"request_id": "new-one", "code": 1, "position": 0, "key": "1",
                    "label": "x", "logprob": 0.0, "prob": 1.0, "n_tokens": "not-a-number"}]
    with pytest.raises(duckdb.Error):
        store.write([AnswerRecord(good, bad_options)])
    assert store.count() == before
    assert "new-one" not in store.existing(["new-one"])


def test_export_parquet_and_csv(tmp_path):
    _run(tmp_path)
    store = ResultStore(tmp_path, read_only=True)
    for fmt in ("parquet", "csv"):
        paths = store.export(tmp_path / f"exp-{fmt}", fmt)
        reader = pd.read_parquet if fmt == "parquet" else pd.read_csv
        assert len(reader(paths[0])) == store.count()


def test_corrupted_database_gives_a_clear_error(tmp_path):
    (tmp_path / "results.duckdb").write_bytes(b"this is not a database" * 100)
    with pytest.raises(WorkbenchError, match="cannot be opened.*Move it aside"):
        ResultStore(tmp_path)


def test_missing_results_for_reading(tmp_path):
    with pytest.raises(WorkbenchError, match="no results in"):
        ResultStore(tmp_path / "nothing", read_only=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o500)
    with pytest.raises(WorkbenchError, match="not writable"):
        ResultStore(target)


def test_unwritable_path_under_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WorkbenchError, match="cannot create results directory"):
        ResultStore(blocker / "sub")
