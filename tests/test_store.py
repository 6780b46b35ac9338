"""Result store: round trip, no duplicates, atomic batches, exports, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
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
    assert set(req["order"]) == {"original", "reversed"} and set(req["model"]) == {"fake"}
    assert set(req["model_fingerprint"]) == {"synthetic-first-position-0.7"}
    dists = store.distributions()
    sums = dists.groupby("request_id")["prob"].sum()
    assert ((sums - 1).abs() < 1e-12).all()
    # FirstPositionBackend: 0.7 on the first presented option, whatever its code
    first = dists[dists["position"] == 0]
    assert len(first) == 6 and (first["prob"] - 0.7).abs().max() < 1e-12


# Known values for every column (unicode, quotes, commas and newlines test the CSV export).
REQUEST = {
    "request_id": "req-1", "run_id": "run-1", "model": "m-ü", "model_id": "org/m",
    "model_fingerprint": "sha256:abc", "backend": "transformers", "dtype": "bfloat16",
    "chat_template_hash": "0123456789abcdef", "instrument": "mfq30", "item_id": "q01",
    "persona": "country:DEU", "persona_text": 'Du bist "typisch", aus Köln,\nja.',
    "language": "de", "order": "perm2", "paraphrase": 2, "answer_format": "lettered",
    "instruction": "unforced", "mode": "generate", "repeat": 3, "temperature": 0.7,
    "seed": 2**40 + 7, "template_version": "t-4",
    "prompt": json.dumps([{"role": "user", "content": "Wie wichtig?\n1. sehr"}]),
    "assistant_prefix": "Antwort:", "generated_text": "B, weil \"ja\"\nund so",
    "answer_code": 4, "answer_position": 1, "status": "ok", "parse_method": "key",
    "package_version": "9.9.9", "created_at": datetime(2024, 5, 6, 7, 8, 9, 123456),
    "elapsed_ms": 12.5, "given": "",
}
OPTIONS = [
    {"request_id": "req-1", "code": 5, "position": 0, "key": "A", "label": "sehr, wirklich",
     "logprob": None, "prob": 0.0, "n_tokens": None},
    {"request_id": "req-1", "code": 4, "position": 1, "key": "B", "label": 'etwas "so"',
     "logprob": -0.25, "prob": 1.0, "n_tokens": 2},
]


def _same(actual, expected, column: str) -> None:
    if expected is None:
        assert actual is None or pd.isna(actual), column
    elif isinstance(expected, datetime):
        assert pd.Timestamp(actual) == pd.Timestamp(expected), column
    elif isinstance(expected, float):
        assert float(actual) == pytest.approx(expected, abs=1e-12), column
    elif isinstance(expected, int):
        assert int(actual) == expected, column
    elif column == "given" and expected == "":
        assert actual == "" or pd.isna(actual), column  # CSV cannot tell "" from null
    else:
        assert str(actual) == expected, column


def _check_frames(requests: pd.DataFrame, options: pd.DataFrame) -> None:
    assert len(requests) == 1
    row = requests.iloc[0]
    for column, expected in REQUEST.items():
        _same(row[column], expected, column)
    options = options.sort_values("position").reset_index(drop=True)
    assert len(options) == len(OPTIONS)
    for got, expected in zip(options.to_dict("records"), OPTIONS, strict=True):
        for column, value in expected.items():
            _same(got[column], value, column)


def test_known_records_round_trip_field_by_field_and_through_exports(tmp_path):
    store = ResultStore(tmp_path / "res")
    columns = set(store.query("SELECT * FROM requests LIMIT 0").columns)
    assert columns == set(REQUEST), "the test record must cover every column"
    assert store.write([AnswerRecord(dict(REQUEST), [dict(o) for o in OPTIONS])]) == 1
    _check_frames(store.requests(), store.query("SELECT * FROM options"))
    dists = store.distributions()
    assert list(dists["code"]) == [4, 5] and list(dists["prob"]) == [1.0, 0.0]
    assert list(dists["label"]) == ['etwas "so"', "sehr, wirklich"]
    for fmt, reader in (("parquet", pd.read_parquet), ("csv", pd.read_csv)):
        written = store.export(tmp_path / f"exp-{fmt}", fmt)
        assert [p.name for p in written] == [f"requests.{fmt}", f"options.{fmt}"]
        _check_frames(reader(written[0]), reader(written[1]))


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


@pytest.mark.parametrize("read_only", [False, True])
def test_garbage_in_a_folder_named_like_a_lock_fails_fast_not_as_locked(tmp_path, read_only):
    """The path is in DuckDB's message: "blocks" must not read as a lock held elsewhere."""
    folder = tmp_path / "blocks"
    folder.mkdir()
    (folder / "results.duckdb").write_bytes(b"\x00garbage\xff" * 5000)
    t0 = time.monotonic()
    with pytest.raises(WorkbenchError, match="cannot be opened.*corrupted") as info:
        ResultStore(folder, read_only=read_only, lock_timeout=30).count()
    assert time.monotonic() - t0 < 5
    assert "in use by another process" not in str(info.value)


