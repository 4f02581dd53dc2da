"""Customs-mode and cargo rules checked before a quote is searched.

- 9810 (export to overseas warehouse) must end at an overseas warehouse;
- 9610 (B2C parcels) and 9710 (B2B direct) end at a market, airport or seaport, not a warehouse;
- 9610 is for parcels: the average piece weight must not exceed the parcel limit;
- 1210 (bonded) must be cleared in a comprehensive bonded zone (only such nodes list 1210).
Where export clearance can happen is data: each node lists the modes it clears (nodes.csv).
"""

from __future__ import annotations

from optimizer.errors import InvalidInput
from optimizer.network import Network
from optimizer.network.model import NodeKind, QuoteRequest


def check_request(net: Network, req: QuoteRequest) -> None:
    """Raise InvalidInput/UnknownNode when the request breaks a data or customs rule."""
    origin = net.node(req.origin, "origin")
    dest = net.node(req.destination, "destination")
    cargo = req.cargo
    if origin.id == dest.id:
        raise InvalidInput("origin and destination are the same node", field="destination")
    if not cargo.weight_kg > 0:
        raise InvalidInput(f"weight must be positive (got {cargo.weight_kg:g} kg)", field="weight_kg")
    if not cargo.volume_m3 > 0:
        raise InvalidInput(f"volume must be positive (got {cargo.volume_m3:g} m³)", field="volume_m3")
    if cargo.pieces < 1:
        raise InvalidInput(f"pieces must be at least 1 (got {cargo.pieces})", field="pieces")
    if origin.planned and not req.include_planned:
        raise InvalidInput(f"origin {origin.id} is planned, not yet operating (set include_planned)", field="origin")
    info = net.customs_modes.get(cargo.customs_mode.value)
    if info is None:
        raise InvalidInput(f"customs mode {cargo.customs_mode.value} is not configured", field="customs_mode")
    if dest.kind.value not in info.destination_kinds:
        if dest.kind is NodeKind.OVERSEAS_WAREHOUSE:
            raise InvalidInput(
                f"customs mode {info.code} ({info.name}) cannot end at overseas warehouse {dest.id}; "
                "use 9810 for stock sent to an overseas warehouse",
                field="customs_mode",
            )
        serving = [w.id for w in net.warehouses() if dest.id in w.serves_markets]
        hint = f"; warehouses serving {dest.id}: {', '.join(serving)}" if serving else ""
        raise InvalidInput(
            f"customs mode {info.code} ({info.name}) must end at an overseas warehouse, "
            f"but {dest.id} is a {dest.kind.value}{hint}",
            field="destination",
        )
    if info.max_piece_kg is not None and cargo.weight_kg / cargo.pieces > info.max_piece_kg:
        raise InvalidInput(
            f"customs mode {info.code} is for B2C parcels: average piece weight "
            f"{cargo.weight_kg / cargo.pieces:.1f} kg exceeds {info.max_piece_kg:g} kg; "
            "give the number of parcels (pieces) or use 9710/9810",
            field="pieces",
        )
