"""Parcel and express products (``data/parcel_products.yaml``) as services of the network.

A product (China Post ePacket/EMS, international express, e-commerce air or rail line-haul) is collected
at its hand-over nodes (the Mianyang zones, or a Chengdu hub) and delivers to the consumer's door in the countries of its zones. Each (product,
destination node) becomes one :class:`Service` whose tariff carries a :class:`ParcelRate`; it is open to
customs mode 9610 only and ``door=True``: the operator declares the parcels for export (9610 list
declaration) and import, and delivers them; all of it is in its price (no clearance step or hub
handling in the quote). Errors name the file, the product and the field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from optimizer.errors import DataError
from optimizer.network.geo import route_km
from optimizer.network.model import (
    Capacity,
    Mode,
    Node,
    NodeKind,
    ParcelRate,
    Provenance,
    Schedule,
    Service,
    Status,
    Stop,
    Tariff,
    TransitTime,
    WeightBreak,
)

PARCEL_FILE = "parcel_products.yaml"
DESTINATION_KINDS = (NodeKind.MARKET, NodeKind.AIRPORT, NodeKind.SEAPORT)


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BreakRow(_Row):
    up_to_kg: float = Field(gt=0)
    per_kg: float = Field(ge=0)


class TransitDays(_Row):
    p50_days: float = Field(gt=0)
    p90_days: float = Field(gt=0)
    min_days: float = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _order(self) -> "TransitDays":
        if not self.min_days <= self.p50_days <= self.p90_days:
            raise ValueError("transit must satisfy min_days <= p50_days <= p90_days")
        return self


class ZoneRow(_Row):
    name: str
    countries: list[str] = Field(min_length=1)
    item_fee: float = Field(ge=0)
    breaks: list[BreakRow] = Field(min_length=1)
    transit: TransitDays

    @model_validator(mode="after")
    def _ascending(self) -> "ZoneRow":
        ups = [b.up_to_kg for b in self.breaks]
        if ups != sorted(ups) or len(set(ups)) != len(ups):
            raise ValueError("breaks must be in ascending up_to_kg order")
        return self


class DimsRow(_Row):
    longest: float = Field(gt=0)
    sum: float = Field(gt=0)


class ScheduleRow(_Row):
    weekdays: list[int] = Field(min_length=1)
    times: list[str] = Field(min_length=1)
    cutoff_hours: float = Field(ge=0)


class ProductRow(_Row):
    name: str
    kind: str = Field(pattern=r"^(postal|express|linehaul)$")
    mode: Mode
    handover: list[str] = Field(min_length=1)  # nodes where the operator collects the parcels
    emission_factor: str
    schedule: ScheduleRow
    tracking: str
    max_kg: float = Field(gt=0)
    max_dims_cm: DimsRow
    min_kg: float = Field(default=0, ge=0)
    rounding_kg: float = Field(default=0.001, gt=0)
    volumetric_kg_per_m3: float = Field(default=0, ge=0)
    fuel_pct: float = Field(default=0, ge=0, le=2)
    hub: str | None = None
    hub_offset_days: float | None = Field(default=None, ge=0)
    zones: list[ZoneRow] = Field(min_length=1)
    tag: str = ""
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _breaks_cover(self) -> "ProductRow":
        for z in self.zones:
            if z.breaks[-1].up_to_kg < self.max_kg:
                raise ValueError(f"zone {z.name}: weight breaks end at {z.breaks[-1].up_to_kg:g} kg, below max_kg {self.max_kg:g}")
        return self


class ParcelFile(_Row):
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    products: dict[str, ProductRow]


def max_parcel_m3(dims: DimsRow) -> float:
    """Largest box volume (m³) within the size limits: a cube of sum/3 cm, its side capped at the longest side."""
    side = min(dims.sum / 3.0, dims.longest)
    return side ** 3 / 1e6


def load_parcel_products(path: Path, nodes: dict[str, Node], emission_factors: dict, circuity: dict) -> dict[str, Service]:
    """Services of the parcel products in ``path`` (none when the file is absent)."""
    if not path.exists():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(str(path), None, None, f"not valid YAML: {exc}") from None
    try:
        doc = ParcelFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise DataError(str(path), None, ".".join(str(p) for p in err["loc"]), err["msg"]) from None
    out: dict[str, Service] = {}
    for pid, p in doc.products.items():
        where = f"product {pid}"
        for h in p.handover:
            if h not in nodes:
                raise DataError(str(path), where, "handover", f"unknown node '{h}'")
        if p.hub is not None and p.hub not in nodes:
            raise DataError(str(path), where, "hub", f"unknown node '{p.hub}'")
        if p.emission_factor not in emission_factors:
            raise DataError(str(path), where, "emission_factor", f"unknown emission factor '{p.emission_factor}'")
        for z in p.zones:
            rate = ParcelRate(
                product=pid, name=p.name, kind=p.kind, item_fee=z.item_fee,
                breaks=tuple(WeightBreak(b.up_to_kg, b.per_kg) for b in z.breaks), max_kg=p.max_kg,
                max_m3=max_parcel_m3(p.max_dims_cm), min_kg=p.min_kg, rounding_kg=p.rounding_kg,
                volumetric_kg_per_m3=p.volumetric_kg_per_m3, fuel_pct=p.fuel_pct, tracking=p.tracking,
            )
            prov = Provenance(p.source, doc.as_of, p.tag)
            tariff = Tariff(id=f"parcel_{pid}_{z.name}", currency="USD", per_kg=0.0, per_m3=0.0, per_kg_km=0.0,
                            per_20gp=0.0, per_40hq=0.0, per_container_km=0.0, min_charge=0.0,
                            volumetric_kg_per_m3=p.volumetric_kg_per_m3 or 1.0, allow_lcl=True, allow_fcl=False,
                            surcharges=(), class_surcharges={}, provenance=prov, parcel=rate)
            transit = TransitTime(z.transit.p50_days * 24, z.transit.p90_days * 24, z.transit.min_days * 24)
            for origin, node in ((nodes[h], n) for h in p.handover for n in nodes.values()):
                if node.country not in z.countries or node.kind not in DESTINATION_KINDS or node.id == origin.id:
                    continue
                stops: tuple[Stop, ...] = ()
                if p.hub is not None and p.hub != node.id:
                    off = (p.hub_offset_days or 0.0) * 24
                    if off < transit.p50_hours:
                        stops = (Stop(p.hub, off, 0.0),)
                km = route_km(origin.lat, origin.lon, node.lat, node.lon, circuity.get(p.mode.value, 1.0))
                sid = f"PARCEL_{pid}_{origin.id}_{node.id}"
                out[sid] = Service(
                    id=sid, mode=p.mode, origin=origin.id, destination=node.id, carrier=p.name,
                    distance_km=round(max(km, 1.0), 1), distance_method=f"geodesic x circuity {circuity.get(p.mode.value, 1.0):g}",
                    transit=transit,
                    schedule=Schedule(False, tuple(sorted(set(p.schedule.weekdays))), tuple(sorted(p.schedule.times)),
                                      p.schedule.cutoff_hours),
                    capacity=Capacity(), tariff=tariff, stops=stops,
                    allowed_classes=frozenset({"general"}), international=True, emission_factor=p.emission_factor,
                    status=Status.PLANNED if (origin.planned or node.planned) else Status.ACTIVE, provenance=prov,
                    customs_modes=frozenset({"9610"}), door=True,
                )
    return out