def test_a_corrupted_block_gives_the_corruption_message(tmp_path):
    _run(tmp_path)
    path = tmp_path / "results.duckdb"
    data = bytearray(path.read_bytes())
    data[12288:12288 + 4096] = os.urandom(4096)  # the first data block (after the headers)
    path.write_bytes(bytes(data))
    t0 = time.monotonic()
    with pytest.raises(WorkbenchError, match=r"cannot be opened \(.*(checksum|Corrupt).*"
                                             r"Move it aside"):
        ResultStore(tmp_path, read_only=True).requests()
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("read_only", [False, True])
def test_a_duckdb_file_without_our_tables_is_named_as_such(tmp_path, read_only):
    con = duckdb.connect(str(tmp_path / "results.duckdb"))
    con.execute("CREATE TABLE measurements (x INTEGER)")
    con.close()
    with pytest.raises(WorkbenchError, match="not a workbench result store"):
        ResultStore(tmp_path, read_only=read_only).count()
    con = duckdb.connect(str(tmp_path / "results.duckdb"), read_only=True)
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    con.close()
    assert tables == {"measurements"}  # someone else's file is left as it was


def test_an_empty_duckdb_file_read_only_is_not_a_store(tmp_path):
    duckdb.connect(str(tmp_path / "results.duckdb")).close()
    with pytest.raises(WorkbenchError, match=r"not a workbench result store \(no table"):
        ResultStore(tmp_path, read_only=True).distributions()


def test_a_foreign_requests_table_is_refused(tmp_path):
    con = duckdb.connect(str(tmp_path / "results.duckdb"))
    con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
    con.execute("CREATE TABLE requests (id INTEGER)")
    con.close()
    with pytest.raises(WorkbenchError, match="table 'requests' lacks column"):
        ResultStore(tmp_path)


def test_bugs_in_queries_keep_their_duckdb_error(tmp_path):
    store = ResultStore(tmp_path)
    with pytest.raises(duckdb.CatalogException):
        store.query("SELECT * FROM no_such_table")


def test_fingerprints_for_a_model_name(tmp_path):
    store = ResultStore(tmp_path)
    assert store.fingerprints_for("fake") == set()
    _run(tmp_path)
    assert store.fingerprints_for("fake") == {"synthetic-first-position-0.7"}
    row = store.requests().iloc[0].to_dict()
    row.update(request_id="other-weights", model_fingerprint="sha256:retrained")
    store.write([AnswerRecord(row, [])])
    assert store.fingerprints_for("fake") == {"synthetic-first-position-0.7",
                                              "sha256:retrained"}
    assert store.fingerprints_for("absent") == set()
    with store.snapshot() as snap:
        assert snap.fingerprints_for("fake") == store.fingerprints_for("fake")


def test_snapshot_reads_one_state_while_a_writer_commits(tmp_path):
    _run(tmp_path)
    store = ResultStore(tmp_path)
    extra = store.requests().iloc[0].to_dict()
    extra.update(request_id="written-meanwhile")
    options = [{"request_id": "written-meanwhile", "code": 1, "position": 0, "key": "1",
                "label": "x", "logprob": 0.0, "prob": 1.0, "n_tokens": 1}]
    with store.snapshot() as snap:
        before = snap.count()
        ids = set(snap.requests()["request_id"])
        n_options = snap.query("SELECT COUNT(*) AS n FROM options")["n"].iloc[0]
        store.write([AnswerRecord(extra, options)])  # commits now, in another connection
        assert store.count() == before + 1  # visible outside the snapshot ...
        assert snap.count() == before  # ... but not inside it
        assert set(snap.requests()["request_id"]) == ids
        assert set(snap.distributions()["request_id"]) == ids
        assert set(snap.answers()["request_id"]) == ids
        assert int(snap.provenance()["n_requests"].sum()) == before
        assert snap.query("SELECT COUNT(*) AS n FROM options")["n"].iloc[0] == n_options
        with pytest.raises(WorkbenchError, match="read-only"):
            snap.write([AnswerRecord(extra, options)])
    with store.snapshot() as snap:
        assert snap.count() == before + 1
        assert "written-meanwhile" in set(snap.distributions()["request_id"])


