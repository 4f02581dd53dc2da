"""Shipments, their milestones and their ETA.

A shipment is created from a quote: the chosen :class:`~optimizer.network.model.Option` is stored as
``option_to_dict`` (the one JSON shape for options) and flattened into milestones, one per node the
cargo passes: the first leg's origin, every ``via`` stop (border stations), every leg's end.

The ETA is the rest of the plan re-timed from the latest actual milestone: stops on the same
through service keep their planned offsets from the stop just reached (arrival at Alashankou at T
-> Łódź at T + the train's planned Alashankou->Łódź time); a later scheduled leg takes the next
departure the cargo can still make (the quote engine's departure tables), a road leg leaves after
the node's handling time. p90 is shifted by the same delay as p50.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from iot_ingest import tables as t
from storage.db import Database, bump_epoch
from iot_ingest.limits import check_ingest_id
from optimizer.errors import InvalidInput
from optimizer.quotes.limits import shown
from optimizer.network import Network
from optimizer.quotes.quote import build_request, quote
from optimizer.network.serialize import option_to_dict
from optimizer.network.timeutil import from_minutes, local_iso, to_minutes

MS_H = 3_600_000


def _ms(iso: str | None) -> int | None:
    return None if iso is None else int(datetime.fromisoformat(iso).timestamp() * 1000)


def iso_utc(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="minutes")


def milestones_from_option(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten an option dict into the ordered stops the cargo should pass."""
    legs = doc["legs"]
    out = [{"node": legs[0]["from"], "name": legs[0]["from_name"], "leg": 0, "via": False,
            "planned_arrive": None, "planned_depart": _ms(legs[0]["depart"]),
            "actual_arrive": None, "actual_depart": None}]
    for i, leg in enumerate(legs):
        for v in leg["via"]:
            out.append({"node": v["node"], "name": v["name"], "leg": i, "via": True,
                        "planned_arrive": _ms(v["arrive"]), "planned_depart": _ms(v["depart"]),
                        "actual_arrive": None, "actual_depart": None})
        nxt = legs[i + 1] if i + 1 < len(legs) else None
        out.append({"node": leg["to"], "name": leg["to_name"], "leg": i + 1 if nxt else i, "via": False,
                    "planned_arrive": _ms(leg["arrive"]), "planned_depart": _ms(nxt["depart"]) if nxt else None,
                    "actual_arrive": None, "actual_depart": None})
    return out


