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
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from optimizer.errors import InvalidInput
from optimizer.network.model import Capacity, Mode, NodeKind, Schedule
from optimizer.network import Network
from simulation import limits as L

BUNDLED_DIR = Path(str(files("simulation") / "scenarios"))  # package data, in a wheel too

CustomsCode = Literal["9610", "1210", "9710", "9810"]
CargoClassName = Literal["general", "lithium_batteries", "dangerous_goods", "temperature_controlled"]
Policy = Literal["cheapest", "fastest", "greenest", "logit"]
# fitted by simulation.calibration (bench/logit_calibration.py) to Sichuan's Europe-bound mode shares by value
FITTED_MODE_CONSTANTS: dict[str, float] = {"air": 4.793, "sea": 2.866}
FITTED_SCALE = 0.829
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# constrained strings (limits in simulation.limits; a message for each pattern in PATTERN_HELP)
NodeId = Annotated[str, StringConstraints(min_length=1, max_length=L.MAX_ID, pattern=L.ID_PATTERN)]
ServiceId = NodeId
TableKey = Annotated[str, StringConstraints(min_length=1, max_length=L.MAX_ID, pattern=L.TABLE_KEY_PATTERN)]
FlowName = Annotated[str, StringConstraints(min_length=1, max_length=L.MAX_FLOW_NAME, pattern=L.FLOW_NAME_PATTERN)]
ScenarioName = Annotated[str, StringConstraints(min_length=1, max_length=L.MAX_SCENARIO_NAME, pattern=L.SCENARIO_NAME_PATTERN)]
Text = Annotated[str, StringConstraints(max_length=L.MAX_DESCRIPTION, pattern=L.TEXT_PATTERN)]
Family = Annotated[str, StringConstraints(min_length=1, max_length=L.MAX_FAMILY, pattern=L.FLOW_NAME_PATTERN)]
Hours = Annotated[float, Field(ge=0, le=L.MAX_HOURS)]
Share = Annotated[float, Field(gt=0, le=1)]
Day = Annotated[float, Field(ge=0, le=L.MAX_DAY)]
Servers = Annotated[int, Field(ge=1, le=L.MAX_SERVERS)]

PATTERN_HELP = {
    L.ID_PATTERN: "must be a node or service id (capital letters, digits and '_', starting with a letter)",
    L.TABLE_KEY_PATTERN: "must be 'default' or a node id (capital letters, digits and '_')",
    L.FLOW_NAME_PATTERN: "may hold only letters, digits, '_' and '-' (starting with a letter or digit)",
    L.SCENARIO_NAME_PATTERN: "may hold only letters, digits, '_', '.' and '-' (starting with a letter or digit)",
    L.TEXT_PATTERN: "must not contain control characters or bidirectional overrides",
}


def _keys_named(schema: dict[str, Any]) -> None:
    """JSON schema of a dict with patterned keys: state the pattern on the key names (``propertyNames``) so that
    other keys are invalid by the schema too, as they are for the server (pydantic writes ``patternProperties``)."""
    props = schema.pop("patternProperties", None)
    if props:
        (pattern, value), = props.items()
        schema["additionalProperties"] = value
        schema.setdefault("propertyNames", {})["pattern"] = pattern


def _array_items(schema: dict[str, Any], extra: dict[str, Any]) -> None:
    """Add ``extra`` to the item schema of the array branch (a rule a field validator enforces, stated in the schema)."""
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "array":
            branch.setdefault("items", {}).update(extra)


def _years(first: int, last: int) -> str:
    return "^(" + "|".join(str(y) for y in range(first, last + 1)) + r")-\d\d-\d\d$"


START_DATES = {"pattern": _years(L.MIN_START.year, L.MAX_START.year)}  # the date bounds, stated in the schema
EVENT_DATES = {"pattern": _years(L.MIN_START.year, L.MAX_EVENT_DATE.year)}


class _Model(BaseModel):
    # finite numbers only: NaN and infinities (YAML .nan/.inf, JSON NaN/Infinity) are errors
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Lot(_Model):
    """Mean size of one consignment (an aggregated parcel bag, pallet group or container load)."""

    weight_kg: float = Field(gt=0, le=L.MAX_LOT_KG, description=f"mean weight (kg), at most {L.MAX_LOT_KG:,.0f}")
    volume_m3: float = Field(gt=0, le=L.MAX_LOT_M3, description=f"mean volume (m³), at most {L.MAX_LOT_M3:g}")
    pieces: int = Field(default=1, ge=1, le=L.MAX_LOT_PIECES,
                        description=f"parcels per consignment (9610: average piece <= 30 kg), at most {L.MAX_LOT_PIECES:,}")
    cv: float = Field(default=0.3, ge=0, le=1.5, description="coefficient of variation of the consignment size")


