"""Price and emissions of one leg for one cargo: chargeable weight, LCL/FCL choice, surcharges, CO2e.

The rules (all in the tariff data):
- air: chargeable kg = max(actual, m³ x 166.67) (IATA 1:6000; 9610 parcels use the express 1:5000),
  rounded up to a whole kg;
- rail/sea: the cheaper of LCL (W/M: per chargeable kg + per m³) and a mix of 20GP/40HQ containers
  that holds the weight and volume (practical loading limits from parameters.yaml);
- road: the cheaper of LTL (per chargeable kg-km) and FTL (per truck-km, one container per truck);
- freight is at least the minimum charge; ``per_container`` surcharges are charged per box for FCL
  and pro rata of one 40HQ's weight/volume (whichever share is larger) for LCL;
- CO2e = actual mass (t) x distance (km) x intensity (g/t-km) / 1000 (ISO 14083 / GLEC style);
- parcel products (a tariff with ``parcel``): per parcel + per kg by weight break (:mod:`optimizer.quotes.parcels`).

:func:`price_leg_units` gives the cheapest price per *unit* the cargo travels in after the leg: ``loose``
(LCL, air, LTL, parcels), ``box`` (its own rail/sea containers) or ``keep`` (a full truck carries whatever
it was given). The quote charges CFS destuffing where a route turns a box into loose cargo.
"""

from __future__ import annotations

import dataclasses
import math

from optimizer.network.model import (
    Cargo,
    ContainerType,
    CustomsMode,
    EmissionFactor,
    Mode,
    Service,
    Surcharge,
    Tariff,
)
from optimizer.quotes.legprice import LegPrice, PriceLine  # re-exported: the price of one leg
from optimizer.quotes.parcels import price_parcels

PARCEL_KG_PER_M3 = 200.0  # express / e-commerce parcel divisor 1:5000 (domain.md 3.7)


def unit_of(service: Service, equipment: str) -> str:
    """``box`` for own rail/sea containers, ``keep`` for a full truck, else ``loose``."""
    if equipment.startswith("FTL"):
        return "keep"
    if service.mode in (Mode.RAIL, Mode.SEA) and equipment not in ("LCL", "air", "LTL") and "parcel" not in equipment:
        return "box"
    return "loose"


def chargeable_kg(cargo: Cargo, kg_per_m3: float) -> float:
    return max(cargo.weight_kg, cargo.volume_m3 * kg_per_m3)


EXACT_BOXES = 128  # up to this many 40HQ (3,300 t) every 40HQ count is tried; beyond, only the windows below
WINDOW_CAP = 64  # widest window tried around a breakpoint of the mix (pathological tariffs only)


def _n20(kg: float, m3: float, n40: int, c20: ContainerType, c40: ContainerType) -> int:
    """Fewest 20GP holding what ``n40`` 40HQ leave of ``kg`` and ``m3``."""
    rem_kg = max(0.0, kg - n40 * c40.max_kg)
    rem_m3 = max(0.0, m3 - n40 * c40.max_m3)
    return math.ceil(max(rem_kg / c20.max_kg, rem_m3 / c20.max_m3) - 1e-12) if (rem_kg > 0 or rem_m3 > 0) else 0


def _mix_candidates(kg: float, m3: float, c20: ContainerType, c40: ContainerType, a: float, b: float, n40_max: int) -> list[int]:
    """The 40HQ counts that can be cheapest, in ascending order: windows around the breakpoints of the mix.

    With n40 40HQ the 20GP count is ceil(g(n40)), g = max(0, kg line, m³ line): convex and piecewise
    linear with breakpoints at 0, where the two lines cross and where g reaches 0 (n40_max). On a
    piece with slope s per 40HQ (a 40HQ at ``a`` replacing K40/K20 20GP at ``b``), cost = linear part +
    b x (rounding in [0, 1)), so a count more than b/|s| away from the cheaper end of its piece costs
    more than that end. Windows of b/|s| + 2 counts around every breakpoint therefore hold the optimum;
    they are capped at WINDOW_CAP (only when 40HQ and 20GP cost the same per kg or m³ within
    b/WINDOW_CAP, where the price found is within one 20GP of the optimum).
    """
    slopes = [abs(a - b * c40.max_kg / c20.max_kg), abs(a - b * c40.max_m3 / c20.max_m3)]
    width = WINDOW_CAP
    if min(slopes) > 0 and b >= 0:
        width = min(WINDOW_CAP, math.ceil(b / min(slopes)) + 2)
    points = [0.0, float(n40_max), kg / c40.max_kg, m3 / c40.max_m3]
    denom = c40.max_kg / c20.max_kg - c40.max_m3 / c20.max_m3
    if denom:
        cross = (kg / c20.max_kg - m3 / c20.max_m3) / denom
        if 0 < cross < n40_max:
            points.append(cross)
    out: set[int] = set()
    for p in points:
        lo = max(0, math.floor(p) - width)
        hi = min(n40_max, math.ceil(p) + width)
        out.update(range(lo, hi + 1))
    return sorted(out)


