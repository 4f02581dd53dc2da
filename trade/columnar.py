"""The columnar copy the statistics read: DuckDB (embedded), refreshed incrementally from the records.

Why a copy: the records live in SQLite or PostgreSQL (row stores, written by the batch endpoints);
a month × mode × country × chapter cube over ten million goods lines is a columnar scan. DuckDB's
``postgres``/``sqlite`` scanners are extensions downloaded at first use (not possible on a closed
machine), so the copy is made through SQLAlchemy: the changed rows are read with the driver's cursor,
turned into Arrow columns and handed to DuckDB, which does the joins, the currency conversion and
the denormalisation in SQL.

What is copied (one row per goods line, table ``facts``): the order's tenant, enterprise and its city,
local (UTC+08:00) order day, customs mode, destination country and region, the line's HS chapter and
value (order currency, CNY and USD at the fixing holding on the order day,
:mod:`optimizer.network.currency`), and the order's waybills (parcels, gross weight, channel, transport
mode, linked shipment) — put on the order's *principal line* (its largest value, then lowest line
number) so that order-level figures add up exactly once. Shipments (``iot_shipments``) are summarised in
``ship`` — corridor (origin-destination of the option's longest leg) and mode, lead time (first actual
departure, or planned, to the last actual arrival), on time (arrived by the quoted p90), CO2e — and
written onto the lines of their orders (CO2e allocated by gross weight). Every dimension column also
has an integer code (table ``members``), the tracked shipment too (``ship_codes``), and each line its month's
first day (``month``): cubes group and count distinct over small integers, not text, with no date arithmetic per line. ``rollup`` sums the lines by
organisation, month and every coded dimension (about a tenth of the rows): month, quarter and year
cubes read it. ``tracked_lines`` holds the principal lines of tracked shipments apart, in (month, shipment) order:
the shipment measures (distinct shipments, lead-time quantiles) read them alone instead of filtering every line.
The 9810 stock movements are in ``stock``.

Incremental: every record table has ``updated_ms``; a refresh reads the orders touched since the last
watermark (the order, one of its waybills, or its enterprise's filing changed; or a linked shipment),
replaces their lines, recomputes the rollup's (organisation, month) slices they touch and their tracked lines, and moves the watermark to its own start minus :data:`OVERLAP_MS` (a writer's
transaction that takes longer than that to commit could be missed: ``full=True`` rebuilds).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from optimizer.network.currency import CARRY_DAYS, CurrencyError, RateTable
from storage.db import Database
from trade.regions import REGION_OF

OVERLAP_MS = 60_000
CHINA_OFFSET_MS = 8 * 3_600_000
LOCAL = "ordered_ms + " + str(CHINA_OFFSET_MS)
_SCHEMA_VERSION = 8

FACT_COLUMNS: dict[str, str] = {
    "org_id": "VARCHAR", "order_no": "VARCHAR", "line_no": "INTEGER", "enterprise": "VARCHAR", "city": "VARCHAR",
    "day": "DATE", "customs_mode": "VARCHAR", "flow": "VARCHAR", "country": "VARCHAR", "region": "VARCHAR",
    "hs_chapter": "VARCHAR", "channel": "VARCHAR", "consignment": "VARCHAR", "waybill_mode": "VARCHAR",
    "shipment_id": "VARCHAR", "principal": "BOOLEAN", "orders": "INTEGER", "parcels": "INTEGER", "gross_kg": "DOUBLE",
    "value": "DOUBLE", "currency": "VARCHAR", "value_cny": "DOUBLE", "value_usd": "DOUBLE",
    # from the tracked shipment (``ship``), kept up to date by each refresh
    "tracked_shipment": "VARCHAR", "corridor": "VARCHAR", "transport_mode": "VARCHAR", "lead_days": "DOUBLE",
    "on_time": "BOOLEAN", "co2e_kg": "DOUBLE",
}
"""The text columns of ``facts`` (one row per goods line, denormalised: a cube is one scan, no join); order-level
figures (orders, parcels, weight, lead time, on time, CO2e) only on the principal line."""
CODED = ("enterprise", "city", "customs_mode", "flow", "country", "region", "hs_chapter", "channel", "consignment",
         "corridor", "transport_mode")
"""Dimension columns that also have an integer code (``{dim}_c``, table ``members``): cubes group by the codes
(hashing small integers, not text) and write the members after."""
CODE_COLUMNS: dict[str, str] = {f"{d}_c": "INTEGER" for d in CODED}
DERIVED_COLUMNS: dict[str, str] = {"month": "DATE", "tracked_shipment_c": "INTEGER"}
"""Columns of ``facts`` derived once at insert rather than per row of every cube: the first day of the line's month
(a month cube groups by it: ``date_trunc`` per row cost a third of the scan), and an integer code of the tracked
shipment (table ``ship_codes``: distinct shipments are counted over integers, not text)."""
SHIP_COLUMNS: dict[str, str] = {
    "shipment_id": "VARCHAR", "org_id": "VARCHAR", "corridor": "VARCHAR", "mode": "VARCHAR", "lead_days": "DOUBLE",
    "on_time": "BOOLEAN", "co2e_kg": "DOUBLE",
}
FLOW_SQL = "CASE WHEN customs_mode = '9810' THEN 'stock_up_9810' ELSE 'direct' END"
CONSIGNMENT_SQL = ("CASE WHEN channel IN ('postal', 'express') THEN 'parcel' WHEN channel = 'freight' THEN 'freight' "
                   "ELSE 'no_waybill' END")

_SHIPMENT_FIGURES = """
UPDATE facts SET tracked_shipment = s.shipment_id, corridor = coalesce(s.corridor, 'unknown'),
       transport_mode = coalesce(s.mode, facts.waybill_mode, 'none'),
       lead_days = CASE WHEN facts.principal THEN s.lead_days END,
       on_time = CASE WHEN facts.principal THEN s.on_time END,
       co2e_kg = CASE WHEN facts.principal AND w.kg > 0 THEN s.co2e_kg * facts.gross_kg / w.kg END