class Flow(_Model):
    """A demand stream: consignments of one product family, origin zone, destination and customs mode."""

    name: FlowName = Field(description=f"unique in the scenario: letters, digits, '_', '-' (at most {L.MAX_FLOW_NAME})")
    origin: NodeId
    destination: NodeId
    customs_mode: CustomsCode
    family: Family = "general_goods"
    cargo_class: CargoClassName = "general"
    lots_per_day: float = Field(ge=0, le=L.MAX_LOTS_PER_DAY,
                                description=f"mean consignments a day (Poisson), at most {L.MAX_LOTS_PER_DAY:g} per flow")
    lot: Lot
    policy: Policy | None = Field(default=None, description="overrides routing.policy for this flow")
    route: list[ServiceId] | None = Field(default=None, min_length=1, max_length=L.MAX_ROUTE_SERVICES,
                                          description="a given plan: the service ids in order")


class DemandMultiplier(_Model):
    """Scale arrivals by ``factor`` in [from_day, to_day) for the listed flows/customs modes (all if empty)."""

    factor: float = Field(ge=0, le=L.MAX_DEMAND_FACTOR, description=f"at most {L.MAX_DEMAND_FACTOR:g}")
    from_day: Day = 0.0
    to_day: Day | None = None
    flows: list[FlowName] = Field(default=[], max_length=L.MAX_FLOWS)
    customs_modes: list[CustomsCode] = Field(default=[], max_length=4)


class ServiceOverride(_Model):
    """Schedule and capacity overrides of one service (omitted fields keep the network's values)."""

    weekdays: list[Annotated[int, Field(ge=0, le=6)]] | None = Field(default=None, min_length=1, max_length=7)
    times: list[Annotated[str, StringConstraints(max_length=5)]] | None = Field(
        default=None, min_length=1, max_length=L.MAX_TIMES_PER_DAY, description=f"HH:MM, at most {L.MAX_TIMES_PER_DAY} a day",
        json_schema_extra=lambda schema: _array_items(schema, {"pattern": _HHMM.pattern}))
    cutoff_hours: Hours | None = None
    capacity_teu: int | None = Field(default=None, gt=0, le=100_000)
    capacity_kg: float | None = Field(default=None, gt=0, le=1e9)
    capacity_m3: float | None = Field(default=None, gt=0, le=1e7)
    slot_share: Share | None = Field(default=None, description="share of each departure allotted to the pilot zone")

    @field_validator("times")
    @classmethod
    def _times(cls, v: list[str] | None) -> list[str] | None:
        for t in v or ():
            if not _HHMM.match(t):
                raise ValueError(f"'{t}' is not a time HH:MM")
        return v


class WarehouseOverride(_Model):
    docks: Servers | None = None
    dock_factor: float | None = Field(default=None, gt=0, le=100, description="multiply the derived number of receiving docks")
    capacity_m3: float | None = Field(default=None, gt=0, le=1e7)
    pickers: Servers | None = None
    background_load: float | None = Field(default=None, ge=0, le=2, description="overrides resources.wh_background_load")


class BorderSpec(_Model):
    """A border station: parallel tracks for gauge change / checks, and other operators' trains."""

    tracks: Servers
    background_trains_per_day: float = Field(default=0.0, ge=0, le=L.MAX_BACKGROUND_TRAINS_PER_DAY,
                                             description=f"at most {L.MAX_BACKGROUND_TRAINS_PER_DAY:g}")


