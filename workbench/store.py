"""The result store: one embedded DuckDB file per results directory.

Why this shape:
- every answer is written in a transaction together with its option rows, so a killed run
  leaves either a whole batch or nothing, and a rerun computes only missing requests;
- connections are short-lived (opened per batch), so a second process serialises behind the
  first (it waits for the file lock, then fails with a clear message after ``lock_timeout``),
  and a report can read a consistent snapshot between batches;
- rows are tidy: ``requests`` (one per request, with every factor and provenance) and
  ``options`` (one per request x answer option).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from workbench.errors import WorkbenchError

DB_NAME = "results.duckdb"
SCHEMA_VERSION = 1

FACTORS = ["model", "instrument", "item_id", "persona", "language", "order", "paraphrase",
           "answer_format", "instruction", "mode", "repeat"]

_SCHEMA = """
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
    package_version VARCHAR, created_at TIMESTAMP, elapsed_ms DOUBLE);
CREATE TABLE IF NOT EXISTS options (
    request_id VARCHAR, code INTEGER, position INTEGER, key VARCHAR, label VARCHAR,
    logprob DOUBLE, prob DOUBLE, n_tokens INTEGER, PRIMARY KEY (request_id, code));
"""


@dataclass
class AnswerRecord:
    """One computed answer, ready to store (request row + option rows)."""

    request: dict
    options: list[dict]


class ResultStore:
    """Results under ``directory/results.duckdb``; safe to reopen, share and resume."""

    def __init__(self, directory: str | Path, lock_timeout: float = 30.0,
                 read_only: bool = False) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self.lock_timeout = lock_timeout
        self.read_only = read_only
        if read_only:
            if not self.path.is_file():
                raise WorkbenchError(
                    f"no results in '{self.directory}' (missing {DB_NAME}): run "
                    "`workbench probe ... --out DIR` first, or point to the right folder"
                )
        else:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WorkbenchError(
                    f"cannot create results directory '{self.directory}' ({exc.strerror}): "
                    "choose a writable --out"
                ) from exc
            if not os.access(self.directory, os.W_OK):
                raise WorkbenchError(
                    f"results directory '{self.directory}' is not writable: choose another "
                    "--out or fix its permissions"
                )
            with self.connect() as con:
                con.execute(_SCHEMA)
                con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                            [str(SCHEMA_VERSION)])

    # ------------------------------------------------------------------ connections
    @contextlib.contextmanager
    def connect(self, read_only: bool | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; waits (up to lock_timeout) while another process writes."""
        ro = self.read_only if read_only is None else read_only
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=ro)
                break
            except duckdb.IOException as exc:
                text = str(exc)
                if "lock" in text.lower() and time.monotonic() < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                if "lock" in text.lower():
                    raise WorkbenchError(
                        f"results database '{self.path}' is in use by another process and "
                        f"stayed locked for {self.lock_timeout:.0f}s: wait for that run to "
                        "finish, or use another --out"
                    ) from exc
                raise WorkbenchError(_corrupt_message(self.path, exc)) from exc
            except duckdb.Error as exc:
                raise WorkbenchError(_corrupt_message(self.path, exc)) from exc
        try:
            yield con
        finally:
            con.close()

    # ------------------------------------------------------------------ writing
    def start_run(self, design: dict, command: str = "") -> str:
        from workbench import __version__

        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + f"-{os.getpid()}"
        with self.connect() as con:
            con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?)",
                        [run_id, datetime.now(UTC).replace(tzinfo=None),
                         json.dumps(design, default=str), __version__, command])
        return run_id

    def existing(self, request_ids: Sequence[str]) -> set[str]:
        """Which of these requests already have a stored answer."""
        if not request_ids:
            return set()
        with self.connect() as con:
            frame = pd.DataFrame({"request_id": list(request_ids)})
            con.register("wanted", frame)
            rows = con.execute(
                "SELECT r.request_id FROM requests r JOIN wanted w USING (request_id)"
            ).fetchall()
        return {r[0] for r in rows}

    def write(self, records: Sequence[AnswerRecord]) -> int:
        """Store a batch atomically; requests already present are skipped (no duplicates)."""
        if not records:
            return 0
        req = pd.DataFrame([r.request for r in records])
        opts = pd.DataFrame([o for r in records for o in r.options])
        if opts.empty:
            opts = pd.DataFrame(columns=["request_id", "code", "position", "key", "label",
                                         "logprob", "prob", "n_tokens"])
        with self.connect() as con:
            con.begin()
            try:
                con.register("new_requests", req)
                con.register("new_options", opts)
                cols = ", ".join(f'"{c}"' for c in req.columns)
                con.execute(
                    f"INSERT INTO requests ({cols}) SELECT {cols} FROM new_requests n "
                    "WHERE n.request_id NOT IN (SELECT request_id FROM requests)"
                )
                ocols = ", ".join(f'"{c}"' for c in opts.columns)
                con.execute(
                    f"INSERT OR IGNORE INTO options ({ocols}) SELECT {ocols} FROM new_options"
                )
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return len(records)

    # ------------------------------------------------------------------ reading
    def query(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        with self.connect(read_only=True) as con:
            return con.execute(sql, params or []).df()

    def _where(self, filters: dict | None) -> tuple[str, list]:
        if not filters:
            return "", []
        clauses, params = [], []
        for col, value in filters.items():
            if col not in FACTORS + ["run_id", "status", "model_fingerprint"]:
                raise WorkbenchError(f"cannot filter on '{col}': use one of {FACTORS}")
            values = value if isinstance(value, list | tuple | set) else [value]
            clauses.append(f'r."{col}" IN ({", ".join("?" for _ in values)})')
            params.extend(values)
        return "WHERE " + " AND ".join(clauses), params

    def requests(self, **filters: object) -> pd.DataFrame:
        """One row per stored request, with every factor and provenance column."""
        where, params = self._where(filters)
        return self.query(f"SELECT * FROM requests r {where} ORDER BY request_id", params)

    def distributions(self, **filters: object) -> pd.DataFrame:
        """Tidy answer distributions: one row per request x option (canonical ``code``).

        Generated answers become one-hot distributions on the parsed code (unparseable ones
        are left out here and kept in :meth:`answers` with their status).
        """
        where, params = self._where(filters)
        factor_cols = ", ".join(f'r."{c}"' for c in FACTORS)
        sql = f"""
            SELECT r.request_id, {factor_cols}, o.code, o.position, o.key, o.label,
                   o.logprob, o.prob
            FROM requests r JOIN options o USING (request_id) {where}
            ORDER BY r.request_id, o.code"""
        return self.query(sql, params)

    def answers(self, **filters: object) -> pd.DataFrame:
        """One row per request: expected code, argmax code, parsed answer and status."""
        where, params = self._where(filters)
        factor_cols = ", ".join(f'r."{c}"' for c in FACTORS)
        sql = f"""
            SELECT r.request_id, {factor_cols},
                   SUM(o.code * o.prob) / NULLIF(SUM(o.prob), 0) AS expected,
                   arg_max(o.code, o.prob) AS argmax_code,
                   r.answer_code, r.status, r.generated_text
            FROM requests r LEFT JOIN options o USING (request_id) {where}
            GROUP BY ALL ORDER BY r.request_id"""
        return self.query(sql, params)

    def provenance(self) -> pd.DataFrame:
        """Per model: what produced the numbers (ids, hashes, backend, versions, counts)."""
        return self.query("""
            SELECT model, model_id, model_fingerprint, backend, dtype, chat_template_hash,
                   template_version, package_version, mode,
                   COUNT(*) AS n_requests, MIN(created_at) AS first_answer,
                   MAX(created_at) AS last_answer
            FROM requests GROUP BY ALL ORDER BY model, mode""")

    def count(self) -> int:
        return int(self.query("SELECT COUNT(*) AS n FROM requests")["n"].iloc[0])

    def export(self, out: str | Path, fmt: str = "parquet") -> list[Path]:
        """Write requests and options tables to Parquet or CSV files next to each other."""
        if fmt not in ("parquet", "csv"):
            raise WorkbenchError(f"unknown export format '{fmt}': use parquet or csv")
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        with self.connect(read_only=True) as con:
            for table in ("requests", "options"):
                target = out / f"{table}.{fmt}"
                opt = "(FORMAT PARQUET)" if fmt == "parquet" else "(HEADER, DELIMITER ',')"
                con.execute(f"COPY {table} TO '{_sql_path(target)}' {opt}")
                written.append(target)
        return written


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _corrupt_message(path: Path, exc: Exception) -> str:
    first = str(exc).splitlines()[0][:200]
    return (
        f"results database '{path}' cannot be opened ({first}): it may be corrupted or not a "
        "DuckDB file. Move it aside (answers in it are not lost) and rerun to start a new store"
    )
