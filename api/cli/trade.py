"""cbec records|checks ...: the exchange records and the three-document check.

``cbec records import KIND FILE`` reads CSV or XLSX (row/field errors listed, valid rows kept),
``cbec records sample`` stores a synthetic year (trade.generator) for a demo, ``cbec records list|show``
read them back, ``cbec records schema KIND`` prints the JSON Schema; ``cbec checks list`` lists the
three-document checks. Operator tools on the database (as ``cbec shipments``), scoped by ``--org``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, fail, print_json
from api.cli.ingest import DbOpt, _db, guarded, org_owner
from optimizer.timefmt import iso_ms

records_app = typer.Typer(help="Exchange records: enterprises, orders, payments, waybills, 9810 stock movements.",
                          no_args_is_help=True)
checks_app = typer.Typer(help="The three-document check (三单对碰) of 9610 orders.", no_args_is_help=True)
app.add_typer(records_app, name="records")
app.add_typer(checks_app, name="checks")

KINDS = ("enterprises", "orders", "payments", "waybills", "stock_movements")
KindArg = Annotated[str, typer.Argument(help=" | ".join(KINDS))]
OrgOpt = Annotated[str | None, typer.Option("--org", help="organisation id or name the records belong to (default: "
                                                          "the only organisation)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
OPTIONS = {"database_url": "--db", "org": "--org", "kind": "KIND", "status": "--status", "limit": "--limit"}


def iso(ms: int | None) -> str:
    return iso_ms(ms or None, zulu=True) or ""


def _org(db, ref: str | None) -> str:
    org = org_owner(db, ref)
    if org is None:
        fail("no organisation yet: create one with `cbec orgs create NAME --kind partner`", field="org")
    return org


def _kind(kind: str) -> str:
    if kind not in KINDS:
        fail(f"unknown record kind '{kind[:40]}' (one of {', '.join(KINDS)})", field="kind")
    return kind


@records_app.command("import")
def import_cmd(kind: KindArg, file: Annotated[Path, typer.Argument(help="a .csv (UTF-8) or .xlsx file")],
               org: OrgOpt = None, db: DbOpt = None,
               batch: Annotated[int, typer.Option("--batch", min=1, max=10_000, help="records per transaction")] = 5000,
               as_json: JsonOpt = False) -> None:
    """Import records from CSV or XLSX: each bad row is listed (row, column, what is wrong), the valid ones are
    stored; a record sent again unchanged is not stored twice, a changed one becomes a new version.
    Exit status 1 when some rows were rejected."""
    from trade.imports import import_file

    _kind(kind)
    with guarded(OPTIONS):
        database = _db(db)
        report = import_file(database, _org(database, org), kind, file, batch=batch)
    if as_json:
        print_json({"file": report.file, "kind": kind, "rows": report.rows, "counts": report.counts,
                    "checks_changed": report.checks_changed,
                    "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in report.errors]})
    else:
        c = report.counts
        console.print(f"{report.file}: {report.rows} rows -> {c['created']} created, {c['updated']} updated, "
                      f"{c['unchanged']} unchanged, {c['rejected']} rejected"
                      + (f"; {report.checks_changed} document checks changed" if report.checks_changed else ""),
                      highlight=False, soft_wrap=True)
        for e in report.errors[:50]:
            console.print(f"  {e}", highlight=False, soft_wrap=True, markup=False)
        if len(report.errors) > 50:
            console.print(f"  ... and {len(report.errors) - 50} more (--json lists all)")
    if report.counts["rejected"]:
        raise typer.Exit(1)


@records_app.command("sample")
def sample_cmd(org: OrgOpt = None, db: DbOpt = None,
               orders: Annotated[int, typer.Option("--orders", min=1, max=200_000, help="orders to draw")] = 2000,
               seed: Annotated[int, typer.Option("--seed", help="the same seed gives the same data")] = 2026,
               year: Annotated[int, typer.Option("--year", min=2000, max=2100)] = 2026,
               as_json: JsonOpt = False) -> None:
    """Store a synthetic year of pilot-zone e-commerce (SYNTHETIC, not official figures): enterprises, orders,
    payments, waybills (9610 with a share of mismatching or missing documents), 9810 stock movements."""
    from trade.generator import generate
    from trade.store import MAX_BATCH, store_batch

    with guarded(OPTIONS):
        database = _db(db)
        org_id = _org(database, org)
        sample = generate(orders, seed=seed, year=year)
        out = {}
        for kind, records in sample.records().items():
            counts = {"created": 0, "unchanged": 0, "updated": 0, "rejected": 0}
            for i in range(0, len(records), MAX_BATCH // 2):
                for k, v in store_batch(database, org_id, kind, records[i:i + MAX_BATCH // 2]).counts.items():
                    counts[k] += v
            out[kind] = counts
    if as_json:
        print_json({"note": sample.note, "stored": out})
        return
    console.print(f"[dim]{sample.note}[/]")
    for kind, counts in out.items():
        console.print(f"{kind:16} {counts['created']:7,} created  {counts['updated']:6,} updated  "
                      f"{counts['unchanged']:7,} unchanged", highlight=False)


@records_app.command("list")
def list_cmd(kind: KindArg, org: OrgOpt = None, db: DbOpt = None,
             where: Annotated[list[str] | None, typer.Option("--where", help="FIELD=VALUE filter, e.g. "
                                                                               "customs_mode=9610 (repeatable)")] = None,
             limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
             offset: Annotated[int, typer.Option("--offset", min=0)] = 0, as_json: JsonOpt = False) -> None:
    """List the organisation's current records of KIND, in key order."""
    from trade.store import list_records

    _kind(kind)
    filters = {}
    for w in where or []:
        name, sep, value = w.partition("=")
        if not sep:
            fail(f"--where takes FIELD=VALUE (got '{w[:60]}')", field="where")
        filters[name.strip()] = value.strip()
    with guarded(OPTIONS | {name: "--where" for name in filters}):
        database = _db(db)
        page = list_records(database, _org(database, org), kind, filters=filters, limit=limit, offset=offset)
    if as_json:
        print_json({"total": page.total, "items": [{"key": r.key, "version": r.version, "updated_at": iso(r.updated_ms),
                                                    "record": r.record} for r in page.items]})
        return
    table = Table(title=f"{kind}: {page.total:,} (showing {len(page.items)})")
    for col in ("key", "version", "updated", "summary"):
        table.add_column(col)
    for r in page.items:
        table.add_row(r.key, str(r.version), iso(r.updated_ms), _summary(kind, r.record))
    console.print(table)