def test_a_read_only_snapshot_keeps_other_processes_from_writing(tmp_path):
    _run(tmp_path)
    writer = [sys.executable, "-c",
              "import sys; from workbench.store import ResultStore; "
              "from workbench.errors import WorkbenchError\n"
              "try:\n    ResultStore(sys.argv[1], lock_timeout=1).start_run({})\n"
              "except WorkbenchError as e:\n    print(e)", str(tmp_path)]
    with ResultStore(tmp_path, read_only=True).snapshot() as snap:
        n = snap.count()
        blocked = subprocess.run(writer, capture_output=True, text=True, timeout=60)
        assert "in use by another process" in blocked.stdout, blocked.stderr
        assert snap.count() == n
    done = subprocess.run(writer, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stdout, done.stdout + done.stderr


def test_credentials_are_never_stored(tmp_path):
    store = ResultStore(tmp_path)
    design = {"models": ["openai:m@http://alice:hunter2-pw@10.0.0.1:8000/v1", "local-model"],
              "instruments": ["mfq30"], "nested": {"url": "https://bob:hunter2-pw@x.org/v1"}}
    command = ("workbench probe --model openai:m@http://alice:hunter2-pw@10.0.0.1:8000/v1 "
               "--api-key hunter2-key --token=hunter2-tok --backend-option "
               "api_key_env=MY_KEY --max-new-tokens 5")
    store.start_run(design, command)
    row = store.query("SELECT design, command FROM runs").iloc[0]
    stored = json.loads(row["design"])
    assert stored["models"] == ["openai:m@http://10.0.0.1:8000/v1", "local-model"]
    assert stored["nested"]["url"] == "https://x.org/v1"
    assert row["command"] == ("workbench probe --model openai:m@http://10.0.0.1:8000/v1 "
                              "--api-key *** --token=*** --backend-option api_key_env=MY_KEY "
                              "--max-new-tokens 5")
    assert b"hunter2" not in (tmp_path / "results.duckdb").read_bytes()


def test_export_into_a_path_under_a_file_is_a_clear_error(tmp_path):
    _run(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(WorkbenchError, match="cannot create export folder"):
        ResultStore(tmp_path, read_only=True).export(blocker / "sub", "csv")


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


@pytest.fixture
def python_ctrl_c():
    """Python's own Ctrl-C handler for one test, also when the suite runs in a job that
    inherited SIGINT as ignored (`nohup ... &`); the handler before is restored after."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_inside_a_connection_is_held_until_it_closes(tmp_path, python_ctrl_c):
    """A KeyboardInterrupt raised inside DuckDB's callbacks into Python would come back as a
    duckdb.Error or be lost: Ctrl-C is held while a connection is in use, then raised."""
    import signal

    store = ResultStore(tmp_path)
    steps = []
    with pytest.raises(KeyboardInterrupt), store.connect() as con:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler has run by now: the signal is held, not raised
        con.execute("CREATE TABLE later AS SELECT 1 AS x")
        steps.append("statement ran")
    assert steps == ["statement ran"]
    assert store.query("SELECT x FROM later")["x"].tolist() == [1]
    # the previous handler is back: a Ctrl-C outside the store raises at once
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)


def test_an_ignored_ctrl_c_stays_ignored(tmp_path):
    """A run started with SIGINT ignored (`nohup workbench probe ... &`) keeps ignoring it:
    the store neither raises a held interrupt nor leaves its own handler behind."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        store = ResultStore(tmp_path)
        with store.connect() as con:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            con.execute("CREATE TABLE later AS SELECT 1 AS x")
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert store.query("SELECT x FROM later")["x"].tolist() == [1]
    finally:
        signal.signal(signal.SIGINT, before)
