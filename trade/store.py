"""Storing exchange records: idempotent batches with versions and history; reading them back.

:func:`store_batch` is the one use case behind ``POST /v1/records/{kind}:batch`` and
``cbec records import``. Each record is validated on its own (a bad record is rejected with its field
paths, the others are kept); its key (order number, payment number, ...) is looked up in the
organisation's records: unknown -> ``created`` (version 1); the same content -> ``unchanged`` (nothing
written); different content -> ``updated`` (version + 1, the previous version stays in
``trd_record_versions``). The whole batch is one transaction with bulk statements (``executemany``),
a few round trips per batch whatever its size; every row is worked out before it begins (SQLite has one
writer at a time: the transaction only compares digests and writes). Orders, payments and waybills then re-run the
three-document check of the orders they touch (:mod:`trade.checks`), in the same transaction, and changed
outcomes go to the webhooks outbox (``check.result``).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from pydantic import ValidationError
from sqlalchemy import Connection, Table, and_, func, select
from sqlalchemy.exc import IntegrityError

from optimizer.errors import CbecError, InvalidInput
from storage.db import Database
from trade import bulk, checks as document_checks
from trade.records import KEY_FIELDS, RECORD_MODELS, Enterprise, Order, Payment, Record, StockMovement, Waybill
from trade.tables import RECORD_TABLES, order_lines, record_versions
from webhooks.events import Event, enqueue, subscribed

MAX_BATCH = 10_000
"""Records per batch (one transaction); a larger set is sent as several batches."""
PAGE_MAX = 1000
WRITE_ATTEMPTS = 3
"""A batch racing another one for the same new keys is decided again (the loser sees the winner's rows)."""
Outcome = Literal["created", "unchanged", "updated", "rejected"]


class UnknownRecord(CbecError):
    status = 404
    title = "Not found"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"no {kind[:-1].replace('_', ' ')} '{key[:80]}'", field="key")


@dataclass(frozen=True)
class FieldError:
    """What is wrong and where: ``field`` is a path inside the record, e.g. ``lines[0].hs_code``."""

    field: str
    message: str


@dataclass(frozen=True)
class RecordResult:
    """The answer for one record of a batch (``index``: its position in the batch, from 0)."""

    index: int
    key: str | None
    outcome: Outcome
    version: int | None = None
    errors: tuple[FieldError, ...] = ()


@dataclass
class BatchResult:
    kind: str
    results: list[RecordResult]
    checks_changed: int = 0

    @property
    def counts(self) -> dict[str, int]:
        out = {"created": 0, "unchanged": 0, "updated": 0, "rejected": 0}
        for r in self.results:
            out[r.outcome] += 1
        return out


