"""Reproducible synthetic weekly demand of Mianyang exporters, for the planning bench and tests.

The mix follows the pilot zone's lanes (data/services.yaml): most volume to the EU by China-Europe
train (to the shared warehouses under 9810 or to rail-terminal markets under 9710/9610), then CIS,
South-East Asia and a tail to the Gulf and Australia. Sizes are lognormal (median ~6 m³, a tail of
container-sized lots), densities 120-350 kg/m³, classes mostly general with lithium batteries
(Mianyang electronics), reefer and a few dangerous goods. All figures are assumptions [A] chosen
to exercise the planner, not statistics.
"""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import date, datetime, time, timedelta

from optimizer.network.model import Capacity, Cargo, CargoClass, CustomsMode, Mode, NodeKind
from optimizer.network import Network
from optimizer.planning.shipments import Shipment
from optimizer.network.timeutil import zone

ORIGINS = (("MY_HTZ", 0.4), ("MY_ETDZ", 0.3), ("MY_CITY", 0.25), ("MY_CBZ", 0.05))
DESTINATIONS = (
    ("WH_LODZ", 0.14), ("WH_DUISBURG", 0.12), ("LODZ", 0.10), ("DUISBURG", 0.10), ("HAMBURG", 0.06),
    ("NUREMBERG", 0.04), ("WH_BUDAPEST", 0.04), ("MOSCOW", 0.07), ("WH_MOSCOW", 0.04), ("ALMATY", 0.04),
    ("WH_ALMATY", 0.03), ("WH_JAKARTA", 0.04), ("JAKARTA", 0.03), ("BANGKOK", 0.04), ("WH_BANGKOK", 0.02),
    ("WH_DUBAI", 0.03), ("SYDNEY", 0.03), ("WH_SYDNEY", 0.02),
)
CLASSES = ((CargoClass.GENERAL, 0.80), (CargoClass.LITHIUM, 0.12), (CargoClass.TEMPERATURE, 0.05), (CargoClass.DANGEROUS, 0.03))


def _pick(rng: random.Random, table):
    return rng.choices([x for x, _ in table], weights=[w for _, w in table])[0]


def generate_demand(net: Network, n: int, *, weeks: int = 8, start: date = date(2026, 10, 5), seed: int = 7) -> list[Shipment]:
    """``n`` shipments with ready dates spread over ``weeks`` weeks from ``start`` (a Monday)."""
    rng = random.Random(seed)
    out: list[Shipment] = []
    for k in range(n):
        origin = _pick(rng, ORIGINS)
        dest = _pick(rng, DESTINATIONS)
        d = net.nodes[dest]
        cls = _pick(rng, CLASSES)
        if rng.random() < 0.08:
            volume = rng.uniform(25.0, 66.0)  # container-sized lots
        else:
            volume = min(60.0, max(0.3, math.exp(rng.gauss(math.log(6.0), 0.8))))
        weight = volume * rng.uniform(120.0, 350.0)
        pieces = max(1, round(volume * rng.uniform(2, 6)))
        if d.kind is NodeKind.OVERSEAS_WAREHOUSE:
            customs = CustomsMode.B2B_WAREHOUSE
        elif origin == "MY_CBZ":
            customs = CustomsMode.BONDED
        elif rng.random() < 0.2:
            customs = CustomsMode.B2C_PARCEL
            pieces = max(pieces, math.ceil(weight / 20.0))
        else:
            customs = CustomsMode.B2B_DIRECT
        if origin == "MY_CBZ" and customs is CustomsMode.B2B_WAREHOUSE:
            customs = CustomsMode.B2B_WAREHOUSE
        ready_day = start + timedelta(days=rng.randrange(weeks * 7))
        ready = datetime.combine(ready_day, time(9), tzinfo=zone(net.nodes[origin].tz)).astimezone(zone("UTC"))
        far = d.country not in ("ID", "TH", "SG", "KZ", "AE")
        allowance = rng.choice((10, 14)) if rng.random() < 0.1 else rng.randint(24, 38) if far else rng.randint(14, 24)
        due_day = ready_day + timedelta(days=allowance)
        due = datetime.combine(due_day, time(23, 59), tzinfo=zone(d.tz)).astimezone(zone("UTC"))
        value = round(weight * rng.uniform(5.0, 40.0), 2)
        cargo = Cargo(round(weight, 1), round(volume, 2), pieces, cls, customs)
        out.append(Shipment(f"S{k + 1:05d}", origin, dest, cargo, ready, due, value, k + 2))
    return out


def with_rail_capacity(net: Network, teu: int) -> Network:
    """The network with every rail departure's allocation cut to ``teu`` slots (tight rail capacity)."""
    services = {}
    for sid, s in net.services.items():
        if s.mode is Mode.RAIL and s.capacity.teu is not None:
            s = dataclasses.replace(s, capacity=Capacity(teu=teu, kg=s.capacity.kg, m3=s.capacity.m3))
        services[sid] = s
    return net.derive(services=services)