class Resources(_Model):
    first_mile_trucks: Servers = Field(default=12, description="pick-up fleet serving the origin zones")
    linehaul_trucks: Servers = Field(default=16, description="fleet trucking from Mianyang hubs to Chengdu/Chongqing/...")
    truck_loading_hours: Hours = 0.75
    docks: dict[TableKey, Servers] = Field(default_factory=lambda: {"default": 4}, max_length=L.MAX_OVERRIDES,
                                           description="consolidation docks per hub node", json_schema_extra=_keys_named)
    dock_hours_per_lot: float = Field(default=1.0, gt=0, le=L.MAX_HOURS, description="mean dock time of one consignment")
    customs_lanes: dict[TableKey, Servers] = Field(default_factory=lambda: {"default": 3}, max_length=L.MAX_OVERRIDES,
                                                   json_schema_extra=_keys_named)
    customs_hours: dict[CustomsCode, Hours] = Field(
        default_factory=lambda: {"9610": 0.4, "1210": 0.8, "9710": 0.8, "9810": 1.0})
    inspection_rate: dict[CustomsCode, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: {"9610": 0.03, "1210": 0.02, "9710": 0.05, "9810": 0.05})
    inspection_hours: Hours = 24.0
    borders: dict[NodeId, BorderSpec] = Field(default={}, max_length=L.MAX_OVERRIDES, json_schema_extra=_keys_named)
    border_default_tracks: Servers = 4
    slot_share: dict[Literal["rail", "sea", "air"], Share] = Field(
                                         default_factory=lambda: {"rail": 0.15, "sea": 0.05, "air": 0.2},
                                         description="share of a departure's capacity allotted to the pilot zone, by mode")
    wh_m3_per_dock_day: float = Field(default=60.0, ge=0.1, le=1e6, description="receiving docks = inbound_m3_per_day / this")
    wh_dock_m3_per_hour: float = Field(default=3.0, ge=0.01, le=1e6)
    wh_background_load: float = Field(default=0.8, ge=0, le=2,
                                      description="other exporters' inbound at a shared warehouse, as a share of its inbound_m3_per_day")
    wh_background_lot_m3: float = Field(default=20.0, ge=L.MIN_WH_BACKGROUND_LOT_M3, le=1000,
                                        description=f"size of one of their deliveries (m³), at least {L.MIN_WH_BACKGROUND_LOT_M3:g}")
    wh_pickers: Servers = 4
    pick_hours_per_m3: float = Field(default=0.25, gt=0, le=100)
    storage_days: float = Field(default=21.0, gt=0, le=365, description="mean sell-through time of stock in an overseas warehouse")
    last_mile_days_p50: float = Field(default=2.0, gt=0, le=60)
    last_mile_days_p90: float = Field(default=4.0, gt=0, le=60)


class Logit(_Model):
    """Multinomial logit over generalised cost (optimizer.quotes.choice): cost + value of time x p50 days.

    The defaults are fitted by :mod:`simulation.calibration` (``bench/logit_calibration.py``) so that the
    baseline's Europe-bound shares by value match the published shares of rail, air and sea for Sichuan's
    Europe-bound exports (targets, sources and arithmetic in docs/quotes.md, "Calibration of the logit").
    """

    scale: float = Field(default=FITTED_SCALE, ge=0, le=10,
                         description="relative generalised-cost difference at which choices spread (0: cheapest only); "
                                     "fitted with the mode constants so that rail's share has a cost elasticity of -1 [A]")
    share_of_value_per_day: float = Field(default=0.001, ge=0, le=0.1,
                                          description="value of time per day as a share of the goods value")
    value_per_kg: dict[CustomsCode, float] = Field(
        default_factory=lambda: {"9610": 30.0, "9710": 15.0, "9810": 12.0, "1210": 12.0},
        description="goods value per kg by customs mode (USD), for the value of time")
    mode_constants: dict[Literal["road", "rail", "air", "sea"], Annotated[float, Field(ge=-30, le=30)]] = Field(
        default_factory=lambda: dict(FITTED_MODE_CONSTANTS),
        description="alternative-specific constant per main mode, added to the utility (rail is the reference, 0): "
                    "an option of that mode is chosen e^constant times as often as its generalised cost alone says. "
                    "Fitted to the published mode shares of Sichuan's Europe-bound exports by value "
                    "(simulation.calibration; docs/quotes.md)")
    mode_alternatives: bool = Field(default=True, description="add each main mode's cheapest option (rail, air, sea) to "
                                                              "the choice set when the Pareto set has none of that mode")
    draws: int = Field(default=20, ge=1, le=200, description="choice slots per flow and ready-time bucket (route cache entries)")


class Routing(_Model):
    policy: Policy = "logit"
    hour_bucket: int = Field(default=6, ge=1, le=24, description="ready-time bucket (hours) of the route cache")
    logit: Logit = Field(default_factory=Logit, description="parameters of the logit policy")


class BorderClosure(_Model):
    kind: Literal["border_closure"]
    node: NodeId
    from_day: Day
    to_day: float = Field(gt=0, le=L.MAX_DAY)


class Congestion(_Model):
    kind: Literal["congestion"]
    node: NodeId
    from_day: Day
    to_day: float = Field(gt=0, le=L.MAX_DAY)
    dwell_factor: float = Field(default=3.0, ge=1, le=100, description="gauge change / border checks take this many times longer")


