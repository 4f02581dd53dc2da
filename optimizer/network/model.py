"""The shared vocabulary of cbec-logistics.

Every package (optimizer, simulation, iot_ingest, api) speaks in these types. They are plain
frozen dataclasses: built once by the loader, then read-only. Times are timezone-aware
``datetime`` objects in UTC at the edges and integer minutes since the Unix epoch inside the hot
search loops; money is in the tariff's currency (USD in the bundled data); masses in kg,
volumes in m³, distances in km.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Mode(StrEnum):
    ROAD = "road"
    RAIL = "rail"
    AIR = "air"
    SEA = "sea"


class NodeKind(StrEnum):
    ORIGIN_ZONE = "origin_zone"
    BONDED_ZONE = "bonded_zone"
    RAIL_TERMINAL = "rail_terminal"
    AIRPORT = "airport"
    SEAPORT = "seaport"
    RIVER_PORT = "river_port"  # inland (Yangtze) container port: river liners to the sea ports
    BORDER_CROSSING = "border_crossing"
    OVERSEAS_WAREHOUSE = "overseas_warehouse"
    MARKET = "market"


class CargoClass(StrEnum):
    GENERAL = "general"
    LITHIUM = "lithium_batteries"
    DANGEROUS = "dangerous_goods"
    TEMPERATURE = "temperature_controlled"


class CustomsMode(StrEnum):
    """Chinese customs supervision modes for cross-border e-commerce exports."""

    B2C_PARCEL = "9610"
    BONDED = "1210"
    B2B_DIRECT = "9710"
    B2B_WAREHOUSE = "9810"


class Status(StrEnum):
    ACTIVE = "active"
    PLANNED = "planned"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a figure comes from: the source text, its date and a confidence tag ([V]/[S]/[I]/[C]/[A])."""

    source: str
    as_of: str
    tag: str = ""


@dataclass(frozen=True, slots=True)
class Node:
    """A place in the network: origin zone, hub, border crossing, warehouse or market."""

    id: str
    name: str
    kind: NodeKind
    country: str
    lat: float
    lon: float
    tz: str
    status: Status
    handling_hours: float  # time from arrival until the cargo can leave (or is available at the destination)
    handling_cost: float  # per shipment, in the network currency
    handling_cost_per_t: float
    customs_modes: frozenset[str]  # export clearance possible here for these modes
    clearance_hours: float
    clearance_cost: float
    geofence_radius_m: float
    serves_markets: tuple[str, ...]  # overseas warehouses: the market nodes they deliver to
    capacity_m3: float  # overseas warehouses: rentable space
    fixed_cost_month: float  # overseas warehouses: rent share for a slot in the shared network
    storage_cost_m3_day: float
    inbound_m3_per_day: float  # overseas warehouses: receiving dock capacity
    provenance: Provenance

    @property
    def planned(self) -> bool:
        return self.status is Status.PLANNED


@dataclass(frozen=True, slots=True)
class Validity:
    """The days a tariff or timetable holds (inclusive; None: open-ended). See ``optimizer.network.validity``."""

    valid_from: date | None = None
    valid_to: date | None = None

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_to is None or day <= self.valid_to)

    def describe(self) -> str:
        a = self.valid_from.isoformat() if self.valid_from else "open"
        b = self.valid_to.isoformat() if self.valid_to else "open"
        return f"valid {a} to {b}"


@dataclass(frozen=True, slots=True)
class Surcharge:
    """A named price line. ``basis``: per_kg (chargeable), per_m3, per_shipment, per_container, pct_freight."""

    code: str
    name: str
    basis: str
    amount: float


@dataclass(frozen=True, slots=True)
class Tariff:
    id: str
    currency: str
    per_kg: float  # LCL / air rate per chargeable kg
    per_m3: float  # LCL rate per m³ (whichever of per_kg and per_m3 is larger applies: W/M)
    per_kg_km: float  # road LTL, per chargeable kg and km
    per_20gp: float
    per_40hq: float
    per_container_km: float  # road FTL: one truck carries one container
    min_charge: float
    volumetric_kg_per_m3: float  # chargeable-weight ratio (air 1:6000 = 166.67 kg/m³)
    allow_lcl: bool
    allow_fcl: bool
    surcharges: tuple[Surcharge, ...]
    class_surcharges: dict[str, Surcharge]
    provenance: Provenance
    validity: Validity = Validity()  # tariffs.yaml: file-level `validity` or per-tariff valid_from/valid_to
    parcel: ParcelRate | None = None  # parcel products (9610): per parcel + per kg by weight break


@dataclass(frozen=True, slots=True)
class WeightBreak:
    """Per-kg rate for parcels whose chargeable weight is at most ``up_to_kg``."""

    up_to_kg: float
    per_kg: float


