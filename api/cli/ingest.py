"""`cbec ingest`, `cbec devices`, `cbec shipments`, `cbec track`, `cbec warehouses status`."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from api.cli.app import app, warehouses_app
from api.cli.common import console, errors_as_exit, fail, print_json
from iot_ingest.limits import ID_RULE, check_ingest_id
from optimizer.errors import CbecError, InvalidInput

ingest_app = typer.Typer(help="IoT ingest over MQTT: run the consumer, statistics, retention.", invoke_without_command=True)
devices_app = typer.Typer(help="Device registry: bind trackers to shipments and sensors to warehouses.", no_args_is_help=True)
shipments_app = typer.Typer(help="Shipments followed by the ingest (a chosen quote option).", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(devices_app, name="devices")
app.add_typer(shipments_app, name="shipments")

DbOpt = Annotated[str | None, typer.Option("--db", help="database URL (default CBEC_DATABASE_URL, else SQLite "
                                                        "cbec.sqlite3 under CBEC_VAR_DIR)")]
OrgOpt = Annotated[str | None, typer.Option("--org", help="organisation id or name: only its records (default: "
                                                          "every record; an operator's view)")]
NewOrgOpt = Annotated[str | None, typer.Option("--org", help="organisation id or name the record belongs to "
                                                             "(default: the only organisation, if there is one)")]


def _db(url: str | None):
    from storage.db import open_db

    return open_db(url)


def org_scope(db, ref: str | None) -> str | None:
    """``--org`` of a reading command: the organisation's id (None: every record, the operator's view)."""
    from accounts.store import find_org

    return None if ref is None else find_org(db, ref).org_id


def len_orgs(db) -> int:
    from accounts.store import list_orgs

    return len(list_orgs(db))


def org_owner(db, ref: str | None) -> str | None:
    """``--org`` of a creating command: that organisation, else the only one there is (None while there
    is none: the record belongs to no organisation until `cbec orgs adopt`); several: say which."""
    from accounts.store import find_org, list_orgs

    if ref is not None:
        return find_org(db, ref).org_id
    orgs = list_orgs(db)
    if len(orgs) > 1:
        raise InvalidInput(f"there are {len(orgs)} organisations: say which one with --org (cbec orgs list)",
                           field="org")
    return orgs[0].org_id if orgs else None


@contextmanager
def guarded(options: Mapping[str, str] | None = None) -> Iterator[None]:
    """One line and exit 2 for every error a command can meet: domain errors (prefixed with the
    CLI option of their field, "--weight: weight_kg must be ..."), bad files, and a database that
    fails after it was opened (``open_db`` itself raises ServiceUnavailable)."""
    from sqlalchemy.exc import SQLAlchemyError

    with errors_as_exit():
        try:
            yield
        except CbecError as exc:
            option = (options or {}).get(exc.field or "")
            if option and not exc.detail.startswith(option):
                exc.detail = f"{option}: {exc.detail}"
            raise
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            fail(f"database error: {reason[0][:200] if reason else type(exc).__name__}", field="database_url",
                 title="Service unavailable")


def _net():
    from optimizer.network import load_network

    return load_network()


@ingest_app.callback()
def ingest_cmd(
    ctx: typer.Context,
    mqtt_url: Annotated[str | None, typer.Option("--mqtt-url", help="mqtt://host:port (default CBEC_MQTT_URL, else an embedded broker)")] = None,
    db: DbOpt = None,
    client_id: Annotated[str | None, typer.Option("--client-id", help="MQTT client id (fixed: it names the persistent session)")] = None,
    batch_size: Annotated[int, typer.Option(help="messages per transaction")] = 1000,
) -> None:
    """Run the ingest consumer (until Ctrl-C). Subcommands: stats, prune."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"db": db}
        return
    from iot_ingest.runner import IngestService

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with guarded({"batch_size": "--batch-size", "mqtt_url": "--mqtt-url", "database_url": "--db"}):
        svc = IngestService(mqtt_url=mqtt_url, database_url=db, client_id=client_id, batch_size=batch_size).start()
    console.print(f"ingest: {svc.describe()} (Ctrl-C to stop)")

    def _term(signum, frame):  # SIGTERM stops like Ctrl-C: flush, acknowledge, stop the broker child
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    try:
        svc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        svc.stop()


