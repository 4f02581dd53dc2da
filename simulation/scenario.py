"""Scenarios: what-if inputs of a simulation, as YAML files validated with pydantic.

A scenario names the demand (flows of consignments from an origin zone to a destination under one
customs mode), the resources of each stage, schedule/capacity overrides of the network's services,
disruptions, the run length (horizon, warm-up) and seeds. A what-if file may ``extends:`` another
file and state only its differences (deep merge: mappings merge, lists and scalars replace).

    >>> from simulation.scenario import load_scenario
    >>> sc = load_scenario("simulation/scenarios/baseline.yaml")
    >>> sc.horizon_days, len(sc.demand) > 0
    (365.0, True)

The network itself is never copied: :func:`build_network` derives the scenario's variant of the
one ``optimizer`` network (planned services activated, schedules and capacities replaced).
"""

from __future__ import annotations

import dataclasses
import re
import datetime as _dt
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from optimizer.errors import InvalidInput
from optimizer.network.model import Capacity, Mode, NodeKind, Schedule
from optimizer.network import Network

BUNDLED_DIR = Path(str(files("simulation") / "scenarios"))  # package data, in a wheel too

CustomsCode = Literal["9610", "1210", "9710", "9810"]
CargoClassName = Literal["general", "lithium_batteries", "dangerous_goods", "temperature_controlled"]
Policy = Literal["cheapest", "fastest", "greenest"]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Lot(_Model):
    """Mean size of one consignment (an aggregated parcel bag, pallet group or container load)."""

    weight_kg: float = Field(gt=0)
    volume_m3: float = Field(gt=0)
    pieces: int = Field(default=1, ge=1, description="parcels per consignment (9610: average piece <= 30 kg)")
    cv: float = Field(default=0.3, ge=0, le=1.5, description="coefficient of variation of the consignment size")


class Flow(_Model):
    """A demand stream: consignments of one product family, origin zone, destination and customs mode."""

    name: str = Field(min_length=1, max_length=60)
    origin: str
    destination: str
    customs_mode: CustomsCode
    family: str = "general_goods"
    cargo_class: CargoClassName = "general"
    lots_per_day: float = Field(ge=0)
    lot: Lot
    policy: Policy | None = Field(default=None, description="overrides routing.policy for this flow")
    route: list[str] | None = Field(default=None, min_length=1, description="a given plan: the service ids in order")


class DemandMultiplier(_Model):
    """Scale arrivals by ``factor`` in [from_day, to_day) for the listed flows/customs modes (all if empty)."""

    factor: float = Field(ge=0)
    from_day: float = Field(default=0.0, ge=0)
    to_day: float | None = None
    flows: list[str] = []
    customs_modes: list[CustomsCode] = []


class ServiceOverride(_Model):
    """Schedule and capacity overrides of one service (omitted fields keep the network's values)."""

    weekdays: list[Annotated[int, Field(ge=0, le=6)]] | None = Field(default=None, min_length=1)
    times: list[str] | None = Field(default=None, min_length=1)
    cutoff_hours: float | None = Field(default=None, ge=0)
    capacity_teu: int | None = Field(default=None, gt=0)
    capacity_kg: float | None = Field(default=None, gt=0)
    capacity_m3: float | None = Field(default=None, gt=0)
    slot_share: float | None = Field(default=None, gt=0, le=1, description="share of each departure allotted to the pilot zone")

    @field_validator("times")
    @classmethod
    def _times(cls, v: list[str] | None) -> list[str] | None:
        for t in v or ():
            if not _HHMM.match(t):
                raise ValueError(f"'{t}' is not a time HH:MM")
        return v


class WarehouseOverride(_Model):
    docks: int | None = Field(default=None, ge=1)
    dock_factor: float | None = Field(default=None, gt=0, description="multiply the derived number of receiving docks")
    capacity_m3: float | None = Field(default=None, gt=0)
    pickers: int | None = Field(default=None, ge=1)
    background_load: float | None = Field(default=None, ge=0, le=2, description="overrides resources.wh_background_load")