@dataclass(slots=True)
class TrackedShipment:
    """A shipment under way (mutable inside one ingest batch)."""

    shipment_id: str
    origin: str
    destination: str
    status: str  # planned | in_transit | at:<node> | delivered
    option: dict[str, Any]
    milestones: list[dict[str, Any]]
    eta_p50_ms: int | None
    eta_p90_ms: int | None
    last_seen_ms: int | None
    created_ms: int
    updated_ms: int
    org_id: str | None = None  # the tenant; None: stored before accounts existed (operators only)

    @classmethod
    def from_row(cls, r) -> "TrackedShipment":
        m = r._mapping
        return cls(m["shipment_id"], m["origin"], m["destination"], m["status"], json.loads(m["option_json"]),
                   json.loads(m["milestones_json"]), m["eta_p50_ms"], m["eta_p90_ms"], m["last_seen_ms"],
                   m["created_ms"], m["updated_ms"], m.get("org_id"))

    def row(self) -> dict[str, Any]:
        return {"shipment_id": self.shipment_id, "origin": self.origin, "destination": self.destination,
                "status": self.status, "option_json": json.dumps(self.option, ensure_ascii=False),
                "milestones_json": json.dumps(self.milestones), "eta_p50_ms": self.eta_p50_ms,
                "eta_p90_ms": self.eta_p90_ms, "last_seen_ms": self.last_seen_ms, "created_ms": self.created_ms,
                "updated_ms": self.updated_ms, "org_id": self.org_id}

    # --- progress --------------------------------------------------------------------------------
    def _progress(self) -> int:
        """Index of the furthest stop with an actual time (-1: none yet)."""
        for i in range(len(self.milestones) - 1, -1, -1):
            m = self.milestones[i]
            if m["actual_arrive"] is not None or m["actual_depart"] is not None:
                return i
        return -1

    def on_event(self, kind: str, node: str, ts_ms: int) -> bool:
        """Apply an arrival/departure at ``node``; True when a milestone changed."""
        start = max(self._progress(), 0)
        for i in range(start, len(self.milestones)):
            m = self.milestones[i]
            if m["node"] != node:
                continue
            if kind == "arrival" and m["actual_arrive"] is None and m["actual_depart"] is None:
                if i == 0 and m["planned_arrive"] is None and self._progress() == -1:
                    m["actual_arrive"] = ts_ms  # picked up at the origin
                    return True
                m["actual_arrive"] = ts_ms
                self.status = "delivered" if i == len(self.milestones) - 1 else f"at:{node}"
                return True
            if kind == "departure" and m["actual_depart"] is None and (m["actual_arrive"] is not None or i == 0):
                if i == len(self.milestones) - 1:
                    return False  # leaving the destination fence after delivery
                m["actual_depart"] = ts_ms
                self.status = "in_transit"
                return True
        return False

    def recompute_eta(self, net: Network, now_ms: int | None = None) -> None:
        """Re-time the rest of the plan from the furthest actual milestone (see module doc)."""
        p50, p90 = _ms(self.option["arrive_p50"]), _ms(self.option["arrive_p90"])
        ms = self.milestones
        k = self._progress()
        if k < 0:
            self.eta_p50_ms, self.eta_p90_ms = p50, p90
            return
        final = ms[-1]
        if final["actual_arrive"] is not None:
            dest = net.nodes.get(self.destination)
            handling = int((dest.handling_hours if dest else 0) * MS_H)
            self.eta_p50_ms = self.eta_p90_ms = final["actual_arrive"] + handling
            return
        now_ms = now_ms if now_ms is not None else self.last_seen_ms
        cur = ms[k]
        legs = self.option["legs"]
        # time the cargo leaves stop k
        if cur["actual_depart"] is not None:
            t_dep = cur["actual_depart"]
        else:
            t_dep = self._leave_time(net, k, cur["actual_arrive"], legs)
            if now_ms is not None and t_dep < now_ms:
                t_dep = now_ms  # still there past its (re-timed) departure: it leaves no earlier than now
        t = t_dep
        for j in range(k + 1, len(ms)):
            prev, m = ms[j - 1], ms[j]
            planned_run = m["planned_arrive"] - (prev["planned_depart"] or prev["planned_arrive"])
            t_arr = t + max(planned_run, 0)
            if j == len(ms) - 1:
                delay = t_arr - m["planned_arrive"]
                self.eta_p50_ms, self.eta_p90_ms = p50 + delay, p90 + delay
                return
            t = self._leave_time(net, j, t_arr, legs)

    def _leave_time(self, net: Network, j: int, t_arr: int, legs: list[dict]) -> int:
        """When the cargo leaves stop j if it arrived there at ``t_arr``."""
        m = self.milestones[j]
        if m["planned_depart"] is None:
            return t_arr
        planned_dwell = m["planned_depart"] - (m["planned_arrive"] or m["planned_depart"])
        if m["via"]:  # a through train keeps its dwell (gauge change, border checks)
            return t_arr + planned_dwell
        leg = legs[m["leg"]] if m["leg"] < len(legs) else None
        svc = net.services.get(leg["service"]) if leg else None
        node = net.nodes.get(m["node"])
        if m["planned_arrive"] is not None and t_arr <= m["planned_arrive"]:
            return m["planned_depart"]  # on time: the planned departure still holds
        ready = t_arr + int((node.handling_hours if node else 0) * MS_H)
        if svc is None or svc.schedule.continuous:
            return max(m["planned_depart"], ready)
        dep_min = net.next_departure_minute(svc, to_minutes(from_minutes(ready / 60000)))
        return max(m["planned_depart"], dep_min * 60000)

    def to_dict(self, net: Network | None = None) -> dict[str, Any]:
        """Status, milestones (planned/actual, UTC ISO), ETA p50/p90 and the chosen option."""
        def loc(ms: int | None, node: str) -> str | None:
            if ms is None:
                return None
            if net is not None and node in net.nodes:
                return local_iso(datetime.fromtimestamp(ms / 1000, UTC), net.nodes[node].tz)
            return iso_utc(ms)

        return {
            "id": self.shipment_id, "origin": self.origin, "destination": self.destination, "status": self.status,
            "eta": {"p50": loc(self.eta_p50_ms, self.destination), "p90": loc(self.eta_p90_ms, self.destination),
                    "planned_p50": self.option["arrive_p50"], "planned_p90": self.option["arrive_p90"],
                    "delay_hours": None if self.eta_p50_ms is None else
                    round((self.eta_p50_ms - _ms(self.option["arrive_p50"])) / MS_H, 1)},
            "milestones": [{"node": m["node"], "name": m["name"], "via": m["via"],
                            "planned_arrive": loc(m["planned_arrive"], m["node"]),
                            "planned_depart": loc(m["planned_depart"], m["node"]),
                            "actual_arrive": loc(m["actual_arrive"], m["node"]),
                            "actual_depart": loc(m["actual_depart"], m["node"])} for m in self.milestones],
            "last_seen": iso_utc(self.last_seen_ms),
            "option": self.option,
        }


TAGS = ("cheapest", "fastest", "greenest")


