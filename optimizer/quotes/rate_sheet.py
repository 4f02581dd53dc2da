"""An organisation's own rates (rate sheets) and how they price a leg; pure: no files, no database.

A sheet is a list of :class:`SheetLine` rows, each for one service id or one lane (from -> to, optionally one
mode), one equipment and one weight break. ``quotations.rate_sheets`` reads and stores the uploaded sheets
(format: ``docs/rate_sheets.md``); per quote request it builds one :class:`RateBook` (the organisation's
active sheets valid on the ready day, amounts already converted into the network currency) and passes it
on the :class:`~optimizer.network.model.QuoteRequest`. The engine asks the book first for every service
(:func:`optimizer.quotes.pricing.price_leg_units`): where a line applies, the leg is priced by the sheet;
otherwise by the bundled public tariff.

Pricing a service from the lines that apply to it (every equipment offered is a candidate, the cheapest wins):
- per-kg equipment (``LCL``, ``air``, ``LTL``): chargeable kg = max(actual, m³ x the public tariff's
  volumetric ratio), air rounded up to a whole kg; the weight break is the line with the largest ``min_kg`` not above it (the
  lowest break below that); freight = rate x chargeable kg (``per_kg``) or x m³ (``per_m3``) or the
  rate itself (``per_shipment``), at least ``min_charge``;
- containers (``20GP``, ``40HQ``): as many boxes of that one type as hold the weight and volume
  (the loading limits of parameters.yaml), freight = rate x boxes;
- surcharges: ``per_kg`` (chargeable), ``per_m3``, ``per_shipment``, ``per_container`` (boxes; LCL its
  share of a 40HQ), ``pct_freight`` (a fraction, 0.1 = 10 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from optimizer.network.model import Cargo, ContainerType, EmissionFactor, Mode, Service
from optimizer.quotes.legprice import LegPrice, PriceLine

PER_KG_EQUIPMENT = ("LCL", "air", "LTL")
CONTAINERS = ("20GP", "40HQ")
EQUIPMENT = PER_KG_EQUIPMENT + CONTAINERS
FREIGHT_BASES = ("per_kg", "per_m3", "per_shipment", "per_container")
SURCHARGE_BASES = ("per_kg", "per_m3", "per_shipment", "per_container", "pct_freight")


@dataclass(frozen=True)
class SheetSurcharge:
    code: str
    amount: float
    basis: str


@dataclass(frozen=True)
class SheetLine:
    """One rate: where it applies (``service`` id, or ``origin``/``destination`` [+ ``mode``]), the
    equipment, the weight break's lower bound and the amounts (in ``currency``)."""

    service: str | None
    origin: str | None
    destination: str | None
    mode: str | None
    equipment: str
    min_kg: float
    rate: float
    basis: str
    min_charge: float
    surcharges: tuple[SheetSurcharge, ...]
    currency: str
    valid_from: date
    valid_to: date

    def applies_to(self, s: Service) -> bool:
        if self.service is not None:
            return self.service == s.id
        return (self.origin == s.origin and self.destination == s.destination
                and (self.mode is None or self.mode == s.mode.value))

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def scaled(self, factor: float, currency: str) -> SheetLine:
        """The same line with its amounts in another currency (``factor`` = units of it per unit of ours)."""
        sur = tuple(SheetSurcharge(x.code, x.amount if x.basis == "pct_freight" else x.amount * factor, x.basis)
                    for x in self.surcharges)
        return SheetLine(self.service, self.origin, self.destination, self.mode, self.equipment, self.min_kg,
                         self.rate * factor, self.basis, self.min_charge * factor, sur, currency,
                         self.valid_from, self.valid_to)


@dataclass(frozen=True)
class RateSheet:
    """One version of a named sheet of an organisation."""

    name: str
    version: int
    lines: tuple[SheetLine, ...]

    @property
    def label(self) -> str:
        return f"rate sheet {self.name} v{self.version}"


