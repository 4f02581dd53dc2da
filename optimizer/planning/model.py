"""The batch-planning MIP of a :class:`~optimizer.planning.problem.PlanProblem` as a MathOpt model for HiGHS.

    min  sum cost*x + sum unassigned*u + sum box_cost*n
    s.t. sum_c x[i,c] + u[i] = 1                    each item once, or unassigned
         sum use*x + sum teu*n <= capacity          every resource
         sum kg*x <= sum max_kg*n,  sum m3*x <= sum max_m3*n   every pool
         sum_b n[p,b]/need[i,p,b] >= sum of item i's x using pool p   (valid strengthening, link_weights)
         x binary, n integer >= 0

:func:`build_model` turns a problem into that model, :func:`solve_relaxation` solves its LP
relaxation (the bound, and the point LP rounding and the pool cuts start from). Branch-and-bound on
it is in optimizer.planning.branch_and_bound, the phases of a solve in optimizer.planning.solve; why
a MIP and the limits are in optimizer.planning.planner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from optimizer.planning.problem import EPS, PlanProblem, link_weights

__all__ = ["MipModel", "build_model", "solve_relaxation"]


@dataclass
class MipModel:
    """The MathOpt model of a :class:`~optimizer.planning.problem.PlanProblem` and its variables (x per item and choice, u per item, n per pool and box type)."""

    model: object
    x: list[list[object]]
    u: list[object]
    n: list[list[object]]


def build_model(problem: PlanProblem, *, strengthen: bool = True) -> MipModel:
    """The MIP of the module docstring as a MathOpt model (HiGHS solves it in optimizer.planning.branch_and_bound and optimizer.planning.bound).

    The rows and columns are collected as plain arrays and handed to MathOpt's C++ model in a few
    batch calls: adding 1.5e5 variables one coefficient at a time took 7.5 s at 10,000 shipments.
    """
    import numpy as np
    from ortools.math_opt.elemental.python import enums
    from ortools.math_opt.python import mathopt

    n_res, n_pools = len(problem.resources), len(problem.pools)
    row_lb: list[float] = [-math.inf] * (n_res + 2 * n_pools)
    row_ub: list[float] = [r.capacity for r in problem.resources]
    row_ub += [-p.base_kg for p in problem.pools] + [-p.base_m3 for p in problem.pools]
    kg_row, m3_row = n_res, n_res + n_pools  # + pool index
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    var_lb: list[float] = []
    var_ub: list[float] = []
    var_int: list[bool] = []
    var_obj: list[float] = []

    def new_var(lb: float, ub: float, integer: bool, cost: float) -> int:
        var_lb.append(lb)
        var_ub.append(ub)
        var_int.append(integer)
        var_obj.append(cost)
        return len(var_lb) - 1

    def new_row(lb: float, ub: float) -> int:
        row_lb.append(lb)
        row_ub.append(ub)
        return len(row_lb) - 1

    n_cols: list[list[int]] = []
    for p, pool in enumerate(problem.pools):
        row = []
        for b in pool.boxes:
            v = new_var(0.0, math.inf, True, b.cost)
            rows += (kg_row + p, m3_row + p)
            cols += (v, v)
            vals += (-b.max_kg, -b.max_m3)
            if pool.teu_resource is not None:
                rows.append(pool.teu_resource)
                cols.append(v)
                vals.append(float(b.teu))
            row.append(v)
        n_cols.append(row)
        if strengthen and (pool.base_kg > EPS or pool.base_m3 > EPS):  # the fixed cargo alone needs these boxes
            base = new_row(1.0, math.inf)
            for v, w in zip(row, link_weights(pool, pool.base_kg, pool.base_m3), strict=True):
                rows.append(base)
                cols.append(v)
                vals.append(w)
    x_cols: list[list[int]] = []
    u_cols: list[int | None] = []
    constant = 0.0
    for i, choices in enumerate(problem.choices):
        if not choices:
            constant += problem.unassigned_cost[i]  # nothing to decide
            u_cols.append(None)
            x_cols.append([])
            continue
        # explicit "unassigned" slack: the objective is the real cost, so HiGHS's relative gap is
        # measured against it (a constant offset of penalties would make a 0.5 % gap meaningless)
        u = new_var(0.0, 1.0, False, problem.unassigned_cost[i])
        u_cols.append(u)
        one = new_row(1.0, 1.0)
        rows.append(one)
        cols.append(u)
        vals.append(1.0)
        links: dict[int, int] = {}
        row_x = []
        for ch in choices:
            v = new_var(0.0, 1.0, True, ch.cost)
            rows.append(one)
            cols.append(v)
            vals.append(1.0)
            for r, amount in ch.use:
                rows.append(r)
                cols.append(v)
                vals.append(amount)
            for p, kg, m3 in ch.pool_use:
                rows += (kg_row + p, m3_row + p)
                cols += (v, v)
                vals += (kg, m3)
                if strengthen:
                    # a pool holding the item buys the boxes the item alone needs (link_weights):
                    # lifts the LP bound of lightly loaded pools from "pay per m³" to "pay for a
                    # box" (facility-location style). One row per item and pool, summing the item's
                    # choices that use the pool: an item spread over several choices of one pool
                    # cannot open a fraction of a box per choice.
                    link = links.get(p)
                    if link is None:
                        link = links[p] = new_row(0.0, math.inf)
                        for nv, w in zip(n_cols[p], link_weights(problem.pools[p], kg, m3), strict=True):
                            rows.append(link)
                            cols.append(nv)
                            vals.append(w)
                    rows.append(link)
                    cols.append(v)
                    vals.append(-1.0)
            row_x.append(v)
        x_cols.append(row_x)

    m = mathopt.Model(name="cbec-plan")
    el = m._elemental  # noqa: SLF001 - MathOpt's batch interface (numpy in, no per-element Python objects)
    var_ids = el.add_elements(enums.ElementType.VARIABLE, len(var_lb))
    con_ids = el.add_elements(enums.ElementType.LINEAR_CONSTRAINT, len(row_lb))
    vkeys = var_ids.reshape(-1, 1)
    el.set_attrs(enums.DoubleAttr1.VARIABLE_LOWER_BOUND, vkeys, np.asarray(var_lb, dtype=np.float64))
    el.set_attrs(enums.DoubleAttr1.VARIABLE_UPPER_BOUND, vkeys, np.asarray(var_ub, dtype=np.float64))
    el.set_attrs(enums.BoolAttr1.VARIABLE_INTEGER, vkeys, np.asarray(var_int, dtype=bool))
    el.set_attrs(enums.DoubleAttr1.OBJECTIVE_LINEAR_COEFFICIENT, vkeys, np.asarray(var_obj, dtype=np.float64))
    ckeys = con_ids.reshape(-1, 1)
    el.set_attrs(enums.DoubleAttr1.LINEAR_CONSTRAINT_LOWER_BOUND, ckeys, np.asarray(row_lb, dtype=np.float64))
    el.set_attrs(enums.DoubleAttr1.LINEAR_CONSTRAINT_UPPER_BOUND, ckeys, np.asarray(row_ub, dtype=np.float64))
    if vals:
        keys = np.stack([con_ids[np.asarray(rows, dtype=np.int64)], var_ids[np.asarray(cols, dtype=np.int64)]], axis=1)
        el.set_attrs(enums.DoubleAttr2.LINEAR_CONSTRAINT_COEFFICIENT, keys, np.asarray(vals, dtype=np.float64))
    if constant:
        el.set_attr(enums.DoubleAttr0.OBJECTIVE_OFFSET, (), constant)
    var = [m.get_variable(int(k), validate=False) for k in var_ids]
    return MipModel(m, [[var[c] for c in row] for row in x_cols], [None if c is None else var[c] for c in u_cols],
                    [[var[c] for c in row] for row in n_cols])


def solve_relaxation(built: MipModel, time_limit_s: float | None = None):
    """Solve the LP relaxation of ``built`` with HiGHS (integrality lifted for the solve, then restored)."""
    from ortools.math_opt.python import mathopt

    int_vars = [v for row in built.x for v in row] + [v for row in built.n for v in row]
    for v in int_vars:
        v.integer = False
    try:
        params = mathopt.SolveParameters(time_limit=timedelta(seconds=time_limit_s)) if time_limit_s is not None else None
        return mathopt.solve(built.model, mathopt.SolverType.HIGHS, params=params)
    finally:
        for v in int_vars:
            v.integer = True
