"""One JSON shape for options everywhere (quotes, plans, tracking, API, CLI)."""

from __future__ import annotations

from typing import Any

from optimizer.network.model import Leg, Option, QuoteRequest
from optimizer.network.network import Network
from optimizer.network.timeutil import local_iso


def leg_to_dict(net: Network, leg: Leg) -> dict[str, Any]:
    o, d = net.nodes[leg.origin], net.nodes[leg.destination]
    s = net.services[leg.service_id]
    return {
        "from": leg.origin,
        "to": leg.destination,
        "from_name": o.name,
        "to_name": d.name,
        "mode": leg.mode.value,
        "service": leg.service_id,
        "carrier": leg.carrier,
        "departure_id": leg.departure.key,
        "cutoff": local_iso(leg.departure.cutoff, o.tz) if not s.schedule.continuous else None,
        "depart": local_iso(leg.depart, o.tz),
        "arrive": local_iso(leg.arrive, d.tz),
        "arrive_p90": local_iso(leg.arrive_p90, d.tz),
        "distance_km": round(leg.distance_km, 1),
        "distance_method": s.distance_method,
        "equipment": leg.equipment,
        "teu": leg.teu,
        "chargeable_kg": round(leg.chargeable_kg, 1),
        "cost": round(leg.cost, 2),
        "co2e_kg": round(leg.co2e_kg, 2),
        "emission_factor_g_per_tkm": net.emission_factor(s).g_per_tkm,
        "via": [
            {
                "node": w.node,
                "name": net.nodes[w.node].name,
                "arrive": local_iso(w.arrive, net.nodes[w.node].tz),
                "depart": local_iso(w.depart, net.nodes[w.node].tz),
            }
            for w in leg.via
        ],
        # a split shipment: the further departures carrying parts of the cargo
        "parts": leg.parts,
        "split_departures": [{"departure_id": d.key, "depart": local_iso(d.depart, o.tz), "arrive": local_iso(d.arrive, d_tz)}
                             for d in leg.split for d_tz in (net.nodes[leg.destination].tz,)],
        "space_left": None if leg.space_left_kg is None and leg.space_left_m3 is None else
        {"kg": leg.space_left_kg, "m3": leg.space_left_m3},
        "product": _product(s),
    }


def _product(s) -> dict[str, Any] | None:
    """A parcel product's name, kind and tracking (None for freight services)."""
    p = s.tariff.parcel
    if p is None:
        return None
    return {"id": p.product, "name": p.name, "kind": p.kind, "tracking": p.tracking, "max_parcel_kg": p.max_kg,
            "door_delivery": s.door}


def option_to_dict(net: Network, option: Option) -> dict[str, Any]:
    """The option as JSON: legs, cost (total, currency, breakdown), transit days, CO2e, tags."""
    origin = net.nodes[option.origin]
    dest = net.nodes[option.destination]
    return {
        "id": option.id,
        "origin": option.origin,
        "destination": option.destination,
        "modes": list(option.modes),
        "tags": list(option.tags),
        "ready": local_iso(option.ready, origin.tz),
        "arrive_p50": local_iso(option.arrive_p50, dest.tz),
        "arrive_p90": local_iso(option.arrive_p90, dest.tz),
        "transit_days": {"p50": round(option.transit_days_p50, 2), "p90": round(option.transit_days_p90, 2)},
        # door to door: after import clearance and final delivery (parcel products deliver to the door themselves)
        "delivered_p50": local_iso(option.delivered_p50 or option.arrive_p50, dest.tz),
        "delivered_p90": local_iso(option.delivered_p90 or option.arrive_p90, dest.tz),
        "door_to_door_days": {"p50": round(option.door_days_p50, 2), "p90": round(option.door_days_p90, 2)},
        "cost": {
            "total": option.cost_total,
            "currency": option.currency,
            "breakdown": [
                {"code": c.code, "description": c.description, "amount": round(c.amount, 2), "basis": c.basis, "leg": c.leg,
                 "estimate": c.estimate}
                for c in option.cost_lines
            ],
        },
        "generalised_cost": option.generalised_cost,
        "space_left": _space_left(option),
        "notes": list(option.notes),
        "co2e_kg": round(option.co2e_kg, 2),
        "co2e": {"kg": round(option.co2e_kg, 2), "method": net.co2e_method, "scope": "TTW"},
        "customs": {"mode": option.customs_mode, "clearance_node": option.clearance_node},
        "legs": [leg_to_dict(net, leg) for leg in option.legs],
        "as_of": option.as_of,
    }


def _space_left(option: Option) -> dict[str, float] | None:
    """The least space left after this cargo on any capacity-limited departure of the option."""
    kgs = [leg.space_left_kg for leg in option.legs if leg.space_left_kg is not None]
    m3s = [leg.space_left_m3 for leg in option.legs if leg.space_left_m3 is not None]
    if not kgs and not m3s:
        return None
    return {"kg": min(kgs) if kgs else None, "m3": min(m3s) if m3s else None}


def quote_to_dict(net: Network, req: QuoteRequest, options: list[Option], validity_days: int = 7) -> dict[str, Any]:
    """A whole quote: the normalised request, the options, validity and the data date."""
    import uuid
    from datetime import UTC, datetime, timedelta

    origin = net.nodes[req.origin]
    now = datetime.now(UTC)
    return {
        "quote_id": uuid.uuid4().hex[:16],
        "created_at": now.isoformat(timespec="seconds"),
        "valid_until": (now + timedelta(days=validity_days)).isoformat(timespec="seconds"),
        "request": {
            "from": req.origin, "to": req.destination, "weight_kg": req.cargo.weight_kg,
            "volume_m3": req.cargo.volume_m3, "pieces": req.cargo.pieces,
            "cargo_class": req.cargo.cargo_class.value, "customs_mode": req.cargo.customs_mode.value,
            "ready": local_iso(req.ready, origin.tz), "include_planned": req.include_planned,
        },
        "options": [option_to_dict(net, o) for o in options],
        "data_as_of": net.as_of,
    }
