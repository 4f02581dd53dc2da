"""Parcel products (9610): price per parcel + per kg by weight break, and the per-parcel size limits.

A consignment of N parcels (``Cargo.pieces``) of total weight W and volume V is priced as N parcels of
W/N kg and V/N m³. One parcel's chargeable kg = max(actual, volume x the product's volumetric ratio,
the product's minimum), rounded up to its rounding step; its per-kg rate is that of the first weight
break at or above it. Lines: freight (per kg), per-parcel fee, fuel surcharge (% of freight).
The products and their figures are data (``data/parcel_products.yaml``, loaded by
:mod:`optimizer.network.parcel_products`).
"""

from __future__ import annotations

import math

from optimizer.network.model import Cargo, EmissionFactor, ParcelRate, Service
from optimizer.quotes.legprice import LegPrice, PriceLine


def parcel_problem(rate: ParcelRate, cargo: Cargo) -> str | None:
    """Why ``cargo``'s parcels do not fit the product (average parcel too heavy or too large), or None."""
    kg = cargo.weight_kg / cargo.pieces
    m3 = cargo.volume_m3 / cargo.pieces
    if kg > rate.max_kg + 1e-9:
        return f"{rate.name}: parcels of {kg:.2f} kg exceed its {rate.max_kg:g} kg limit"
    if m3 > rate.max_m3 + 1e-12:
        return f"{rate.name}: parcels of {m3 * 1000:.1f} dm³ exceed its size limit ({rate.max_m3 * 1000:.0f} dm³)"
    return None


def parcel_chargeable_kg(rate: ParcelRate, kg: float, m3: float) -> float:
    """Chargeable kg of one parcel, rounded up to the product's step."""
    ch = max(kg, m3 * rate.volumetric_kg_per_m3, rate.min_kg)
    step = rate.rounding_kg
    return round(math.ceil(round(ch / step, 6)) * step, 6)


def break_rate(rate: ParcelRate, chargeable: float) -> float:
    """Per-kg rate of the weight break holding ``chargeable`` kg (the last break beyond the table)."""
    for b in rate.breaks:
        if chargeable <= b.up_to_kg + 1e-9:
            return b.per_kg
    return rate.breaks[-1].per_kg


def price_parcels(service: Service, cargo: Cargo, factor: EmissionFactor) -> LegPrice:
    """Price and CO2e of ``cargo`` as parcels on a parcel-product service."""
    rate = service.tariff.parcel
    assert rate is not None, f"service {service.id} is not a parcel product"
    n = cargo.pieces
    ch = parcel_chargeable_kg(rate, cargo.weight_kg / n, cargo.volume_m3 / n)
    per_kg = break_rate(rate, ch)
    freight = n * ch * per_kg
    lines = [PriceLine("FRT", f"{rate.name}: {n} parcels x {ch:g} kg at {per_kg:g}/kg", freight, "per_kg (chargeable, per parcel)")]
    if rate.item_fee:
        lines.append(PriceLine("PARCEL", f"per-parcel fee ({n} x {rate.item_fee:g})", n * rate.item_fee, "per_parcel"))
    if rate.fuel_pct:
        lines.append(PriceLine("FSC", f"fuel surcharge {rate.fuel_pct:.0%}", freight * rate.fuel_pct, "pct_freight"))
    total = sum(line.amount for line in lines)
    co2 = cargo.weight_kg / 1000.0 * service.distance_km * factor.g_per_tkm / 1000.0
    return LegPrice(total, tuple(lines), f"{n} parcels ({rate.kind})", 0, n * ch, co2, "loose")