@dataclass(frozen=True, slots=True)
class ParcelRate:
    """How a parcel product prices one parcel: ``item_fee`` + rate of its weight break x rounded chargeable kg.

    Chargeable kg per parcel = max(actual, volume x ``volumetric_kg_per_m3``, ``min_kg``) rounded up to
    ``rounding_kg``; ``fuel_pct`` is charged on the freight. Limits per parcel: ``max_kg`` and ``max_m3``
    (from the size limits). ``tracking`` says what the customer sees (e.g. "end-to-end").
    """

    product: str
    name: str
    kind: str  # postal / express / linehaul
    item_fee: float
    breaks: tuple[WeightBreak, ...]
    max_kg: float
    max_m3: float
    min_kg: float = 0.0
    rounding_kg: float = 0.001
    volumetric_kg_per_m3: float = 0.0
    fuel_pct: float = 0.0
    tracking: str = ""


@dataclass(frozen=True, slots=True)
class Schedule:
    """Weekly departures in the origin node's local time; road services are ``continuous``."""

    continuous: bool
    weekdays: tuple[int, ...] = ()  # 0 = Monday
    times: tuple[str, ...] = ()  # "HH:MM" local
    cutoff_hours: float = 0.0  # cargo must be at the departure node this long before departure
    validity: Validity = Validity()  # services.yaml: file-level `validity` or per-service valid_from/valid_to

    def describe(self) -> str:
        if self.continuous:
            return "continuous"
        days = ",".join(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d] for d in self.weekdays)
        return f"{days} {'/'.join(self.times)} (cut-off {self.cutoff_hours:g} h)"


@dataclass(frozen=True, slots=True)
class TransitTime:
    """Door-to-door transit of one departure (including stops), lognormal fitted to p50/p90.

    ``min_hours`` is a hard floor (the physical minimum); the lognormal applies above it.
    """

    p50_hours: float
    p90_hours: float
    min_hours: float = 0.0

    @property
    def sigma(self) -> float:
        spread = (self.p90_hours - self.min_hours) / max(self.p50_hours - self.min_hours, 1e-9)
        return math.log(max(spread, 1.0 + 1e-9)) / 1.2815515655446004

    def sample(self, rng) -> float:
        """One transit time in hours; ``rng`` is a ``random.Random`` or numpy Generator-like with lognormvariate."""
        scale = self.p50_hours - self.min_hours
        if scale <= 0:
            return self.p50_hours
        return self.min_hours + scale * rng.lognormvariate(0.0, self.sigma)

    def quantile(self, q: float) -> float:
        from statistics import NormalDist

        scale = self.p50_hours - self.min_hours
        return self.min_hours + scale * math.exp(self.sigma * NormalDist().inv_cdf(q))


@dataclass(frozen=True, slots=True)
class Capacity:
    """Capacity of one departure. ``None`` means not binding (e.g. road)."""

    teu: int | None = None
    kg: float | None = None
    m3: float | None = None


@dataclass(frozen=True, slots=True)
class Stop:
    """An intermediate point of a through service, e.g. a border station with a gauge change."""

    node: str
    offset_hours: float  # p50 arrival at the stop, hours after departure
    dwell_hours: float  # time spent there (gauge change, border checks), included in the transit time
    gauge_change: bool = False


@dataclass(frozen=True, slots=True)
class Service:
    """A lane of one mode from one node to another, with its schedule, capacity, tariff and emissions."""

    id: str
    mode: Mode
    origin: str
    destination: str
    carrier: str
    distance_km: float
    distance_method: str  # "route (source)", "geodesic x circuity 1.4", "searoute 1.6.0"
    transit: TransitTime
    schedule: Schedule
    capacity: Capacity
    tariff: Tariff
    stops: tuple[Stop, ...]
    allowed_classes: frozenset[str]
    international: bool  # leaves China: export clearance must be done before it
    emission_factor: str  # key into Network.emission_factors
    status: Status
    provenance: Provenance
    customs_modes: frozenset[str] = frozenset()  # only these customs modes may use it (empty: any)
    door: bool = False  # delivers to the consignee's door (parcel products): no hub handling at the destination

    @property
    def planned(self) -> bool:
        return self.status is Status.PLANNED


@dataclass(frozen=True, slots=True)
class EmissionFactor:
    key: str
    mode: Mode
    g_per_tkm: float
    scope: str  # TTW / WTW
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class ContainerType:
    code: str  # 20GP / 40HQ
    teu: int
    max_kg: float
    max_m3: float
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class CustomsModeInfo:
    code: str
    name: str
    model: str
    description: str
    destination_kinds: frozenset[str]  # where an option under this mode may end
    requires_bonded_zone: bool
    max_piece_kg: float | None  # parcels only (9610)
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class Cargo:
    """What is shipped. ``customs_mode`` is one of the CustomsMode values."""

    weight_kg: float
    volume_m3: float
    pieces: int = 1
    cargo_class: CargoClass = CargoClass.GENERAL
    customs_mode: CustomsMode = CustomsMode.B2B_DIRECT


@dataclass(frozen=True, slots=True)
class Departure:
    """One service on one date: the unit of capacity the planner assigns cargo to."""

    service_id: str
    depart: datetime  # UTC
    cutoff: datetime  # UTC
    arrive: datetime  # p50, UTC

    @property
    def key(self) -> str:
        return f"{self.service_id}@{self.depart.strftime('%Y-%m-%dT%H:%MZ')}"


