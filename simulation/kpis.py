"""KPIs: per replication (a flat dict of numbers), then across replications (mean and Student-t 95 % CI).

Per replication, every statistic is taken over the window [warm-up, horizon): consignments by
their ready time (the run continues past the horizon, without new demand, so that late ones still
finish and lead times are not censored), time-weighted values (utilisation, queue lengths, work in
progress, warehouse occupancy) as differences of cumulative snapshots at the window's ends.

The model's records are named (:mod:`simulation.records`): finished consignments, deliveries and
the sampled counters; this module only reads them (the model never imports it).

Flat names use dots (``kpis.lead_time_days.p90``, ``stages.customs:MY_CBZ.utilisation``); :func:`nest`
turns the summaries into the nested JSON the CLI and API print.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.records import HIST_EDGES, MODES

if TYPE_CHECKING:
    from simulation.chain import ChainModel

NAN = float("nan")


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta function (Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        de = d * c
        h *= de
        if abs(de - 1.0) < 1e-14:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t (bisection on :func:`t_cdf`; exact to ~1e-10)."""
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-11:
            break
    return 0.5 * (lo + hi)


def _q(a: np.ndarray, q: float) -> float:
    return float(np.quantile(a, q)) if a.size else NAN


def _mean(a: np.ndarray) -> float:
    return float(a.mean()) if a.size else NAN


def replication_result(m: ChainModel) -> dict[str, Any]:
    """Flat KPIs, daily series and lead-time histograms of one finished replication (``m.run()`` done)."""
    sc = m.sc
    W, H = m.W, m.H
    days = (H - W) / 24.0
    flat: dict[str, float] = {}
    rec = m.finished
    if rec:
        n = len(rec)
        t0 = np.fromiter((r.ready for r in rec), float, n)
        t1 = np.fromiter((r.done for r in rec), float, n)
        promise = np.fromiter((r.promise_hours for r in rec), float, n)
        kg = np.fromiter((r.kg for r in rec), float, n)
        mode = np.array([r.mode for r in rec])
        cost = np.fromiter((r.cost_per_kg * r.kg for r in rec), float, n)
        co2 = np.fromiter((r.co2e_per_kg * r.kg for r in rec), float, n)
        customs = np.array([sc.demand[r.flow].customs_mode for r in rec])
    else:
        t0 = t1 = promise = kg = cost = co2 = np.zeros(0)
        mode = customs = np.zeros(0, dtype=str)
    done_in = (t1 >= W) & (t1 < H)
    ready_in = (t0 >= W) & (t0 < H)
    lead = (t1 - t0)[ready_in] / 24.0
    on_time = ((t1 - t0) <= promise + 1e-9)[ready_in]
    mode_in, customs_in = mode[ready_in], customs[ready_in]

    flat["kpis.throughput_per_day"] = float(done_in.sum()) / days
    flat["kpis.arrivals_per_day"] = m.arrivals_window / days
    flat["kpis.throughput_t_per_day"] = float(kg[done_in].sum()) / 1000.0 / days
    flat["kpis.unfinished"] = float(m.arrivals_window - ready_in.sum())
    flat["kpis.lead_time_days"] = _mean(lead)
    for q in (50, 90, 95):
        flat[f"kpis.lead_time_days.p{q}"] = _q(lead, q / 100)
    flat["kpis.on_time_rate"] = _mean(on_time.astype(float))
    for label, groups in (("by_mode", mode_in), ("by_customs_mode", customs_in)):
        for g in sorted(set(groups.tolist())):
            sel = groups == g
            flat[f"kpis.lead_time_days.{label}.{g}"] = _mean(lead[sel])
            flat[f"kpis.lead_time_days.{label}.{g}.p50"] = _q(lead[sel], 0.5)
            flat[f"kpis.lead_time_days.{label}.{g}.p90"] = _q(lead[sel], 0.9)
            flat[f"kpis.lead_time_days.{label}.{g}.p95"] = _q(lead[sel], 0.95)
            flat[f"kpis.on_time_rate.{label}.{g}"] = _mean(on_time[sel].astype(float))
    flows = np.fromiter((r.flow for r in rec), int, len(rec))[ready_in] if rec else np.zeros(0, int)
    for fi, f in enumerate(sc.demand):
        sel = flows == fi
        flat[f"kpis.lead_time_days.by_flow.{f.name}"] = _mean(lead[sel])
        flat[f"kpis.on_time_rate.by_flow.{f.name}"] = _mean(on_time[sel].astype(float))
    tons = kg[done_in].sum() / 1000.0
    flat["kpis.cost_per_day"] = float(cost[done_in].sum()) / days
    flat["kpis.cost_per_t"] = float(cost[done_in].sum() / tons) if tons else NAN
    flat["kpis.co2e_t_per_day"] = float(co2[done_in].sum()) / 1000.0 / days
    flat["kpis.co2e_kg_per_t"] = float(co2[done_in].sum() / tons) if tons else NAN
    dl = np.array([(d.delivered - d.ready) / 24.0 for d in m.deliveries if W <= d.ready < H])
    flat["kpis.delivery_days"] = _mean(dl)

    # time-weighted statistics: differences of the cumulative snapshots at the window's ends
    snaps = m.snapshots
    win = snaps.window(W, H)
    span = H - W
    flat["kpis.wip"] = float(win.wip)
    lead_h_mean = float((t1 - t0)[ready_in].mean()) if ready_in.any() else NAN
    flat["kpis.wip_littles_law"] = m.arrivals_window / span * lead_h_mean  # L = lambda W, for the verification
    for name, st in m.stations.items():
        p = f"stages.{name}"
        flat[f"{p}.utilisation"] = float(win.busy[name]) / st.capacity
        flat[f"{p}.queue"] = float(win.queue[name])
        w = np.array(st.waits)
        flat[f"{p}.wait_hours"] = _mean(w)
        flat[f"{p}.wait_hours.p90"] = _q(w, 0.9)
    for wid, wh in m.warehouses.items():
        p = f"warehouses.{wid}"
        occ = win.occupancy[wid]
        flat[f"{p}.occupancy_m3"] = float(occ)
        flat[f"{p}.occupancy_m3.peak"] = float(wh.level.peak)
        flat[f"{p}.occupancy_rate"] = float(occ) / wh.capacity_m3
        flat[f"{p}.outbound_per_day"] = wh.outbound / days
    for sid, tt in m.timetables.items():
        hours = np.array(tt.hours)
        n_dep = int(((hours >= W) & (hours < H)).sum())
        booked = sum(r.booked for r in tt.runs.values() if W <= r.depart < H)
        mode_name = tt.service.mode.value
        p = f"train_slots.{sid}" if mode_name == "rail" else f"{mode_name}_slots.{sid}"
        flat[f"{p}.load_factor"] = booked / (n_dep * tt.allotment) if n_dep else NAN
        flat[f"{p}.rollover_rate"] = tt.rolled_lots / tt.booked_lots if tt.booked_lots else NAN
        flat[f"{p}.departures_per_week"] = n_dep / days * 7

    # daily series (full days only): mean queue per station, WIP, warehouse occupancy
    T = np.array(snaps.t)
    day = np.isclose(T % 24.0, 0.0)
    full_days = int(day.sum()) > 1

    def daily(s: list[float], digits: int) -> list[float]:
        return (np.diff(np.asarray(s)[day]) / 24.0).round(digits).tolist()

    series = {
        "t_days": (T[day][1:] / 24.0).tolist(),
        "wip": daily(snaps.wip, 3) if full_days else [],
        "queue": {n: daily(snaps.queue[n], 3) for n in m.stations} if full_days else {},
        "occupancy": {w: daily(snaps.occupancy[w], 1) for w in m.warehouses} if full_days else {},
    }
    hist = {md: np.histogram(lead[mode_in == md], HIST_EDGES)[0].tolist() for md in MODES if (mode_in == md).any()}
    return {"replication": m.replication, "flat": flat, "series": series, "hist": hist,
            "events": m.events, "wall_s": m.wall_s, "capacity": {n: s.capacity for n, s in m.stations.items()}}