@ingest_app.command("stats")
def stats_cmd(ctx: typer.Context, db: DbOpt = None,
              as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Received, stored, duplicates, dead-lettered, quarantined, late; lag."""
    from iot_ingest.status import ingest_stats

    with guarded({"database_url": "--db"}):
        s = ingest_stats(_db(db or (ctx.obj or {}).get("db")))
    if as_json:
        print_json(s)
        return
    table = Table(title="ingest")
    table.add_column("counter")
    table.add_column("value", justify="right")
    for k in ("received", "stored", "duplicates", "dead_lettered", "implausible", "quarantined", "late", "ignored",
              "events", "alerts"):
        table.add_row(k, f"{s[k]:,}")
    table.add_row("open alerts", str(s["open_alerts"]))
    lag = s["lag"]
    table.add_row("lag receive→store p50/p95 ms", f"{lag['receive_to_store_ms_p50']} / {lag['receive_to_store_ms_p95']}")
    table.add_row("last stored", str(lag["last_stored"]))
    console.print(table)


@ingest_app.command("prune")
def prune_cmd(ctx: typer.Context,
              keep_days: Annotated[float, typer.Option(help="keep raw readings this many days: a number in (0, 36,500]")] = 90.0,
              dry_run: Annotated[bool, typer.Option("--dry-run", help="only report what would be downsampled and "
                                                                      "deleted; change nothing")] = False,
              db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Downsample raw readings older than --keep-days into hourly rows and delete them."""
    from iot_ingest.retention import KEEP_DAYS, prune

    with guarded({"keep_days": "--keep-days", "database_url": "--db"}):
        KEEP_DAYS.check(keep_days, "keep_days", "keep-days")  # before the database is even opened
        out = prune(_db(db or (ctx.obj or {}).get("db")), keep_days, dry_run=dry_run)
    if as_json:
        print_json(out)
    elif dry_run:
        console.print(f"dry run: {out['would_delete']:,} raw reading(s) older than {out['cutoff']} would be folded into "
                      f"{out['downsampled_buckets']:,} hourly row(s) and deleted; nothing changed", soft_wrap=True)
    else:
        console.print(f"{out['deleted']:,} raw reading(s) older than {out['cutoff']} folded into "
                      f"{out['downsampled_buckets']:,} hourly row(s) and deleted", soft_wrap=True)


BIND_OPTIONS = {"shipment": "--shipment", "warehouse": "--warehouse", "temp_min": "--temp-min", "temp_max": "--temp-max",
                "excursion_minutes": "--excursion-minutes", "hysteresis_c": "--hysteresis",
                "door_open_max_minutes": "--door-max-minutes", "expected_interval_s": "--interval", "database_url": "--db",
                "org": "--org"}
CREATE_OPTIONS = {"origin": "--from", "destination": "--to", "weight_kg": "--weight", "volume_m3": "--volume",
                  "ready": "--ready", "pieces": "--pieces", "cargo_class": "--class", "customs_mode": "--customs",
                  "option": "--option", "tag": "--tag", "database_url": "--db", "org": "--org"}
READ_OPTIONS = {"database_url": "--db", "org": "--org"}


@devices_app.command("bind")
def bind_cmd(
    device: Annotated[str, typer.Argument(help=f"device id, the topic segment ({ID_RULE}; OwnTracks: USER-DEVICE)")],
    shipment: Annotated[str | None, typer.Option("--shipment", help="shipment id (trackers)")] = None,
    warehouse: Annotated[str | None, typer.Option("--warehouse", help="warehouse node id (sensors)")] = None,
    temp_min: Annotated[float | None, typer.Option(help="°C, alert below (sensors default 2)")] = None,
    temp_max: Annotated[float | None, typer.Option(help="°C, alert above (sensors default 25)")] = None,
    excursion_minutes: Annotated[float, typer.Option(help="out of range this long before an alert")] = 15.0,
    hysteresis: Annotated[float, typer.Option(help="°C back inside the range to end an excursion")] = 1.0,
    door_max_minutes: Annotated[float, typer.Option(help="door open this long raises an alert")] = 10.0,
    interval: Annotated[float, typer.Option(help="expected seconds between readings (silent alert after 3x)")] = 300.0,
    org: NewOrgOpt = None,
    db: DbOpt = None,
) -> None:
    """Bind a device to a shipment or a warehouse (re-binding replaces); releases its quarantined readings.
    A new device of an organisation gets its credential, printed once."""
    from accounts import devices as credentials
    from iot_ingest.registry import bind_device
    from optimizer.quotes.limits import check_id

    with guarded(BIND_OPTIONS):
        check_ingest_id(device, "device", "DEVICE")  # the arguments first: nothing is opened for a bad one
        if shipment is not None:
            check_ingest_id(shipment, "shipment")
        if warehouse is not None:
            check_id(warehouse, "warehouse")
        database = _db(db)
        # with --org: that organisation's binding; without: a re-bound device keeps its organisation, a new
        # tracker takes its shipment's, a new sensor the only organisation (if there is exactly one)
        scoped = org_scope(database, org)
        only = org_owner(database, None) if scoped is None and warehouse is not None and len_orgs(database) == 1 else None
        dev, released = bind_device(database, _net(), device, shipment=shipment, warehouse=warehouse, temp_min=temp_min,
                                    temp_max=temp_max, excursion_minutes=excursion_minutes, hysteresis_c=hysteresis,
                                    door_open_max_minutes=door_max_minutes, expected_interval_s=interval, org=scoped,
                                    new_owner=only)
        key = None
        if dev.org_id is not None and not credentials.has_credential(database, dev.device_id):
            key = credentials.issue(database, dev.device_id)[1]
    target = f"shipment {dev.shipment_id}" if dev.shipment_id else f"warehouse {dev.warehouse_id}"
    rng = f", alert outside {dev.temp_min:g}..{dev.temp_max:g} °C for {dev.excursion_minutes:g} min" \
        if dev.temp_min is not None and dev.temp_max is not None else ""
    console.print(f"bound {dev.kind} {dev.device_id} to {target}{rng}; {released} quarantined reading(s) released",
                  soft_wrap=True)
    if key is not None:
        console.print(f"device key of {dev.device_id} (shown once; HTTP Basic {dev.device_id}:KEY or X-Device-Key):",
                      soft_wrap=True)
        console.print(key, soft_wrap=True, highlight=False)
    elif dev.org_id is None:
        console.print(f"{dev.device_id} belongs to no organisation: it has no credential until one adopts it "
                      "(cbec orgs adopt ORG; then cbec devices credentials DEVICE)", soft_wrap=True)


@devices_app.command("credentials")
def credentials_cmd(
    device: Annotated[str, typer.Argument(help="device id")],
    org: OrgOpt = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue the device a new credential, printed once (the old one stops working)."""
    from accounts import devices as credentials

    with guarded(READ_OPTIONS):
        check_ingest_id(device, "device", "DEVICE")
        database = _db(db)
        key_id, key = credentials.issue(database, device, org_id=org_scope(database, org))
    if as_json:
        print_json({"device": device, "key_id": key_id, "key": key})
        return
    console.print(f"device key of {device} (shown once; HTTP Basic {device}:KEY or X-Device-Key):", soft_wrap=True)
    console.print(key, soft_wrap=True, highlight=False)


@devices_app.command("list")
def devices_list_cmd(org: OrgOpt = None, db: DbOpt = None,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Registered devices and their bindings."""
    from dataclasses import asdict

    from iot_ingest.registry import list_devices

    with guarded(READ_OPTIONS):
        database = _db(db)
        devs = list_devices(database, org=org_scope(database, org))
    if as_json:
        print_json([asdict(d) for d in devs])
        return
    table = Table(title="devices")
    for col in ("device", "kind", "bound to", "temp range °C", "interval s"):
        table.add_column(col)
    for d in devs:
        table.add_row(d.device_id, d.kind, d.shipment_id or d.warehouse_id or "",
                      f"{d.temp_min}..{d.temp_max}" if d.temp_min is not None or d.temp_max is not None else "",
                      f"{d.expected_interval_s:g}")
    console.print(table)


@shipments_app.command("create")
def shipment_create_cmd(
    shipment_id: Annotated[str, typer.Argument(help=f"shipment id ({ID_RULE})")],
    origin: Annotated[str, typer.Option("--from", help="origin node id")],
    destination: Annotated[str, typer.Option("--to", help="destination node id")],
    weight: Annotated[float, typer.Option("--weight", help="kg")],
    volume: Annotated[float, typer.Option("--volume", help="m³")],
    ready: Annotated[str, typer.Option("--ready", help="YYYY-MM-DD or ISO date-time")],
    pieces: Annotated[int, typer.Option("--pieces", help="number of pieces (parcels for 9610)")] = 1,
    option: Annotated[int | None, typer.Option("--option", help="1-based option number of `cbec quote`")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="cheapest | fastest | greenest")] = None,
    cargo_class: Annotated[str, typer.Option("--class")] = "general",
    customs_mode: Annotated[str | None, typer.Option("--customs")] = None,
    org: NewOrgOpt = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Quote a shipment and follow the chosen option (default: the first, i.e. cheapest)."""
    from iot_ingest.milestones import create_shipment
    from optimizer.quotes.quote import build_request

    with guarded(CREATE_OPTIONS):
        check_ingest_id(shipment_id, "id", "SHIPMENT_ID")
        net = _net()
        # every bound before the database is opened (create_shipment checks them again, then quotes)
        build_request(net, origin, destination, weight, volume, ready, pieces=pieces, cargo_class=cargo_class,
                      customs_mode=customs_mode)
        database = _db(db)
        s = create_shipment(database, net, shipment_id, origin, destination, weight, volume, ready, option=option,
                            tag=tag, cargo_class=cargo_class, customs_mode=customs_mode, pieces=pieces,
                            org=org_owner(database, org))
    d = s.to_dict(net)
    if as_json:
        print_json(d)
        return
    route = " → ".join(m["node"] for m in d["milestones"])
    console.print(f"shipment {s.shipment_id}: {route}; ETA {d['eta']['p50']} (p90 {d['eta']['p90']})")


@shipments_app.command("show")
def shipment_show_cmd(shipment_id: str, org: OrgOpt = None, db: DbOpt = None) -> None:
    """The shipment as JSON (status, milestones, ETA, option)."""
    from iot_ingest.milestones import get_shipment

    with guarded(READ_OPTIONS):
        check_ingest_id(shipment_id, "shipment", "SHIPMENT_ID")
        net = _net()
        database = _db(db)
        print_json(get_shipment(database, shipment_id, org=org_scope(database, org)).to_dict(net))


@shipments_app.command("list")
def shipment_list_cmd(
    org: OrgOpt = None,
    status: Annotated[str | None, typer.Option(help="planned | in_transit | at | delivered")] = None,
    limit: Annotated[int, typer.Option(help="at most this many (newest first)")] = 50,
    offset: Annotated[int, typer.Option(help="skip this many")] = 0,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Followed shipments, newest first."""
    from iot_ingest.milestones import list_shipments

    with guarded({**READ_OPTIONS, "status": "--status", "limit": "--limit", "offset": "--offset"}):
        database = _db(db)
        items, total = list_shipments(database, org=org_scope(database, org), status=status, limit=limit,
                                      offset=offset)
        net = _net()
    docs = [s.to_dict(net) for s in items]
    if as_json:
        print_json({"items": [{k: d[k] for k in ("id", "origin", "destination", "status", "eta", "last_seen")}
                              for d in docs], "total": total, "limit": limit, "offset": offset})
        return
    table = Table(title=f"shipments ({len(docs)} of {total})")
    for col in ("id", "from", "to", "status", "ETA p50", "organisation"):
        table.add_column(col)
    for s, d in zip(items, docs):
        table.add_row(d["id"], d["origin"], d["destination"], d["status"], (d["eta"]["p50"] or "")[:16], s.org_id or "-")
    console.print(table)


@app.command("track")
def track_cmd(key: Annotated[str, typer.Argument(help="shipment id or device id")], org: OrgOpt = None,
              db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Last position, events, milestones and ETA of a shipment (or a device).

    With CBEC_API_URL set, the deployed service answers (the shipments and devices of CBEC_API_KEY's
    organisation)."""
    from api.cli.remote import local_only, remote

    with guarded(READ_OPTIONS):
        check_ingest_id(key, "key", "KEY (a shipment or device id)")
        service = remote()
        local_only(service, **{"--org": org, "--db": db})
        if service is not None:
            with service:
                doc = remote_track(service, key)
        else:
            from iot_ingest.status import track

            database = _db(db)
            doc = track(database, _net(), key, org=org_scope(database, org))
    if as_json:
        print_json(doc)
        return
    if "milestones" not in doc:
        last = doc["last"] or {}
        console.print(f"device {doc['device']} ({doc['kind']}, {doc['shipment'] or doc['warehouse']}): "
                      f"last {last.get('ts')} at {last.get('lat')}, {last.get('lon')}")
        if doc.get("shipment_status"):
            console.print(f"shipment status {doc['shipment_status']['status']}, ETA {doc['shipment_status']['eta']['p50']}")
    else:
        eta = doc["eta"]
        console.print(f"shipment {doc['id']} {doc['origin']} → {doc['destination']}: [bold]{doc['status']}[/], "
                      f"ETA {eta['p50']} (p90 {eta['p90']}; planned {eta['planned_p50']}, delay {eta['delay_hours']} h)")
        table = Table()
        for col in ("stop", "planned arrive", "actual arrive", "planned depart", "actual depart"):
            table.add_column(col)
        for m in doc["milestones"]:
            table.add_row(m["node"], (m["planned_arrive"] or "")[:16], (m["actual_arrive"] or "")[:16],
                          (m["planned_depart"] or "")[:16], (m["actual_depart"] or "")[:16])
        console.print(table)
        for p in doc["last"]:
            console.print(f"last position {p['device']}: {p['ts']} {p['lat']:.4f}, {p['lon']:.4f}"
                          + (f" inside {', '.join(p['inside'])}" if p["inside"] else ""))
    for a in doc["alerts"]:
        console.print(f"[red]alert[/] {a['kind']} {a['device']} since {a['started']}"
                      f"{' until ' + a['ended'] if a['ended'] else ' (open)'}: {a['detail']}")


def remote_track(service, key: str) -> dict:
    """What ``track`` gives, from the service: GET /v1/shipments/{key}, else the device GET /v1/devices/{key}
    with its shipment's status, its last position, events and alerts (a sensor: its warehouse's open alerts)."""
    from api.cli.remote import RemoteProblem

    try:
        return service.json("GET", f"/v1/shipments/{key}")
    except RemoteProblem as exc:
        if exc.status != 404:
            raise
    try:
        dev = service.json("GET", f"/v1/devices/{key}")
    except RemoteProblem as exc:
        if exc.status == 404:
            raise RemoteProblem(404, "Unknown device", f"'{key}' is neither a shipment nor a registered device",
                                "device") from None
        raise
    out = {"device": key, "kind": dev["kind"], "shipment": dev["shipment"], "warehouse": dev["warehouse"],
           "last": None, "events": [], "alerts": []}
    if dev["shipment"]:
        ship = service.json("GET", f"/v1/shipments/{dev['shipment']}")
        out["last"] = next((p for p in ship["last"] if p.get("device") == key), None)
        out["events"] = [e for e in ship["events"] if e.get("device") == key]
        out["alerts"] = [a for a in ship["alerts"] if a.get("device") == key]
        out["shipment_status"] = {"status": ship["status"], "eta": ship["eta"]}
    elif dev["warehouse"]:
        wh = service.json("GET", f"/v1/warehouses/{dev['warehouse']}")
        out["alerts"] = [{"kind": a["kind"], "device": a["device"], "started": a["since"], "ended": None,
                          "value": None, "detail": a["detail"]}
                         for a in wh.get("open_alerts", []) if a.get("device") == key]
    return out


@warehouses_app.command("status")
def warehouses_status_cmd(warehouse: Annotated[str | None, typer.Argument(help="warehouse id (default: all)")] = None,
                          org: Annotated[str | None, typer.Option("--org", help="organisation id or name: its own "
                                                                  "sensors only (default: every sensor)")] = None,
                          db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Latest conditions (temperature, humidity, doors) and free capacity per shared warehouse."""
    from iot_ingest.status import warehouse_status
    from optimizer.quotes.limits import check_id

    with guarded(READ_OPTIONS):
        if warehouse is not None:
            warehouse = check_id(warehouse, "warehouse", "WAREHOUSE")
        database = _db(db)
        rows = warehouse_status(database, _net(), warehouse, org=org_scope(database, org))
    if as_json:
        print_json(rows if warehouse is None else rows[0])
        return
    table = Table(title="shared overseas warehouses")
    for col, j in (("id", "left"), ("temp °C min/mean/max", "right"), ("RH %", "right"), ("doors open", "right"),
                   ("free positions", "right"), ("free m³", "right"), ("sensors", "right"), ("alerts", "left"),
                   ("updated", "left")):
        table.add_column(col, justify=j)
    for w in rows:
        c, cap = w["conditions"], w["capacity"]
        t = c["temperature_c"]
        table.add_row(w["id"], f"{t['min']:.1f}/{t['mean']:.1f}/{t['max']:.1f}" if t else "-",
                      f"{c['humidity_pct']:.0f}" if c["humidity_pct"] is not None else "-", str(c["doors_open"]),
                      f"{cap['free_positions']:,}/{cap['capacity_positions']:,}", f"{cap['free_m3']:,.0f}",
                      f"{c['sensors_reporting']}/{c['sensors']}", ", ".join(a["kind"] for a in w["open_alerts"]),
                      (c["updated"] or "")[:16])
    console.print(table)


def _cli_ms(text: str | None, name: str, default_ms: int) -> int:
    """An ISO 8601 time (UTC without an offset) as epoch ms; ``default_ms`` when not given."""
    from datetime import UTC, datetime

    from optimizer.errors import InvalidInput

    if text is None:
        return default_ms
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 date or time, got {text!r}", field=name) from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)


@warehouses_app.command("readings")
def warehouses_readings_cmd(
        warehouse: Annotated[str, typer.Argument(help="warehouse id")],
        since: Annotated[str | None, typer.Option("--since", help="from this event time (ISO 8601, UTC without an "
                                                                  "offset; default 24 h before --until)")] = None,
        until: Annotated[str | None, typer.Option("--until", help="up to this event time (default now)")] = None,
        sensor: Annotated[str | None, typer.Option("--sensor", help="one sensor (default every sensor there)")] = None,
        limit: Annotated[int, typer.Option("--limit", help="at most this many points per sensor (1-5000)")] = 500,
        org: Annotated[str | None, typer.Option("--org", help="organisation id or name: its own sensors only "
                                                              "(default: every sensor)")] = None,
        db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Stored sensor readings of a warehouse as time series, downsampled to at most --limit points per sensor."""
    import time
    from dataclasses import asdict

    from iot_ingest.history import warehouse_readings

    with guarded({**READ_OPTIONS, "since": "--since", "until": "--until", "sensor": "--sensor", "limit": "--limit",
                  "warehouse": "WAREHOUSE"}):
        until_ms = _cli_ms(until, "until", int(time.time() * 1000))
        since_ms = _cli_ms(since, "since", until_ms - 24 * 3600 * 1000)
        database = _db(db)
        doc = warehouse_readings(database, _net(), warehouse, since_ms=since_ms, until_ms=until_ms, sensor=sensor,
                                 limit=limit, org=org_scope(database, org))
    if as_json:
        print_json(asdict(doc))
        return
    table = Table(title=f"{doc.warehouse} readings {doc.since} → {doc.until}")
    for col in ("sensor", "time", "n", "temp °C min/mean/max", "RH %", "occupied", "door"):
        table.add_column(col, justify="left" if col in ("sensor", "time") else "right")
    for s in doc.series:
        for p in s.points:
            tc = p["temperature_c"]
            table.add_row(s.sensor, p["time"][:16], str(p["n"]),
                          f"{p['temperature_c_min']:.1f}/{tc:.1f}/{p['temperature_c_max']:.1f}" if tc is not None else "-",
                          f"{p['humidity_pct']:.0f}" if p["humidity_pct"] is not None else "-",
                          f"{p['occupied_positions']:.0f}" if p["occupied_positions"] is not None else "-",
                          {True: "open", False: "closed", None: "-"}[p["door_open"]])
    console.print(table)
