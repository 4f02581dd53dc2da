"""The work a simulation request adds up to, estimated before anything runs, and refused when too large.

The schema bounds every field on its own (:mod:`simulation.limits`); their product still could be
far too much (100 flows of 1,000 consignments a day for three years, 200 times). Here the expected
size of one replication is computed from the scenario the way the model generates it:

- **consignments**: each flow's Poisson rate ``lots_per_day x demand_multiplier``, scaled in time by
  its ``demand_multipliers`` windows, integrated over ``horizon_days`` (what the model's thinning
  accepts, exactly in expectation); the thinning also draws candidates at the flow's peak rate;
- **background arrivals**: other operators' trains at border stations and other exporters'
  deliveries to the shared warehouses the flows deliver to, over horizon and drain;
- **events**: ``EVENTS_PER_CONSIGNMENT`` per consignment, ``EVENTS_PER_BACKGROUND`` per background
  arrival, one per candidate (calibrated on the baseline: estimate 460,000, measured 489,000).

A replication may hold at most ``MAX_CONSIGNMENTS_PER_REPLICATION`` consignments (memory) and
``MAX_EVENTS_PER_REPLICATION`` events; a request (every scenario x its replications) at most
``MAX_EVENTS_PER_REQUEST`` events. A refusal is an :class:`~optimizer.errors.InvalidInput` naming
the field that contributes most and the limit, raised before any process starts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from optimizer.errors import InvalidInput
from optimizer.network import Network
from optimizer.network.model import NodeKind
from simulation import limits as L
from simulation.scenario import Scenario


@dataclass(frozen=True)
class Work:
    """Expected size of one replication of one scenario."""

    consignments: float
    candidates: float
    background: float
    route_quotes: int
    biggest_flow: int  # index of the flow with the most consignments
    background_field: str  # the field behind most of the background arrivals

    @property
    def events(self) -> float:
        return (L.EVENTS_PER_CONSIGNMENT * self.consignments + L.EVENTS_PER_BACKGROUND * self.background
                + self.candidates)


def _flow_days(sc: Scenario, fi: int) -> tuple[float, float]:
    """(rate-weighted days, peak factor) of flow ``fi`` over [0, horizon): ∫ min(Π factors, peak) dt."""
    f = sc.demand[fi]
    H = sc.horizon_days
    windows = [(min(m.from_day, H), min(m.to_day if m.to_day is not None else H, H), m.factor)
               for m in sc.demand_multipliers
               if (not m.flows or f.name in m.flows) and (not m.customs_modes or f.customs_mode in m.customs_modes)]
    peak = max([1.0] + [w[2] for w in windows])
    if not windows:
        return H, peak
    cuts = sorted({0.0, H, *(w[0] for w in windows), *(w[1] for w in windows)})
    days = 0.0
    for a, b in zip(cuts, cuts[1:]):
        if b <= a:
            continue
        factor = 1.0
        for lo, hi, fac in windows:
            if lo <= a < hi:
                factor *= fac
        days += (b - a) * min(factor, peak)
    return days, peak


def estimate(sc: Scenario, net: Network) -> Work:
    """The expected size of one replication of ``sc`` on ``net`` (bounded time: at most flows x windows²)."""
    consignments = candidates = 0.0
    biggest, most = 0, -1.0
    for fi, f in enumerate(sc.demand):
        base = f.lots_per_day * sc.demand_multiplier
        days, peak = _flow_days(sc, fi)
        n = base * days
        consignments += n
        candidates += base * peak * sc.horizon_days
        if n > most:
            biggest, most = fi, n
    run_days = sc.horizon_days + sc.drain_days
    trains = sum(b.background_trains_per_day for b in sc.resources.borders.values()) * run_days
    deliveries = 0.0
    for wid in sorted({f.destination for f in sc.demand}):
        node = net.nodes.get(wid)
        if node is None or node.kind is not NodeKind.OVERSEAS_WAREHOUSE:
            continue
        ov = sc.warehouses.get(wid)
        load = ov.background_load if ov is not None and ov.background_load is not None else sc.resources.wh_background_load
        deliveries += load * node.inbound_m3_per_day / sc.resources.wh_background_lot_m3 * run_days
    if trains >= deliveries:
        top = max(sc.resources.borders.items(), key=lambda kv: kv[1].background_trains_per_day, default=None)
        field = f"resources.borders.{top[0]}.background_trains_per_day" if top else "resources.borders"
    else:
        field = "resources.wh_background_load"
    quotes = len(sc.demand) * math.ceil(168 / sc.routing.hour_bucket)
    return Work(consignments, candidates, trains + deliveries, quotes, biggest, field)


def _refuse(source: str, field: str, unit: str, value: float, limit: float, hint: str) -> InvalidInput:
    return InvalidInput(f"{source}: field '{field}': about {value:,.0f} {unit} per replication, over the limit "
                        f"of {limit:,.0f}; {hint}", field=field, file=source, limit=limit)


def check_work(scenarios: Sequence[tuple[Scenario, str]], replications: int, net: Network) -> list[Work]:
    """Refuse (InvalidInput naming the field and the limit) a request whose work exceeds the limits.

    ``scenarios``: (scenario, source) pairs, the source naming it in messages and fields (``scenario``,
    ``compare_with``, a file name); ``replications`` of each. Returns the estimates.
    """
    if not 1 <= replications <= L.MAX_REPLICATIONS:
        raise InvalidInput(f"replications must be between 1 and {L.MAX_REPLICATIONS} (got {replications})",
                           field="replications", limit=L.MAX_REPLICATIONS)
    if len(scenarios) > L.MAX_SCENARIOS_PER_REQUEST:
        raise InvalidInput(f"at most {L.MAX_SCENARIOS_PER_REQUEST} scenarios per request (got {len(scenarios)})",
                           field="scenarios", limit=L.MAX_SCENARIOS_PER_REQUEST)
    works: list[Work] = []
    total = 0.0
    for sc, source in scenarios:
        w = estimate(sc, net)
        works.append(w)
        flow_field = f"demand[{w.biggest_flow}].lots_per_day"
        if w.route_quotes > L.MAX_ROUTE_QUOTES:
            raise InvalidInput(f"{source}: field 'routing.hour_bucket': {len(sc.demand)} flows x "
                               f"{math.ceil(168 / sc.routing.hour_bucket)} ready-time buckets = {w.route_quotes:,} route "
                               f"quotes, over the limit of {L.MAX_ROUTE_QUOTES:,}; raise routing.hour_bucket or use fewer flows",
                               field="routing.hour_bucket", file=source, limit=L.MAX_ROUTE_QUOTES)
        if w.consignments > L.MAX_CONSIGNMENTS_PER_REPLICATION:
            raise _refuse(source, flow_field, "consignments", w.consignments, L.MAX_CONSIGNMENTS_PER_REPLICATION,
                          "consignments = lots_per_day x demand multipliers x horizon_days: lower the demand or the horizon")
        if w.events > L.MAX_EVENTS_PER_REPLICATION:
            field = flow_field if L.EVENTS_PER_CONSIGNMENT * w.consignments >= L.EVENTS_PER_BACKGROUND * w.background \
                else w.background_field
            raise _refuse(source, field, "simulation events", w.events, L.MAX_EVENTS_PER_REPLICATION,
                          "lower the demand, the background traffic or horizon_days + drain_days")
        total += w.events * replications
    if total > L.MAX_EVENTS_PER_REQUEST:
        raise InvalidInput(f"replications: {len(scenarios)} scenario(s) x {replications} replications make about "
                           f"{total:,.0f} simulation events, over the limit of {L.MAX_EVENTS_PER_REQUEST:,} per request; "
                           "use fewer replications or a shorter horizon", field="replications",
                           limit=L.MAX_EVENTS_PER_REQUEST)
    return works