def _box_mix(kg: float, m3: float, c20: ContainerType, c40: ContainerType, p20: float, p40: float, per_box: float) -> tuple[float, int, int]:
    """Cheapest (cost, n20, n40) holding kg and m3 (cargo split freely across boxes).

    Bounded by construction: at most EXACT_BOXES + 1 counts of 40HQ, or a few windows around the
    breakpoints of the mix (:func:`_mix_candidates`), whatever the cargo; a non-finite cargo has no mix.
    """
    if not (math.isfinite(kg) and math.isfinite(m3)):
        return (math.inf, 0, 0)
    p20, p40, per_box = float(p20), float(p40), float(per_box)
    best: tuple[float, int, int] | None = None
    n40_max = max(1, math.ceil(max(kg / c40.max_kg, m3 / c40.max_m3)))
    if n40_max <= EXACT_BOXES:
        counts: range | list[int] = range(n40_max + 1)
    else:
        counts = _mix_candidates(kg, m3, c20, c40, p40 + per_box, p20 + per_box, n40_max)
    for n40 in counts:
        n20 = _n20(kg, m3, n40, c20, c40)
        if n20 and not p20:
            continue
        if n40 and not p40:
            continue
        cost = n40 * (p40 + per_box) + n20 * (p20 + per_box)
        if n20 + n40 and (best is None or cost < best[0] - 1e-9):
            best = (cost, n20, n40)
    return best if best is not None else (math.inf, 0, 0)


def _surcharge_amount(s: Surcharge, freight: float, ch_kg: float, cargo: Cargo, boxes: float) -> float:
    if s.basis == "per_kg":
        return s.amount * ch_kg
    if s.basis == "per_m3":
        return s.amount * cargo.volume_m3
    if s.basis == "per_shipment":
        return s.amount
    if s.basis == "per_container":
        return s.amount * boxes
    if s.basis == "pct_freight":
        return s.amount * freight
    raise ValueError(f"unknown surcharge basis {s.basis}")


def price_leg(
    service: Service,
    cargo: Cargo,
    containers: dict[str, ContainerType],
    factor: EmissionFactor,
    rate_book: object | None = None,
) -> LegPrice:
    """Price and CO2e of ``cargo`` on ``service`` (cheapest equipment choice); an organisation's
    ``rate_book`` (optimizer.quotes.rate_sheet.RateBook) prices the service first where it applies."""
    return price_leg_units(service, cargo, containers, factor, rate_book)[0]