class CancelledDeparture(_Model):
    kind: Literal["cancelled_departure"]
    service: ServiceId
    date: _dt.date = Field(ge=L.MIN_START, le=L.MAX_EVENT_DATE, json_schema_extra=EVENT_DATES,
                           description=f"local departure date at the service's origin, {L.MIN_START} to {L.MAX_EVENT_DATE}")


Disruption = Annotated[BorderClosure | Congestion | CancelledDeparture, Field(discriminator="kind")]


class Scenario(_Model):
    """One what-if: run length, demand, resources, network variant, disruptions and seeds."""

    name: ScenarioName = Field(description=f"letters, digits, '_', '.', '-' (starting with a letter or digit), "
                                           f"at most {L.MAX_SCENARIO_NAME}; names the plot files")
    description: Text = ""
    start: date = Field(default=date(2027, 1, 4), ge=L.MIN_START, le=L.MAX_START, json_schema_extra=START_DATES,
                        description=f"first day, from {L.MIN_START} to {L.MAX_START} (routes are quoted in its week)")
    horizon_days: float = Field(default=365.0, gt=0, le=L.MAX_HORIZON_DAYS,
                                description=f"days of demand, at most {L.MAX_HORIZON_DAYS:g}")
    warmup_days: float = Field(default=30.0, ge=0, le=L.MAX_HORIZON_DAYS, description="shorter than horizon_days")
    drain_days: float = Field(default=90.0, ge=0, le=L.MAX_DRAIN_DAYS,
                              description="run on after the horizon (no new demand) so late consignments finish; "
                                          f"at most {L.MAX_DRAIN_DAYS:g}")
    seed: int = Field(default=20270104, ge=0, le=L.MAX_SEED)
    replications: int = Field(default=10, ge=1, le=L.MAX_REPLICATIONS, description=f"at most {L.MAX_REPLICATIONS}")
    activate_planned: bool = False
    drop_services: list[ServiceId] = Field(default=[], max_length=L.MAX_OVERRIDES)
    routing: Routing = Routing()
    demand: list[Flow] = Field(min_length=1, max_length=L.MAX_FLOWS,
                               description=f"1 to {L.MAX_FLOWS} flows; with the horizon and replications the work "
                                           "must fit the budget (simulation.limits)")
    demand_multiplier: float = Field(default=1.0, ge=0, le=L.MAX_DEMAND_FACTOR, description=f"at most {L.MAX_DEMAND_FACTOR:g}")
    demand_multipliers: list[DemandMultiplier] = Field(default=[], max_length=L.MAX_DEMAND_WINDOWS)
    services: dict[ServiceId, ServiceOverride] = Field(default={}, max_length=L.MAX_OVERRIDES, json_schema_extra=_keys_named)
    warehouses: dict[NodeId, WarehouseOverride] = Field(default={}, max_length=L.MAX_OVERRIDES, json_schema_extra=_keys_named)
    resources: Resources = Resources()
    disruptions: list[Disruption] = Field(default=[], max_length=L.MAX_DISRUPTIONS)

    def to_doc(self) -> dict[str, Any]:
        """A plain JSON-able dict (what a worker receives to rebuild the scenario)."""
        return self.model_dump(mode="json")


# --- loading ---------------------------------------------------------------------------------------

MAX_FILE_BYTES = 1_000_000  # a scenario file (each file of an ``extends`` chain)
MAX_EXTENDS = 10  # depth of an ``extends`` chain
MAX_YAML_NODES = 200_000  # values in a document once YAML aliases are expanded (no "billion laughs")
MAX_YAML_DEPTH = 20


def clip(value: object, limit: int = 120) -> str:
    """``value`` as text cut to ``limit`` characters, control characters shown as '?': messages never echo
    large or unprintable input back."""
    text = str(value)
    short = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return short if len(text) <= limit else short + f"… ({len(text)} characters)"


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("border_closure", "congestion", "cancelled_departure"):
            continue  # the discriminated-union tag pydantic adds to the path
        else:
            out += ("." if out else "") + clip(part, 60)
    return out


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    return over


