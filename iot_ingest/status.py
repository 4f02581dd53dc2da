"""Read side: warehouse state (conditions, free capacity), shipment tracking, ingest statistics.

``free_capacity_m3`` is what the optimizer reads: the space a shared warehouse still has, from its
occupancy sensors when it has them, else its nominal ``capacity_m3``.

Tenancy: ``org=`` scopes every read to one organisation's shipments and devices (their readings,
events and alerts are reached through them); another organisation's id is unknown exactly as an
unknown id. None: every record (operators, the optimizer's zone-wide capacity).
"""

from __future__ import annotations

import time
from dataclasses import fields
from typing import Any

from sqlalchemy import func, select

from iot_ingest import tables as t
from storage.db import Database
from iot_ingest.limits import check_ingest_id
from iot_ingest.milestones import get_shipment, iso_utc
from iot_ingest.milestones import scope as shipment_scope
from iot_ingest.pipeline import BatchResult
from iot_ingest.registry import UnknownDevice, UnknownShipment
from optimizer.errors import InvalidInput
from optimizer.network.model import NodeKind
from optimizer.network import Network
from optimizer.quotes.limits import check_id

PALLET_POSITION_M3 = 1.44  # one EUR pallet position (1.2 x 0.8 m footprint, 1.5 m high) [A]
COUNTERS = tuple(f.name for f in fields(BatchResult) if f.type in (int, "int"))  # received, readings, stored, ...


def _iso(ms: int | None) -> str | None:
    return iso_utc(ms)


