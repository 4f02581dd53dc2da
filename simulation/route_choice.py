"""Routing policy: which services a consignment takes, from the quote engine (or a given plan).

A quote costs a few milliseconds, a simulated year has thousands of consignments, so routes are
cached per (network variant, flow, weekday, ready-hour bucket). The quote for a bucket is made at a
canonical ready time (the middle of the bucket in the first simulated week), never at the time of
whichever consignment happened to come first, so the cache gives the same answer in every process
and replication (reproducible serial or parallel).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from optimizer.errors import CbecError, InvalidInput
from optimizer.network.model import Option
from optimizer.network import Network
from optimizer.quotes.quote import build_request, quote
from optimizer.network.timeutil import zone
from simulation.scenario import Flow, Scenario

ORIGIN_TZ = "Asia/Shanghai"  # the simulation clock starts at 00:00 of the start date here (no DST)


@dataclass(frozen=True, slots=True)
class Route:
    """The services a flow takes for ready times in one bucket, with the quoted promise and prices."""

    services: tuple[str, ...]
    clearance_node: str
    promise_hours: float  # quoted p90 door-to-destination time from ready: the on-time promise
    quoted_p50_hours: float
    cost_per_kg: float
    co2e_per_kg: float
    main_mode: str


_CACHE: dict[tuple, Route] = {}


def network_key(sc: Scenario) -> str:
    """Fingerprint of what in a scenario changes the network (and so the quotes)."""
    doc = {"a": sc.activate_planned, "d": sorted(sc.drop_services),
           "s": {k: v.model_dump(mode="json") for k, v in sorted(sc.services.items())},
           "start": sc.start.isoformat(), "policy": sc.routing.policy, "b": sc.routing.hour_bucket}
    return hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def start_utc(sc: Scenario) -> datetime:
    """Simulation time 0: 00:00 local (Asia/Shanghai) on the start date, as UTC."""
    return datetime.combine(sc.start, time(0), tzinfo=zone(ORIGIN_TZ)).astimezone(zone("UTC"))


class Router:
    """Routes of one scenario's flows; ``route(flow_index, ready_hour)`` is a dict lookup after the first call."""

    def __init__(self, net: Network, sc: Scenario) -> None:
        self.net = net
        self.sc = sc
        self.key = network_key(sc)
        self.t0 = start_utc(sc)
        self.bucket = sc.routing.hour_bucket
        self.start_how = sc.start.weekday() * 24  # hour-of-week of simulation time 0
        self._local: dict[int, Route] = {}
        self.used: dict[tuple, Route] = {}

    def route(self, fi: int, ready_hour: float) -> Route:
        how = (self.start_how + ready_hour) % 168.0
        b = int(how // self.bucket)
        k = fi * 1000 + b
        r = self._local.get(k)
        if r is None:
            r = self._local[k] = self._lookup(fi, b)
        return r

    def _lookup(self, fi: int, b: int) -> Route:
        f = self.sc.demand[fi]
        policy = f.policy or self.sc.routing.policy
        ck = (self.key, f.origin, f.destination, f.customs_mode, f.cargo_class, f.lot.weight_kg, f.lot.volume_m3,
              f.lot.pieces, policy, tuple(f.route or ()), b)
        r = _CACHE.get(ck)
        if r is None:
            # canonical ready time: middle of the bucket, in the first week of the run
            how = (b * self.bucket + self.bucket / 2.0 - self.start_how) % 168.0
            ready = self.t0 + timedelta(hours=how)
            r = _CACHE[ck] = self._quote(fi, f, policy, ready)
        self.used[ck] = r
        return r

    def route_all(self) -> list[tuple[tuple, Route]]:
        """Route every flow for every bucket of the week; returns the cache entries (to ship to workers)."""
        for fi in range(len(self.sc.demand)):
            for b in range(0, 168, self.bucket):
                self.route(fi, float(b) - self.start_how % 168)
        return list(self.used.items())

    def _quote(self, fi: int, f: Flow, policy: str, ready: datetime) -> Route:
        net = self.net
        try:
            exclude: frozenset[str] = frozenset()
            if f.route:
                exclude = frozenset(s for s in net.services if s not in set(f.route))
            req = build_request(net, f.origin, f.destination, f.lot.weight_kg, f.lot.volume_m3, ready,
                                pieces=f.lot.pieces, cargo_class=f.cargo_class, customs_mode=f.customs_mode,
                                include_planned=self.sc.activate_planned)
            if exclude:
                import dataclasses

                req = dataclasses.replace(req, exclude_services=exclude)
            options = quote(net, req)
        except CbecError as exc:
            raise InvalidInput(f"demand[{fi}] ({f.name}): {exc.detail}", field=f"demand[{fi}]") from None
        chosen = _choose(options, policy, tuple(f.route) if f.route else None)
        if chosen is None:
            raise InvalidInput(f"demand[{fi}] ({f.name}): the given route {' > '.join(f.route or ())} is not feasible "
                               "(schedule, cargo class or customs mode)", field=f"demand[{fi}].route")
        kg = f.lot.weight_kg
        return Route(
            services=tuple(leg.service_id for leg in chosen.legs),
            clearance_node=chosen.clearance_node,
            promise_hours=(chosen.arrive_p90 - chosen.ready).total_seconds() / 3600.0,
            quoted_p50_hours=(chosen.arrive_p50 - chosen.ready).total_seconds() / 3600.0,
            cost_per_kg=chosen.cost_total / kg,
            co2e_per_kg=chosen.co2e_kg / kg,
            main_mode=chosen.main_mode.value,
        )


def _choose(options: list[Option], policy: str, plan: tuple[str, ...] | None) -> Option | None:
    if plan is not None:
        for o in options:
            if tuple(leg.service_id for leg in o.legs) == plan:
                return o
        return None
    for o in options:  # options are sorted by cost; ties share a tag, take the first
        if policy in o.tags:
            return o
    return options[0] if options else None


def route_table(net: Network, sc: Scenario) -> list[tuple[tuple, Route]]:
    """All routes of a scenario (quotes made once, in the caller); a worker installs them with :func:`install`."""
    return Router(net, sc).route_all()


def install(entries: list[tuple[tuple, Route]] | None) -> None:
    """Seed this process's route cache (the same answers the worker would compute itself)."""
    if entries:
        _CACHE.update(entries)
