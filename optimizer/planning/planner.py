"""Batch shipment planning against real capacities: candidates -> greedy baseline -> MIP -> report.

    >>> from optimizer.network import load_network
    >>> from optimizer.planning.shipments import read_shipments_csv
    >>> from optimizer.planning.planner import PlanSettings, plan, plan_to_dict
    >>> net = load_network()
    >>> load = read_shipments_csv(net, "data/samples/shipments_week.csv")
    >>> result = plan(net, load.shipments, PlanSettings(time_limit_s=20), errors=load.errors)
    >>> doc = plan_to_dict(net, result)  # assignments, unassigned, cost, baseline, gap, capacity_use

Why a MIP (HiGHS through MathOpt) rather than CP-SAT: the model is an assignment of shipments to
candidate options with linear capacity rows (TEU, kg, m³ per departure, m³ per warehouse inbound
day) and integer box counts per consolidation pool, with real-valued kg/m³/money coefficients.
Its LP relaxation solves in seconds even at 10,000 shipments (1.5e5 binaries) and gives the
bound for an honest gap; rounding the LP is what finds the consolidation plan (which shipments
share which boxes on which train) that a myopic greedy cannot. CP-SAT would need every kg/m³
coefficient scaled to integers and has no LP bound of this quality on such large assignment
models. The LP bound is weak on box rounding: it pays boxes per m³ and may spread a shipment over
several departures so that each of their pools opens a fraction of a box. HiGHS's root cuts lift
it by ~2 % at 1,000 shipments (4 TEU per departure) but by only ~0.26 % at 10,000 (40 TEU, with
one round of residual-capacity cuts on the pools first, optimizer.planning.cuts), so the proven gap is
0.9-1.0 % at both sizes in two minutes (bench/plan_bench.py; 1.1 % at 10,000 on a day the machine
ran 20 % slower); small instances (tests, a week of a desk's shipments) are solved to optimality.

Candidates of large batches are generated on both cores (optimizer.planning.candidates_parallel).
Phases (optimizer.planning.solve.solve_mip): greedy plan -> LP relaxation -> rounding -> pool local
search -> large-neighbourhood search (optimizer.planning.lns, with the pool local search re-run beside
it) for the rest of the time, while HiGHS's root cut loop lifts the bound in a child process
(optimizer.planning.bound; at this size branch-and-bound's bound is its root's, and the tree does not
move it); LNS stops once a bound proves its plan. Problems up to 7,500 binaries (~500 shipments)
and short time limits get branch-and-bound hinted with the best plan so far for a share of the
time instead, which proves small plans optimal. A time limit always returns the best feasible plan,
never worse than greedy.

Limits. ``PlanSettings.time_limit_s`` covers the whole plan: candidates are generated for at most
``candidate_share`` of it (half by default; both processes stop at that deadline, and shipments not
reached are reported unassigned with the reason "time limit reached before candidates were
generated", code ``time_limit``), then the problem, the greedy baseline and the solve share what
remains (a solve with under ``SolveParams.min_model_s`` left returns the greedy plan without
building a model). When not a single shipment was reached, the plan fails with InvalidInput on
``time_limit_s`` instead. Memory is bounded up front: :func:`check_plan_size` estimates rows x
options and refuses (InvalidInput on ``shipments``) what would not fit ``memory_budget_mb``.
On the bench (118 s, 1,000-10,000 rows: candidates 3-17 s of the 59 s allowed) no deadline is reached.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optimizer.errors import DataError, InvalidInput
from optimizer.network import Network
from optimizer.network.model import (
    CostLine,
    Departure,
    Leg,
    Option,
    QuoteRequest,
    Waypoint,
)
from optimizer.network.progress import ProgressFn
from optimizer.network.schedule import make_departure
from optimizer.network.serialize import option_to_dict
from optimizer.network.timeutil import from_minutes, local_iso, to_minutes
from optimizer.planning.candidates import (
    TIME_LIMIT_REASON,
    Candidate,
    CandidateGenerator,
    PlanSettings,
    ShipmentCandidates,
    dep_key,
    unassigned_penalty,
)
from optimizer.planning.candidates_parallel import generate_candidates
from optimizer.planning.greedy import greedy
from optimizer.planning.problem import (
    Assignment,
    Choice,
    Evaluation,
    PlanProblem,
    Pool,
    Resource,
    evaluate,
)
from optimizer.planning.shipments import Shipment
from optimizer.planning.solve import MipResult, SolveParams, solve_mip
from optimizer.quotes.quote import Costing

__all__ = ["Plan", "PlanSettings", "check_plan_size", "estimate_memory_mb", "plan", "plan_to_dict"]

# Memory of a plan: measured peak RSS 310 MB for 1,000 generated rows (15,104 options) and 461 MB for
# 4,000 (60,787): ~3.3 KB per option for candidates, problem, MIP model, LP and search, over a base of
# ~210 MB (HiGHS, OR-Tools, the network). Rounded up here; each row may keep max_candidates options
# plus a fallback per main mode (and a re-plan's previous choice).
BASE_MB = 300.0
KB_PER_OPTION = 4.0
EXTRA_OPTIONS_PER_ROW = 4


def estimate_memory_mb(rows: int, settings: PlanSettings) -> float:
    """Estimated peak memory of a plan of ``rows`` shipments, MB (rows x options per row)."""
    return BASE_MB + rows * (settings.max_candidates + EXTRA_OPTIONS_PER_ROW) * KB_PER_OPTION / 1024.0


def check_plan_size(rows: int, settings: PlanSettings) -> None:
    """Refuse (InvalidInput on ``shipments``, with ``limit``) a plan whose options would not fit ``settings.memory_budget_mb``."""
    budget = settings.memory_budget_mb
    if budget is None:
        return
    need = estimate_memory_mb(rows, settings)
    if need > budget:
        per_row = (settings.max_candidates + EXTRA_OPTIONS_PER_ROW) * KB_PER_OPTION / 1024.0
        fit = max(0, int((budget - BASE_MB) / per_row))
        raise InvalidInput(
            f"shipments: {rows:,} rows with up to {settings.max_candidates + EXTRA_OPTIONS_PER_ROW} options each need about "
            f"{need:,.0f} MB, more than the plan memory budget of {budget:,.0f} MB: at most {fit:,} rows per plan",
            field="shipments", limit=fit)


@dataclass
class Totals:
    total: float  # freight + lateness + carbon (the objective without unassigned/change penalties)
    freight: float
    lateness: float
    carbon: float
    co2e_kg: float
    assigned: int
    unassigned: int


@dataclass
class Plan:
    """The result of :func:`plan`: chosen candidates, the greedy baseline, solver figures."""

    settings: PlanSettings
    shipments: list[Shipment]
    candidates: list[ShipmentCandidates]
    generator: CandidateGenerator
    problem: PlanProblem
    resource_keys: list[str]
    pool_keys: list[str]
    assignment: Assignment
    evaluation: Evaluation
    greedy_assignment: Assignment
    greedy_evaluation: Evaluation
    mip: MipResult
    totals: Totals
    greedy_totals: Totals
    errors: list[DataError] = field(default_factory=list)
    previous: Mapping[str, str] | None = None
    timings_s: dict[str, float] = field(default_factory=dict)

    def chosen(self, i: int) -> Candidate | None:
        a = self.assignment[i]
        return None if a is None else self.candidates[i].candidates[a]

    def assignments(self) -> dict[str, Candidate]:
        return {s.id: c for i, s in enumerate(self.shipments) if (c := self.chosen(i)) is not None}

    def assignment_keys(self) -> dict[str, str]:
        """Shipment id -> candidate key: what re-planning needs from a previous plan."""
        return {sid: c.key for sid, c in self.assignments().items()}

    @property
    def moved(self) -> list[str]:
        """Shipments of the previous plan whose option changed (re-planning)."""
        if not self.previous:
            return []
        now = self.assignment_keys()
        present = {s.id for s in self.shipments}
        return sorted(sid for sid, key in self.previous.items() if sid in present and now.get(sid) != key)


def _totals(plan_cands: Sequence[ShipmentCandidates], assignment: Assignment, ev: Evaluation, settings: PlanSettings) -> Totals:
    freight = late = carbon = co2 = 0.0
    n = 0
    for sc, a in zip(plan_cands, assignment, strict=True):
        if a is None:
            continue
        c = sc.candidates[a]
        n += 1
        freight += c.cost
        rate = settings.late_per_day + settings.late_value_pct_per_day * (sc.shipment.value or 0.0)
        late += c.late_days * rate
        carbon += settings.carbon_price_per_t * c.co2e_kg / 1000.0
        co2 += c.co2e_kg
    freight += sum(ev.box_cost)
    return Totals(round(freight + late + carbon, 2), round(freight, 2), round(late, 2), round(carbon, 2), round(co2, 1),
                  n, len(assignment) - n)


def build_problem(
    cands: Sequence[ShipmentCandidates],
    gen: CandidateGenerator,
    settings: PlanSettings,
    previous: Mapping[str, str] | None = None,
    change_penalty: float = 0.0,
) -> tuple[PlanProblem, list[str], list[str]]:
    """The abstract model: resource and pool indices, one Choice per candidate."""
    res_index: dict[str, int] = {}
    pool_index: dict[str, int] = {}

    def ri(key: str) -> int:
        j = res_index.get(key)
        if j is None:
            j = res_index[key] = len(res_index)
        return j

    def pi(key: str) -> int:
        j = pool_index.get(key)
        if j is None:
            j = pool_index[key] = len(pool_index)
        return j

    choices: list[list[Choice]] = []
    penalties: list[float] = []
    for sc in cands:
        prev = previous.get(sc.shipment.id) if previous else None
        row = []
        for c in sc.candidates:
            cost = c.objective + (change_penalty if prev is not None and c.key != prev else 0.0)
            row.append(Choice(cost, tuple((ri(k), a) for k, a in c.use), tuple((pi(k), kg, m3) for k, kg, m3 in c.pools)))
        choices.append(row)
        penalties.append(unassigned_penalty(settings, sc.candidates) + (change_penalty if prev is not None else 0.0))
    for key in list(pool_index):  # pools need their TEU row even if no candidate used it directly
        info = gen.pools[key]
        if info.teu_resource is not None:
            ri(info.teu_resource)
    resource_keys = list(res_index)
    pool_keys = list(pool_index)
    resources = [Resource(k, gen.resources[k].capacity) for k in resource_keys]
    pools = []
    for k in pool_keys:
        info = gen.pools[k]
        pools.append(Pool(k, res_index[info.teu_resource] if info.teu_resource is not None else None, info.boxes))
    return PlanProblem(resources, pools, choices, penalties), resource_keys, pool_keys


def plan(
    net: Network,
    shipments: Sequence[Shipment],
    settings: PlanSettings | None = None,
    *,
    errors: Sequence[DataError] = (),
    generator: CandidateGenerator | None = None,
    previous: Mapping[str, str] | None = None,
    change_penalty: float = 0.0,
    progress: ProgressFn | None = None,
) -> Plan:
    """Plan ``shipments``: every one assigned to a concrete option or reported unassigned with a reason.

    ``previous`` (shipment id -> candidate key) with ``change_penalty`` > 0 makes the plan keep
    earlier choices where possible (re-planning, see optimizer.planning.replan).
    """
    settings = settings or PlanSettings()
    progress = progress or (lambda f, m="": None)
    t0 = time.perf_counter()
    check_plan_size(len(shipments), settings)
    gen = generator or CandidateGenerator(net, settings)
    n = max(1, len(shipments))
    # large batches: half of the lanes in a worker process (optimizer.planning.candidates_parallel);
    # both stop at candidate_share of the time limit, the rest of it is for the model and the solve
    budget = settings.candidate_share * settings.time_limit_s - (time.perf_counter() - t0)
    cands = generate_candidates(gen, shipments, workers=settings.workers, time_budget_s=budget,
                                progress=lambda k: progress(0.4 * k / n, f"candidate options {k}/{len(shipments)}"))
    if shipments and all(sc.code == "time_limit" and sc.reason == TIME_LIMIT_REASON for sc in cands):
        raise InvalidInput(f"time_limit_s: the time limit of {settings.time_limit_s:g} s was reached before candidate "
                           f"options of any of the {len(shipments):,} shipments were generated; allow more time",
                           field="time_limit_s")
    t1 = time.perf_counter()
    problem, res_keys, pool_keys = build_problem(cands, gen, settings, previous, change_penalty)
    order = sorted(range(len(shipments)), key=lambda i: (shipments[i].ready, shipments[i].due, shipments[i].id))
    progress(0.45, "greedy baseline")
    g_assign = greedy(problem, order)
    g_eval = evaluate(problem, g_assign)
    t2 = time.perf_counter()
    progress(0.5, "solving (HiGHS MIP)")
    remaining = max(0.0, settings.time_limit_s - (t2 - t0))
    # stop at relative_gap of the plan's real cost (freight + lateness + carbon; the greedy cost bounds it)
    g_totals = _totals(cands, g_assign, g_eval, settings)
    params = SolveParams(time_limit_s=remaining, relative_gap=settings.relative_gap,
                         absolute_gap=settings.relative_gap * 0.5 * max(g_totals.total, 1.0))
    mip = solve_mip(problem, params, hint=g_assign, progress=lambda f, m: progress(0.5 + 0.49 * f, m))
    if any(a is None for a in mip.assignment):
        # repair: place what a time-limited incumbent left out where space remains (never worse)
        repaired = greedy(problem, order, start=mip.assignment)
        rep_eval = evaluate(problem, repaired)
        if rep_eval.feasible and rep_eval.objective < mip.objective - 1e-6:
            mip.assignment, mip.boxes, mip.objective = repaired, rep_eval.boxes, rep_eval.objective
            mip.gap = max(0.0, (mip.objective - mip.bound) / max(abs(mip.objective), 1.0))
    ev = evaluate(problem, mip.assignment)
    t3 = time.perf_counter()
    progress(1.0, "done")
    totals = _totals(cands, mip.assignment, ev, settings)
    return Plan(settings, list(shipments), cands, gen, problem, res_keys, pool_keys, mip.assignment, ev, g_assign, g_eval,
                mip, totals, g_totals, list(errors), dict(previous) if previous else None,
                {"candidates": round(t1 - t0, 3), "greedy": round(t2 - t1, 3), "solve": round(t3 - t2, 3),
                 "total": round(t3 - t0, 3)})


# --- reasons --------------------------------------------------------------------------------
def unassigned_reasons(p: Plan) -> list[dict[str, Any]]:
    """Each unassigned shipment with the binding reason (capacity: the full departures, named)."""
    out = []
    used = p.evaluation.used
    res_index = {k: j for j, k in enumerate(p.resource_keys)}
    for i, sc in enumerate(p.candidates):
        if p.assignment[i] is not None:
            continue
        s = sc.shipment
        if sc.reason is not None:
            out.append({"id": s.id, "row": s.row, "code": sc.code, "reason": sc.reason, "binding": []})
            continue
        binding: dict[str, str] = {}
        for c in sc.candidates:
            for k, amount in c.use:
                j = res_index[k]
                cap = p.problem.resources[j].capacity
                if used[j] + amount > cap + 1e-6:
                    binding.setdefault(k, f"{k.replace('|', ' ')} used {used[j]:.6g} of {cap:.6g}, needs {amount:.6g}")
            for pk, _, _ in c.pools:
                teu_key = p.generator.pools[pk].teu_resource
                if teu_key is not None and teu_key in res_index:
                    j = res_index[teu_key]
                    cap = p.problem.resources[j].capacity
                    if used[j] + 1 > cap + 1e-6:
                        binding.setdefault(teu_key, f"{teu_key.replace('|', ' ')} used {used[j]:.6g} of {cap:.6g}, no room for a box")
        names = list(binding.values())
        if names:
            reason = f"all {len(sc.candidates)} options are full within the horizon; binding: " + "; ".join(names[:6])
            if len(names) > 6:
                reason += f"; and {len(names) - 6} more"
            code = "capacity"
        else:
            reason, code = "not placed within the solver time limit", "time_limit"
        out.append({"id": s.id, "row": s.row, "code": code, "reason": reason, "binding": sorted(binding)})
    return out


# --- options ---------------------------------------------------------------------------------
def _pool_shares(p: Plan) -> dict[tuple[str, str], float]:
    """(pool key, shipment id) -> allocated box cost (pro rata of the larger of kg and m³ shares of a 40HQ)."""
    c40 = p.generator.c40
    members: dict[str, list[tuple[str, float]]] = {}
    for i, sc in enumerate(p.candidates):
        c = p.chosen(i)
        if c is None:
            continue
        for pk, kg, m3 in c.pools:
            members.setdefault(pk, []).append((sc.shipment.id, max(kg / c40.max_kg, m3 / c40.max_m3)))
    out: dict[tuple[str, str], float] = {}
    for j, pk in enumerate(p.pool_keys):
        ms = members.get(pk, [])
        total = sum(w for _, w in ms) or 1.0
        for sid, w in ms:
            out[(pk, sid)] = p.evaluation.box_cost[j] * w / total
    return out


def _boxes_text(p: Plan, pool_key: str) -> str:
    j = p.pool_keys.index(pool_key)
    info = p.problem.pools[j]
    parts = [f"{n}x{b.code}" for n, b in zip(p.evaluation.boxes[j], info.boxes, strict=True) if n]
    return "+".join(parts) or "0 boxes"


def candidate_option(net: Network, p: Plan, i: int, shares: Mapping[tuple[str, str], float] | None = None) -> Option:
    """The chosen candidate of shipment ``i`` as an Option (legs and cost lines as in quotes)."""
    sc = p.candidates[i]
    s = sc.shipment
    c = p.chosen(i)
    assert c is not None
    shares = shares if shares is not None else _pool_shares(p)
    gen = p.generator
    req = QuoteRequest(s.origin, s.destination, s.cargo, s.ready)
    costing = Costing(net, req, ignore_capacity=True)
    cur = net.currency
    legs: list[Leg] = []
    lines: list[CostLine] = []
    clearance_node = ""
    t90 = s.ready_minute
    k = 0
    pools = iter(c.pools)
    for step in c.structure:
        if step.service is None:
            clearance_node = step.node
            mins, fee = costing.clearance(step.node) or (0, 0.0)
            t90 += mins
            lines.append(CostLine("CUSTOMS_EXPORT", f"export clearance ({s.cargo.customs_mode.value}) at {net.nodes[step.node].name}",
                                  fee, cur, "per_shipment"))
            continue
        svc = net.services[step.service]
        dep = c.departs[k]
        k += 1
        idx = len(legs)
        price = costing.leg(svc)
        h_min, h_cost = costing.arrive(svc.destination)
        delay = 0 if svc.schedule.continuous else gen.delays.get(dep_key(svc.id, dep), 0)
        dep90 = max(dep, gen._next(svc, t90)) if not svc.schedule.continuous else max(dep, t90)
        arr90 = dep90 + round(svc.transit.p90_hours * 60) + delay
        t90 = arr90 + h_min
        departure = make_departure(svc, dep)
        if delay:
            departure = Departure(departure.service_id, departure.depart, departure.cutoff, from_minutes(to_minutes(departure.arrive) + delay))
        via = tuple(Waypoint(st.node, from_minutes(dep + round(st.offset_hours * 60)),
                             from_minutes(dep + round((st.offset_hours + st.dwell_hours) * 60))) for st in svc.stops)
        if c.consolidated and gen.consolidable(svc):
            pk, _, _ = next(pools)
            box = shares.get((pk, s.id), 0.0)
            fee = gen.pooled_charge(svc, s)
            boxes = _boxes_text(p, pk)
            leg_lines = [CostLine("CONSOL", f"{svc.carrier} consolidated box share (pool {boxes})", round(box, 2), cur,
                                  "pro rata of pool boxes (kg/m³ share of a 40HQ)", idx),
                         CostLine("CFS", "CFS stuffing and per-shipment charges (consolidated LCL)", round(fee, 2), cur,
                                  "per_shipment + per_m3", idx)]
            cost, equipment = box + fee, f"LCL consolidated ({boxes})"
            teu = 0
        else:
            leg_lines = [CostLine(pl.code, pl.description, pl.amount, svc.tariff.currency, pl.basis, idx) for pl in price.lines]
            cost, equipment, teu = price.total, price.equipment, price.teu
        legs.append(Leg(svc.id, svc.mode, svc.origin, svc.destination, svc.carrier, departure, from_minutes(arr90),
                        svc.distance_km, price.chargeable_kg, equipment, teu, cost, price.co2e_kg, via))
        lines.extend(leg_lines)
        if h_cost:
            lines.append(CostLine("HANDLING", f"handling at {net.nodes[svc.destination].name}", h_cost, cur,
                                  "per_shipment + per_t", idx))
    arrive = from_minutes(c.arrive)
    return Option(s.origin, s.destination, s.ready, tuple(legs), tuple(lines), cur, arrive, max(from_minutes(t90), arrive),
                  c.co2e_kg, clearance_node, s.cargo.customs_mode.value, ("consolidated",) if c.consolidated else (), net.as_of)


def capacity_use(p: Plan) -> list[dict[str, Any]]:
    """Used vs capacity of every departure (and warehouse inbound day) the plan touches, fullest first."""
    out = []
    for j, key in enumerate(p.resource_keys):
        used = p.evaluation.used[j]
        if used <= 1e-9:
            continue
        info = p.generator.resources[key]
        out.append({"service": info.service, "departure": info.departure, "unit": info.unit,
                    "used": round(used, 3), "capacity": info.capacity, "utilisation": round(used / info.capacity, 4)})
    out.sort(key=lambda r: (-r["utilisation"], r["departure"], r["unit"]))
    return out


def consolidation(p: Plan) -> list[dict[str, Any]]:
    """Boxes bought per pool (departure and cargo class) with their fill."""
    out = []
    kg: dict[str, float] = {}
    m3: dict[str, float] = {}
    count: dict[str, int] = {}
    for i in range(len(p.candidates)):
        c = p.chosen(i)
        if c is None:
            continue
        for pk, a, b in c.pools:
            kg[pk] = kg.get(pk, 0.0) + a
            m3[pk] = m3.get(pk, 0.0) + b
            count[pk] = count.get(pk, 0) + 1
    for j, pk in enumerate(p.pool_keys):
        if pk not in count:
            continue
        info = p.generator.pools[pk]
        boxes = {b.code: n for n, b in zip(p.evaluation.boxes[j], p.problem.pools[j].boxes, strict=True) if n}
        cap_kg = sum(n * b.max_kg for n, b in zip(p.evaluation.boxes[j], p.problem.pools[j].boxes, strict=True))
        cap_m3 = sum(n * b.max_m3 for n, b in zip(p.evaluation.boxes[j], p.problem.pools[j].boxes, strict=True))
        out.append({"departure": info.departure, "cargo_class": info.cargo_class, "shipments": count[pk], "boxes": boxes,
                    "kg": round(kg[pk], 1), "m3": round(m3[pk], 2),
                    "fill_kg": round(kg[pk] / cap_kg, 4) if cap_kg else None,
                    "fill_m3": round(m3[pk] / cap_m3, 4) if cap_m3 else None,
                    "box_cost": round(p.evaluation.box_cost[j], 2)})
    return out


def plan_to_dict(net: Network, p: Plan, *, options: bool = True) -> dict[str, Any]:
    """The plan as JSON: assignments (shipment id -> option as in quotes), unassigned with reasons,
    bad rows, cost, greedy baseline, gap, capacity use and consolidation pools."""
    shares = _pool_shares(p)
    assignments: dict[str, Any] = {}
    for i, sc in enumerate(p.candidates):
        c = p.chosen(i)
        if c is None:
            continue
        s = sc.shipment
        plan_info = {"key": c.key, "consolidated": c.consolidated, "late_days": round(c.late_days, 2),
                     "due": local_iso(s.due, net.nodes[s.destination].tz), "row": s.row}
        if options:
            doc = option_to_dict(net, candidate_option(net, p, i, shares))
        else:
            doc = {"id": "+".join(dep_key(step.service, d) for step, d in zip([x for x in c.structure if x.service], c.departs, strict=True)),
                   "arrive_p50": local_iso(from_minutes(c.arrive), net.nodes[s.destination].tz)}
        doc["plan"] = plan_info
        assignments[s.id] = doc
    t, g = p.totals, p.greedy_totals
    saving = g.total - t.total
    mip = p.mip
    abs_gap = max(0.0, mip.objective - mip.bound) if math.isfinite(mip.bound) else None
    gap = (abs_gap / max(t.total, 1.0)) if abs_gap is not None else None
    out = {
        "summary": {"shipments": len(p.shipments), "assigned": t.assigned, "unassigned": t.unassigned,
                    "bad_rows": len(p.errors), "consolidated": sum(1 for c in p.assignments().values() if c.consolidated)},
        "assignments": assignments,
        "unassigned": unassigned_reasons(p),
        "errors": [{"row": e.row, "field": e.field, "message": e.detail.split(": ", 1)[-1]} for e in p.errors],
        "cost": {"total": t.total, "freight": t.freight, "lateness": t.lateness, "carbon": t.carbon,
                 "co2e_kg": t.co2e_kg, "currency": net.currency},
        "baseline": {"method": "greedy first-come-first-served (ready-date order, cheapest still-feasible option)",
                     "greedy_total": g.total, "greedy_freight": g.freight, "greedy_lateness": g.lateness,
                     "greedy_carbon": g.carbon, "greedy_unassigned": g.unassigned,
                     "saving": round(saving, 2), "saving_pct": round(100.0 * saving / g.total, 2) if g.total else 0.0},
        "gap": round(gap, 6) if gap is not None else None,
        "solver": {"name": "HiGHS MIP (OR-Tools MathOpt)", "status": mip.status, "time_s": round(mip.time_s, 3),
                   "time_limit_s": p.settings.time_limit_s, "objective": round(mip.objective, 2),
                   "bound": round(mip.bound, 2) if math.isfinite(mip.bound) else None,
                   "returned_greedy_hint": mip.used_hint, "plan_from": mip.source,
                   "variables": sum(len(c) for c in p.problem.choices) + sum(len(x.boxes) for x in p.problem.pools),
                   "timings_s": p.timings_s, "phases_s": mip.phases_s, "phase_objectives": mip.objectives},
        "capacity_use": capacity_use(p),
        "consolidation": consolidation(p),
        "weights": {"late_per_day": p.settings.late_per_day, "late_value_pct_per_day": p.settings.late_value_pct_per_day,
                    "carbon_price_per_t": p.settings.carbon_price_per_t, "max_late_days": p.settings.max_late_days,
                    "horizon_days": p.settings.horizon_days},
        "data_as_of": net.as_of,
    }
    if p.previous is not None:
        out["moved"] = p.moved
    return out