def _summary(kind: str, rec: dict) -> str:
    if kind == "orders":
        return (f"{rec['customs_mode']} {rec['destination_country']} {rec['currency']} "
                f"{sum(float(line['value']) for line in rec['lines']):,.2f} ({len(rec['lines'])} lines)")
    if kind == "payments":
        return f"order {rec['order_no']} {rec['amount']} {rec['currency']}"
    if kind == "waybills":
        return f"order {rec['order_no']} {rec['carrier']} {rec['gross_weight_kg']} kg {rec['channel']}/{rec['transport_mode']}"
    if kind == "enterprises":
        return f"{rec['role']} {rec['city']} {rec['name_zh']}"
    return f"{rec['kind']} {rec['warehouse_id']} {rec['hs_code']} {rec['quantity']} {rec['unit']}"


@records_app.command("show")
def show_cmd(kind: KindArg, key: Annotated[str, typer.Argument(help="the record's key")], org: OrgOpt = None,
             db: DbOpt = None, versions: Annotated[bool, typer.Option("--versions", help="every version")] = False) -> None:
    """Print one record as JSON (with --versions: its whole history)."""
    from trade.store import record_history

    _kind(kind)
    with guarded(OPTIONS):
        database = _db(db)
        h = record_history(database, _org(database, org), kind, key)
    shown = h.versions if versions else h.versions[-1:]
    print_json([{"version": v.version, "stored_at": iso(v.stored_ms), "digest": v.digest, "record": v.record}
                for v in shown] if versions else {"version": shown[0].version, "stored_at": iso(shown[0].stored_ms),
                                                   "record": shown[0].record})


@records_app.command("schema")
def schema_cmd(kind: KindArg) -> None:
    """Print the JSON Schema of KIND (as published in trade/schemas/)."""
    from trade.json_schema import record_schema

    print_json(record_schema(_kind(kind)))


@checks_app.command("list")
def checks_list_cmd(org: OrgOpt = None, db: DbOpt = None,
                    status: Annotated[str | None, typer.Option("--status", help="matched | mismatch | incomplete")] = None,
                    order_no: Annotated[str | None, typer.Option("--order", help="one order number")] = None,
                    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
                    as_json: JsonOpt = False) -> None:
    """The three-document checks, newest orders first, with the count of each status."""
    from trade.checks import STATUSES, list_checks

    if status is not None and status not in STATUSES:
        fail(f"--status is one of {', '.join(STATUSES)} (got '{status[:30]}')", field="status")
    with guarded(OPTIONS):
        database = _db(db)
        org_id = _org(database, org)
        page = list_checks(database, org_id, status=status, order_no=order_no, limit=limit)
    if as_json:
        print_json({"total": page.total, "counts": page.counts, "items": [
            {"order_no": c.order_no, "status": c.status, "missing": c.missing, "mismatches": c.mismatches,
             "ordered_at": iso(c.ordered_ms)} for c in page.items]})
        return
    console.print("  ".join(f"{s}: {n:,}" for s, n in page.counts.items()), highlight=False)
    table = Table()
    for col in ("order", "ordered", "status", "what"):
        table.add_column(col)
    for c in page.items:
        what = "; ".join([f"missing {m}" for m in c.missing] + [
            f"{m['field']}: {m['expected']} vs {m['found']} ({', '.join(m['documents'])})" for m in c.mismatches])
        table.add_row(c.order_no, iso(c.ordered_ms), c.status, what)
    console.print(table)