def field_path(loc: Sequence[str | int]) -> str:
    """``("lines", 0, "hs_code")`` -> ``lines[0].hs_code``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(record)"


def validate_record(kind: str, raw: Any) -> Record | tuple[FieldError, ...]:
    """The record, or what is wrong with it (each error with its field path)."""
    model = RECORD_MODELS[kind]
    if not isinstance(raw, dict):
        return (FieldError("(record)", f"a {kind[:-1].replace('_', ' ')} record must be a JSON object"),)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        return tuple(FieldError(field_path(e["loc"]), e["msg"].removeprefix("Value error, "))
                     for e in exc.errors(include_url=False)[:20])


def check_kind(kind: str) -> str:
    if kind not in RECORD_MODELS:
        raise InvalidInput(f"unknown record kind '{kind[:40]}' (one of {', '.join(RECORD_MODELS)})", field="kind")
    return kind


def ms(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp() * 1000)


# --- rows of the current-version tables (tuples in the tables' column order) ---------------------------------
def _enterprise_row(r: Enterprise) -> tuple:
    return (r.credit_code, r.name_zh, r.name_en, r.role, r.city, r.country)


def _order_row(r: Order, lines: list[tuple] | None = None) -> tuple:
    """``lines``: the order's :func:`_line_rows` when they are made anyway; their values and weights are summed
    (each Decimal is turned into a float once: ``float(Decimal)`` goes through its text)."""
    if lines is None:
        lines = _line_rows("", r)
    weights = [line[10] for line in lines]
    return (r.order_no, r.enterprise_code, r.platform_code, r.customs_mode, r.destination_country, r.currency,
            ms(r.ordered_at), r.buyer_name, r.consignee_name, float(r.freight),
            math.fsum([line[8] for line in lines]), None if None in weights else math.fsum(weights), len(lines))


def _payment_row(r: Payment) -> tuple:
    return (r.payment_no, r.order_no, r.payment_firm_code, r.payer_name, float(r.amount), r.currency, ms(r.paid_at))


def _waybill_row(r: Waybill) -> tuple:
    return (r.logistics_no, r.order_no, r.carrier, r.carrier_code, r.parcels, float(r.gross_weight_kg),
            r.consignee_name, r.destination_country, r.channel, r.transport_mode, r.shipment_id, ms(r.shipped_at))


def _movement_row(r: StockMovement) -> tuple:
    return (r.movement_no, r.enterprise_code, r.warehouse_id, r.warehouse_country, r.kind, ms(r.moved_at),
            r.hs_code, r.hs_code[:2], r.description, float(r.quantity), r.unit, float(r.value), r.currency,
            r.order_no, r.shipment_id)


ROW_OF: dict[str, Callable[[Any], tuple]] = {
    "enterprises": _enterprise_row, "orders": _order_row, "payments": _payment_row, "waybills": _waybill_row,
    "stock_movements": _movement_row}
"""A record's values for its current-version table, in the table's column order between ``org_id`` and the
versioning columns (``version, digest, created_ms, updated_ms``)."""
ROW_COLUMNS = {
    "enterprises": ("credit_code", "name_zh", "name_en", "role", "city", "country"),
    "orders": ("order_no", "enterprise_code", "platform_code", "customs_mode", "destination_country", "currency",
               "ordered_ms", "buyer_name", "consignee_name", "freight", "goods_value", "net_weight_kg", "line_count"),
    "payments": ("payment_no", "order_no", "payment_firm_code", "payer_name", "amount", "currency", "paid_ms"),
    "waybills": ("logistics_no", "order_no", "carrier", "carrier_code", "parcels", "gross_weight_kg", "consignee_name",
                 "destination_country", "channel", "transport_mode", "shipment_id", "shipped_ms"),
    "stock_movements": ("movement_no", "enterprise_code", "warehouse_id", "warehouse_country", "kind", "moved_ms",
                        "hs_code", "hs_chapter", "description", "quantity", "unit", "value", "currency", "order_no",
                        "shipment_id")}
for _kind, _columns in ROW_COLUMNS.items():  # the tuples above follow the tables; a new column must be added there
    assert [c.name for c in RECORD_TABLES[_kind].columns] == ["org_id", *_columns, "version", "digest", "created_ms",
                                                              "updated_ms"], _kind


def _order_facts(row: tuple) -> document_checks.OrderFacts | None:
    """What the three-document check reads of an order, from its ``trd_orders`` row (:func:`_order_row`);
    None for an order of a customs mode that is not checked."""
    (no, _, _, mode, country, currency, ordered_ms, buyer, consignee, freight, goods_value, net_weight, _) = row
    if mode != document_checks.CHECKED_MODE:
        return None
    return document_checks.OrderFacts(no, mode, currency, country, round(goods_value + freight, 2), net_weight,
                                      buyer, consignee, ordered_ms)


def _line_rows(org_id: str, r: Order) -> list[tuple]:
    """The order's goods lines as ``trd_order_lines`` tuples (column order of the table)."""
    no, currency = r.order_no, r.currency
    return [(org_id, no, i, line.hs_code, line.hs_code[:2], line.description, float(line.quantity), line.unit,
             float(line.value), currency, None if line.net_weight_kg is None else float(line.net_weight_kg))
            for i, line in enumerate(r.lines, start=1)]


assert [c.name for c in order_lines.columns] == ["org_id", "order_no", "line_no", "hs_code", "hs_chapter", "description",
                                                 "quantity", "unit", "value", "currency", "net_weight_kg"]
assert [c.name for c in record_versions.columns] == ["org_id", "kind", "record_key", "version", "digest",
                                                     "record_json", "stored_ms"]


# --- the batch --------------------------------------------------------------------------------------------
def store_batch(db: Database, org_id: str, kind: str, raws: Sequence[Any], *, now_ms: int | None = None) -> BatchResult:
    """Validate and store ``raws`` (records of ``kind`` as JSON objects or models) for ``org_id``."""
    check_kind(kind)
    if len(raws) > MAX_BATCH:
        raise InvalidInput(f"a batch holds at most {MAX_BATCH:,} records (got {len(raws):,}); send several batches",
                           field="records")
    with bulk.gc_paused():
        return _store(db, org_id, kind, raws, now_ms)


class _Prepared(NamedTuple):
    """A valid record of a batch, with everything its rows need worked out before the write transaction
    (SQLite holds one writer at a time: the less the transaction computes, the more two API processes
    overlap): its canonical JSON and digest, its current-version row (:data:`ROW_OF`), its goods lines
    (orders) and the facts the three-document check reads (9610 orders)."""

    index: int
    record: Record
    text: str
    digest: str
    row: tuple
    lines: list[tuple] | None = None
    facts: document_checks.OrderFacts | None = None


