"""What a result store's DuckDB file holds, and what DuckDB's errors about it mean.

Why apart from :mod:`workbench.store`: the tables, the schema version and the upgrade of an
older store are the file format (the contract with stores written by earlier versions), and
telling a locked, corrupted or foreign file from a bug is about that format, not about how
answers are written or read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb

from workbench.errors import WorkbenchError

SCHEMA_VERSION = 2  # 2: requests.given (follow-up items)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, design JSON, package_version VARCHAR,
    command VARCHAR);
CREATE TABLE IF NOT EXISTS requests (
    request_id VARCHAR PRIMARY KEY, run_id VARCHAR, model VARCHAR, model_id VARCHAR,
    model_fingerprint VARCHAR, backend VARCHAR, dtype VARCHAR, chat_template_hash VARCHAR,
    instrument VARCHAR, item_id VARCHAR, persona VARCHAR, persona_text VARCHAR,
    language VARCHAR, "order" VARCHAR, paraphrase INTEGER, answer_format VARCHAR,
    instruction VARCHAR, mode VARCHAR, "repeat" INTEGER, temperature DOUBLE, seed BIGINT,
    template_version VARCHAR, prompt JSON, assistant_prefix VARCHAR, generated_text VARCHAR,
    answer_code INTEGER, answer_position INTEGER, status VARCHAR, parse_method VARCHAR,
    package_version VARCHAR, created_at TIMESTAMP, elapsed_ms DOUBLE, given VARCHAR);
CREATE TABLE IF NOT EXISTS options (
    request_id VARCHAR, code INTEGER, position INTEGER, key VARCHAR, label VARCHAR,
    logprob DOUBLE, prob DOUBLE, n_tokens INTEGER, PRIMARY KEY (request_id, code));
"""


def upgrade(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Create the tables of a new store, or bring an older one to :data:`SCHEMA_VERSION`.

    Refuses (:class:`WorkbenchError`) a DuckDB file that is not a workbench store, leaving it
    untouched.
    """
    tables = _tables(con)
    if tables and "meta" not in tables:  # someone else's DuckDB file: leave it be
        raise WorkbenchError(not_a_store_message(path, "no table 'meta'"))
    con.execute(SCHEMA)
    problem = schema_problem(con)
    if problem:
        raise WorkbenchError(not_a_store_message(path, problem))
    # stores written before follow-up items existed (schema 1) gain the column
    con.execute("ALTER TABLE requests ADD COLUMN IF NOT EXISTS given VARCHAR")
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                [str(SCHEMA_VERSION)])


# ---------------------------------------------------------------------- errors
# DuckDB's wording when another process holds the file (duckdb 1.x/2.x): 'IO Error: Could not
# set lock on file "...": Conflicting lock is held in ... (PID ...)'. Match these phrases, not
# "lock": the word is in "block" (corruption errors) and in paths like /data/blocks/.
_LOCK_PHRASES = ("could not set lock on file", "conflicting lock is held")
# Same file already open in this process with the other read_only setting.
_SAME_PROCESS_PHRASE = "different configuration than existing connections"
_CORRUPT_PHRASES = ("corrupt database file", "not a valid duckdb database file",
                    "could not read enough bytes", "checksum", "invalid database",
                    "failed to deserialize")
# Tables and columns every workbench store has had since schema version 1 (fixed on purpose:
# columns added later are created by __init__ on older stores).
_REQUIRED = {
    "meta": {"key", "value"},
    "runs": {"run_id", "started_at", "design", "package_version", "command"},
    "requests": {"request_id", "run_id", "model", "model_id", "model_fingerprint", "backend",
                 "instrument", "item_id", "persona", "language", "order", "paraphrase",
                 "answer_format", "instruction", "mode", "repeat", "status", "prompt"},
    "options": {"request_id", "code", "position", "key", "label", "logprob", "prob"},
}


def busy_kind(exc: Exception) -> str | None:
    text = str(exc).lower()
    if isinstance(exc, duckdb.IOException) and any(p in text for p in _LOCK_PHRASES):
        return "process"
    if _SAME_PROCESS_PHRASE in text:
        return "this process"
    return None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = 'main'").fetchall()
    return {r[0] for r in rows}


def schema_problem(con: duckdb.DuckDBPyConnection) -> str | None:
    """What makes this DuckDB file not a workbench store (None when it is one)."""
    rows = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                       "WHERE table_schema = 'main'").fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    for table, needed in _REQUIRED.items():
        if table not in columns:
            return f"no table '{table}'"
        lacking = sorted(needed - columns[table])
        if lacking:
            return f"table '{table}' lacks column(s) {', '.join(lacking)}"
    return None


@contextlib.contextmanager
def translate_errors(path: Path, con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB errors raised while querying a broken or foreign file -> WorkbenchError."""
    try:
        yield
    except duckdb.InterruptException:
        raise  # Ctrl-C during a query: the CLI prints the resume message
    except (duckdb.CatalogException, duckdb.BinderException) as exc:
        try:
            problem = schema_problem(con)
        except duckdb.Error:
            problem = None
        if problem is None:
            raise  # our tables are there: a bug in a query, keep the traceback
        raise WorkbenchError(not_a_store_message(path, problem)) from exc
    except duckdb.Error as exc:
        text = str(exc).lower()
        if any(p in text for p in _CORRUPT_PHRASES):
            raise WorkbenchError(_corrupt_message(path, exc)) from exc
        if isinstance(exc, duckdb.IOException):
            first = (str(exc).splitlines() or [""])[0][:200]
            raise WorkbenchError(
                f"results database '{path}' could not be read or written ({first}): check "
                "free disk space and permissions, then rerun (committed answers are kept)"
            ) from exc
        raise


def open_failure_message(path: Path, exc: Exception) -> str:
    text = str(exc)
    if "permission denied" in text.lower():
        first = text.splitlines()[0][:200]
        return (f"results database '{path}' cannot be opened ({first}): fix the file's "
                "permissions or use another --out")
    return _corrupt_message(path, exc)


def not_a_store_message(path: Path, problem: str) -> str:
    return (
        f"'{path}' is a DuckDB file but not a workbench result store ({problem}): point "
        "--out/--results at a folder written by `workbench probe`, or move the file aside"
    )


def _corrupt_message(path: Path, exc: Exception) -> str:
    first = (str(exc).splitlines() or [""])[0][:200]
    return (
        f"results database '{path}' cannot be opened ({first}): it may be corrupted or not a "
        "DuckDB file. Move it aside (answers in it are not lost) and rerun to start a new store"
    )
