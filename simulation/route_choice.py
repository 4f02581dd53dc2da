"""Routing policy: which services a consignment takes, from the quote engine (or a given plan).

A quote costs a few milliseconds, a simulated year has thousands of consignments, so routes are
cached per (network variant, flow, weekday, ready-hour bucket). The quote for a bucket is made at a
canonical ready time (the middle of the bucket in the first simulated week), never at the time of
whichever consignment happened to come first, so the cache gives the same answer in every process
and replication (reproducible serial or parallel).

Policy ``logit`` (the default) chooses among the quote's Pareto options, plus the cheapest option of
each main mode (rail, air, sea) the Pareto set lacks, by a multinomial logit over generalised cost
(freight + value of time x p50 days; :mod:`optimizer.quotes.choice`) and a constant per main mode, with
the scenario's ``routing.logit`` parameters (fitted to published mode shares: :mod:`simulation.calibration`).
The choice is discretised into ``draws`` equally likely slots
per flow and bucket (slot j takes the option at cumulative probability (j + 0.5) / draws), and a
consignment's slot is a hash of its flow and ready time, so the route table stays a finite, shippable
cache and every process draws the same route for the same consignment.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from optimizer.errors import CbecError, InvalidInput
from optimizer.network.model import Mode, Option
from optimizer.network import Network
from optimizer.quotes.choice import logit_shares
from optimizer.quotes.quote import build_request, quote
from optimizer.network.timeutil import zone
from simulation.scenario import Flow, Logit, Scenario

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
_SLOT_MOD = 1_000_003
_OPTIONS: dict[tuple, list[Option]] = {}  # (network key, flow, ready, alternatives) -> choice set, shared by a bucket's slots
_CHOICE_MODES = (Mode.RAIL, Mode.AIR, Mode.SEA)  # main modes a shipper to a distant market chooses among


def network_key(sc: Scenario) -> str:
    """Fingerprint of what in a scenario changes the network (and so the quotes)."""
    doc = {"a": sc.activate_planned, "d": sorted(sc.drop_services),
           "s": {k: v.model_dump(mode="json") for k, v in sorted(sc.services.items())},
           "start": sc.start.isoformat(), "policy": sc.routing.policy, "b": sc.routing.hour_bucket,
           "logit": sc.routing.logit.model_dump(mode="json")}
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
        self._services_by_mode: dict[Mode, frozenset[str]] | None = None

    def _policy(self, fi: int) -> str:
        f = self.sc.demand[fi]
        return "plan" if f.route else (f.policy or self.sc.routing.policy)

    def slot(self, fi: int, ready_hour: float) -> int:
        """The logit slot of a consignment of flow ``fi`` ready at ``ready_hour`` (0 for other policies)."""
        if self._policy(fi) != "logit":
            return 0
        draws = self.sc.routing.logit.draws
        text = f"{self.sc.seed}|{fi}|{round(ready_hour * 60)}".encode()
        return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") % _SLOT_MOD % draws

    def route(self, fi: int, ready_hour: float, slot: int | None = None) -> Route:
        how = (self.start_how + ready_hour) % 168.0
        b = int(how // self.bucket)
        j = self.slot(fi, ready_hour) if slot is None else slot
        k = (fi * 1000 + b) * 1000 + j
        r = self._local.get(k)
        if r is None:
            r = self._local[k] = self._lookup(fi, b, j)
        return r

    def _lookup(self, fi: int, b: int, slot: int = 0) -> Route:
        f = self.sc.demand[fi]
        policy = f.policy or self.sc.routing.policy
        ck = (self.key, f.origin, f.destination, f.customs_mode, f.cargo_class, f.lot.weight_kg, f.lot.volume_m3,
              f.lot.pieces, policy, tuple(f.route or ()), b, slot)
        r = _CACHE.get(ck)
        if r is None:
            r = _CACHE[ck] = self._quote(fi, f, policy, self.bucket_ready(b), slot)
        self.used[ck] = r
        return r

    def bucket_route(self, fi: int, b: int, slot: int = 0) -> Route:
        """The route of flow ``fi`` in hour-of-week bucket ``b`` and logit slot ``slot`` (the simulation's cache)."""
        return self._lookup(fi, b, slot)

    def bucket_ready(self, b: int) -> datetime:
        """The canonical ready time of hour-of-week bucket ``b``: its middle, in the first week of the run."""
        how = (b * self.bucket + self.bucket / 2.0 - self.start_how) % 168.0
        return self.t0 + timedelta(hours=how)

    def buckets(self) -> range:
        """The hour-of-week buckets of the route cache."""
        return range(0, -(-168 // self.bucket))

    def route_all(self) -> list[tuple[tuple, Route]]:
        """Route every flow for every bucket of the week (every logit slot); returns the cache entries (to ship to workers)."""
        for fi in range(len(self.sc.demand)):
            slots = range(self.sc.routing.logit.draws) if self._policy(fi) == "logit" else (0,)
            for b in range(0, 168, self.bucket):
                for j in slots:
                    self.route(fi, float(b) - self.start_how % 168, j)
        return list(self.used.items())

    def choice_shares(self, fi: int, ready: datetime, logit: Logit | None = None) -> list[tuple[Option, float]]:
        """The flow's choice set at ``ready`` with its logit probabilities (``logit``, default the scenario's).

        The choice set is the quote's Pareto options plus, with ``mode_alternatives``, the cheapest option of
        each main mode (rail, air, sea) the Pareto set lacks; it does not depend on the logit's numbers, so
        :mod:`simulation.calibration` evaluates many parameter sets on one quoted set.
        """
        f = self.sc.demand[fi]
        lg = self.sc.routing.logit if logit is None else logit
        key = (self.key, fi, ready, lg.mode_alternatives)
        options = _OPTIONS.get(key)
        if options is None:
            options = _OPTIONS[key] = self._choice_set(fi, f, ready, lg.mode_alternatives)
        return list(zip(options, choice_probabilities(options, f, lg), strict=True))

    def _choice_set(self, fi: int, f: Flow, ready: datetime, mode_alternatives: bool) -> list[Option]:
        options = self._options(fi, f, ready)
        if not mode_alternatives:
            return options
        present = {o.main_mode for o in options}
        for mode in _CHOICE_MODES:
            if mode in present:
                continue
            # quote without the other main modes' services: the cheapest way by this mode, if there is one
            others = frozenset(s for m in _CHOICE_MODES if m != mode for s in self._by_mode().get(m, ()))
            try:
                alt = [o for o in self._options(fi, f, ready, others) if o.main_mode is mode]
            except InvalidInput:  # no route by this mode (e.g. no sea route to Moscow)
                continue
            if alt:
                options.append(min(alt, key=lambda o: o.cost_total))
        return options

    def _by_mode(self) -> dict[Mode, frozenset[str]]:
        by = self._services_by_mode
        if by is None:
            acc: dict[Mode, set[str]] = {}
            for sid, svc in self.net.services.items():
                acc.setdefault(svc.mode, set()).add(sid)
            by = self._services_by_mode = {m: frozenset(v) for m, v in acc.items()}
        return by

    def _options(self, fi: int, f: Flow, ready: datetime, exclude_extra: frozenset[str] = frozenset()) -> list[Option]:
        net = self.net
        try:
            exclude: frozenset[str] = exclude_extra
            if f.route:
                exclude = exclude | frozenset(s for s in net.services if s not in set(f.route))
            req = build_request(net, f.origin, f.destination, f.lot.weight_kg, f.lot.volume_m3, ready,
                                pieces=f.lot.pieces, cargo_class=f.cargo_class, customs_mode=f.customs_mode,
                                include_planned=self.sc.activate_planned)
            if exclude:
                import dataclasses

                req = dataclasses.replace(req, exclude_services=exclude)
            return quote(net, req)
        except CbecError as exc:
            raise InvalidInput(f"demand[{fi}] ({f.name}): {exc.detail}", field=f"demand[{fi}]") from None

    def _quote(self, fi: int, f: Flow, policy: str, ready: datetime, slot: int = 0) -> Route:
        if policy == "logit" and not f.route:
            shares = self.choice_shares(fi, ready)
            u = (slot + 0.5) / self.sc.routing.logit.draws
            acc = 0.0
            chosen = shares[-1][0]
            for o, p in shares:
                acc += p
                if u <= acc:
                    chosen = o
                    break
            return _route_of(chosen, f.lot.weight_kg)
        return self._quote_policy(fi, f, policy, ready)

    def _quote_policy(self, fi: int, f: Flow, policy: str, ready: datetime) -> Route:
        options = self._options(fi, f, ready)
        chosen = _choose(options, policy, tuple(f.route) if f.route else None)
        if chosen is None:
            raise InvalidInput(f"demand[{fi}] ({f.name}): the given route {' > '.join(f.route or ())} is not feasible "
                               "(schedule, cargo class or customs mode)", field=f"demand[{fi}].route")
        return _route_of(chosen, f.lot.weight_kg)


def choice_probabilities(options: list[Option], f: Flow, lg: Logit,
                         cost_factor: dict[str, float] | None = None) -> list[float]:
    """Logit probabilities of ``options`` for flow ``f``: generalised cost with the flow's value of time, and
    each option's main-mode constant (``lg.mode_constants``, 0 for a mode it does not name).

    ``cost_factor`` (main mode -> factor, default none) scales the freight cost of that mode's options: the
    calibration's elasticity of the shares to a mode's price.
    """
    vot = lg.share_of_value_per_day * lg.value_per_kg.get(f.customs_mode, 0.0) * f.lot.weight_kg
    cf = cost_factor or {}
    costs = [o.cost_total * cf.get(o.main_mode.value, 1.0) + vot * o.door_days_p50 for o in options]
    constants = [lg.mode_constants.get(o.main_mode.value, 0.0) for o in options]
    return logit_shares(costs, lg.scale, constants)


def _route_of(chosen: Option, kg: float) -> Route:
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