class BorderSpec(_Model):
    """A border station: parallel tracks for gauge change / checks, and other operators' trains."""

    tracks: int = Field(ge=1)
    background_trains_per_day: float = Field(default=0.0, ge=0)


class Resources(_Model):
    first_mile_trucks: int = Field(default=12, ge=1, description="pick-up fleet serving the origin zones")
    linehaul_trucks: int = Field(default=16, ge=1, description="fleet trucking from Mianyang hubs to Chengdu/Chongqing/...")
    truck_loading_hours: float = Field(default=0.75, ge=0)
    docks: dict[str, int] = Field(default_factory=lambda: {"default": 4}, description="consolidation docks per hub node")
    dock_hours_per_lot: float = Field(default=1.0, gt=0, description="mean dock time of one consignment")
    customs_lanes: dict[str, int] = Field(default_factory=lambda: {"default": 3})
    customs_hours: dict[CustomsCode, float] = Field(
        default_factory=lambda: {"9610": 0.4, "1210": 0.8, "9710": 0.8, "9810": 1.0})
    inspection_rate: dict[CustomsCode, float] = Field(
        default_factory=lambda: {"9610": 0.03, "1210": 0.02, "9710": 0.05, "9810": 0.05})
    inspection_hours: float = Field(default=24.0, ge=0)
    borders: dict[str, BorderSpec] = {}
    border_default_tracks: int = Field(default=4, ge=1)
    slot_share: dict[str, float] = Field(default_factory=lambda: {"rail": 0.15, "sea": 0.05, "air": 0.2},
                                         description="share of a departure's capacity allotted to the pilot zone, by mode")
    wh_m3_per_dock_day: float = Field(default=60.0, gt=0, description="receiving docks = inbound_m3_per_day / this")
    wh_dock_m3_per_hour: float = Field(default=3.0, gt=0)
    wh_background_load: float = Field(default=0.8, ge=0, le=2,
                                      description="other exporters' inbound at a shared warehouse, as a share of its inbound_m3_per_day")
    wh_background_lot_m3: float = Field(default=20.0, gt=0)
    wh_pickers: int = Field(default=4, ge=1)
    pick_hours_per_m3: float = Field(default=0.25, gt=0)
    storage_days: float = Field(default=21.0, gt=0, description="mean sell-through time of stock in an overseas warehouse")
    last_mile_days_p50: float = Field(default=2.0, gt=0)
    last_mile_days_p90: float = Field(default=4.0, gt=0)

    @field_validator("slot_share")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        for k, s in v.items():
            if k not in ("rail", "sea", "air"):
                raise ValueError(f"unknown mode '{k}' (rail, sea, air)")
            if not 0 < s <= 1:
                raise ValueError(f"share of {k} must be in (0, 1] (got {s})")
        return v


class Routing(_Model):
    policy: Policy = "cheapest"
    hour_bucket: int = Field(default=6, ge=1, le=24, description="ready-time bucket (hours) of the route cache")


class BorderClosure(_Model):
    kind: Literal["border_closure"]
    node: str
    from_day: float = Field(ge=0)
    to_day: float = Field(gt=0)


class Congestion(_Model):
    kind: Literal["congestion"]
    node: str
    from_day: float = Field(ge=0)
    to_day: float = Field(gt=0)
    dwell_factor: float = Field(default=3.0, ge=1, description="gauge change / border checks take this many times longer")


class CancelledDeparture(_Model):
    kind: Literal["cancelled_departure"]
    service: str
    date: _dt.date = Field(description="local departure date at the service's origin")


Disruption = Annotated[BorderClosure | Congestion | CancelledDeparture, Field(discriminator="kind")]


