"""The SimPy model of the export chain, built from the one network model and a scenario.

Entities are consignments (aggregated parcel bags, pallet groups, container loads), not parcels,
so a simulated year stays in the hundreds of thousands of events. One consignment's life is one
plain generator (:meth:`ChainModel.consignment`):

    ready at the origin zone
      -> first-mile truck (fleet)            -> consolidation dock at each hub (docks)
      -> export clearance at the quoted node (customs lanes; inspections)
      -> linehaul trucks to Chengdu/Chongqing/... (fleet)
      -> scheduled trains / flights / ships  (departure allotments, cut-offs, roll-overs)
         trains stop at border stations: gauge change on a limited number of tracks, shared
         with other operators' trains; closures and congestion from the scenario
      -> arrival terminal (docks)            -> overseas warehouse receiving docks   [lead time ends]
      -> storage (space) -> picking (pickers) -> last mile   |  or market flows: last mile

A scheduled departure is its own process (the train, flight or ship: a :class:`ScheduledRun` of
the service's :class:`Timetable`), started when its first consignment books; consignments wait on
its ``arrived`` event, so a train with twenty consignments crosses a border once.

What a run records (finished consignments, deliveries, sampled counters) are the named types of
:mod:`simulation.records`; :func:`simulation.kpis.replication_result` turns them into KPIs.
"""

from __future__ import annotations

import math
import time as _time
from bisect import bisect_left
from collections.abc import Generator
from typing import Any

import simpy

from optimizer.network import Network
from optimizer.network.model import Mode, NodeKind, Service, TransitTime
from optimizer.network.timeutil import to_minutes, zone
from simulation.records import Consignment, Delivery, Snapshots
from simulation.route_choice import Route, Router, start_utc
from simulation.scenario import BorderClosure, CancelledDeparture, Congestion, Scenario, slot_share
from simulation.stations import Level, Station, Streams

TEU_M3 = 33.0  # one TEU of a 40HQ (66 m³ / 2): LCL consolidation is counted in TEU shares
TEU_KG = 13000.0

_HANDLE, _CLEAR, _ROAD, _SCHED = 0, 1, 2, 3


class ScheduledRun:
    """One run of a scheduled service (a train, flight or sailing): the pilot zone's allotment on it,
    its bookings and its arrival event."""

    __slots__ = ("timetable", "index", "depart", "left", "booked", "lots", "arrived", "started")

    def __init__(self, timetable: "Timetable", index: int, depart: float, allotment: float) -> None:
        self.timetable = timetable
        self.index = index
        self.depart = depart
        self.left = allotment
        self.booked = 0.0
        self.lots = 0
        self.arrived: simpy.Event | None = None
        self.started = False


class Timetable:
    """The runs of one scheduled service over the simulation, in simulation hours; runs are created when first booked."""

    def __init__(self, service: Service, hours: list[float], cutoff: float, allotment: float,
                 window: tuple[float, float]) -> None:
        self.service = service
        self.window = window
        self.hours = hours
        self.cutoff = cutoff
        self.allotment = allotment
        self.runs: dict[int, ScheduledRun] = {}
        self.booked_lots = 0
        self.rolled_lots = 0

    def book(self, ready: float, need: float) -> ScheduledRun | None:
        """The first run whose cut-off the consignment makes and that still has room for it."""
        i = bisect_left(self.hours, ready + self.cutoff)
        need = min(need, self.allotment)
        rolled = False
        hours, runs = self.hours, self.runs
        while i < len(hours):
            d = runs.get(i)
            if d is None:
                d = runs[i] = ScheduledRun(self, i, hours[i], self.allotment)
            if d.left >= need - 1e-9:
                d.left -= need
                d.booked += need
                d.lots += 1
                if self.window[0] <= ready < self.window[1]:
                    self.booked_lots += 1
                    self.rolled_lots += rolled
                return d
            rolled = True
            i += 1
        return None


class Border:
    """A border station: tracks (a Station), closures and congestion windows (simulation hours)."""

    def __init__(self, station: Station, closures: list[tuple[float, float]], congestion: list[tuple[float, float, float]]) -> None:
        self.station = station
        self.closures = sorted(closures)
        self.congestion = congestion

    def cross(self, dwell: float, rng) -> Generator[simpy.Event, Any, None]:
        env = self.station.env
        for a, b in self.closures:
            if a <= env._now < b:
                yield env.timeout(b - env._now)
        factor = 1.0
        for a, b, f in self.congestion:
            if a <= env._now < b and f > factor:
                factor = f
        yield from self.station.visit(dwell * factor * (0.75 + 0.5 * rng.random()))