def create_shipment(db: Database, net: Network, shipment_id: str, origin: str, destination: str, weight_kg: float,
                    volume_m3: float, ready: str, *, option: int | None = None, tag: str | None = None,
                    cargo_class: str = "general", customs_mode: str | None = None,
                    include_planned: bool = False, pieces: int = 1, org: str | None = None) -> TrackedShipment:
    """Quote the shipment and store the chosen option (``option`` 1-based index or a ``tag``; default the first),
    as a shipment of the organisation ``org`` (None: of none, visible to operators only).

    Every input is checked before anything is quoted or stored: the id (``iot_ingest.limits``),
    the cargo and the ready date (the quote's bounds, ``optimizer.quotes.limits``)."""
    check_ingest_id(shipment_id, "id")
    if tag is not None and tag not in TAGS:
        raise InvalidInput(f"tag must be one of {', '.join(TAGS)} (got '{shown(tag)}')", field="tag")
    if option is not None and (isinstance(option, bool) or not isinstance(option, int) or option < 1):
        raise InvalidInput(f"option must be a positive integer (got {shown(option)})", field="option")
    req = build_request(net, origin, destination, weight_kg, volume_m3, ready, pieces=pieces, cargo_class=cargo_class,
                        customs_mode=customs_mode, include_planned=include_planned)
    options = quote(net, req)
    if tag is not None:
        chosen = [o for o in options if tag in o.tags]
        if not chosen:
            raise InvalidInput(f"no option tagged '{tag}' (tags: cheapest, fastest, greenest)", field="tag")
        opt = chosen[0]
    elif option is not None:
        if not 1 <= option <= len(options):
            raise InvalidInput(f"option must be within 1..{len(options)} (got {option})", field="option")
        opt = options[option - 1]
    else:
        opt = options[0]
    return save_shipment(db, net, shipment_id, option_to_dict(net, opt), org=org)


def save_shipment(db: Database, net: Network, shipment_id: str, option_doc: dict[str, Any], *,
                  org: str | None = None) -> TrackedShipment:
    """Store a shipment following an option dict (as produced by ``option_to_dict``).

    Shipment ids are global (a device binds to one by id): an id taken by any organisation is refused
    with the same answer, which tells nothing of its owner."""
    check_ingest_id(shipment_id, "id")
    now = int(time.time() * 1000)
    if not option_doc.get("legs"):
        raise InvalidInput("the option has no legs", field="option")
    s = TrackedShipment(shipment_id, option_doc["origin"], option_doc["destination"], "planned", option_doc,
                 milestones_from_option(option_doc), None, None, None, now, now, org)
    s.recompute_eta(net)
    with db.engine.begin() as conn:
        if conn.execute(select(t.shipments.c.shipment_id).where(t.shipments.c.shipment_id == shipment_id)).first():
            raise InvalidInput(f"shipment '{shipment_id}' already exists", field="id")
        conn.execute(insert(t.shipments).values(**s.row()))
        bump_epoch(conn)  # a pipeline may have cached "no such shipment"
    return s


def scope(org: str | None) -> list:
    """The WHERE clause of an organisation's shipments (None: every shipment, for operators)."""
    return [t.shipments.c.org_id == org] if org is not None else []


def get_shipment(db: Database, shipment_id: str, *, org: str | None = None) -> TrackedShipment:
    """A shipment; ``org`` scopes the lookup (another organisation's shipment is unknown, as an unknown id)."""
    from iot_ingest.registry import UnknownShipment

    check_ingest_id(shipment_id, "shipment")
    with db.engine.connect() as conn:
        r = conn.execute(select(t.shipments).where(t.shipments.c.shipment_id == shipment_id, *scope(org))).first()
    if r is None:
        raise UnknownShipment(f"unknown shipment '{shipment_id}'", field="shipment")
    return TrackedShipment.from_row(r)


PAGE_MAX = 500
STATUSES = ("planned", "in_transit", "at", "delivered")


def list_shipments(db: Database, *, org: str | None = None, status: str | None = None, origin: str | None = None,
                   destination: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[TrackedShipment], int]:
    """One page of shipments, newest first, matching the filters (``status``: planned | in_transit | at
    (at any node) | delivered; ``origin``/``destination``: node ids), and how many match in all."""
    from optimizer.quotes.limits import check_id

    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
        raise InvalidInput(f"limit must be 1-{PAGE_MAX}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput("offset must be 0 or more", field="offset")
    s = t.shipments
    where = scope(org)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
        where.append(s.c.status.like("at:%") if status == "at" else s.c.status == status)
    if origin is not None:
        where.append(s.c.origin == check_id(origin, "origin"))
    if destination is not None:
        where.append(s.c.destination == check_id(destination, "destination"))
    with db.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(s).where(*where)).scalar_one()
        rows = conn.execute(select(s).where(*where).order_by(s.c.created_ms.desc(), s.c.shipment_id)
                            .limit(limit).offset(offset)).all()
    return [TrackedShipment.from_row(r) for r in rows], int(total)