def price_leg_units(
    service: Service,
    cargo: Cargo,
    containers: dict[str, ContainerType],
    factor: EmissionFactor,
    rate_book: object | None = None,
) -> tuple[LegPrice, ...]:
    """The cheapest price of ``cargo`` on ``service`` per unit it can travel in (loose / box / keep), cheapest first."""
    if rate_book:
        own = rate_book.price_leg(service, cargo, containers, factor)  # type: ignore[attr-defined]
        if own is not None:
            return (dataclasses.replace(own, unit=unit_of(service, own.equipment)),)
    t: Tariff = service.tariff
    if t.parcel is not None:
        return (price_parcels(service, cargo, factor),)
    c20, c40 = containers["20GP"], containers["40HQ"]
    km = service.distance_km
    kg_per_m3 = t.volumetric_kg_per_m3
    if service.mode is Mode.AIR and cargo.customs_mode == CustomsMode.B2C_PARCEL:
        kg_per_m3 = max(kg_per_m3, PARCEL_KG_PER_M3)
    ch = chargeable_kg(cargo, kg_per_m3)
    if service.mode is Mode.AIR:
        ch = math.ceil(round(ch, 2))  # 166.67 kg/m³ stands for 1:6000; keep 1.2 m³ at 200 kg, not 201
    cls = cargo.cargo_class.value
    class_s = t.class_surcharges.get(cls)
    per_box = sum(s.amount for s in t.surcharges if s.basis == "per_container")
    if class_s is not None and class_s.basis == "per_container":
        per_box += class_s.amount

    candidates: list[tuple[float, str, float, int, float]] = []  # (freight, equipment, boxes, teu, ch_kg)
    if t.allow_lcl:
        if service.mode is Mode.ROAD:
            freight = t.per_kg_km * ch * km
            equipment = "LTL"
        else:
            freight = t.per_kg * ch + t.per_m3 * cargo.volume_m3
            equipment = "air" if service.mode is Mode.AIR else "LCL"
        if freight > 0:
            share = max(cargo.weight_kg / c40.max_kg, cargo.volume_m3 / c40.max_m3)
            candidates.append((max(freight, t.min_charge), equipment, share, 0, ch))
    if t.allow_fcl:
        if service.mode is Mode.ROAD and t.per_container_km:
            n = max(1, math.ceil(max(cargo.weight_kg / c40.max_kg, cargo.volume_m3 / c40.max_m3) - 1e-12))
            candidates.append((max(n * t.per_container_km * km, t.min_charge), f"FTL {n}x40HQ", float(n), 2 * n, cargo.weight_kg))
        elif service.mode in (Mode.RAIL, Mode.SEA) and (t.per_20gp or t.per_40hq):
            cost, n20, n40 = _box_mix(cargo.weight_kg, cargo.volume_m3, c20, c40, t.per_20gp, t.per_40hq, per_box)
            if math.isfinite(cost):
                freight = n20 * t.per_20gp + n40 * t.per_40hq
                parts = [f"{n40}x40HQ"] if n40 else []
                parts += [f"{n20}x20GP"] if n20 else []
                candidates.append((max(freight, t.min_charge), "+".join(parts), float(n20 + n40), n20 + 2 * n40, cargo.weight_kg))

    best_by_unit: dict[str, LegPrice] = {}
    for freight, equipment, boxes, teu, ch_kg in candidates:
        lines = [PriceLine("FRT", f"{service.carrier} freight ({equipment})", freight, _freight_basis(service, equipment))]
        for s in t.surcharges:
            amount = _surcharge_amount(s, freight, ch_kg, cargo, boxes)
            if amount:
                lines.append(PriceLine(s.code, s.name, amount, s.basis))
        if class_s is not None:
            amount = _surcharge_amount(class_s, freight, ch_kg, cargo, boxes)
            if amount:
                lines.append(PriceLine(class_s.code, class_s.name, amount, class_s.basis))
        total = sum(line.amount for line in lines)
        unit = unit_of(service, equipment)
        best = best_by_unit.get(unit)
        if best is None or total < best.total - 1e-9:
            best_by_unit[unit] = LegPrice(total, tuple(lines), equipment, teu, ch_kg, 0.0, unit)
    if not best_by_unit:
        raise ValueError(f"tariff {t.id} of service {service.id} cannot price this cargo")
    co2 = cargo.weight_kg / 1000.0 * km * factor.g_per_tkm / 1000.0
    out = sorted(best_by_unit.values(), key=lambda b: b.total)
    return tuple(LegPrice(b.total, b.lines, b.equipment, b.teu, b.chargeable_kg, co2, b.unit) for b in out)


def _freight_basis(service: Service, equipment: str) -> str:
    if equipment in ("LCL", "air"):
        return "per_kg (chargeable)"
    if equipment == "LTL":
        return "per_kg_km (chargeable)"
    if equipment.startswith("FTL"):
        return "per_container_km"
    return "per_container"