def warehouse_status(db: Database, net: Network, warehouse_id: str | None = None, *, org: str | None = None,
                     zone_wide: bool = False) -> list[dict[str, Any]]:
    """Latest conditions and free capacity per warehouse (one, or all overseas warehouses).

    A warehouse is a node of the network, shared by many tenants: every tenant may ask for it, and
    sees what its own sensors report (``org``); with ``zone_wide`` (the pilot-zone office) conditions
    and capacity aggregate every tenant's sensors, while the open alerts, which name devices, stay
    the organisation's own."""
    if warehouse_id is not None:
        node = net.node(check_id(warehouse_id, "warehouse"), "warehouse")
        if node.kind is not NodeKind.OVERSEAS_WAREHOUSE:
            raise InvalidInput(f"'{warehouse_id}' is a {node.kind.value}, not an overseas warehouse", field="warehouse")
        nodes = [node]
    else:
        nodes = net.warehouses()
    d, s, a = t.devices, t.device_state, t.alerts
    own = [d.c.org_id == org] if org is not None else []
    with db.engine.connect() as conn:
        rows = conn.execute(select(d.c.warehouse_id, d.c.device_id, s).join(s, s.c.device_id == d.c.device_id, isouter=True)
                            .where(d.c.warehouse_id.in_([n.id for n in nodes]), *([] if zone_wide else own))).mappings().all()
        alert_devices = [a.c.device_id.in_(select(d.c.device_id).where(*own))] if own else []
        open_alerts = conn.execute(select(a).where(a.c.warehouse_id.in_([n.id for n in nodes]), a.c.ended_ms.is_(None),
                                                   *alert_devices)
                                   .order_by(a.c.started_ms)).mappings().all()
    out = []
    for n in nodes:
        sensors = [r for r in rows if r["warehouse_id"] == n.id]
        seen = [r for r in sensors if r["last_ts_ms"] is not None]
        temps = [r["temperature_c"] for r in seen if r["temperature_c"] is not None]
        hums = [r["humidity_pct"] for r in seen if r["humidity_pct"] is not None]
        occ = [r["occupied_positions"] for r in seen if r["occupied_positions"] is not None]
        capacity_positions = int(n.capacity_m3 // PALLET_POSITION_M3)
        occupied = sum(occ) if occ else None
        free_positions = capacity_positions - occupied if occupied is not None else capacity_positions
        out.append({
            "id": n.id, "name": n.name, "country": n.country,
            "conditions": {
                "temperature_c": {"min": min(temps), "max": max(temps), "mean": round(sum(temps) / len(temps), 2)} if temps else None,
                "humidity_pct": round(sum(hums) / len(hums), 1) if hums else None,
                "doors_open": sum(1 for r in seen if r["door_open"]),
                "sensors": len(sensors), "sensors_reporting": len(seen),
                "updated": _iso(max((r["last_ts_ms"] for r in seen), default=None)),
            },
            "capacity": {
                "capacity_m3": n.capacity_m3, "capacity_positions": capacity_positions,
                "occupied_positions": occupied, "free_positions": max(free_positions, 0),
                "free_m3": round(max(free_positions, 0) * PALLET_POSITION_M3, 1),
                "source": "occupancy sensors" if occ else "nominal (no occupancy sensor)",
            },
            "open_alerts": [{"kind": r["kind"], "device": r["device_id"], "since": _iso(r["started_ms"]),
                             "detail": r["detail"]} for r in open_alerts if r["warehouse_id"] == n.id],
        })
    return out


def free_capacity_m3(db: Database, net: Network) -> dict[str, float]:
    """Free space per overseas warehouse in m³ (for the optimizer's warehouse allocation)."""
    return {w["id"]: w["capacity"]["free_m3"] for w in warehouse_status(db, net)}


def ingest_stats(db: Database) -> dict[str, Any]:
    """Counters since the database was created, plus lag and table sizes."""
    with db.engine.connect() as conn:
        c = dict(conn.execute(select(t.counters.c.name, t.counters.c.value)).all())
        tables = {name: conn.execute(select(func.count()).select_from(tbl)).scalar_one()
                  for name, tbl in (("readings", t.readings), ("dead_letters", t.dead_letters),
                                    ("quarantine", t.quarantine), ("events", t.events), ("alerts", t.alerts),
                                    ("devices", t.devices), ("shipments", t.shipments))}
        open_alerts = conn.execute(select(func.count()).select_from(t.alerts).where(t.alerts.c.ended_ms.is_(None))).scalar_one()
    last = c.get("last_stored_ms")
    return {
        **{k: int(c.get(k, 0)) for k in COUNTERS},
        "lag": {"receive_to_store_ms_p50": c.get("lag_ms_p50"), "receive_to_store_ms_p95": c.get("lag_ms_p95"),
                "last_stored": _iso(last), "seconds_since_last_store": round(time.time() - last / 1000, 1) if last else None},
        "tables": tables, "open_alerts": int(open_alerts),
    }


def _events(conn, where) -> list[dict[str, Any]]:
    e = t.events
    return [{"ts": _iso(r["ts_ms"]), "kind": r["kind"], "node": r["node_id"], "node_kind": r["node_kind"],
             "device": r["device_id"]} for r in conn.execute(select(e).where(where).order_by(e.c.ts_ms, e.c.id)).mappings()]


def _alerts(conn, where) -> list[dict[str, Any]]:
    a = t.alerts
    return [{"kind": r["kind"], "device": r["device_id"], "started": _iso(r["started_ms"]), "ended": _iso(r["ended_ms"]),
             "value": r["value"], "detail": r["detail"]} for r in conn.execute(select(a).where(where).order_by(a.c.started_ms)).mappings()]


def _position(conn, device_id: str) -> dict[str, Any] | None:
    s = t.device_state
    r = conn.execute(select(s).where(s.c.device_id == device_id)).mappings().first()
    if r is None:
        return None
    return {"device": device_id, "ts": _iso(r["last_ts_ms"]), "lat": r["lat"], "lon": r["lon"],
            "speed_kmh": r["speed_kmh"], "temperature_c": r["temperature_c"],
            "inside": [f for f in r["fences"].split(",") if f], "received": _iso(r["last_received_ms"])}


def track(db: Database, net: Network, key: str, *, org: str | None = None) -> dict[str, Any]:
    """A shipment (status, milestones, ETA, events, alerts, last positions) or a single device
    (of ``org`` when given)."""
    check_ingest_id(key, "key", "shipment or device id")
    own_device = [t.devices.c.org_id == org] if org is not None else []
    with db.engine.connect() as conn:
        is_shipment = conn.execute(select(t.shipments.c.shipment_id)
                                   .where(t.shipments.c.shipment_id == key, *shipment_scope(org))).first()
        dev = None if is_shipment else conn.execute(select(t.devices).where(t.devices.c.device_id == key, *own_device)
                                                    ).mappings().first()
    if is_shipment is None:
        if dev is None:
            raise UnknownDevice(f"'{key}' is neither a shipment nor a registered device", field="device")
        summary = _shipment_summary(db, net, dev["shipment_id"], org) if dev["shipment_id"] else None
        with db.engine.connect() as conn:
            out: dict[str, Any] = {"device": key, "kind": dev["kind"], "shipment": dev["shipment_id"],
                                   "warehouse": dev["warehouse_id"], "last": _position(conn, key),
                                   "events": _events(conn, t.events.c.device_id == key),
                                   "alerts": _alerts(conn, t.alerts.c.device_id == key)}
        if summary:
            out["shipment_status"] = summary
        return out
    doc = get_shipment(db, key, org=org).to_dict(net)
    doc.pop("option")
    with db.engine.connect() as conn:
        devices = [r[0] for r in conn.execute(select(t.devices.c.device_id)
                                              .where(t.devices.c.shipment_id == key, *own_device))]
        doc["devices"] = devices
        doc["last"] = [p for p in (_position(conn, d) for d in devices) if p]
        doc["events"] = _events(conn, t.events.c.shipment_id == key)
        doc["alerts"] = _alerts(conn, t.alerts.c.shipment_id == key)
    return doc


def _shipment_summary(db: Database, net: Network, sid: str, org: str | None = None) -> dict[str, Any] | None:
    try:
        d = get_shipment(db, sid, org=org).to_dict(net)
    except UnknownShipment:
        return None
    return {"status": d["status"], "eta": d["eta"]}


def track_geojson(db: Database, net: Network, shipment_id: str, limit: int = 20000, *,
                  org: str | None = None) -> dict[str, Any]:
    """GeoJSON FeatureCollection: the track (LineString, event time order) and the events (Points)."""
    get_shipment(db, shipment_id, org=org)  # 404 when unknown (or another organisation's)
    r, e = t.readings, t.events
    with db.engine.connect() as conn:
        pts = conn.execute(select(r.c.ts_ms, r.c.lon, r.c.lat, r.c.device_id)
                           .where(r.c.shipment_id == shipment_id, r.c.lat.is_not(None))
                           .order_by(r.c.ts_ms).limit(limit)).all()
        evs = conn.execute(select(e).where(e.c.shipment_id == shipment_id).order_by(e.c.ts_ms, e.c.id)).mappings().all()
    feats: list[dict[str, Any]] = []
    if pts:
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[p.lon, p.lat] for p in pts]},
                      "properties": {"shipment": shipment_id, "kind": "track", "points": len(pts),
                                     "from": _iso(pts[0].ts_ms), "to": _iso(pts[-1].ts_ms)}})
    for ev in evs:
        node = net.nodes.get(ev["node_id"])
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [ev["lon"], ev["lat"]]},
                      "properties": {"kind": ev["kind"], "node": ev["node_id"], "name": node.name if node else None,
                                     "ts": _iso(ev["ts_ms"]), "device": ev["device_id"]}})
    return {"type": "FeatureCollection", "features": feats}


__all__ = ["warehouse_status", "free_capacity_m3", "ingest_stats", "track", "track_geojson", "UnknownShipment"]