# --- across replications ---------------------------------------------------------------------------

def t_interval(values: list[float] | np.ndarray, level: float = 0.95) -> dict[str, Any]:
    """Mean and Student-t confidence interval of independent replication values (NaNs dropped)."""
    a = np.asarray(values, float)
    a = a[~np.isnan(a)]
    n = int(a.size)
    if n == 0:
        return {"mean": None, "ci95": [None, None], "half_width": None, "sd": None, "n": 0}
    mean = float(a.mean())
    if n < 2:
        return {"mean": mean, "ci95": [None, None], "half_width": None, "sd": None, "n": 1}
    sd = float(a.std(ddof=1))
    hw = float(t_ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n))
    return {"mean": mean, "ci95": [mean - hw, mean + hw], "half_width": hw, "sd": sd, "n": n}


def summarise(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Flat name -> {mean, ci95, half_width, sd, n} over the replications."""
    keys: dict[str, None] = {}
    for r in results:
        keys.update(dict.fromkeys(r["flat"]))
    return {k: t_interval([r["flat"].get(k, NAN) for r in results]) for k in keys}


def _round(stat: dict[str, Any], digits: int = 4) -> dict[str, Any]:
    def rd(x):
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, digits)

    return {"mean": rd(stat["mean"]), "ci95": [rd(stat["ci95"][0]), rd(stat["ci95"][1])],
            "half_width": rd(stat["half_width"]), "n": stat["n"]}


def nest(summary: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{"a.b": stat, "a.b.c": stat}`` -> ``{"a": {"b": {**stat, "c": stat}}}`` (stats rounded)."""
    out: dict[str, Any] = {}
    for key in sorted(summary, key=lambda k: k.count(".")):
        parts = _split(key)
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node.setdefault(parts[-1], {}).update(_round(summary[key]))
    return out


def _split(key: str) -> list[str]:
    # station names contain ':' but never '.', so a plain split is safe
    return key.split(".")


def report(results: list[dict[str, Any]], scenario_name: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of a simulation: meta, kpis, stages, train slots, warehouses, runtime."""
    nested = nest(summarise(results))
    doc = {"scenario": scenario_name, **meta}
    for key in ("kpis", "stages", "train_slots", "air_slots", "sea_slots", "warehouses"):
        if key in nested:
            doc[key] = nested[key]
    caps = results[0]["capacity"] if results else {}
    for name, cap in caps.items():
        if name in doc.get("stages", {}):
            doc["stages"][name]["capacity"] = cap
    doc["runtime"] = {"events_per_replication": int(np.mean([r["events"] for r in results])) if results else 0,
                      "seconds_per_replication": round(float(np.mean([r["wall_s"] for r in results])), 3) if results else 0}
    return doc
