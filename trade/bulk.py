"""Bulk statements on the DBAPI driver (``executemany`` of plain tuples; key lists as one PostgreSQL array or
SQLite ``IN`` lists in chunks): the store's hot path skips SQLAlchemy's per-row parameter processing, a few
round trips per batch."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import IntegrityError

CHUNK = 500
"""Keys per ``IN (...)`` list (well under SQLite's and PostgreSQL's parameter limits)."""


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False
_gc_collected = 0.0  # time.monotonic() of the pause's start or of its last collection
MAX_PAUSE_S = 10.0
"""Batches that overlap without end (two clients posting to one API process) keep the collector paused; then a
batch that ends collects once every ``MAX_PAUSE_S`` (cyclic garbage of other requests is not kept for ever)."""


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is parsed, validated and stored.

    A batch builds tens of thousands of objects (records, goods lines, rows) that all live until it ends;
    the collector would traverse them again and again for nothing (a quarter of the ingest's CPU, measured
    with bench/records_bench.py). Reference counting still frees everything acyclic at once; the
    collector runs again when the last batch in flight ends (nested and concurrent pauses are counted).
    Left alone when something else had disabled it.

    The API's batch routes pause it for the whole request (body, validation, store, answer): re-enabled between
    validation and store, the collector would at once traverse the batch just built (tens of thousands of young
    objects over the threshold), for nothing."""
    global _gc_pauses, _gc_was_enabled, _gc_collected
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            _gc_collected = time.monotonic()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        overdue = False
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()
            elif _gc_pauses > 0 and _gc_was_enabled and time.monotonic() - _gc_collected >= MAX_PAUSE_S:
                overdue = True
                _gc_collected = time.monotonic()
        if overdue:
            gc.collect()


def _marks(conn: Connection, n: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * n)


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with every column of ``table``) in one statement stream."""
    if rows:
        cols = [c.name for c in table.columns]
        insert_tuples(conn, table, list(map(itemgetter(*cols), rows)))


def insert_tuples(conn: Connection, table: Table, rows: list[tuple]) -> None:
    """INSERT ``rows`` (tuples in the table's column order): PostgreSQL ``COPY ... FROM STDIN`` (one stream,
    no per-row round trip), SQLite one ``executemany``; in the connection's open transaction."""
    if not rows:
        return
    cols = ", ".join(c.name for c in table.columns)
    if conn.dialect.name == "postgresql":
        import psycopg

        raw = conn.connection.driver_connection  # psycopg 3, inside SQLAlchemy's transaction
        statement = f"COPY {table.name} ({cols}) FROM STDIN"
        try:
            with raw.cursor() as cur, cur.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.IntegrityError as exc:  # as SQLAlchemy would raise it for an INSERT
            raise IntegrityError(statement, None, exc) from exc
        return
    # one executemany: measured cheaper here than multi-row VALUES lists (which parse a statement per chunk)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({cols}) VALUES ({_marks(conn, len(table.columns))})", rows)


def _key_lists(conn: Connection, key: str, keys: Sequence[str]) -> Iterable[tuple[str, tuple]]:
    """``(condition, parameters)`` covering ``keys``: PostgreSQL takes them all as one array
    (``key = ANY(%s)``: one plan whatever their number); SQLite an ``IN`` list per chunk."""
    if conn.dialect.paramstyle == "qmark":
        for chunk in chunks(keys):
            yield f"{key} IN ({_marks(conn, len(chunk))})", tuple(chunk)
    elif keys:
        yield f"{key} = ANY(%s)", (list(keys),)


def select_in(conn: Connection, table: Table, columns: Sequence[str], org_id: str, key: str,
              keys: Sequence[str], order_by: str | None = None) -> list[Any]:
    """Rows (``columns``) of ``table`` for ``org_id`` whose ``key`` is one of ``keys``."""
    out: list[Any] = []
    for condition, params in _key_lists(conn, key, keys):
        sql = (f"SELECT {', '.join(columns)} FROM {table.name} WHERE org_id = {_marks(conn, 1)} AND {condition}"
               + (f" ORDER BY {order_by}" if order_by else ""))
        out += conn.exec_driver_sql(sql, (org_id, *params)).all()
    return out


def delete_in(conn: Connection, table: Table, org_id: str, key: str, keys: Sequence[str]) -> None:
    """DELETE the rows of ``table`` for ``org_id`` whose ``key`` is one of ``keys``."""
    for condition, params in _key_lists(conn, key, keys):
        conn.exec_driver_sql(f"DELETE FROM {table.name} WHERE org_id = {_marks(conn, 1)} AND {condition}",
                             (org_id, *params))
