"""Load and validate the network data files (nodes.csv, services.yaml, tariffs.yaml, parameters.yaml).

Every row is validated with a pydantic schema; the first problem raises ``DataError`` naming the
file, the row (CSV line number, or YAML entry number and id) and the field.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from optimizer.errors import DataError
from optimizer.network.geo import route_km
from optimizer.network.model import (
    Capacity,
    CargoClass,
    ContainerType,
    CustomsMode,
    CustomsModeInfo,
    EmissionFactor,
    Mode,
    Node,
    NodeKind,
    Provenance,
    Schedule,
    Service,
    Status,
    Stop,
    Surcharge,
    Tariff,
    TransitTime,
    Validity,
)

_CLASSES = {c.value for c in CargoClass}
_MODES = {m.value for m in CustomsMode}
_BASES = {"per_kg", "per_m3", "per_shipment", "per_container", "pct_freight"}
EXPORT_CLEARANCE_CODES = frozenset({"CUSTOMS", "CUSTOMS_EXPORT", "EXPORT_CLEARANCE"})  # a node step, never a tariff line
ROAD_FLOOR_KM = 10.0  # nodes that share a point until geocoded are still a short drive apart


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NodeRow(_Row):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    name: str = Field(min_length=1)
    kind: NodeKind
    country: str = Field(pattern=r"^[A-Z]{2}$")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    tz: str
    status: Status = Status.ACTIVE
    handling_hours: float = Field(ge=0)
    handling_cost: float = Field(ge=0)
    handling_cost_per_t: float = Field(ge=0)
    customs_modes: str = ""
    clearance_hours: float = Field(ge=0)
    clearance_cost: float = Field(ge=0)
    geofence_radius_m: float = Field(gt=0)
    serves_markets: str = ""
    capacity_m3: float = Field(default=0, ge=0)
    fixed_cost_month: float = Field(default=0, ge=0)
    storage_cost_m3_day: float = Field(default=0, ge=0)
    inbound_m3_per_day: float = Field(default=0, ge=0)
    tag: str = ""
    source: str = Field(min_length=1)
    as_of: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{v}'") from None
        return v

    @field_validator("customs_modes")
    @classmethod
    def _modes(cls, v: str) -> str:
        for m in filter(None, v.split("|")):
            if m not in _MODES:
                raise ValueError(f"unknown customs mode '{m}' (known: {', '.join(sorted(_MODES))})")
        return v

    @field_validator("capacity_m3", "fixed_cost_month", "storage_cost_m3_day", "inbound_m3_per_day", mode="before")
    @classmethod
    def _blank_zero(cls, v: Any) -> Any:
        return 0 if v in ("", None) else v


class ValidityRow(_Row):
    """``valid_from``/``valid_to`` (inclusive dates; either may be open): a file-level ``validity`` default
    in tariffs.yaml and services.yaml, overridden per tariff or service by the same two fields."""

    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "ValidityRow":
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self

    def over(self, default: Validity) -> Validity:
        """This entry's validity, each missing end taken from the file's default."""
        return Validity(self.valid_from or default.valid_from, self.valid_to or default.valid_to)


class SurchargeRow(_Row):
    code: str
    name: str
    basis: str
    amount: float = Field(ge=0)

    @field_validator("basis")
    @classmethod
    def _basis(cls, v: str) -> str:
        if v not in _BASES:
            raise ValueError(f"unknown basis '{v}' (known: {', '.join(sorted(_BASES))})")
        return v


class TariffRow(ValidityRow):
    currency: str = "USD"
    per_kg: float = Field(default=0, ge=0)
    per_m3: float = Field(default=0, ge=0)
    per_kg_km: float = Field(default=0, ge=0)
    per_20gp: float = Field(default=0, ge=0)
    per_40hq: float = Field(default=0, ge=0)
    per_container_km: float = Field(default=0, ge=0)
    min_charge: float = Field(default=0, ge=0)
    volumetric_kg_per_m3: float = Field(gt=0)
    allow_lcl: bool = True
    allow_fcl: bool = True
    surcharges: list[SurchargeRow] = []
    class_surcharges: dict[str, SurchargeRow] = {}
    tag: str = ""
    source: str = Field(min_length=1)
    as_of: str

    @field_validator("class_surcharges")
    @classmethod
    def _classes(cls, v: dict[str, SurchargeRow]) -> dict[str, SurchargeRow]:
        for k in v:
            if k not in _CLASSES:
                raise ValueError(f"unknown cargo class '{k}'")
        return v

    @model_validator(mode="after")
    def _priced(self) -> "TariffRow":
        if not (self.per_kg or self.per_m3 or self.per_kg_km or self.per_20gp or self.per_40hq or self.per_container_km):
            raise ValueError("tariff has no rate at all")
        for i, sc in enumerate(self.surcharges):
            if sc.code in EXPORT_CLEARANCE_CODES:
                raise ValueError(f"surcharges[{i}] ({sc.code}): export clearance is charged once, by the clearance "
                                 "node (nodes.csv clearance_cost), not again in a tariff")
        return self


class TransitRow(_Row):
    p50_hours: float | None = Field(default=None, gt=0)
    p90_hours: float | None = Field(default=None, gt=0)
    min_hours: float | None = Field(default=None, ge=0)
    p50_days: float | None = Field(default=None, gt=0)
    p90_days: float | None = Field(default=None, gt=0)
    min_days: float | None = Field(default=None, ge=0)

    def to_transit(self) -> TransitTime:
        p50 = self.p50_hours if self.p50_hours is not None else (self.p50_days or 0) * 24
        p90 = self.p90_hours if self.p90_hours is not None else (self.p90_days or 0) * 24
        mn = self.min_hours if self.min_hours is not None else (self.min_days or 0) * 24
        if not p50:
            raise ValueError("p50_hours or p50_days is required")
        if not p90:
            raise ValueError("p90_hours or p90_days is required")
        if p90 < p50:
            raise ValueError(f"p90 ({p90:g} h) is below p50 ({p50:g} h)")
        if mn > p50:
            raise ValueError(f"min ({mn:g} h) is above p50 ({p50:g} h)")
        return TransitTime(p50, p90, mn)


class ScheduleRow(_Row):
    weekdays: list[int] = Field(min_length=1)
    times: list[str] = Field(min_length=1)
    cutoff_hours: float = Field(ge=0)

    @field_validator("weekdays")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        for d in v:
            if not 0 <= d <= 6:
                raise ValueError(f"weekday {d} is not in 0 (Mon) .. 6 (Sun)")
        return sorted(set(v))

    @field_validator("times")
    @classmethod
    def _times(cls, v: list[str]) -> list[str]:
        import re

        for t in v:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", t):
                raise ValueError(f"time '{t}' is not HH:MM")
        return sorted(v)


class StopRow(_Row):
    node: str
    offset_hours: float | None = Field(default=None, ge=0)
    offset_days: float | None = Field(default=None, ge=0)
    dwell_hours: float = Field(default=0, ge=0)
    gauge_change: bool = False


class CapacityRow(_Row):
    teu: int | None = Field(default=None, gt=0)
    kg: float | None = Field(default=None, gt=0)
    m3: float | None = Field(default=None, gt=0)


class ServiceRow(ValidityRow):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    mode: Mode
    from_: str = Field(alias="from")
    to: str
    carrier: str
    distance_km: float | None = Field(default=None, gt=0)
    distance_source: str | None = None
    transit: TransitRow
    schedule: ScheduleRow
    capacity: CapacityRow = CapacityRow()
    tariff: str
    stops: list[StopRow] = []
    allowed_classes: list[str] = Field(min_length=1)
    international: bool
    emission_factor: str
    status: Status = Status.ACTIVE
    tag: str = ""
    source: str = Field(min_length=1)
    as_of: str

    @field_validator("allowed_classes")
    @classmethod
    def _classes(cls, v: list[str]) -> list[str]:
        for k in v:
            if k not in _CLASSES:
                raise ValueError(f"unknown cargo class '{k}' (known: {', '.join(sorted(_CLASSES))})")
        return v


class RoadGroupRow(_Row):
    name: str
    from_: list[str] = Field(alias="from", min_length=1)
    to: list[str] = Field(min_length=1)
    tariff: str
    speed: str
    load_hours: float = Field(ge=0)
    max_km: float | None = Field(default=None, gt=0)
    emission_factor: str
    allowed_classes: list[str] = list(_CLASSES)
    source: str
    as_of: str


class FactorRow(_Row):
    mode: Mode
    g_per_tkm: float = Field(gt=0)
    scope: Literal["TTW", "WTW"]
    tag: str = ""
    source: str
    as_of: str


class ContainerRow(_Row):
    teu: int = Field(gt=0)
    max_kg: float = Field(gt=0)
    max_m3: float = Field(gt=0)
    tag: str = ""
    source: str
    as_of: str


class CustomsRow(_Row):
    name: str
    model: str
    description: str
    destination_kinds: list[NodeKind]
    requires_bonded_zone: bool
    max_piece_kg: float | None = None
    tag: str = ""
    source: str
    as_of: str


class ValueRow(_Row):
    factor: float | None = Field(default=None, gt=0)
    value: float | None = Field(default=None, gt=0)
    tag: str = ""
    source: str
    as_of: str


class ParametersFile(_Row):
    currency: str
    as_of: str
    circuity: dict[Mode, ValueRow]
    road_speed_kmh: dict[str, ValueRow]
    emission_factors: dict[str, FactorRow]
    co2e_method: str
    containers: dict[str, ContainerRow]
    customs_modes: dict[str, CustomsRow]


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
    msg = err["msg"]
    if err.get("input") is not None and err["type"] not in ("missing",) and not isinstance(err["input"], (dict, list)):
        msg += f" (got {err['input']!r})"
    return loc.replace("from_", "from"), msg


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise DataError(str(path), None, None, "file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = f"line {mark.line + 1}" if mark else None
        raise DataError(str(path), row, None, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None


def load_nodes(path: Path) -> dict[str, Node]:
    """Read nodes.csv; rows are numbered as lines of the file (header = line 1)."""
    nodes: dict[str, Node] = {}
    try:
        fh = path.open(encoding="utf-8", newline="")
    except FileNotFoundError:
        raise DataError(str(path), None, None, "file not found") from None
    with fh:
        reader = csv.DictReader(fh)
        for line, raw in enumerate(reader, start=2):
            if None in raw:
                raise DataError(str(path), line, None, f"{len(raw[None])} more values than header columns")
            missing = [k for k, v in raw.items() if v is None]
            if missing:
                raise DataError(str(path), line, missing[0], "missing value (row has fewer columns than the header)")
            try:
                row = NodeRow.model_validate(raw)
            except ValidationError as exc:
                field, msg = _first_error(exc)
                raise DataError(str(path), line, field, msg) from None
            if row.id in nodes:
                raise DataError(str(path), line, "id", f"duplicate node id '{row.id}'")
            nodes[row.id] = Node(
                id=row.id,
                name=row.name,
                kind=row.kind,
                country=row.country,
                lat=row.lat,
                lon=row.lon,
                tz=row.tz,
                status=row.status,
                handling_hours=row.handling_hours,
                handling_cost=row.handling_cost,
                handling_cost_per_t=row.handling_cost_per_t,
                customs_modes=frozenset(filter(None, row.customs_modes.split("|"))),
                clearance_hours=row.clearance_hours,
                clearance_cost=row.clearance_cost,
                geofence_radius_m=row.geofence_radius_m,
                serves_markets=tuple(filter(None, row.serves_markets.split("|"))),
                capacity_m3=row.capacity_m3,
                fixed_cost_month=row.fixed_cost_month,
                storage_cost_m3_day=row.storage_cost_m3_day,
                inbound_m3_per_day=row.inbound_m3_per_day,
                provenance=Provenance(row.source, row.as_of, row.tag),
            )
    if not nodes:
        raise DataError(str(path), None, None, "no nodes")
    for line, node in enumerate(nodes.values(), start=2):
        for m in node.serves_markets:
            if m not in nodes:
                raise DataError(str(path), line, "serves_markets", f"unknown node '{m}'")
    return nodes


def load_tariffs(path: Path) -> dict[str, Tariff]:
    data = _read_yaml(path) or {}
    if not isinstance(data, dict):
        raise DataError(str(path), None, None, "expected a mapping of tariff id -> tariff")
    data = dict(data)
    default = _file_validity(path, data.pop("validity", None))
    out: dict[str, Tariff] = {}
    for tid, raw in data.items():
        try:
            row = TariffRow.model_validate(raw)
        except ValidationError as exc:
            field, msg = _first_error(exc)
            raise DataError(str(path), f"tariff '{tid}'", field, msg) from None
        out[tid] = Tariff(
            id=tid,
            currency=row.currency,
            per_kg=row.per_kg,
            per_m3=row.per_m3,
            per_kg_km=row.per_kg_km,
            per_20gp=row.per_20gp,
            per_40hq=row.per_40hq,
            per_container_km=row.per_container_km,
            min_charge=row.min_charge,
            volumetric_kg_per_m3=row.volumetric_kg_per_m3,
            allow_lcl=row.allow_lcl,
            allow_fcl=row.allow_fcl,
            surcharges=tuple(Surcharge(s.code, s.name, s.basis, s.amount) for s in row.surcharges),
            class_surcharges={k: Surcharge(s.code, s.name, s.basis, s.amount) for k, s in row.class_surcharges.items()},
            provenance=Provenance(row.source, row.as_of, row.tag),
            validity=row.over(default),
        )
        _check_validity(path, f"tariff '{tid}'", out[tid].validity)
    return out


def _check_validity(path: Path, where: str, v: Validity) -> None:
    """An entry's own end against the file's default other end must still make a period."""
    if v.valid_from and v.valid_to and v.valid_to < v.valid_from:
        raise DataError(str(path), where, "valid_to", f"{v.valid_to} is before valid_from {v.valid_from} (with the file's default)")


def _file_validity(path: Path, raw: Any) -> Validity:
    """The file-level ``validity: {valid_from, valid_to}`` (open when absent)."""
    if raw is None:
        return Validity()
    try:
        row = ValidityRow.model_validate(raw)
    except ValidationError as exc:
        field, msg = _first_error(exc)
        raise DataError(str(path), "validity", field, msg) from None
    return Validity(row.valid_from, row.valid_to)


def load_parameters(path: Path) -> ParametersFile:
    data = _read_yaml(path)
    try:
        return ParametersFile.model_validate(data)
    except ValidationError as exc:
        field, msg = _first_error(exc)
        raise DataError(str(path), None, field, msg) from None


def load_services(
    path: Path,
    nodes: dict[str, Node],
    tariffs: dict[str, Tariff],
    params: ParametersFile,
) -> dict[str, Service]:
    """Read services.yaml: explicit services plus road lanes expanded from ``road_groups``."""
    data = _read_yaml(path) or {}
    if not isinstance(data, dict):
        raise DataError(str(path), None, None, "expected a mapping with 'services' and 'road_groups'")
    out: dict[str, Service] = {}
    circuity = {m: v.factor or 1.0 for m, v in params.circuity.items()}
    timetables = _file_validity(path, data.get("validity"))  # road lanes are continuous: no timetable

    def check_node(where: str, field: str, node_id: str) -> Node:
        if node_id not in nodes:
            import difflib

            close = difflib.get_close_matches(node_id, list(nodes), n=2)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise DataError(str(path), where, field, f"unknown node '{node_id}'{hint}")
        return nodes[node_id]

    def check_ref(where: str, field: str, key: str, table: dict, what: str) -> None:
        if key not in table:
            raise DataError(str(path), where, field, f"unknown {what} '{key}' (known: {', '.join(sorted(table))})")

    for i, raw in enumerate(data.get("road_groups") or [], start=1):
        where = f"road_groups entry {i}"
        try:
            group = RoadGroupRow.model_validate(raw)
        except ValidationError as exc:
            field, msg = _first_error(exc)
            raise DataError(str(path), where, field, msg) from None
        where = f"road_groups entry {i} ({group.name})"
        check_ref(where, "tariff", group.tariff, tariffs, "tariff")
        check_ref(where, "emission_factor", group.emission_factor, params.emission_factors, "emission factor")
        check_ref(where, "speed", group.speed, params.road_speed_kmh, "road speed")
        speed = params.road_speed_kmh[group.speed].value or 50.0
        for a in group.from_:
            na = check_node(where, "from", a)
            for b in group.to:
                nb = check_node(where, "to", b)
                if a == b:
                    continue
                km = route_km(na.lat, na.lon, nb.lat, nb.lon, circuity[Mode.ROAD], ROAD_FLOOR_KM)
                if group.max_km and km > group.max_km:
                    continue
                p50 = km / speed + group.load_hours
                sid = f"ROAD_{a}_{b}"
                status = Status.PLANNED if (na.planned or nb.planned) else Status.ACTIVE
                out[sid] = Service(
                    id=sid,
                    mode=Mode.ROAD,
                    origin=a,
                    destination=b,
                    carrier=f"road ({group.name})",
                    distance_km=round(km, 1),
                    distance_method=f"geodesic x circuity {circuity[Mode.ROAD]:g}",
                    transit=TransitTime(round(p50, 2), round(p50 * 1.35, 2), round(p50 * 0.8, 2)),
                    schedule=Schedule(continuous=True),
                    capacity=Capacity(),
                    tariff=tariffs[group.tariff],
                    stops=(),
                    allowed_classes=frozenset(group.allowed_classes),
                    international=na.country != nb.country and "CN" in (na.country, nb.country),
                    emission_factor=group.emission_factor,
                    status=status,
                    provenance=Provenance(group.source, group.as_of, "[C]"),
                )

    for i, raw in enumerate(data.get("services") or [], start=1):
        sid = raw.get("id", "?") if isinstance(raw, dict) else "?"
        where = f"services entry {i} ({sid})"
        try:
            row = ServiceRow.model_validate(raw)
            transit = row.transit.to_transit()
        except ValidationError as exc:
            field, msg = _first_error(exc)
            raise DataError(str(path), where, field, msg) from None
        except ValueError as exc:
            raise DataError(str(path), where, "transit", str(exc)) from None
        if row.id in out:
            raise DataError(str(path), where, "id", f"duplicate service id '{row.id}'")
        na = check_node(where, "from", row.from_)
        nb = check_node(where, "to", row.to)
        if row.from_ == row.to:
            raise DataError(str(path), where, "to", "service goes from a node to itself")
        check_ref(where, "tariff", row.tariff, tariffs, "tariff")
        check_ref(where, "emission_factor", row.emission_factor, params.emission_factors, "emission factor")
        stops = []
        for j, s in enumerate(row.stops):
            check_node(where, f"stops[{j}].node", s.node)
            off = s.offset_hours if s.offset_hours is not None else (s.offset_days or 0) * 24
            if off + s.dwell_hours > transit.p50_hours:
                raise DataError(str(path), where, f"stops[{j}]", "stop is reached after the p50 arrival")
            if stops and off < stops[-1].offset_hours + stops[-1].dwell_hours:
                raise DataError(str(path), where, f"stops[{j}].offset", "stops must be in travel order")
            stops.append(Stop(s.node, off, s.dwell_hours, s.gauge_change))
        if row.distance_km:
            km, method = row.distance_km, row.distance_source or "route distance"
        else:
            km = route_km(na.lat, na.lon, nb.lat, nb.lon, circuity[row.mode])
            method = f"geodesic x circuity {circuity[row.mode]:g}"
        status = Status.PLANNED if (row.status is Status.PLANNED or na.planned or nb.planned) else Status.ACTIVE
        out[row.id] = Service(
            id=row.id,
            mode=row.mode,
            origin=row.from_,
            destination=row.to,
            carrier=row.carrier,
            distance_km=round(km, 1),
            distance_method=method,
            transit=transit,
            schedule=Schedule(False, tuple(row.schedule.weekdays), tuple(row.schedule.times), row.schedule.cutoff_hours,
                              row.over(timetables)),
            capacity=Capacity(row.capacity.teu, row.capacity.kg, row.capacity.m3),
            tariff=tariffs[row.tariff],
            stops=tuple(stops),
            allowed_classes=frozenset(row.allowed_classes),
            international=row.international,
            emission_factor=row.emission_factor,
            status=status,
            provenance=Provenance(row.source, row.as_of, row.tag),
        )
        _check_validity(path, where, out[row.id].schedule.validity)
    return out


def to_factors(params: ParametersFile) -> dict[str, EmissionFactor]:
    return {
        k: EmissionFactor(k, v.mode, v.g_per_tkm, v.scope, Provenance(v.source, v.as_of, v.tag))
        for k, v in params.emission_factors.items()
    }


def to_containers(params: ParametersFile) -> dict[str, ContainerType]:
    return {
        k: ContainerType(k, v.teu, v.max_kg, v.max_m3, Provenance(v.source, v.as_of, v.tag))
        for k, v in params.containers.items()
    }


def to_customs(params: ParametersFile) -> dict[str, CustomsModeInfo]:
    return {
        k: CustomsModeInfo(
            code=k,
            name=v.name,
            model=v.model,
            description=v.description,
            destination_kinds=frozenset(x.value for x in v.destination_kinds),
            requires_bonded_zone=v.requires_bonded_zone,
            max_piece_kg=v.max_piece_kg,
            provenance=Provenance(v.source, v.as_of, v.tag),
        )
        for k, v in params.customs_modes.items()
    }
