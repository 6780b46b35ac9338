"""The result store: one embedded DuckDB file per results directory.

Why this shape:
- every answer is written in a transaction together with its option rows, so a killed run
  leaves either a whole batch or nothing, and a rerun computes only missing requests;
- connections are short-lived (opened per batch), so a second process serialises behind the
  first (it waits for the file lock, then fails with a clear message after ``lock_timeout``),
  and a report can read a consistent snapshot between batches;
- rows are tidy: ``requests`` (one per request, with every factor and provenance) and
  ``options`` (one per request x answer option).

The file format (tables, schema version, upgrade) and the reading of DuckDB's errors are in
:mod:`workbench.store_schema`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.redact import redact_command, redact_credentials, redact_json
from workbench.store_schema import (
    busy_kind,
    open_failure_message,
    translate_errors,
    upgrade,
)

DB_NAME = "results.duckdb"
FACTORS = ["model", "instrument", "item_id", "persona", "language", "order", "paraphrase",
           "answer_format", "instruction", "mode", "repeat"]

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
                upgrade(con, self.path)

    # ------------------------------------------------------------------ connections
    @contextlib.contextmanager
    def connect(self, read_only: bool | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; waits (up to lock_timeout) while another process writes.

        DuckDB errors that mean a broken or foreign file (corruption, missing tables) become
        :class:`WorkbenchError` naming the fix; ``InterruptException`` (Ctrl-C during a query)
        and errors that are bugs pass through unchanged. Ctrl-C while the connection is in use
        is held and raised as ``KeyboardInterrupt`` once it is closed (see
        :func:`_interrupts_held`); waiting for the lock stays interruptible.
        """
        ro = self.read_only if read_only is None else read_only
        con = self._open(ro)
        with _interrupts_held():
            try:
                with translate_errors(self.path, con):
                    yield con
            finally:
                con.close()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.InterruptException:
                raise
            except duckdb.Error as exc:
                busy = busy_kind(exc)
                if busy is None:
                    raise WorkbenchError(open_failure_message(self.path, exc)) from exc
                if time.monotonic() < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                if busy == "process":
                    raise WorkbenchError(
                        f"results database '{self.path}' is in use by another process and "
                        f"stayed locked for {self.lock_timeout:.0f}s: wait for that run to "
                        "finish, or use another --out"
                    ) from exc
                raise WorkbenchError(
                    f"results database '{self.path}' stayed open in this process in the other "
                    f"mode ({'read-write' if read_only else 'read-only'}) for "
                    f"{self.lock_timeout:.0f}s: read and write through one ResultStore, or "
                    "close the other connection first"
                ) from exc

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[StoreSnapshot]:
        """One connection and one transaction for several reads: a consistent view.

        Separate calls to :meth:`distributions`, :meth:`answers`, :meth:`query` ... each open
        their own connection, so a writer committing between them can make them disagree.
        Inside ``with store.snapshot() as snap:`` the same methods on ``snap`` all read the
        state of one moment (other processes cannot write while it is open: keep it short).
        """
        with self.connect() as con:
            con.begin()
            try:
                yield StoreSnapshot(self, con)
            finally:
                with contextlib.suppress(duckdb.Error):
                    con.rollback()

    # ------------------------------------------------------------------ writing
    def start_run(self, design: dict, command: str = "") -> str:
        from workbench import __version__

        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + f"-{os.getpid()}"
        # Never store credentials: user:password@ in server URLs, --api-key style values.
        design_json = json.dumps(redact_json(design), default=lambda v: redact_credentials(
            str(v)))
        with self.connect() as con:
            con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?)",
                        [run_id, datetime.now(UTC).replace(tzinfo=None), design_json,
                         __version__, redact_command(command) if command else command])
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
        # The store's own mode: DuckDB refuses a read-only and a read-write connection to one
        # file in one process, so a writer's reads (and snapshots) must use its mode too.
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def _where(self, filters: dict | None) -> tuple[str, list]:
        if not filters:
            return "", []
        clauses, params = [], []
        for col, value in filters.items():
            if col not in FACTORS + ["run_id", "status", "model_fingerprint", "given"]:
                raise WorkbenchError(f"cannot filter on '{col}': use one of {FACTORS}")
            values = value if isinstance(value, list | tuple | set) else [value]
            clauses.append(f'r."{col}" IN ({", ".join("?" for _ in values)})')
            params.extend(values)
        return "WHERE " + " AND ".join(clauses), params

    def requests(self, **filters: object) -> pd.DataFrame:
        """One row per stored request, with every factor and provenance column."""
        where, params = self._where(filters)
        return self.query(f"SELECT * FROM requests r {where} ORDER BY request_id", params)

    def _given_column(self) -> str:
        """``r.given``, or an empty one for a store from before follow-ups (read-only)."""
        cols = self.query("SELECT column_name FROM information_schema.columns "
                          "WHERE table_name = 'requests'")["column_name"]
        return "COALESCE(r.given, '') AS given" if "given" in set(cols) else "'' AS given"

    def _with_earlier_items(self, frame: pd.DataFrame, filters: dict, fetch) -> pd.DataFrame:
        """Add the earlier items a filtered follow-up needs (Q154 when only Q155 was asked)."""
        if "item_id" not in filters or frame.empty:
            return frame
        wanted = frame.loc[frame["given"] != "", "given"].str.partition("=")[0].unique()
        missing = [i for i in wanted if i not in set(frame["item_id"])]
        if not missing:
            return frame
        extra = fetch({**filters, "item_id": missing})
        return pd.concat([frame, extra], ignore_index=True)

    def _fetcher(self, select: str, join: str, tail: str) -> Callable[[dict], pd.DataFrame]:
        """Filtered reader of ``requests r`` with every design factor, ``given`` and
        ``select`` (the part :meth:`distributions` and :meth:`answers` differ in)."""
        given = self._given_column()
        factor_cols = ", ".join(f'r."{c}"' for c in FACTORS)

        def fetch(flt: dict) -> pd.DataFrame:
            where, params = self._where(flt)
            return self.query(f"""
                SELECT r.request_id, {factor_cols}, {given}, {select}
                FROM requests r {join} {where} {tail}""", params)

        return fetch

    def _followups_read(self, fetch: Callable[[dict], pd.DataFrame], filters: dict,
                        followups: str, combine: Callable[[pd.DataFrame], pd.DataFrame]
                        ) -> pd.DataFrame:
        """Rows as asked, or follow-ups ``combine``-d with the earlier items they need (read
        even when the filters leave them out) and only the filtered items returned."""
        raw = fetch(filters)
        if followups == "asked" or not raw["given"].ne("").any():
            return raw
        items = set(raw["item_id"])
        combined = combine(self._with_earlier_items(raw, filters, fetch))
        return combined[combined["item_id"].isin(items)].reset_index(drop=True)

    def distributions(self, followups: str = "combined", **filters: object) -> pd.DataFrame:
        """Tidy answer distributions: one row per request x option (canonical ``code``).

        Generated answers become one-hot distributions on the parsed code (unparseable ones
        are left out here and kept in :meth:`answers` with their status). Follow-up items
        (asked once per earlier answer) come ``combined`` into one distribution per cell, as
        :mod:`workbench.followups` explains; ``followups="asked"`` gives the stored rows.
        """
        from workbench.followups import marginalize_followup_distributions

        _check_followups(followups)
        fetch = self._fetcher(
            "o.code, o.position, o.key, o.label, o.logprob, o.prob",
            "JOIN options o USING (request_id)", "ORDER BY r.request_id, o.code")
        return self._followups_read(fetch, filters, followups,
                                    marginalize_followup_distributions)

    def answers(self, followups: str = "combined", **filters: object) -> pd.DataFrame:
        """One row per request: expected code, argmax code, parsed answer and status.

        Follow-up items come ``combined`` (one row per cell, consistent with
        :meth:`distributions`) unless ``followups="asked"``.
        """
        from workbench.followups import marginalize_followup_answers

        _check_followups(followups)
        fetch = self._fetcher(
            """SUM(o.code * o.prob) / NULLIF(SUM(o.prob), 0) AS expected,
               arg_max(o.code, o.prob) AS argmax_code,
               r.answer_code, r.status, r.generated_text""",
            "LEFT JOIN options o USING (request_id)", "GROUP BY ALL ORDER BY r.request_id")
        return self._followups_read(
            fetch, filters, followups,
            lambda frame: marginalize_followup_answers(frame, self.distributions(**filters)))

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

    def fingerprints_for(self, model: str) -> set[str]:
        """Weights fingerprints stored under the model name ``model`` (empty if none).

        More than one means different weights share a name and must not be pooled.
        """
        rows = self.query("SELECT DISTINCT model_fingerprint AS f FROM requests WHERE model = ?",
                          [model])
        return {f for f in rows["f"] if isinstance(f, str)}

    def export(self, out: str | Path, fmt: str = "parquet") -> list[Path]:
        """Write requests and options tables to Parquet or CSV files next to each other."""
        if fmt not in ("parquet", "csv"):
            raise WorkbenchError(f"unknown export format '{fmt}': use parquet or csv")
        out = Path(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkbenchError(f"cannot create export folder '{out}' ({exc.strerror}): "
                                 "choose a writable --to") from exc
        written = []
        with self.connect() as con:
            for table in ("requests", "options"):
                target = out / f"{table}.{fmt}"
                opt = "(FORMAT PARQUET)" if fmt == "parquet" else "(HEADER, DELIMITER ',')"
                try:
                    con.execute(f"COPY {table} TO '{_sql_path(target)}' {opt}")
                except duckdb.IOException as exc:
                    first = (str(exc).splitlines() or [""])[0][:200]
                    raise WorkbenchError(f"cannot write '{target}' ({first}): choose a "
                                         "writable --to with free space") from exc
                written.append(target)
        return written


def _check_followups(value: str) -> None:
    if value not in ("combined", "asked"):
        raise WorkbenchError(f"followups must be 'combined' or 'asked', got {value!r}")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


class StoreSnapshot(ResultStore):
    """A :class:`ResultStore` whose reads all go through one connection and transaction.

    Made by :meth:`ResultStore.snapshot`; every read method (``query``, ``requests``,
    ``distributions``, ``answers``, ``provenance``, ``count``, ``fingerprints_for``,
    ``export``) sees the same state. It cannot write.
    """

    def __init__(self, store: ResultStore, con: duckdb.DuckDBPyConnection) -> None:
        # No ResultStore.__init__: the store exists and this object only reads it.
        self.directory, self.path = store.directory, store.path
        self.lock_timeout, self.read_only = store.lock_timeout, True
        self._con = con

    @contextlib.contextmanager
    def connect(self, read_only: bool | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        with translate_errors(self.path, self._con):
            yield self._con

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[StoreSnapshot]:
        yield self

    def query(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        with self.connect() as con:
            return con.execute(sql, params or []).df()

    def start_run(self, design: dict, command: str = "") -> str:
        raise WorkbenchError("a store snapshot is read-only: write through the ResultStore")

    def write(self, records: Sequence[AnswerRecord]) -> int:
        raise WorkbenchError("a store snapshot is read-only: write through the ResultStore")


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT while a DuckDB connection is in use; raise KeyboardInterrupt afterwards.

    Why: DuckDB calls back into Python (to scan the pandas frames a write registers), and a
    KeyboardInterrupt raised inside such a callback comes back as a generic ``duckdb.Error``
    holding a traceback, or is lost and the run goes on. Holding the signal for the length of
    one statement or transaction (milliseconds) keeps the store consistent and the user's
    Ctrl-C always seen. Only the main thread can set signal handlers; elsewhere this is a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None):
        # Ignored (a job started with `nohup ... &` inherits SIG_IGN) or set outside Python:
        # leave it as the user has it.
        yield
        return
    held: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            if callable(previous):
                previous(signal.SIGINT, None)  # Python's default raises KeyboardInterrupt
            else:
                os.kill(os.getpid(), signal.SIGINT)  # SIG_DFL: end the process as it would