class Warehouse:
    def __init__(self, env: simpy.Environment, node_id: str, capacity_m3: float, docks: Station, pickers: Station,
                 window: tuple[float, float]) -> None:
        self.id = node_id
        self.space = simpy.Container(env, capacity=capacity_m3)
        self.capacity_m3 = capacity_m3
        self.level = Level(env, f"occupancy:{node_id}", window)
        self.docks = docks
        self.pickers = pickers
        self.outbound = 0


class ChainModel:
    """One replication of one scenario. ``run()``, then :func:`simulation.kpis.replication_result` (KPIs, series, histograms)."""

    def __init__(self, sc: Scenario, net: Network, replication: int, *, trace: bool = False) -> None:
        self.sc = sc
        self.net = net
        self.replication = replication
        self.env = env = simpy.Environment()
        self.W = sc.warmup_days * 24.0
        self.H = sc.horizon_days * 24.0
        self.end = self.H + sc.drain_days * 24.0
        self.window = (self.W, self.H)
        self.streams = Streams(sc.seed, replication)
        self.router = Router(net, sc)
        self.t0_min = to_minutes(start_utc(sc))
        res = sc.resources
        self.res = res
        self.stations: dict[str, Station] = {}
        self.timetables: dict[str, Timetable] = {}
        self.borders: dict[str, Border] = {}
        self.warehouses: dict[str, Warehouse] = {}
        self._steps: dict[Route, list[tuple]] = {}
        self.first_mile = self._station("trucks:first_mile", res.first_mile_trucks, "trucks")
        self.linehaul = self._station("trucks:linehaul", res.linehaul_trucks, "trucks")
        self.wip = Level(env, "wip", self.window)
        self.finished: list[Consignment] = []
        self.deliveries: list[Delivery] = []  # market flows only
        self.snapshots = Snapshots()
        self.trace = trace
        self.movements: list[tuple[str, list[tuple[float, str]]]] = []  # (device, [(t, node), ...])
        self.wh_trace: list[tuple[float, str, float, bool]] = []  # (t, warehouse, occupancy m³, receiving)
        self._trip = 0
        self._cancelled = self._cancellations()
        self._rng_wh = self.streams.get("warehouse")
        self._rng_last = self.streams.get("last_mile")
        self._transit_rng: dict[str, Any] = {}
        lm = TransitTime(res.last_mile_days_p50 * 24, max(res.last_mile_days_p90, res.last_mile_days_p50 * 1.0001) * 24)
        self._last_mile = lm
        self.events = 0
        self.wall_s = 0.0
        self.arrivals_window = 0

    # --- construction helpers -----------------------------------------------------------------
    def _station(self, name: str, capacity: int, kind: str) -> Station:
        st = self.stations.get(name)
        if st is None:
            st = self.stations[name] = Station(self.env, name, capacity, kind, self.window)
        return st

    def _dock(self, node_id: str) -> Station:
        st = self.stations.get("dock:" + node_id)
        if st is None:
            docks = self.res.docks
            st = self._station("dock:" + node_id, docks.get(node_id, docks.get("default", 4)), "docks")
        return st

    def _customs(self, node_id: str) -> Station:
        st = self.stations.get("customs:" + node_id)
        if st is None:
            lanes = self.res.customs_lanes
            st = self._station("customs:" + node_id, lanes.get(node_id, lanes.get("default", 3)), "customs_lanes")
        return st

    def _rng(self, service_id: str):
        r = self._transit_rng.get(service_id)
        if r is None:
            r = self._transit_rng[service_id] = self.streams.get("transit:" + service_id)
        return r

    def _cancellations(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for d in self.sc.disruptions:
            if isinstance(d, CancelledDeparture):
                out.setdefault(d.service, set()).add(d.date.isoformat())
        return out

    def _timetable(self, s: Service) -> Timetable:
        t = self.timetables.get(s.id)
        if t is None:
            from optimizer.network.timeutil import from_minutes

            lo, hi = self.t0_min - 7 * 1440, self.t0_min + int((self.end / 24.0 + 60) * 1440)
            mins = self.net.departure_table(s).between(lo, hi)
            cancelled = self._cancelled.get(s.id, set())
            tz = zone(self.net.nodes[s.origin].tz)
            hours = []
            for m in mins:
                if cancelled and from_minutes(m).astimezone(tz).date().isoformat() in cancelled:
                    continue
                hours.append((m - self.t0_min) / 60.0)
            allot = slot_share(self.sc, s.id, s.mode)
            t = self.timetables[s.id] = Timetable(s, hours, s.schedule.cutoff_hours, allot, self.window)
        return t

    def _border(self, node_id: str) -> Border:
        b = self.borders.get(node_id)
        if b is None:
            spec = self.sc.resources.borders.get(node_id)
            tracks = spec.tracks if spec else self.sc.resources.border_default_tracks
            st = self._station("border:" + node_id, tracks, "border_tracks")
            closures = [(d.from_day * 24, d.to_day * 24) for d in self.sc.disruptions
                        if isinstance(d, BorderClosure) and d.node == node_id]
            cong = [(d.from_day * 24, d.to_day * 24, d.dwell_factor) for d in self.sc.disruptions
                    if isinstance(d, Congestion) and d.node == node_id]
            b = self.borders[node_id] = Border(st, closures, cong)
        return b

    def _warehouse(self, node_id: str) -> Warehouse:
        w = self.warehouses.get(node_id)
        if w is None:
            node = self.net.nodes[node_id]
            ov = self.sc.warehouses.get(node_id)
            docks = max(1, round(node.inbound_m3_per_day / self.res.wh_m3_per_dock_day))
            if ov is not None and ov.dock_factor:
                docks = max(1, round(docks * ov.dock_factor))
            if ov is not None and ov.docks:
                docks = ov.docks
            pickers = ov.pickers if ov is not None and ov.pickers else self.res.wh_pickers
            cap = node.capacity_m3 or 1e9
            w = self.warehouses[node_id] = Warehouse(
                self.env, node_id, cap, self._station("receiving:" + node_id, docks, "receiving_docks"),
                self._station("pickers:" + node_id, pickers, "pickers"), self.window)
        return w

    def steps(self, route: Route) -> list[tuple]:
        """The route compiled to steps (once per route)."""
        st = self._steps.get(route)
        if st is not None:
            return st
        net = self.net
        out: list[tuple] = []
        cleared = False
        for sid in route.services:
            s = net.services[sid]
            if not cleared and s.origin == route.clearance_node:
                out.append((_CLEAR, net.nodes[s.origin], self._customs(s.origin), self.streams.get("customs:" + s.origin)))
                cleared = True
            if s.schedule.continuous:
                o = net.nodes[s.origin]
                fleet = None
                if o.country == "CN":
                    fleet = self.first_mile if o.kind is NodeKind.ORIGIN_ZONE else self.linehaul
                out.append((_ROAD, s, fleet, self._rng(s.id)))
            else:
                timetable = self._timetable(s)
                stops = tuple((self._border(x.node), x.offset_hours, x.dwell_hours, x.node) for x in s.stops)
                out.append((_SCHED, timetable, stops, self._rng(s.id)))
            d = net.nodes[s.destination]
            if d.kind is NodeKind.OVERSEAS_WAREHOUSE:
                out.append((_HANDLE, d, self._warehouse(d.id)))
            elif d.handling_hours > 0:
                out.append((_HANDLE, d, self._dock(d.id), self.streams.get("dock:" + d.id)))
            else:
                out.append((_HANDLE, d, None))
            if not cleared and d.id == route.clearance_node:
                out.append((_CLEAR, d, self._customs(d.id), self.streams.get("customs:" + d.id)))
                cleared = True
        self._steps[route] = out
        return out

    # --- processes ----------------------------------------------------------------------------
    def demand(self, fi: int) -> Generator[simpy.Event, Any, None]:
        """Poisson arrivals of one flow (thinning for the time-varying multipliers)."""
        sc = self.sc
        f = sc.demand[fi]
        base = f.lots_per_day * sc.demand_multiplier / 24.0
        windows = [(m.from_day * 24, (m.to_day if m.to_day is not None else 1e9) * 24, m.factor) for m in sc.demand_multipliers
                   if (not m.flows or f.name in m.flows) and (not m.customs_modes or f.customs_mode in m.customs_modes)]
        peak = base * max([1.0] + [w[2] for w in windows])
        if peak <= 0:
            return
        rng = self.streams.get("demand:" + f.name)
        size = self.streams.get("size:" + f.name)
        sigma = math.sqrt(math.log1p(f.lot.cv ** 2))
        mu = -0.5 * sigma * sigma
        env = self.env
        H = self.H
        kg0, m30 = f.lot.weight_kg, f.lot.volume_m3
        while True:
            yield env.timeout(rng.expovariate(peak))
            now = env._now
            if now >= H:
                return
            if windows:
                rate = base
                for a, b, fac in windows:
                    if a <= now < b:
                        rate *= fac
                if rng.random() * peak > rate:
                    continue
            x = size.lognormvariate(mu, sigma) if sigma > 0 else 1.0
            env.process(self.consignment(fi, kg0 * x, m30 * x))

    def consignment(self, fi: int, kg: float, m3: float) -> Generator[simpy.Event, Any, None]:
        env = self.env
        f = self.sc.demand[fi]
        t0 = env._now
        route = self.router.route(fi, t0)
        self.wip.add(1)
        if self.W <= t0:
            self.arrivals_window += 1
        wh: Warehouse | None = None
        for step in self.steps(route):
            k = step[0]
            if k == _HANDLE:
                node, where = step[1], step[2]
                if where is None:
                    if node.handling_hours > 0:
                        yield env.timeout(node.handling_hours)
                elif isinstance(where, Warehouse):
                    wh = where
                    svc = 0.5 + m3 / self.res.wh_dock_m3_per_hour
                    if self.trace:
                        self.wh_trace.append((env._now, wh.id, wh.level.value, True))
                    yield from wh.docks.visit(svc)
                    yield wh.space.put(m3)
                    wh.level.add(m3)
                    if self.trace:
                        self.wh_trace.append((env._now, wh.id, wh.level.value, False))
                    rest = node.handling_hours - svc
                    if rest > 0:
                        yield env.timeout(rest)
                else:
                    svc = self.res.dock_hours_per_lot * step[3].expovariate(1.0)
                    yield from where.visit(svc)
                    rest = node.handling_hours - svc
                    if rest > 0:
                        yield env.timeout(rest)
            elif k == _CLEAR:
                node = step[1]
                rng = step[3]
                mode = f.customs_mode
                svc = self.res.customs_hours[mode] * rng.expovariate(1.0)
                yield from step[2].visit(svc)
                rest = node.clearance_hours - svc
                if rng.random() < self.res.inspection_rate.get(mode, 0.0):
                    rest = max(rest, 0.0) + self.res.inspection_hours * rng.expovariate(1.0)
                if rest > 0:
                    yield env.timeout(rest)
            elif k == _ROAD:
                s, fleet, rng = step[1], step[2], step[3]
                T = s.transit.sample(rng)
                if fleet is not None:
                    yield from fleet.acquire()
                    t_leave = env._now + self.res.truck_loading_hours
                    yield env.timeout(self.res.truck_loading_hours + T)
                    back = env.timeout(s.transit.p50_hours)
                    back.callbacks.append(lambda _e, fleet=fleet: fleet.release())
                else:
                    t_leave = env._now
                    yield env.timeout(T)
                if self.trace:
                    self._trip += 1
                    self.movements.append((f"sim-truck-{self._trip:06d}", [(t_leave, s.origin), (env._now, s.destination)]))
            else:
                timetable, stops, rng = step[1], step[2], step[3]
                s = timetable.service
                if s.mode is Mode.AIR:
                    need = max(kg / (s.capacity.kg or 1e12), m3 / (s.capacity.m3 or 1e12))
                else:
                    need = max(m3 / TEU_M3, kg / TEU_KG) / (s.capacity.teu or 1e12)
                run = timetable.book(env._now, need)
                if run is None:  # past the last run of the simulation: the consignment stays unfinished
                    return
                if run.arrived is None:
                    run.arrived = env.event()
                if not run.started:
                    run.started = True
                    env.process(self.departure(run, stops, rng))
                yield run.arrived
        t1 = env._now
        self.wip.add(-1)
        self.finished.append(Consignment(t0, t1, route.promise_hours, fi, kg, route.main_mode, route.cost_per_kg,
                                         route.co2e_per_kg))
        if wh is not None:
            yield env.timeout(self.res.storage_days * 24.0 * self._rng_wh.expovariate(1.0))
            yield from wh.pickers.visit(m3 * self.res.pick_hours_per_m3)
            yield wh.space.get(m3)
            wh.level.add(-m3)
            if self.trace:
                self.wh_trace.append((env._now, wh.id, wh.level.value, False))
            if self.W <= env._now < self.H:
                wh.outbound += 1
        yield env.timeout(self._last_mile.sample(self._rng_last))
        if wh is None:
            self.deliveries.append(Delivery(t0, env._now))

    def departure(self, run: ScheduledRun, stops: tuple, rng) -> Generator[simpy.Event, Any, None]:
        """A train, flight or ship: leaves at its scheduled time, crosses its border stations, arrives."""
        env = self.env
        s = run.timetable.service
        yield env.timeout(max(0.0, run.depart - env._now))
        way: list[tuple[float, str]] = [(env._now, s.origin)] if self.trace else []
        T = s.transit.sample(rng)
        if stops:
            dwell_nom = sum(x[2] for x in stops)
            p50_run = max(s.transit.p50_hours - dwell_nom, 1e-6)
            scale = max(T - dwell_nom, 0.25 * p50_run) / p50_run
            prev = 0.0
            for border, offset, dwell, node_id in stops:
                yield env.timeout(max(0.0, offset - prev) * scale)
                if self.trace:
                    way.append((env._now, node_id))
                yield from border.cross(dwell, rng)
                if self.trace:
                    way.append((env._now, node_id))
                prev = offset + dwell
            yield env.timeout(max(0.0, s.transit.p50_hours - prev) * scale)
        else:
            yield env.timeout(T)
        if self.trace:
            way.append((env._now, s.destination))
            self.movements.append((f"sim-{s.id}-{run.index:04d}", way))
        run.arrived.succeed()

    def background(self, node_id: str, per_day: float, dwell: float) -> Generator[simpy.Event, Any, None]:
        """Other operators' trains at a border station: they share the tracks (and the congestion)."""
        env = self.env
        rng = self.streams.get("background:" + node_id)
        border = self._border(node_id)
        rate = per_day / 24.0
        while True:
            yield env.timeout(rng.expovariate(rate))
            if env._now >= self.end:
                return
            env.process(border.cross(dwell, rng))

    def wh_background(self, wh: "Warehouse", m3_per_day: float) -> Generator[simpy.Event, Any, None]:
        """Other exporters' deliveries to a shared warehouse: they share the receiving docks."""
        env = self.env
        rng = self.streams.get("wh_background:" + wh.id)
        lot = self.res.wh_background_lot_m3
        rate = m3_per_day / lot / 24.0
        svc = 0.5 + lot / self.res.wh_dock_m3_per_hour
        while True:
            yield env.timeout(rng.expovariate(rate))
            if env._now >= self.end:
                return
            env.process(wh.docks.visit(svc * (0.5 + rng.random())))

    def sampler(self, times: list[float]) -> Generator[simpy.Event, Any, None]:
        """Samples the cumulative counters into :attr:`snapshots` at ``times``."""
        env = self.env
        snaps = self.snapshots
        for t in times:
            if t > env._now:
                yield env.timeout(t - env._now)
            if t == self.W:
                self.wip.start_window()
                for w in self.warehouses.values():
                    w.level.start_window()
            snaps.t.append(t)
            snaps.wip.append(self.wip.snapshot())
            for name, st in self.stations.items():
                busy, queue = st.snapshot()
                snaps.series(snaps.busy, name).append(busy)
                snaps.series(snaps.queue, name).append(queue)
            for wid, w in self.warehouses.items():
                snaps.series(snaps.occupancy, wid).append(w.level.snapshot())

    # --- run ----------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Compile every flow's routes for a whole week of buckets, so every station exists before the run."""
        for _, route in self.router.route_all():
            self.steps(route)
        dwell: dict[str, list[float]] = {}
        for s in self.net.services.values():
            for x in s.stops:
                dwell.setdefault(x.node, []).append(x.dwell_hours)
        for wid, wh in self.warehouses.items():
            ov = self.sc.warehouses.get(wid)
            load = ov.background_load if ov is not None and ov.background_load is not None else self.res.wh_background_load
            if load > 0:
                self.env.process(self.wh_background(wh, load * self.net.nodes[wid].inbound_m3_per_day))
        for nid, spec in self.sc.resources.borders.items():
            self._border(nid)
            if spec.background_trains_per_day > 0:
                d = sum(dwell.get(nid, [24.0])) / len(dwell.get(nid, [24.0]))
                self.env.process(self.background(nid, spec.background_trains_per_day, d))

    def run(self) -> "ChainModel":
        t = _time.perf_counter()
        self.prepare()
        env = self.env
        for fi in range(len(self.sc.demand)):
            env.process(self.demand(fi))
        times = sorted({*(float(d * 24) for d in range(int(self.end // 24) + 1)), self.W, self.H})
        env.process(self.sampler([x for x in times if x <= self.end]))
        env.run(until=self.end)
        self.events = next(env._eid)
        self.wall_s = _time.perf_counter() - t
        return self
