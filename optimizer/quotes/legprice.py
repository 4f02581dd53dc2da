"""The price of one leg for one cargo (shared by the freight tariffs in ``pricing`` and the parcel products in ``parcels``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PriceLine:
    code: str
    description: str
    amount: float
    basis: str


@dataclass(frozen=True, slots=True)
class LegPrice:
    total: float
    lines: tuple[PriceLine, ...]
    equipment: str
    teu: int
    chargeable_kg: float
    co2e_kg: float
    unit: str = "loose"  # what the cargo travels in after the leg: loose / box / keep (see module doc)