class Scenario(_Model):
    """One what-if: run length, demand, resources, network variant, disruptions and seeds."""

    name: str = Field(min_length=1)
    description: str = ""
    start: date = date(2027, 1, 4)
    horizon_days: float = Field(default=365.0, gt=0, le=3 * 366)
    warmup_days: float = Field(default=30.0, ge=0)
    drain_days: float = Field(default=90.0, ge=0, description="run on after the horizon (no new demand) so late consignments finish")
    seed: int = Field(default=20270104, ge=0)
    replications: int = Field(default=10, ge=1, le=10_000)
    activate_planned: bool = False
    drop_services: list[str] = []
    routing: Routing = Routing()
    demand: list[Flow] = Field(min_length=1)
    demand_multiplier: float = Field(default=1.0, ge=0)
    demand_multipliers: list[DemandMultiplier] = []
    services: dict[str, ServiceOverride] = {}
    warehouses: dict[str, WarehouseOverride] = {}
    resources: Resources = Resources()
    disruptions: list[Disruption] = []

    @model_validator(mode="after")
    def _consistent(self) -> "Scenario":
        if self.warmup_days >= self.horizon_days:
            raise ValueError(f"warmup_days ({self.warmup_days:g}) must be shorter than horizon_days ({self.horizon_days:g})")
        names = [f.name for f in self.demand]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"demand flow names must be unique (repeated: {', '.join(dup)})")
        return self

    def to_doc(self) -> dict[str, Any]:
        """A plain JSON-able dict (what a worker receives to rebuild the scenario)."""
        return self.model_dump(mode="json")


# --- loading ---------------------------------------------------------------------------------------

def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("border_closure", "congestion", "cancelled_departure"):
            continue  # the discriminated-union tag pydantic adds to the path
        else:
            out += ("." if out else "") + str(part)
    return out


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    return over


def _read_doc(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise InvalidInput(f"{path}: 'extends' loops back to itself", field="extends")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"scenario file not found: {path}", field="scenario") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path}: not valid YAML ({str(exc).splitlines()[0]})", field="scenario") from None
    if not isinstance(doc, dict):
        raise InvalidInput(f"{path}: a scenario must be a YAML mapping", field="scenario")
    parent = doc.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise InvalidInput(f"{path}: field 'extends': must be a file name", field="extends")
        base = _read_doc((path.parent / parent).resolve(), seen + (path,))
        doc = _merge(base, doc)
    return doc