def _prepare(org_id: str, kind: str, raws: Sequence[Any]) -> tuple[list[_Prepared], list[RecordResult | None]]:
    """Validate ``raws`` (those that are not already models of ``kind``) and work out each valid record's rows;
    the rejected ones are answered with their field paths, in ``results`` (by index)."""
    model = RECORD_MODELS[kind]
    to_json = model.__pydantic_serializer__.to_json
    row_of = ROW_OF[kind]
    is_order = kind == "orders"
    sha256 = hashlib.sha256
    results: list[RecordResult | None] = [None] * len(raws)
    valid: list[_Prepared] = []
    for i, raw in enumerate(raws):
        rec = raw if type(raw) is model else validate_record(kind, raw)  # already validated (the API's body)
        if isinstance(rec, tuple):
            key = raw.get(KEY_FIELDS[kind]) if isinstance(raw, dict) else None
            results[i] = RecordResult(i, key if isinstance(key, str) else None, "rejected", errors=rec)
            continue
        data = to_json(rec)  # what model_dump_json() returns, as UTF-8 bytes (hashed as they are)
        if is_order:
            lines = _line_rows(org_id, rec)  # type: ignore[arg-type]
            row = _order_row(rec, lines)  # type: ignore[arg-type]
            valid.append(_Prepared(i, rec, data.decode(), sha256(data).hexdigest(), row, lines, _order_facts(row)))
        else:
            valid.append(_Prepared(i, rec, data.decode(), sha256(data).hexdigest(), row_of(rec)))
    return valid, results


def _store(db: Database, org_id: str, kind: str, raws: Sequence[Any], now_ms: int | None) -> BatchResult:
    now = int(time.time() * 1000) if now_ms is None else now_ms
    valid, results = _prepare(org_id, kind, raws)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with db.engine.begin() as conn:
                written, changed_checks = _write(conn, org_id, kind, valid, now)
            break
        except IntegrityError:  # another batch stored one of these keys meanwhile: read again, decide again
            if attempt == WRITE_ATTEMPTS:
                raise
    for i, r in written.items():
        results[i] = r
    return BatchResult(kind, [r for r in results if r is not None], len(changed_checks))


def _write(conn: Connection, org_id: str, kind: str, valid: list[_Prepared],
           now: int) -> tuple[dict[int, RecordResult], list[document_checks.CheckResult]]:
    """Compare ``valid`` with what is stored and write the new versions, in ``conn``'s transaction."""
    table: Table = RECORD_TABLES[kind]
    key_name = KEY_FIELDS[kind]
    results: dict[int, RecordResult] = {}
    changed_checks: list[document_checks.CheckResult] = []
    keys = sorted({p.record.key for p in valid})
    known: dict[str, tuple[int, str, int]] = {  # key -> version, digest, created_ms
        r[0]: (r[1], r[2], r[3])
        for r in bulk.select_in(conn, table, (key_name, "version", "digest", "created_ms"), org_id, key_name, keys)}
    state = dict(known)
    final: dict[str, tuple[_Prepared, int, int]] = {}  # key -> the record's last version in the batch, version, created_ms
    versions = []
    for p in valid:
        i, digest = p.index, p.digest
        key = p.record.key
        prev = state.get(key)
        if prev is not None and prev[1] == digest:
            results[i] = RecordResult(i, key, "unchanged", prev[0])
            continue
        version = 1 if prev is None else prev[0] + 1
        created = now if prev is None else prev[2]
        state[key] = (version, digest, created)
        final[key] = (p, version, created)
        versions.append((org_id, kind, key, version, digest, p.text, now))
        results[i] = RecordResult(i, key, "created" if prev is None else "updated", version)
    if final:
        replaced = [k for k in final if k in known]
        bulk.delete_in(conn, table, org_id, key_name, replaced)
        if kind == "orders":
            bulk.delete_in(conn, order_lines, org_id, "order_no", replaced)
        bulk.insert_tuples(conn, table, [(org_id, *p.row, v, p.digest, c, now) for p, v, c in final.values()])
        if kind == "orders":
            bulk.insert_tuples(conn, order_lines, [line for p, _, _ in final.values()
                                                   for line in p.lines])  # type: ignore[union-attr]
        bulk.insert_tuples(conn, record_versions, versions)
        if kind in ("orders", "payments", "waybills"):
            written = None
            if kind == "orders":  # the check takes the orders just written from here, not from the table again
                written = {key: p.facts for key, (p, _, _) in final.items()}
                touched = list(final)
            else:
                touched = [p.record.order_no for p, _, _ in final.values()]  # type: ignore[attr-defined]
            changed_checks = document_checks.recompute(conn, org_id, touched, now, written_orders=written)
            if changed_checks and "check.result" in subscribed(conn, [org_id]).get(org_id, ()):
                enqueue(conn, [Event(org_id, "check.result", c.to_dict()) for c in changed_checks], now)
    return results, changed_checks


