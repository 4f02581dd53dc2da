"""`cbec warehouses design|stock`: shared overseas warehouse network design and stock positioning."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.app import warehouses_app
from api.cli.common import console, errors_as_exit, print_json, progress_bar
from api.cli.quote import option_names
from optimizer.network import load_network
from optimizer.warehouses.design import (
    DEFAULT_DEMAND,
    DesignSettings,
    demand_rows,
    design_shared_network,
    with_settings,
)
from optimizer.warehouses.facility import DesignOptions, solve_design
from optimizer.warehouses.limits import (
    BUDGET,
    CAPACITY,
    CARBON_PRICE,
    FILL_RATE,
    MAX_DAYS,
    OPEN_SITES,
    REVIEW_DAYS,
    TIME_LIMIT_S,
)
from optimizer.warehouses.orlib import read_capopt, read_orlib_cap
from optimizer.warehouses.policies import stock_policies

SolverOpt = Annotated[str, typer.Option("--solver", help="MIP solver through OR-Tools: SCIP | HIGHS | CBC")]
MethodOpt = Annotated[str, typer.Option("--method", help="auto | reduce (Lagrangian site elimination + strong MIP) | strong | plain")]
DemandOpt = Annotated[Path, typer.Option("--demand", help="demand CSV: market, family, mean_m3_day, sd_m3_day, kg_per_m3[, max_days]")]
MaxDaysOpt = Annotated[float | None, typer.Option("--max-days", help=f"service level: max delivery days warehouse → market, {MAX_DAYS.describe()}")]
CarbonOpt = Annotated[float | None, typer.Option("--carbon-price", help=f"USD per tonne CO2e added to every cost, {CARBON_PRICE.describe()}")]
# engine errors name a field; the one error line names the option instead
OPTIONS = {"carbon_price": "--carbon-price", "max_days": "--max-days", "time_limit": "--time-limit", "max_open": "--max-open",
           "n_open": "--open", "budget": "--budget", "capacity": "--capacity", "fill_rate": "--fill-rate",
           "review_days": "--review-days", "policy": "--policy", "warehouses": "--warehouse", "warehouse": "--warehouse",
           "solver": "--solver", "method": "--method"}


def _known_optimum(path: Path, name: str) -> float | None:
    capopt = path.parent / "capopt.txt"
    return read_capopt(capopt).get(name) if capopt.exists() else None


@warehouses_app.command("design")
def design_cmd(
    orlib: Annotated[Path | None, typer.Option("--orlib", help="solve an OR-Library cap*.txt instance instead of the bundled network")] = None,
    capacity: Annotated[float | None, typer.Option("--capacity", help="warehouse capacity for capa/capb/capc (the file says 'capacity')")] = None,
    demand: DemandOpt = DEFAULT_DEMAND,
    single_sourcing: Annotated[bool, typer.Option("--single-sourcing", help="each market/family from exactly one warehouse")] = False,
    max_open: Annotated[int | None, typer.Option("--max-open", help="open at most N warehouses")] = None,
    n_open: Annotated[int | None, typer.Option("--open", help="open exactly N warehouses")] = None,
    budget: Annotated[float | None, typer.Option("--budget", help="cap on the fixed cost (rent share) of open warehouses")] = None,
    max_days: MaxDaysOpt = None,
    carbon_price: CarbonOpt = None,
    solver: SolverOpt = "SCIP",
    method: MethodOpt = "auto",
    time_limit: Annotated[float, typer.Option("--time-limit", help=f"seconds, {TIME_LIMIT_S.describe()}")] = 600.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the design as JSON")] = False,
) -> None:
    """Which shared warehouses to open and which markets each serves (capacitated facility location, proven gap)."""
    opts = DesignOptions(single_sourcing=single_sourcing, max_open=max_open, n_open=n_open, budget=budget,
                         solver=solver.upper(), method=method, time_limit=time_limit)
    with errors_as_exit(), option_names(OPTIONS), progress_bar("designing", enabled=not as_json) as progress:
        TIME_LIMIT_S.check(time_limit, "time_limit", "time limit")  # every bound before any work
        for value, field, bound in ((capacity, "capacity", CAPACITY), (budget, "budget", BUDGET), (max_open, "max_open", OPEN_SITES),
                                    (n_open, "n_open", OPEN_SITES), (max_days, "max_days", MAX_DAYS),
                                    (carbon_price, "carbon_price", CARBON_PRICE)):
            if value is not None:
                bound.check(value, field)
        if orlib is not None:
            problem = read_orlib_cap(orlib, capacity)
            result = solve_design(problem, opts, progress=progress)
            doc = result.to_dict()
            doc["known_optimum"] = _known_optimum(orlib, problem.name)
            units = ""
        else:
            net = load_network()
            settings = with_settings(DesignSettings(), max_days=max_days, carbon_price=carbon_price)
            design = design_shared_network(net, demand_rows(net, path=demand), settings, opts, progress=progress)
            result, doc = design.result, design.to_dict()
            units = f" {design.objective_units}"
    if as_json:
        print_json(doc)
        return
    console.print(f"[bold]{result.name}[/]: {result.status}, objective {result.objective:,.2f}{units}, "
                  f"bound {result.bound:,.2f}, gap {result.gap:.2e}, {result.solve_seconds:.2f} s ({result.solver}, {result.method})")
    if doc.get("known_optimum") is not None:
        ref = doc["known_optimum"]
        console.print(f"known optimum (capopt) {ref:,.3f}: relative difference {abs(result.objective - ref) / ref:.1e}")
    table = Table(title=f"{len(result.open)} open of {result.stats.get('sites')} candidate sites")
    for col in ("site", "utilisation", "serves"):
        table.add_column(col)
    served: dict[str, list[str]] = {}
    for cust, shares in result.assignment.items():
        for site, f in shares.items():
            served.setdefault(site, []).append(cust if f > 0.999 else f"{cust} ({f:.0%})")
    for site in result.open:
        names = served.get(site, [])
        text = ", ".join(names[:8]) + (f" … (+{len(names) - 8})" if len(names) > 8 else "")
        table.add_row(site, f"{result.utilisation.get(site, 0):.0%}", text)
    console.print(table)


@warehouses_app.command("stock")
def stock_cmd(
    warehouse: Annotated[list[str] | None, typer.Option("--warehouse", help="only these warehouses (must be open in the design)")] = None,
    fill_rate: Annotated[float, typer.Option("--fill-rate", help="target fill rate (share of demand served from stock), in (0, 1)")] = 0.95,
    policy: Annotated[str, typer.Option("--policy", help="base-stock (periodic review, order-up-to) | sS (continuous review)")] = "base-stock",
    review_days: Annotated[float, typer.Option("--review-days", help="review period for base-stock (weekly train: 7), in (0, 90]")] = 7.0,
    demand: DemandOpt = DEFAULT_DEMAND,
    max_days: MaxDaysOpt = None,
    carbon_price: CarbonOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the policies as JSON")] = False,
) -> None:
    """Replenishment policy per open warehouse and product family: safety stock, fill rate, holding cost."""
    with errors_as_exit(), option_names(OPTIONS):
        FILL_RATE.check(fill_rate, "fill_rate", "target fill rate")  # every bound before any work
        REVIEW_DAYS.check(review_days, "review_days", "review period")
        for value, field, bound in ((max_days, "max_days", MAX_DAYS), (carbon_price, "carbon_price", CARBON_PRICE)):
            if value is not None:
                bound.check(value, field)
        net = load_network()
        settings = with_settings(DesignSettings(), max_days=max_days, carbon_price=carbon_price)
        plan = stock_policies(net, demand_rows(net, path=demand), fill_rate=fill_rate, policy=policy,
                              review_days=review_days, warehouses=warehouse, settings=settings, time_limit=120.0)
    if as_json:
        print_json(plan.to_dict())
        return
    table = Table(title=f"{policy} policies, target fill rate {fill_rate:.1%}; stock in m³, holding cost {plan.cost_units}",
                  caption="S order-up-to, s reorder point (sS), SS safety stock; lead time of the inbound route, days")
    for col in ("warehouse", "family", "m³/day", "lead p50/p90", "S", "s", "SS", "fill", "cost/yr"):
        table.add_column(col, justify="left" if col in ("warehouse", "family") else "right", no_wrap=True)
    for p in plan.policies:
        lane = plan.design.lanes[(p.warehouse, p.family)]
        table.add_row(p.warehouse, p.family, f"{p.demand_mean:.1f}±{p.demand_sd:.1f}",
                      f"{lane.p50_days:.1f}/{lane.p90_days:.1f}", f"{p.order_up_to:.0f}",
                      "-" if p.reorder_point is None else f"{p.reorder_point:.0f}", f"{p.safety_stock:.0f}",
                      f"{p.expected_fill_rate:.1%}", f"{p.holding_cost_year:,.0f}")
    console.print(table)
