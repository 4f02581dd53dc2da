"""First-mile pickups around Mianyang and last-mile deliveries from an overseas warehouse, as routing problems.

A stops CSV (``data/samples/pickups_mianyang.csv``) lists, per stop: id, name, lat, lon, kg, m3,
window_start, window_end (local ``HH:MM``), service_min. The depot is a network node: the
consolidation point (bonded zone ``MY_CBZ`` or rail port ``CD_RAILPORT``) for pickups, an overseas
warehouse (``WH_*``) for deliveries. Road distances are WGS84 geodesic x ``net.circuity["road"]``
(1.30, an assumption in parameters.yaml until an offline router confirms it); travel times use
``speed_kmh`` (40 km/h by default: between the urban 30 and the expressway 55 of parameters.yaml).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimizer.errors import DataError, InvalidInput
from optimizer.network import Network
from optimizer.network.csvfile import read_csv_records
from optimizer.network.model import NodeKind
from optimizer.pickups.limits import (
    COST_PER_KM,
    FIXED_COST,
    LAT,
    LON,
    MAX_CSV_BYTES,
    MAX_STOPS,
    MAX_VEHICLE_TYPES,
    NAME_MAX,
    SERVICE_MIN,
    SPEED_KMH,
    STOP_ID_PATTERN,
    STOP_KG,
    STOP_M3,
    VEHICLE_COUNT,
    VEHICLE_KG,
    VEHICLE_M3,
)
from optimizer.pickups.vrptw import RoutingProblem, VehicleKind, road_matrices
from optimizer.quotes.limits import TEXT_PATTERN, Range, check_id, shown
from optimizer.settings import BUNDLED_DATA_DIR

SAMPLE_STOPS = BUNDLED_DATA_DIR / "samples" / "pickups_mianyang.csv"
COST_UNIT = 1e-5  # currency per PyVRP cost unit: distances are in metres, costs per km like 0.55 USD


@dataclass(frozen=True)
class Vehicle:
    """A vehicle type in user units: count, kg, m³, fixed cost per day used and cost per km (network currency)."""

    name: str
    count: int
    kg: float
    m3: float
    fixed_cost: float
    cost_per_km: float


# [A] Chinese light/medium truck classes by body length; payloads and costs are assumptions to confirm.
DEFAULT_FLEET = (
    Vehicle("4.2m light truck", 4, 2000, 16, 45.0, 0.55),
    Vehicle("7.6m truck", 2, 8000, 45, 80.0, 0.85),
    Vehicle("9.6m truck", 1, 15000, 60, 110.0, 1.10),
)


@dataclass(frozen=True)
class StopRow:
    id: str
    name: str
    lat: float
    lon: float
    kg: float
    m3: float
    start: int  # minutes after local midnight
    end: int
    service: int


def parse_hhmm(text: str, file: str, row: int, field: str) -> int:
    """``HH:MM`` (00:00-24:00) to minutes after midnight; DataError names the record."""
    m = re.fullmatch(r"\s*([0-9]{1,2}):([0-9]{2})\s*", text or "")  # the schema's HHMM_PATTERN
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59 or (int(m.group(1)) == 24 and int(m.group(2))):
        raise DataError(file, row, field, f"expected a time HH:MM, got '{shown(text)}'")
    return int(m.group(1)) * 60 + int(m.group(2))


def _read_csv(path: Path, need: list[str], limit: int, what: str) -> list[dict]:
    """At most ``limit`` records of a CSV (never the rest of a longer file); DataError on a bad file."""
    return read_csv_records(path, need, limit, what, max_bytes=MAX_CSV_BYTES)


def load_stops(path: str | Path) -> list[StopRow]:
    """Read a stops CSV; DataError names the file, row and field of the first bad record."""
    path = Path(path)
    need = ["id", "lat", "lon", "kg", "m3", "window_start", "window_end", "service_min"]
    return parse_stops(_read_csv(path, need, MAX_STOPS, "stops"), path.name, first_row=2)


_STOP_ID = re.compile(STOP_ID_PATTERN)
_TEXT = re.compile(TEXT_PATTERN)


def parse_stops(records: list[dict], name: str = "stops", first_row: int = 1) -> list[StopRow]:
    """Validate stop records (dicts with the CSV columns); DataError names ``name``, the row and the field.

    Bounds (``optimizer.pickups.limits``): 1..MAX_STOPS stops, ids and names of the allowed characters
    and lengths, coordinates, loads within one vehicle's reach, windows HH:MM, service at most a day.
    """
    if len(records) > MAX_STOPS:
        raise DataError(name, None, None, f"more than {MAX_STOPS:,} stops")
    out: list[StopRow] = []
    seen: set[str] = set()
    for n, rec in enumerate(records, start=first_row):
        if not isinstance(rec, dict):
            raise DataError(name, n, None, "expected a record with the stop columns")
        rec = {k: ("" if v is None else str(v)) for k, v in rec.items()}
        sid = rec.get("id", "").strip()
        if not sid:
            raise DataError(name, n, "id", "empty")
        if not _STOP_ID.fullmatch(sid):
            raise DataError(name, n, "id", f"must be 1-64 letters, digits, '_', '.', ':' or '-' (got '{shown(sid)}')")
        if sid in seen:
            raise DataError(name, n, "id", f"stop '{sid}' appears twice")
        seen.add(sid)
        label = (rec.get("name") or sid).strip()
        if len(label) > NAME_MAX or not _TEXT.fullmatch(label):
            raise DataError(name, n, "name", f"stop {sid}: at most {NAME_MAX} characters, no control characters")
        vals: dict[str, float] = {}
        for f in ("lat", "lon", "kg", "m3", "service_min"):
            try:
                vals[f] = float(rec.get(f, ""))
            except ValueError:
                raise DataError(name, n, f, f"stop {sid}: expected a number, got '{shown(rec.get(f, ''))}'") from None
            if not math.isfinite(vals[f]):
                raise DataError(name, n, f, f"stop {sid}: not a finite number")
        if not (LAT.contains(vals["lat"]) and LON.contains(vals["lon"])):
            raise DataError(name, n, "lat/lon", f"stop {sid}: ({vals['lat']:.6g}, {vals['lon']:.6g}) is not a coordinate")
        for f, bound in (("kg", STOP_KG), ("m3", STOP_M3), ("service_min", SERVICE_MIN)):
            if vals[f] < 0:
                raise DataError(name, n, f, f"stop {sid}: must not be negative")
            what = bound.problem(vals[f])
            if what is not None:
                raise DataError(name, n, f, f"stop {sid}: {what}")
        start = parse_hhmm(rec.get("window_start", ""), name, n, "window_start")
        end = parse_hhmm(rec.get("window_end", ""), name, n, "window_end")
        if start > end:
            raise DataError(name, n, "window_start",
                            f"stop {sid}: window {rec['window_start']}-{rec['window_end']} ends before it starts")
        out.append(StopRow(sid, label, vals["lat"], vals["lon"], vals["kg"], vals["m3"],
                           start, end, int(round(vals["service_min"]))))
    if not out:
        raise DataError(name, None, None, "no stops")
    return out


def check_fleet(fleet: tuple[Vehicle, ...], name: str = "vehicles") -> tuple[Vehicle, ...]:
    """The fleet unchanged, or DataError naming the first vehicle type outside the bounds."""
    if not fleet:
        raise DataError(name, None, None, "no vehicles")
    if len(fleet) > MAX_VEHICLE_TYPES:
        raise DataError(name, None, None, f"more than {MAX_VEHICLE_TYPES} vehicle types")
    for k, v in enumerate(fleet, start=1):
        if len(v.name) > 64 or not _TEXT.fullmatch(v.name):
            raise DataError(name, k, "name", "at most 64 characters, no control characters")
        count = Range(0, VEHICLE_COUNT.hi, integer=True)  # a type may be listed with none available
        for field, value, bound in (("count", v.count, count), ("kg", v.kg, VEHICLE_KG), ("m3", v.m3, VEHICLE_M3),
                                    ("fixed_cost", v.fixed_cost, FIXED_COST), ("cost_per_km", v.cost_per_km, COST_PER_KM)):
            what = bound.problem(value)
            if what is not None:
                raise DataError(name, k, field, f"vehicle {shown(v.name)}: {what}")
    if sum(v.count for v in fleet) < 1:
        raise DataError(name, None, "count", "the fleet has no vehicle")
    return fleet


def load_fleet(path: str | Path) -> tuple[Vehicle, ...]:
    """Read a vehicles CSV (name, count, kg, m3, fixed_cost, cost_per_km)."""
    path = Path(path)
    fleet = []
    for n, rec in enumerate(_read_csv(path, ["name", "count", "kg", "m3"], MAX_VEHICLE_TYPES, "vehicle types"), start=2):
        try:
            v = Vehicle(rec["name"].strip(), int(rec["count"]), float(rec["kg"]), float(rec["m3"]),
                        float(rec.get("fixed_cost") or 0), float(rec.get("cost_per_km") or 1))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(path.name, n, None, f"cannot read vehicle ({shown(exc, 80)})") from None
        if v.count < 0 or v.kg <= 0 or v.m3 <= 0 or v.fixed_cost < 0 or v.cost_per_km < 0:
            raise DataError(path.name, n, None, f"vehicle {shown(v.name)}: count, capacities and costs must be positive")
        fleet.append(v)
    if not fleet:
        raise DataError(path.name, None, None, "no vehicles")
    return check_fleet(tuple(fleet), path.name)


def build_problem(net: Network, stops: list[StopRow], depot: str, *, kind: str | None = None,
                  fleet: tuple[Vehicle, ...] = DEFAULT_FLEET, speed_kmh: float = 40.0,
                  depot_window: tuple[int, int] = (6 * 60, 22 * 60), name: str = "pickups") -> RoutingProblem:
    """The RoutingProblem for ``stops`` around ``depot`` (loads in kg and litres, distances in metres, minutes)."""
    if len(stops) > MAX_STOPS:
        raise InvalidInput(f"at most {MAX_STOPS:,} stops (got {len(stops):,})", field="stops")
    check_fleet(fleet)
    node = net.node(check_id(depot, "depot"), "depot")
    pickup_kinds = (NodeKind.BONDED_ZONE, NodeKind.RAIL_TERMINAL)
    if kind is None:
        kind = "delivery" if node.kind is NodeKind.OVERSEAS_WAREHOUSE else "pickup"
    if kind == "pickup" and node.kind not in pickup_kinds:
        raise InvalidInput(f"depot {node.id} is a {node.kind.value}; first-mile pickups go to a consolidation point "
                           "(bonded zone MY_CBZ or rail port CD_RAILPORT)", field="depot")
    if kind == "delivery" and node.kind is not NodeKind.OVERSEAS_WAREHOUSE:
        raise InvalidInput(f"depot {node.id} is a {node.kind.value}; last-mile deliveries start at an overseas warehouse (WH_*)",
                           field="depot")
    if kind not in ("pickup", "delivery"):
        raise InvalidInput(f"kind must be pickup or delivery (got '{shown(kind)}')", field="kind")
    SPEED_KMH.check(speed_kmh, "speed_kmh", "speed")
    lat = np.array([node.lat] + [s.lat for s in stops])
    lon = np.array([node.lon] + [s.lon for s in stops])
    dist, dur = road_matrices(lat, lon, net.circuity["road"], speed_kmh)
    demand = np.array([[0, 0]] + [[round(s.kg), round(s.m3 * 1000)] for s in stops], dtype=np.int64)
    vehicles = tuple(VehicleKind(v.name, v.count, (round(v.kg), round(v.m3 * 1000)), round(v.fixed_cost / COST_UNIT),
                                 round(v.cost_per_km / 1000 / COST_UNIT)) for v in fleet)
    return RoutingProblem(
        name=name, ids=(node.id,) + tuple(s.id for s in stops), distance=dist, duration=dur, demand=demand,
        tw_early=np.array([depot_window[0]] + [s.start for s in stops], dtype=np.int64),
        tw_late=np.array([depot_window[1]] + [s.end for s in stops], dtype=np.int64),
        service=np.array([0] + [s.service for s in stops], dtype=np.int64),
        vehicles=vehicles, dims=("kg", "m3"), dim_scale=(1.0, 0.001), kind=kind, distance_unit=0.001,
        time_unit="min", cost_unit=COST_UNIT, coords=np.stack([lat, lon], axis=1))


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