@dataclass(frozen=True)
class RateBook:
    """The lines that may price this request's legs, keyed by service id (resolved once per request)."""

    by_service: tuple[tuple[str, str, tuple[SheetLine, ...]], ...] = ()  # (service id, sheet label, lines)
    _index: dict[str, tuple[str, tuple[SheetLine, ...]]] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({sid: (label, lines) for sid, label, lines in self.by_service})

    @classmethod
    def build(cls, sheets: list[RateSheet], services: list[Service], day: date) -> RateBook:
        """The book for ``day``: for each service, the lines of the first sheet (in the given order) that has
        lines applying to it and valid on ``day``. Sheets must already be in the network currency."""
        indexed = []  # per sheet: its lines valid on ``day`` by service id and by lane
        for sheet in sheets:
            by_key: dict[str | tuple[str, str], list[SheetLine]] = {}
            for ln in sheet.lines:
                if ln.valid_on(day):
                    key = ln.service if ln.service is not None else (ln.origin or "", ln.destination or "")
                    by_key.setdefault(key, []).append(ln)
            if by_key:
                indexed.append((sheet.label, by_key))
        entries: list[tuple[str, str, tuple[SheetLine, ...]]] = []
        for s in services:
            for label, by_key in indexed:
                near = by_key.get(s.id, []) + by_key.get((s.origin, s.destination), [])
                lines = tuple(ln for ln in near if ln.applies_to(s))
                if lines:
                    entries.append((s.id, label, lines))
                    break
        return cls(tuple(entries))

    def __bool__(self) -> bool:
        return bool(self.by_service)

    def source(self, service_id: str) -> str:
        """``rate sheet <name> v<version>`` when this book prices the service, else ``public``."""
        hit = self._index.get(service_id)
        return hit[0] if hit else "public"

    def valid_to(self, service_id: str) -> date | None:
        """The earliest ``valid_to`` of the lines pricing the service (None: the book does not price it)."""
        hit = self._index.get(service_id)
        return min(ln.valid_to for ln in hit[1]) if hit else None

    def price_leg(self, service: Service, cargo: Cargo, containers: dict[str, ContainerType],
                  factor: EmissionFactor) -> LegPrice | None:
        """The leg priced by the sheet (None: no line applies; the public tariff prices it)."""
        hit = self._index.get(service.id)
        if hit is None:
            return None
        label, lines = hit
        return price_from_lines(label, lines, service, cargo, containers, factor)


def _break(lines: list[SheetLine], kg: float) -> SheetLine:
    """The weight break for ``kg``: the largest ``min_kg`` not above it, else the lowest."""
    lines = sorted(lines, key=lambda ln: ln.min_kg)
    chosen = lines[0]
    for ln in lines:
        if ln.min_kg <= kg + 1e-9:
            chosen = ln
    return chosen


def price_from_lines(label: str, lines: tuple[SheetLine, ...], service: Service, cargo: Cargo,
                     containers: dict[str, ContainerType], factor: EmissionFactor) -> LegPrice:
    """The cheapest equipment the lines offer for ``cargo`` on ``service`` (see the module's rules)."""
    c40 = containers["40HQ"]
    ch = max(cargo.weight_kg, cargo.volume_m3 * service.tariff.volumetric_kg_per_m3)
    if service.mode is Mode.AIR:
        ch = float(math.ceil(round(ch, 1)))  # whole kg; 166.67 kg/m3 stands for 1:6000 (3 m3 = 500 kg, not 501)
    best: LegPrice | None = None
    for equipment in EQUIPMENT:
        same = [ln for ln in lines if ln.equipment == equipment]
        if not same:
            continue
        if equipment in CONTAINERS:
            box = containers[equipment]
            boxes = max(1, math.ceil(max(cargo.weight_kg / box.max_kg, cargo.volume_m3 / box.max_m3) - 1e-12))
            ln = _break(same, cargo.weight_kg)
            freight = {"per_container": ln.rate * boxes, "per_kg": ln.rate * cargo.weight_kg,
                       "per_m3": ln.rate * cargo.volume_m3}.get(ln.basis, ln.rate)
            teu, shown, share = boxes * box.teu, f"{boxes}x{equipment}", float(boxes)
        else:
            ln = _break(same, ch)
            freight = {"per_kg": ln.rate * ch, "per_m3": ln.rate * cargo.volume_m3}.get(ln.basis, ln.rate)
            teu, shown = 0, equipment
            share = max(cargo.weight_kg / c40.max_kg, cargo.volume_m3 / c40.max_m3)
        freight = max(freight, ln.min_charge)
        out = [PriceLine("FRT", f"{service.carrier} freight ({shown}), {label}", freight, f"{ln.basis} ({label})")]
        for x in ln.surcharges:
            amount = {"per_kg": x.amount * ch, "per_m3": x.amount * cargo.volume_m3, "per_shipment": x.amount,
                      "per_container": x.amount * share, "pct_freight": x.amount * freight}[x.basis]
            if amount:
                out.append(PriceLine(x.code, f"{x.code} ({label})", amount, x.basis))
        total = sum(p.amount for p in out)
        if best is None or total < best.total - 1e-9:
            best = LegPrice(total, tuple(out), shown, teu, ch if equipment in PER_KG_EQUIPMENT else cargo.weight_kg, 0.0)
    assert best is not None  # lines is never empty
    co2 = cargo.weight_kg / 1000.0 * service.distance_km * factor.g_per_tkm / 1000.0
    return LegPrice(best.total, best.lines, best.equipment, best.teu, best.chargeable_kg, co2)