def _size(doc: Any, source: str) -> None:
    """Refuse documents that are too deep or, with YAML aliases expanded, too large (counted without expanding)."""
    count = 0
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_YAML_NODES:
            raise InvalidInput(f"{source}: more than {MAX_YAML_NODES:,} values (with YAML aliases expanded)", field="scenario")
        if depth > MAX_YAML_DEPTH:
            raise InvalidInput(f"{source}: nested deeper than {MAX_YAML_DEPTH} levels", field="scenario")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _read_doc(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise InvalidInput(f"{clip(path)}: 'extends' loops back to itself", field="extends")
    if len(seen) > MAX_EXTENDS:
        raise InvalidInput(f"{clip(path)}: 'extends' chain longer than {MAX_EXTENDS} files", field="extends")
    try:
        if not path.is_file():
            if path.exists():
                raise InvalidInput(f"scenario '{clip(path)}' is not a file", field="scenario")
            raise InvalidInput(f"scenario file not found: {clip(path)}", field="scenario")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput(f"{clip(path)}: larger than {MAX_FILE_BYTES:,} bytes", field="scenario")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{clip(path)}: not a UTF-8 text file", field="scenario") from None
    except (OSError, ValueError) as exc:  # unreadable, name too long, NUL in the name
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "cannot be read"
        raise InvalidInput(f"scenario '{clip(path)}': {reason}", field="scenario") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{clip(path)}: not valid YAML ({clip(str(exc).splitlines()[0])})", field="scenario") from None
    except RecursionError:
        raise InvalidInput(f"{clip(path)}: nested too deeply", field="scenario") from None
    if not isinstance(doc, dict):
        raise InvalidInput(f"{clip(path)}: a scenario must be a YAML mapping", field="scenario")
    _size(doc, clip(path))
    parent = doc.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str) or len(parent) > 4096:
            raise InvalidInput(f"{clip(path)}: field 'extends': must be a file name", field="extends")
        base = _read_doc((path.parent / parent).resolve(), seen + (path,))
        doc = _merge(base, doc)
    return doc


def _message(err: dict[str, Any]) -> str:
    if err["type"] == "string_pattern_mismatch":
        help_ = PATTERN_HELP.get((err.get("ctx") or {}).get("pattern", ""))
        if help_:
            return help_
    return clip(err["msg"].removeprefix("Value error, "), 300)


def parse_scenario(doc: dict[str, Any], source: str = "scenario") -> Scenario:
    """Validate a scenario mapping; raises InvalidInput naming ``source`` and the first bad field (and its limit)."""
    source = clip(source)
    if not isinstance(doc, dict):
        raise InvalidInput(f"{source}: a scenario must be a mapping", field="scenario", file=source)
    _size(doc, source)
    try:
        sc = Scenario.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        field = _loc(err["loc"]) or "scenario"
        raise InvalidInput(f"{source}: field '{field}': {_message(err)}", field=field, file=source) from None
    check_consistent(sc, source)
    return sc


def check_consistent(sc: Scenario, source: str = "scenario") -> None:
    """The rules between fields, which no JSON schema states: a warm-up shorter than the horizon, unique flow names.

    :func:`parse_scenario` and :func:`check_against` apply them; raises InvalidInput naming ``source``."""
    if sc.warmup_days >= sc.horizon_days:
        raise InvalidInput(f"{source}: field 'scenario': warmup_days ({sc.warmup_days:g}) must be shorter than "
                           f"horizon_days ({sc.horizon_days:g})", field="scenario", file=source)
    names = [f.name for f in sc.demand]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"{source}: field 'scenario': demand flow names must be unique (repeated: {', '.join(dup[:5])})",
                           field="scenario", file=source)


def resolve_path(name: str | Path) -> Path:
    """A scenario file path; a bare name (``baseline``) means the bundled scenario of that name."""
    text = str(name)
    if not text or len(text) > 4096 or "\x00" in text:
        raise InvalidInput(f"scenario '{clip(text)}': not a file name (1 to 4096 characters, no NUL)", field="scenario")
    p = Path(name)
    try:
        if p.exists() or p.suffix in (".yaml", ".yml") or "/" in text:
            return p
    except OSError:  # e.g. a component longer than the file system allows
        raise InvalidInput(f"scenario '{clip(text)}': not a valid file name", field="scenario") from None
    bundled = BUNDLED_DIR / f"{name}.yaml"
    return bundled if bundled.exists() else p


def load_scenario(path: str | Path, net: Network | None = None) -> Scenario:
    """Read, merge (``extends``), validate and — when ``net`` is given — check ids against the network."""
    p = resolve_path(path)
    if not p.suffix and "/" not in str(path) and not p.exists():
        raise InvalidInput(f"unknown scenario '{clip(path)}': not found as a file nor among the bundled scenarios "
                           f"({', '.join(bundled_scenarios())})", field="scenario")
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

    check_consistent(sc, source)
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
