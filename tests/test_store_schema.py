"""The store's file format: tables, upgrade of older stores, and DuckDB's errors read right."""

from __future__ import annotations

import duckdb
import pytest

from workbench.errors import WorkbenchError
from workbench.store import ResultStore
from workbench.store_schema import (
    SCHEMA,
    SCHEMA_VERSION,
    busy_kind,
    schema_problem,
    upgrade,
)


def test_a_store_from_before_follow_up_items_is_read_and_upgraded(tmp_path):
    """Schema 1 had no ``given`` column: reading works as is, opening to write adds it."""
    old_schema = SCHEMA.replace(", given VARCHAR)", ")")
    assert old_schema != SCHEMA
    con = duckdb.connect(str(tmp_path / "results.duckdb"))
    con.execute(old_schema)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO requests (request_id, model, instrument, item_id, mode, status) "
                "VALUES ('r1', 'm', 'mfq30', 'q01', 'logprob', 'ok')")
    con.execute("INSERT INTO options VALUES ('r1', 0, 0, '1', 'a', -0.1, 0.9, 1), "
                "('r1', 1, 1, '2', 'b', -2.3, 0.1, 1)")
    con.close()
    old = ResultStore(tmp_path, read_only=True)
    assert old.distributions()["given"].eq("").all() and len(old.answers()) == 1
    upgraded = ResultStore(tmp_path)
    assert "given" in set(upgraded.requests().columns)
    assert upgraded.query("SELECT value FROM meta WHERE key = 'schema_version'")["value"].iloc[
        0] == str(SCHEMA_VERSION) == "2"
    assert upgraded.answers()["expected"].iloc[0] == pytest.approx(0.1)


def test_schema_problem_names_the_missing_table_or_columns():
    con = duckdb.connect()
    assert schema_problem(con) == "no table 'meta'"
    con.execute(SCHEMA)
    assert schema_problem(con) is None
    con.execute("ALTER TABLE options DROP COLUMN prob")
    assert schema_problem(con) == "table 'options' lacks column(s) prob"


def test_upgrade_leaves_a_foreign_duckdb_file_untouched(tmp_path):
    con = duckdb.connect(str(tmp_path / "other.duckdb"))
    con.execute("CREATE TABLE sales (id INTEGER)")
    with pytest.raises(WorkbenchError, match="not a workbench result store .no table 'meta'"):
        upgrade(con, tmp_path / "other.duckdb")
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
              .fetchall()}
    assert tables == {"sales"}


@pytest.mark.parametrize(("message", "kind"), [
    ('IO Error: Could not set lock on file "/x/results.duckdb": Conflicting lock is held in '
     "python (PID 7)", "process"),
    ("Connection Error: Can't open a connection to same database file with a different "
     "configuration than existing connections", "this process"),
    ("IO Error: Could not read enough bytes from file /data/blocks/results.duckdb", None),
])
def test_a_lock_is_told_from_corruption_by_duckdbs_wording(message, kind):
    error = duckdb.IOException(message) if message.startswith("IO") else duckdb.Error(message)
    assert busy_kind(error) == kind