def parse_scenario(doc: dict[str, Any], source: str = "scenario") -> Scenario:
    """Validate a scenario mapping; raises InvalidInput naming ``source`` and the first bad field."""
    try:
        return Scenario.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = _loc(err["loc"]) or "scenario"
        msg = err["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"{source}: field '{field}': {msg}", field=field, file=source) from None


def resolve_path(name: str | Path) -> Path:
    """A scenario file path; a bare name (``baseline``) means the bundled scenario of that name."""
    p = Path(name)
    if p.exists() or p.suffix in (".yaml", ".yml") or "/" in str(name):
        return p
    bundled = BUNDLED_DIR / f"{name}.yaml"
    return bundled if bundled.exists() else p


def load_scenario(path: str | Path, net: Network | None = None) -> Scenario:
    """Read, merge (``extends``), validate and — when ``net`` is given — check ids against the network."""
    p = resolve_path(path)
    sc = parse_scenario(_read_doc(p.resolve()), str(p))
    if net is not None:
        check_against(sc, net, str(p))
    return sc


def bundled_scenarios() -> list[str]:
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.yaml"))


# --- the scenario's network variant -----------------------------------------------------------------

def check_against(sc: Scenario, net: Network, source: str = "scenario") -> None:
    """Every node and service id in the scenario exists in the network (raises InvalidInput naming the field)."""

    def bad(field: str, msg: str) -> InvalidInput:
        return InvalidInput(f"{source}: field '{field}': {msg}", field=field, file=source)

    for i, f in enumerate(sc.demand):
        for attr in ("origin", "destination"):
            nid = getattr(f, attr)
            if nid not in net.nodes:
                raise bad(f"demand[{i}].{attr}", f"unknown node '{nid}'")
        if f.origin == f.destination:
            raise bad(f"demand[{i}].destination", "equals the origin")
        if f.customs_mode == "9610" and f.lot.weight_kg / f.lot.pieces > 30:
            raise bad(f"demand[{i}].lot.pieces", "9610 parcels weigh at most 30 kg each: raise pieces")
        for j, sid in enumerate(f.route or ()):
            if sid not in net.services:
                raise bad(f"demand[{i}].route[{j}]", f"unknown service '{sid}'")
        if f.route:
            prev = f.origin
            for j, sid in enumerate(f.route):
                s = net.services[sid]
                if s.origin != prev:
                    raise bad(f"demand[{i}].route[{j}]", f"service {sid} leaves {s.origin}, not {prev}")
                prev = s.destination
            if prev != f.destination:
                raise bad(f"demand[{i}].route", f"ends at {prev}, not {f.destination}")
    flow_names = {f.name for f in sc.demand}
    for i, m in enumerate(sc.demand_multipliers):
        for j, name in enumerate(m.flows):
            if name not in flow_names:
                raise bad(f"demand_multipliers[{i}].flows[{j}]", f"unknown flow '{name}'")
    for sid, ov in sc.services.items():
        if sid not in net.services:
            raise bad(f"services.{sid}", f"unknown service '{sid}'")
        if net.services[sid].schedule.continuous and (ov.weekdays or ov.times):
            raise bad(f"services.{sid}", "road services run continuously; they have no schedule to override")
    for sid in sc.drop_services:
        if sid not in net.services:
            raise bad("drop_services", f"unknown service '{sid}'")
    for wid in sc.warehouses:
        if wid not in net.nodes or net.nodes[wid].kind is not NodeKind.OVERSEAS_WAREHOUSE:
            raise bad(f"warehouses.{wid}", f"'{wid}' is not an overseas warehouse")
    for key, table in (("docks", sc.resources.docks), ("customs_lanes", sc.resources.customs_lanes)):
        for nid in table:
            if nid != "default" and nid not in net.nodes:
                raise bad(f"resources.{key}.{nid}", f"unknown node '{nid}'")
    for nid in sc.resources.borders:
        if nid not in net.nodes:
            raise bad(f"resources.borders.{nid}", f"unknown node '{nid}'")
    for i, d in enumerate(sc.disruptions):
        if isinstance(d, CancelledDeparture):
            if d.service not in net.services:
                raise bad(f"disruptions[{i}].service", f"unknown service '{d.service}'")
        else:
            if d.node not in net.nodes:
                raise bad(f"disruptions[{i}].node", f"unknown node '{d.node}'")
            if d.to_day <= d.from_day:
                raise bad(f"disruptions[{i}].to_day", "must be after from_day")


def build_network(sc: Scenario, base: Network) -> Network:
    """The scenario's variant of ``base``: planned services activated, services dropped, overrides applied."""
    services = dict(base.services)
    for sid, ov in sc.services.items():
        s = services[sid]
        sched = s.schedule
        if not sched.continuous and (ov.weekdays or ov.times or ov.cutoff_hours is not None):
            sched = Schedule(
                continuous=False,
                weekdays=tuple(sorted(set(ov.weekdays))) if ov.weekdays else sched.weekdays,
                times=tuple(ov.times) if ov.times else sched.times,
                cutoff_hours=ov.cutoff_hours if ov.cutoff_hours is not None else sched.cutoff_hours,
            )
        cap = s.capacity
        if ov.capacity_teu or ov.capacity_kg or ov.capacity_m3:
            cap = Capacity(teu=ov.capacity_teu or cap.teu, kg=ov.capacity_kg or cap.kg, m3=ov.capacity_m3 or cap.m3)
        services[sid] = dataclasses.replace(s, schedule=sched, capacity=cap)
    nodes = dict(base.nodes)
    for wid, ov in sc.warehouses.items():
        if ov.capacity_m3:
            nodes[wid] = dataclasses.replace(nodes[wid], capacity_m3=ov.capacity_m3)
    if not (sc.services or sc.warehouses or sc.activate_planned or sc.drop_services):
        return base
    return base.derive(services=services, nodes=nodes, activate_planned=sc.activate_planned,
                       drop_services=sc.drop_services)


def slot_share(sc: Scenario, service_id: str, mode: Mode) -> float:
    """Share of a departure's capacity the pilot zone may book."""
    ov = sc.services.get(service_id)
    if ov is not None and ov.slot_share is not None:
        return ov.slot_share
    return sc.resources.slot_share.get(mode.value, 1.0)