FROM ship s, (SELECT org_id, shipment_id, sum(gross_kg) AS kg FROM facts
              WHERE principal AND shipment_id IN (SELECT shipment_id FROM t_affected) GROUP BY ALL) w
WHERE facts.shipment_id IN (SELECT shipment_id FROM t_affected)
  AND s.shipment_id = facts.shipment_id AND s.org_id = facts.org_id
  AND w.shipment_id = facts.shipment_id AND w.org_id = facts.org_id
"""
"""The shipment figures of the lines of the affected shipments: CO2e allocated to the shipment's orders by
gross weight (ISO 14083 mass allocation)."""


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """What a refresh did."""

    orders: int  # orders (re)copied
    lines: int
    shipments: int
    full: bool
    seconds: float
    unconverted_lines: int  # lines whose currency or day the rate table does not cover (value_cny/usd empty)


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The tables and the view (idempotent)."""
    cols = ", ".join(f"{c} {t}" for c, t in {**FACT_COLUMNS, **CODE_COLUMNS, **DERIVED_COLUMNS}.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS facts ({cols})")
    con.execute("CREATE TABLE IF NOT EXISTS members (dim VARCHAR, member VARCHAR, code INTEGER)")
    con.execute("CREATE TABLE IF NOT EXISTS ship_codes (shipment_id VARCHAR, code INTEGER)")
    con.execute("CREATE TABLE IF NOT EXISTS stock (org_id VARCHAR, movement_no VARCHAR, enterprise VARCHAR, day DATE, "
                "kind VARCHAR, warehouse_id VARCHAR, warehouse_country VARCHAR, hs_chapter VARCHAR, value DOUBLE, "
                "currency VARCHAR, value_cny DOUBLE, value_usd DOUBLE)")
    rcols = ", ".join(f"{c} INTEGER" for c in CODE_COLUMNS)
    con.execute(f"CREATE TABLE IF NOT EXISTS rollup (org_id VARCHAR, month DATE, {rcols}, orders BIGINT, parcels BIGINT, "
                "value_cny DOUBLE, value_usd DOUBLE, gross_kg DOUBLE)")
    scols = ", ".join(f"{c} {t}" for c, t in SHIP_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS ship ({scols})")
    con.execute("CREATE TABLE IF NOT EXISTS fx (currency VARCHAR, day DATE, to_cny DOUBLE, to_usd DOUBLE, "
                "fixing DATE, age_days INTEGER, source VARCHAR)")
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute(f"CREATE TABLE IF NOT EXISTS tracked_lines ({cols})")
    con.execute("CREATE OR REPLACE VIEW stat_lines AS SELECT * FROM facts")


class ColumnarCopy:
    """A DuckDB database (a file, or in memory) holding the statistics' copy of one records database."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(path) if path is not None else ":memory:")
        # DuckDB 2.0.1's compressed materialisation narrows sum(INTEGER) grouped by a computed key to a type
        # too small for the sum (168 came back as -88: tests/test_stats_cube.py); off until that is fixed
        self.con.execute("SET disabled_optimizers = 'compressed_materialization'")
        self.lock = threading.Lock()  # one refresh or query at a time on this connection
        tables = {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "meta" in tables and self._meta("schema") != str(_SCHEMA_VERSION):
            for name in ("facts", "ship", "ship_weight", "fx", "meta", "members", "rollup", "stock", "ship_codes",
                         "tracked_lines"):
                self.con.execute(f"DROP TABLE IF EXISTS {name} CASCADE")
            self.con.execute("DROP VIEW IF EXISTS stat_lines")
        create_schema(self.con)
        self.refreshed_ms: int | None = None
        self.overlap_ms = OVERLAP_MS

    @classmethod
    def for_database(cls, db: Database, var_dir: Path) -> "ColumnarCopy":
        """The copy of ``db`` under ``var_dir/stats/``; in memory when another process holds that file."""
        digest = hashlib.sha256(db.url.encode()).hexdigest()[:16]
        try:
            return cls(Path(var_dir) / "stats" / f"copy-{digest}.duckdb")
        except duckdb.IOException:
            return cls(None)

    def close(self) -> None:
        self.con.close()

    def _meta(self, key: str) -> str | None:
        rows = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        row = rows[0] if rows else None
        return None if row is None else row[0]

    def _set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def refresh(self, db: Database, rates: RateTable, *, full: bool = False) -> RefreshReport:
        """Bring the copy up to date with ``db`` (only what changed since the last refresh, or everything)."""
        with self.lock:
            return self._refresh(db, rates, full)

    def _refresh(self, db: Database, rates: RateTable, full: bool) -> RefreshReport:
        t0 = time.perf_counter()
        start_ms = int(time.time() * 1000)
        source = hashlib.sha256(db.url.encode()).hexdigest()[:16]
        if self._meta("source") != source or self._meta("schema") != str(_SCHEMA_VERSION):
            full = True
        since = 0 if full else int(self._meta("watermark") or 0)
        with db.engine.connect() as conn:
            ships = _read(conn, _SHIP_SQL, since)
            orders = _read(conn, _ORDERS_SQL.format(touched=_touched(full)), since)
            lines = _read(conn, _LINES_SQL.format(touched=_touched(full)), since)
            bills = _read(conn, _WAYBILLS_SQL.format(touched=_touched(full)), since)
            moves = _read(conn, _STOCK_SQL, since)
        con = self.con
        con.execute("BEGIN")
        try:
            if full:
                for table in ("facts", "ship", "rollup", "stock", "tracked_lines"):
                    con.execute(f"DELETE FROM {table}")
            con.register("t_orders", orders)
            con.register("t_lines", lines)
            con.register("t_bills", bills)
            # shipments whose figures change: refreshed ones, and those of the orders copied again (before and after)
            con.execute("CREATE OR REPLACE TEMP TABLE t_affected AS "
                        "SELECT DISTINCT shipment_id FROM facts JOIN t_orders USING (org_id, order_no) "
                        "WHERE shipment_id IS NOT NULL "
                        "UNION SELECT shipment_id FROM t_bills WHERE shipment_id IS NOT NULL")
            refreshed = _load_ships(con, ships)
            if refreshed:
                con.executemany("INSERT INTO t_affected VALUES (?)", refreshed)
            _fill_rates(con, rates)
            # the (organisation, month) slices of the rollup to recompute: where the orders were and are now
            con.execute("CREATE OR REPLACE TEMP TABLE t_months AS SELECT DISTINCT org_id, date_trunc('month', day) AS month "
                        "FROM facts JOIN t_orders USING (org_id, order_no) "
                        f"UNION SELECT org_id, date_trunc('month', CAST(epoch_ms({LOCAL}) AS DATE)) FROM t_orders")
            con.execute("DELETE FROM facts USING t_orders t WHERE facts.org_id = t.org_id AND facts.order_no = t.order_no")
            insert_facts(con, _NEW_FACTS)
            con.execute(_SHIPMENT_FIGURES)
            affected = "(SELECT * FROM facts WHERE shipment_id IN (SELECT shipment_id FROM t_affected))"
            code_members(con, affected, ("corridor", "transport_mode"))
            code_shipments(con, affected)
            con.execute("UPDATE facts SET tracked_shipment_c = c.code FROM ship_codes c "
                        "WHERE facts.shipment_id IN (SELECT shipment_id FROM t_affected) "
                        "AND c.shipment_id = facts.tracked_shipment")
            con.execute(f"UPDATE facts SET corridor_c = m1.code, transport_mode_c = m2.code FROM members m1, members m2 "
                        f"WHERE facts.shipment_id IN (SELECT shipment_id FROM t_affected) "
                        f"AND m1.dim = 'corridor' AND m1.member = facts.corridor "
                        f"AND m2.dim = 'transport_mode' AND m2.member = facts.transport_mode")
            rebuild_tracked(con, None if full else "t_orders")
            unconverted = con.execute("SELECT count(*) FROM facts WHERE value_cny IS NULL").fetchall()[0][0]
            for name in ("t_orders", "t_lines", "t_bills"):
                con.unregister(name)
            _load_stock(con, moves, rates)
            con.execute("INSERT INTO t_months SELECT DISTINCT org_id, date_trunc('month', day) FROM facts "
                        "WHERE shipment_id IN (SELECT shipment_id FROM t_affected)")
            rebuild_rollup(con, None if full else "t_months")
            con.execute("DROP TABLE t_affected")
            con.execute("DROP TABLE t_months")
            self._set_meta("source", source)
            self._set_meta("schema", str(_SCHEMA_VERSION))
            self._set_meta("watermark", str(start_ms - self.overlap_ms))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.refreshed_ms = start_ms
        return RefreshReport(orders.num_rows, lines.num_rows, ships.num_rows, full, round(time.perf_counter() - t0, 3),
                             int(unconverted))

    def fx_status(self, org_id: str | None = None) -> dict[str, Any]:
        """Unconverted lines by currency, and lines converted at a fixing more than ``CARRY_DAYS`` old (of
        ``org_id``, or of everybody)."""
        scope, params = ("AND f.org_id = ?", [org_id]) if org_id is not None else ("", [])
        with self.lock:
            unconverted = dict(self.con.execute(
                f"SELECT currency, count(*) FROM facts f WHERE value_cny IS NULL {scope} GROUP BY 1 ORDER BY 1",
                params).fetchall())
            stale = self.con.execute(
                "SELECT count(*), max(fx.fixing) FROM facts f JOIN fx ON fx.currency = f.currency AND fx.day = f.day "
                f"WHERE fx.age_days > {CARRY_DAYS} {scope}", params).fetchall()[0]
        return {"unconverted_lines": unconverted, "carried_lines": int(stale[0]), "last_fixing": stale[1]}

    def fx_sources(self) -> list[str]:
        """The publications of the fixings the copy's values were converted at."""
        with self.lock:
            rows = self.con.execute("SELECT DISTINCT source FROM fx WHERE source IS NOT NULL ORDER BY 1").fetchall()
        return [r[0] for r in rows]


def _touched(full: bool) -> str:
    """The WHERE clause selecting the orders to (re)copy: all, or those touched since ``:since``."""
    if full:
        return "1 = 1"
    return ("(o.updated_ms >= :since OR e.updated_ms >= :since "
            "OR EXISTS (SELECT 1 FROM trd_waybills wb WHERE wb.org_id = o.org_id AND wb.order_no = o.order_no "
            "AND wb.updated_ms >= :since) "
            "OR EXISTS (SELECT 1 FROM trd_waybills wb JOIN iot_shipments s ON s.shipment_id = wb.shipment_id "
            "WHERE wb.org_id = o.org_id AND wb.order_no = o.order_no AND s.updated_ms >= :since))")


_FROM = ("FROM trd_orders o LEFT JOIN trd_enterprises e ON e.org_id = o.org_id AND e.credit_code = o.enterprise_code "
         "WHERE {touched}")
_ORDERS_SQL = ("SELECT o.org_id, o.order_no, o.enterprise_code, coalesce(e.city, 'unfiled') AS city, o.customs_mode, "
               "o.destination_country, o.currency, o.ordered_ms " + _FROM)
_LINES_SQL = ("SELECT l.org_id, l.order_no, l.line_no, l.hs_chapter, l.value FROM trd_order_lines l "
              "JOIN trd_orders o ON o.org_id = l.org_id AND o.order_no = l.order_no "
              "LEFT JOIN trd_enterprises e ON e.org_id = o.org_id AND e.credit_code = o.enterprise_code WHERE {touched}")
_WAYBILLS_SQL = ("SELECT w.org_id, w.order_no, w.parcels, w.gross_weight_kg, w.channel, w.transport_mode, w.shipment_id "
                 "FROM trd_waybills w JOIN trd_orders o ON o.org_id = w.org_id AND o.order_no = w.order_no "
                 "LEFT JOIN trd_enterprises e ON e.org_id = o.org_id AND e.credit_code = o.enterprise_code WHERE {touched}")
_STOCK_SQL = ("SELECT org_id, movement_no, enterprise_code, moved_ms, kind, warehouse_id, warehouse_country, hs_chapter, "
              "value, currency FROM trd_stock_movements WHERE updated_ms >= :since")
_SHIP_SQL = ("SELECT shipment_id, org_id, option_json, milestones_json FROM iot_shipments "
             "WHERE updated_ms >= :since AND org_id IS NOT NULL")

_NEW_FACTS = f"""
WITH bills AS (
    -- an order's waybills: parcels and weight add up; channel, mode and shipment of the heaviest
    SELECT org_id, order_no, sum(parcels)::INTEGER AS parcels, sum(gross_weight_kg) AS gross_kg,
           arg_max(channel, gross_weight_kg) AS channel, arg_max(transport_mode, gross_weight_kg) AS waybill_mode,
           arg_max(shipment_id, gross_weight_kg) AS shipment_id
    FROM t_bills GROUP BY org_id, order_no),
ranked AS (
    SELECT l.*, row_number() OVER (PARTITION BY l.org_id, l.order_no ORDER BY l.value DESC, l.line_no) = 1 AS principal
    FROM t_lines l),
o AS (SELECT *, CAST(epoch_ms({LOCAL}) AS DATE) AS day FROM t_orders)
SELECT o.org_id, o.order_no, r.line_no, o.enterprise_code AS enterprise, o.city, o.day, o.customs_mode,
       CASE WHEN o.customs_mode = '9810' THEN 'stock_up_9810' ELSE 'direct' END AS flow,
       o.destination_country AS country, coalesce(g.region, 'Other') AS region, r.hs_chapter,
       coalesce(b.channel, 'none') AS channel,
       CASE WHEN b.channel IN ('postal', 'express') THEN 'parcel' WHEN b.channel = 'freight' THEN 'freight'
            ELSE 'no_waybill' END AS consignment,
       b.waybill_mode, b.shipment_id, r.principal, CASE WHEN r.principal THEN 1 ELSE 0 END AS orders,
       CASE WHEN r.principal THEN coalesce(b.parcels, 0) ELSE 0 END AS parcels,
       CASE WHEN r.principal THEN coalesce(b.gross_kg, 0) ELSE 0 END AS gross_kg,
       r.value, o.currency, r.value * fx.to_cny AS value_cny, r.value * fx.to_usd AS value_usd,
       NULL AS tracked_shipment, 'untracked' AS corridor, coalesce(b.waybill_mode, 'none') AS transport_mode,
       NULL AS lead_days, NULL AS on_time, NULL AS co2e_kg
FROM o JOIN ranked r ON r.org_id = o.org_id AND r.order_no = o.order_no
LEFT JOIN bills b ON b.org_id = o.org_id AND b.order_no = o.order_no
LEFT JOIN fx ON fx.currency = o.currency AND fx.day = o.day
LEFT JOIN (SELECT * FROM (VALUES {", ".join(f"('{c}', '{r}')" for c, r in sorted(REGION_OF.items()))}) v(country, region)) g
       ON g.country = o.destination_country
"""


def code_members(con: duckdb.DuckDBPyConnection, source: str, dims: tuple[str, ...] = CODED) -> None:
    """Give every member of ``dims`` found in ``source`` (a table, or ``table WHERE ...``) a code if it has none."""
    for d in dims:
        con.execute(f"""
            INSERT INTO members
            SELECT '{d}', member, (SELECT coalesce(max(code), 0) FROM members WHERE dim = '{d}')
                                  + CAST(row_number() OVER (ORDER BY member) AS INTEGER)
            FROM (SELECT DISTINCT {d} AS member FROM {source} WHERE {d} IS NOT NULL
                  EXCEPT SELECT member FROM members WHERE dim = '{d}')""")


def code_shipments(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Give every tracked shipment found in ``source`` (a table, or ``(SELECT ...)``) a code if it has none (codes
    stay: a shipment's lines keep theirs through refreshes)."""
    con.execute(f"""
        INSERT INTO ship_codes
        SELECT shipment_id, (SELECT coalesce(max(code), 0) FROM ship_codes)
                            + CAST(row_number() OVER (ORDER BY shipment_id) AS INTEGER)
        FROM (SELECT DISTINCT tracked_shipment AS shipment_id FROM {source} WHERE tracked_shipment IS NOT NULL
              EXCEPT SELECT shipment_id FROM ship_codes)""")


_ROLLUP_SUMS = ("sum(orders), sum(parcels), sum(value_cny), sum(value_usd), sum(gross_kg)")


def rebuild_rollup(con: duckdb.DuckDBPyConnection, months: str | None = None) -> None:
    """Recompute the monthly rollup — the lines summed by organisation, month and every coded dimension
    (the enterprise among them): a tenth of the lines, what month/quarter/year cubes read — entirely, or
    the (org_id, month) slices listed in the table ``months``."""
    keys = ", ".join(CODE_COLUMNS)
    if months is None:
        con.execute("DELETE FROM rollup")
        only = ""
    else:
        con.execute(f"DELETE FROM rollup USING {months} t WHERE rollup.org_id = t.org_id AND rollup.month = t.month")
        only = (f"WHERE EXISTS (SELECT 1 FROM {months} t WHERE t.org_id = facts.org_id "
                "AND t.month = facts.month)")
    con.execute(f"INSERT INTO rollup SELECT org_id, month, {keys}, {_ROLLUP_SUMS} "
                f"FROM facts {only} GROUP BY ALL")


def rebuild_tracked(con: duckdb.DuckDBPyConnection, orders: str | None = None) -> None:
    """Recompute ``tracked_lines`` — the principal lines of tracked shipments, the only lines the shipment measures
    read (a fifth of the lines), kept apart so that a cube scans them alone, in (month, shipment) order — entirely,
    or for the orders listed in the table ``orders`` (org_id, order_no) and the shipments in ``t_affected``."""
    names = ", ".join([*FACT_COLUMNS, *CODE_COLUMNS, *DERIVED_COLUMNS])
    if orders is None:
        con.execute("DELETE FROM tracked_lines")
        which = "1 = 1"
    else:
        which = (f"(EXISTS (SELECT 1 FROM {orders} t WHERE t.org_id = {{x}}.org_id AND t.order_no = {{x}}.order_no) "
                 "OR {x}.shipment_id IN (SELECT shipment_id FROM t_affected))")
        con.execute(f"DELETE FROM tracked_lines WHERE {which.format(x='tracked_lines')}")
    con.execute(f"INSERT INTO tracked_lines ({names}) SELECT {names} FROM facts "
                f"WHERE principal AND tracked_shipment_c IS NOT NULL AND {which.format(x='facts')} "
                "ORDER BY month, tracked_shipment_c")


def insert_facts(con: duckdb.DuckDBPyConnection, select_sql: str) -> int:
    """Add the lines ``select_sql`` gives (every column of :data:`FACT_COLUMNS`, by name) to ``facts``, with
    their members' codes, in day order; how many.

    Day order keeps the copy clustered by time as orders arrive (each refresh appends the days it copies): a cube's
    groups meet the same few months batch after batch (a sixth less time for a month cube over ten million lines,
    ``bench/stats_bench.py``) and a date range skips the row groups outside it."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE t_new AS SELECT {', '.join(FACT_COLUMNS)} FROM ({select_sql})")
    code_members(con, "t_new")
    code_shipments(con, "t_new")
    joins = " ".join(f"LEFT JOIN members m{i} ON m{i}.dim = '{d}' AND m{i}.member = n.{d}" for i, d in enumerate(CODED))
    codes = ", ".join(f"m{i}.code" for i in range(len(CODED)))
    names = ", ".join([*FACT_COLUMNS, *CODE_COLUMNS, *DERIVED_COLUMNS])
    con.execute(f"INSERT INTO facts ({names}) SELECT n.*, {codes}, CAST(date_trunc('month', n.day) AS DATE), sc.code "
                f"FROM t_new n {joins} LEFT JOIN ship_codes sc ON sc.shipment_id = n.tracked_shipment ORDER BY n.day")
    n = con.execute("SELECT count(*) FROM t_new").fetchall()[0][0]
    con.execute("DROP TABLE t_new")
    return int(n)


_S, _I, _F = pa.string(), pa.int64(), pa.float64()
_TYPES: dict[str, pa.DataType] = {
    "org_id": _S, "order_no": _S, "enterprise_code": _S, "city": _S, "customs_mode": _S, "destination_country": _S,
    "currency": _S, "ordered_ms": _I, "line_no": _I, "hs_chapter": _S, "value": _F, "parcels": _I,
    "gross_weight_kg": _F, "channel": _S, "transport_mode": _S, "shipment_id": _S, "option_json": _S,
    "milestones_json": _S, "movement_no": _S, "moved_ms": _I, "kind": _S, "warehouse_id": _S, "warehouse_country": _S}


def _read(conn, sql: str, since: int) -> pa.Table:
    """Rows of ``sql`` as Arrow columns (the cursor's rows, column by column, typed by :data:`_TYPES`)."""
    from sqlalchemy import text

    result = conn.execute(text(sql), {"since": since})
    names = list(result.keys())
    rows = result.fetchall()
    columns = list(zip(*rows)) if rows else [() for _ in names]
    return pa.table({n: pa.array(list(c), type=_TYPES[n]) for n, c in zip(names, columns)})


def _fill_rates(con: duckdb.DuckDBPyConnection, rates: RateTable, table: str = "t_orders",
                time_ms: str = "ordered_ms") -> None:
    """A CNY and a USD rate for every (currency, local day) of ``table`` that has none yet: the fixing
    holding on the day; a day after the table's last fixing takes that fixing (carried forward, its age
    kept in ``fx.age_days``); a currency the table does not know stays unconverted (NULL)."""
    if con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] == 0:
        return
    missing = con.execute(f"""
        SELECT DISTINCT currency, CAST(epoch_ms({time_ms} + {CHINA_OFFSET_MS}) AS DATE) AS day FROM {table}
        EXCEPT SELECT currency, day FROM fx""").fetchall()
    cover = rates.coverage()
    rows: list[tuple[Any, ...]] = []
    for currency, day in missing:
        day = day if isinstance(day, date) else datetime.fromisoformat(str(day)).date()
        on = day if cover is None else min(max(day, cover[0]), cover[1])
        try:
            cny = rates.rate(currency, "CNY", on)
            usd = rates.rate(currency, "USD", on)
            rows.append((currency, day, cny.rate, usd.rate, cny.date, (day - cny.date).days, cny.source))
        except CurrencyError:
            rows.append((currency, day, None, None, None, None, None))  # unconverted; counted in the notes
    if rows:  # as one Arrow table: DuckDB's executemany costs a statement per row
        cols = list(zip(*rows))
        con.register("t_fx", pa.table({
            "currency": pa.array(cols[0], pa.string()), "day": pa.array(cols[1], pa.date32()),
            "to_cny": pa.array(cols[2], pa.float64()), "to_usd": pa.array(cols[3], pa.float64()),
            "fixing": pa.array(cols[4], pa.date32()), "age_days": pa.array(cols[5], pa.int32()),
            "source": pa.array(cols[6], pa.string())}))
        con.execute("INSERT INTO fx SELECT * FROM t_fx")
        con.unregister("t_fx")


def shipment_summary(option: dict[str, Any], milestones: list[dict[str, Any]]) -> dict[str, Any]:
    """Corridor, main mode, lead time (days), on time and CO2e of one tracked shipment."""
    legs = option.get("legs") or []
    main = max(legs, key=lambda leg: leg.get("distance_km") or 0) if legs else None
    corridor = f"{main['from']}-{main['to']}" if main else None
    lead = on_time = None
    if milestones:
        first, last = milestones[0], milestones[-1]
        start = first.get("actual_depart") or first.get("planned_depart")
        end = last.get("actual_arrive")
        if start is not None and end is not None:
            lead = round((end - start) / 86_400_000, 4)
            due = option.get("arrive_p90")
            if due:
                on_time = end <= int(datetime.fromisoformat(due).timestamp() * 1000)
    return {"corridor": corridor, "mode": main.get("mode") if main else None, "lead_days": lead, "on_time": on_time,
            "co2e_kg": option.get("co2e_kg")}


def _load_stock(con: duckdb.DuckDBPyConnection, moves: pa.Table, rates: RateTable) -> None:
    """Replace the 9810 stock movements read (inbound to an overseas warehouse, sales out of it), converted."""
    if moves.num_rows == 0:
        return
    con.register("t_moves", moves)
    _fill_rates(con, rates, "t_moves", "moved_ms")
    con.execute("DELETE FROM stock USING t_moves t WHERE stock.org_id = t.org_id AND stock.movement_no = t.movement_no")
    con.execute(f"""
        INSERT INTO stock
        SELECT m.org_id, m.movement_no, m.enterprise_code, m.day, m.kind, m.warehouse_id, m.warehouse_country,
               m.hs_chapter, m.value, m.currency, m.value * fx.to_cny, m.value * fx.to_usd
        FROM (SELECT *, CAST(epoch_ms(moved_ms + {CHINA_OFFSET_MS}) AS DATE) AS day FROM t_moves) m
        LEFT JOIN fx ON fx.currency = m.currency AND fx.day = m.day""")
    con.unregister("t_moves")


def _load_ships(con: duckdb.DuckDBPyConnection, ships: pa.Table) -> list[tuple[str]]:
    """Replace the summaries of the refreshed shipments; their ids."""
    rows = []
    for sid, org, option_json, milestones_json in zip(*(ships.column(i).to_pylist() for i in range(ships.num_columns))):
        s = shipment_summary(json.loads(option_json), json.loads(milestones_json))
        rows.append((sid, org, s["corridor"], s["mode"], s["lead_days"], s["on_time"], s["co2e_kg"]))
    if rows:
        con.executemany("DELETE FROM ship WHERE shipment_id = ?", [(r[0],) for r in rows])
        con.executemany("INSERT INTO ship VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return [(r[0],) for r in rows]


__all__ = ["CODED", "CODE_COLUMNS", "DERIVED_COLUMNS", "ColumnarCopy", "code_shipments", "FACT_COLUMNS", "code_members", "insert_facts", "rebuild_rollup", "rebuild_tracked", "OVERLAP_MS", "RefreshReport", "SHIP_COLUMNS", "create_schema",
           "shipment_summary"]