# --- reading -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredRecord:
    """A record as stored: its key, current version, times and the record JSON as sent (normalised)."""

    kind: str
    key: str
    version: int
    created_ms: int
    updated_ms: int
    record: dict[str, Any]


@dataclass(frozen=True)
class RecordPage:
    items: list[StoredRecord]
    total: int


FILTERS: dict[str, tuple[str, ...]] = {
    "enterprises": ("role", "city"),
    "orders": ("enterprise_code", "customs_mode", "destination_country", "currency"),
    "payments": ("order_no", "currency"),
    "waybills": ("order_no", "shipment_id", "channel", "transport_mode", "destination_country"),
    "stock_movements": ("enterprise_code", "warehouse_id", "kind", "order_no"),
}
"""Equality filters each listing takes (``GET /v1/records/{kind}?customs_mode=9610``)."""
TIME_COLUMN = {"orders": "ordered_ms", "payments": "paid_ms", "waybills": "shipped_ms", "stock_movements": "moved_ms"}


def list_records(db: Database, org_id: str, kind: str, *, filters: dict[str, str] | None = None,
                 since_ms: int | None = None, until_ms: int | None = None, limit: int = 100,
                 offset: int = 0) -> RecordPage:
    """The organisation's current records of ``kind`` in key order, filtered by the fields of
    :data:`FILTERS` and by time (``since_ms`` inclusive, ``until_ms`` exclusive; orders by order time)."""
    check_kind(kind)
    table = RECORD_TABLES[kind]
    key_col = table.c[KEY_FIELDS[kind]]
    cond = [table.c.org_id == org_id]
    for name, value in (filters or {}).items():
        if value is None:
            continue
        if name not in FILTERS[kind]:
            raise InvalidInput(f"{kind} cannot be filtered by '{name[:40]}' (by {', '.join(FILTERS[kind])})",
                               field=name)
        cond.append(table.c[name] == value)
    if since_ms is not None or until_ms is not None:
        if kind not in TIME_COLUMN:
            raise InvalidInput(f"{kind} have no time to filter by", field="since")
        col = table.c[TIME_COLUMN[kind]]
        if since_ms is not None:
            cond.append(col >= since_ms)
        if until_ms is not None:
            cond.append(col < until_ms)
    v = record_versions.c
    with db.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(table).where(and_(*cond))).scalar_one()
        rows = conn.execute(select(key_col, table.c.version, table.c.created_ms, table.c.updated_ms, v.record_json)
                            .join(record_versions, and_(v.org_id == table.c.org_id, v.kind == kind,
                                                        v.record_key == key_col, v.version == table.c.version))
                            .where(and_(*cond)).order_by(key_col).limit(min(limit, PAGE_MAX)).offset(offset)).all()
    return RecordPage([StoredRecord(kind, r[0], r.version, r.created_ms, r.updated_ms, json.loads(r.record_json))
                       for r in rows], total)


@dataclass(frozen=True)
class RecordVersion:
    version: int
    digest: str
    stored_ms: int
    record: dict[str, Any]


@dataclass(frozen=True)
class RecordHistory:
    kind: str
    key: str
    versions: list[RecordVersion] = field(default_factory=list)


def record_history(db: Database, org_id: str, kind: str, key: str) -> RecordHistory:
    """Every version of one record, oldest first; :class:`UnknownRecord` (404) for an unknown key or
    another organisation's record."""
    check_kind(kind)
    v = record_versions.c
    with db.engine.connect() as conn:
        rows = conn.execute(select(v.version, v.digest, v.stored_ms, v.record_json)
                            .where(and_(v.org_id == org_id, v.kind == kind, v.record_key == key))
                            .order_by(v.version)).all()
    if not rows:
        raise UnknownRecord(kind, key)
    return RecordHistory(kind, key, [RecordVersion(r.version, r.digest, r.stored_ms, json.loads(r.record_json))
                                     for r in rows])


def get_record(db: Database, org_id: str, kind: str, key: str) -> StoredRecord:
    """The current version of one record (404 like an unknown key for another organisation's)."""
    history = record_history(db, org_id, kind, key)
    first, last = history.versions[0], history.versions[-1]
    return StoredRecord(kind, key, last.version, first.stored_ms, last.stored_ms, last.record)