@dataclass(frozen=True, slots=True)
class CostLine:
    code: str
    description: str
    amount: float
    currency: str
    basis: str
    leg: int | None = None  # index of the leg it belongs to; None for node charges on the route
    estimate: bool = False  # an estimate (taxes, duty, destination fees), not a tariff figure


@dataclass(frozen=True, slots=True)
class Waypoint:
    node: str
    arrive: datetime  # p50, UTC
    depart: datetime


@dataclass(frozen=True, slots=True)
class Leg:
    """One departure taken by one cargo."""

    service_id: str
    mode: Mode
    origin: str
    destination: str
    carrier: str
    departure: Departure
    arrive_p90: datetime
    distance_km: float
    chargeable_kg: float
    equipment: str  # "LCL", "1x40HQ", "2x20GP", "FTL", "LTL", "air"
    teu: int  # container slots used on the departure (0 for LCL/air)
    cost: float
    co2e_kg: float
    via: tuple[Waypoint, ...] = ()
    split: tuple[Departure, ...] = ()  # further departures carrying parts of the cargo (split shipment)
    space_left_kg: float | None = None  # least space left on its departures after this cargo (None: not limited)
    space_left_m3: float | None = None

    @property
    def parts(self) -> int:
        return 1 + len(self.split)

    @property
    def depart(self) -> datetime:
        return self.departure.depart

    @property
    def arrive(self) -> datetime:
        return self.departure.arrive


@dataclass(frozen=True, slots=True)
class Option:
    """A way from origin to destination: legs with totals. A quote is a list of options."""

    origin: str
    destination: str
    ready: datetime
    legs: tuple[Leg, ...]
    cost_lines: tuple[CostLine, ...]
    currency: str
    arrive_p50: datetime
    arrive_p90: datetime
    co2e_kg: float
    clearance_node: str
    customs_mode: str
    tags: tuple[str, ...] = ()
    as_of: str = ""
    generalised_cost: float | None = None  # cost + value of time x door-to-door p50 days (optimizer.quotes.choice)
    notes: tuple[str, ...] = ()
    delivered_p50: datetime | None = None  # door to door: after import clearance and final delivery (None: as arrive_p50)
    delivered_p90: datetime | None = None

    @property
    def door_days_p50(self) -> float:
        """Days from ready to delivery at the door (to the destination node when there is no final delivery)."""
        return ((self.delivered_p50 or self.arrive_p50) - self.ready).total_seconds() / 86400.0

    @property
    def door_days_p90(self) -> float:
        return ((self.delivered_p90 or self.arrive_p90) - self.ready).total_seconds() / 86400.0

    @property
    def cost_total(self) -> float:
        return round(sum(c.amount for c in self.cost_lines), 2)

    @property
    def transit_days_p50(self) -> float:
        return (self.arrive_p50 - self.ready).total_seconds() / 86400.0

    @property
    def transit_days_p90(self) -> float:
        return (self.arrive_p90 - self.ready).total_seconds() / 86400.0

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(leg.mode.value for leg in self.legs))

    @property
    def main_mode(self) -> Mode:
        """The mode that carries the cargo furthest."""
        return max(self.legs, key=lambda leg: leg.distance_km).mode

    @property
    def id(self) -> str:
        return "+".join(leg.departure.key for leg in self.legs)


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    origin: str
    destination: str
    cargo: Cargo
    ready: datetime  # UTC
    include_planned: bool = False
    max_options: int | None = None
    horizon_days: int = 90
    exclude_services: frozenset[str] = field(default_factory=frozenset)
    exclude_departures: frozenset[str] = field(default_factory=frozenset)  # Departure.key values
    held: tuple[HeldSpace, ...] = ()  # space already held on departures (plans, bookings, followed shipments)
    goods_value: float | None = None  # declared goods value, network currency (VAT/IOSS, duty, value of time)
    hs_code: str | None = None  # HS code of the goods (duty from a user-supplied duty table)
    duty_rates: tuple[DutyRate, ...] = ()  # the user's duty table (optimizer.quotes.destination.read_duty_table)
    value_of_time_per_day: float | None = None  # for the recommended option; default a share of goods_value
    # an organisation's own rates for this request (optimizer.quotes.rate_sheet.RateBook), asked first per service
    rate_book: object | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class HeldSpace:
    """Space held on one departure of a service: ``depart_date`` is the local date at the service's origin."""

    service_id: str
    depart_date: date
    kg: float = 0.0
    m3: float = 0.0
    teu: float = 0.0


@dataclass(frozen=True, slots=True)
class DutyRate:
    """One row of a duty table: goods whose HS code starts with ``hs_prefix`` pay ``rate_pct`` into ``country``
    (an ISO code, ``EU`` for the EU's common external tariff, or ``*`` for any)."""

    hs_prefix: str
    country: str
    rate_pct: float
    note: str = ""
