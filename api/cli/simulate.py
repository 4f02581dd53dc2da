"""`cbec simulate SCENARIO.yaml`, `cbec simulate compare A.yaml B.yaml ...`, `cbec simulate replay SCENARIO`.

The first argument is either a sub-command (``run``, ``compare``, ``replay``) or a scenario (a YAML
path or the name of a bundled scenario: baseline, mianyang_railport, more_trains, alashankou_congestion,
peak_season, ...). Every option has the bounds of :mod:`simulation.limits` (the API's too); a value
out of bounds, a bad scenario or a run over the work budget is one line on stderr and exit code 2.
``--workers`` above this machine's cores is capped (with a note), never refused.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.table import Table
from typer.core import TyperGroup

from api.cli.app import app
from api.cli.common import console, err_console, errors_as_exit, print_json, progress_bar
from optimizer.errors import InvalidInput
from optimizer.network import load_network
from simulation.budget import check_work
from simulation.scenario import clip


class _ScenarioFirstGroup(TyperGroup):
    """A group whose first argument may be a scenario path instead of a sub-command (then: ``run``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


simulate_app = typer.Typer(
    cls=_ScenarioFirstGroup,
    help="Throughput simulation of the export chain (SimPy): KPIs with 95 % CIs over replications, "
    "scenario comparison, plots, IoT replay. Usage: cbec simulate SCENARIO.yaml | cbec simulate compare A B ...",
    no_args_is_help=True,
)
app.add_typer(simulate_app, name="simulate")

HEADLINE = (
    ("throughput_per_day", "throughput (consignments/day)"),
    ("throughput_t_per_day", "throughput (t/day)"),
    ("lead_time_days", "lead time mean (days)"),
    ("lead_time_days.p50", "lead time p50 (days)"),
    ("lead_time_days.p90", "lead time p90 (days)"),
    ("lead_time_days.p95", "lead time p95 (days)"),
    ("on_time_rate", "on time vs quoted p90"),
    ("wip", "work in progress (consignments)"),
    ("cost_per_t", "cost per tonne (USD)"),
    ("co2e_kg_per_t", "CO2e per tonne (kg)"),
)


def _load(name: str, seed: int | None, horizon_days: float | None, warmup_days: float | None):
    from simulation.experiment import with_overrides
    from simulation.scenario import load_scenario

    net = load_network()
    sc = with_overrides(load_scenario(name, net), f"{clip(name)} (command line)", seed=seed, horizon_days=horizon_days,
                        warmup_days=warmup_days)
    return sc, net


def _check_run_options(replications: int | None, workers: int | None, plot_format: str, plots: Path | None,
                       min_replications: int = 1) -> None:
    """The run options' bounds (simulation.limits), each refused with one line naming the option and the limit."""
    from simulation import limits as L

    if replications is not None and not min_replications <= replications <= L.MAX_REPLICATIONS:
        raise InvalidInput(f"--replications must be between {min_replications} and {L.MAX_REPLICATIONS} (got {replications})",
                           field="replications")
    if workers is not None and not 1 <= workers <= L.MAX_WORKERS:
        raise InvalidInput(f"--workers must be between 1 and {L.MAX_WORKERS} (got {workers}); at most one per core is used",
                           field="workers")
    if plot_format not in ("png", "svg"):
        raise InvalidInput(f"--plot-format must be png or svg (got {clip(plot_format, 20)})", field="plot_format")
    if plots is not None and plots.exists() and not plots.is_dir():
        raise InvalidInput(f"--plots: {clip(plots)} exists and is not a directory", field="plots")


def _note_workers(workers: int | None, n: int) -> None:
    """Say so when --workers asked for more processes than this machine gives."""
    from optimizer.settings import get_settings
    from simulation.runner import effective_workers

    if workers is not None and not get_settings().dask_scheduler:
        used = effective_workers(workers, n)
        if used < min(workers, n):
            err_console.print(f"[dim]using {used} worker process{'es' if used > 1 else ''} (one per core of this machine)[/]")


def _check_replay_options(speed: float, days: float | None, interval_min: float,
                          names: tuple[str, str] = ("--publish-days", "--publish-interval")) -> None:
    from simulation import limits as L

    if not (math.isfinite(speed) and 0 < speed <= L.MAX_REPLAY_SPEED):
        raise InvalidInput(f"--speed must be above 0 and at most {L.MAX_REPLAY_SPEED:g} (got {speed:g})", field="speed")
    if days is not None and not (math.isfinite(days) and 0 < days <= L.MAX_DAY):
        raise InvalidInput(f"{names[0]} must be above 0 and at most {L.MAX_DAY:g} (got {days:g})",
                           field=names[0].removeprefix("--").replace("-", "_"))
    if not (math.isfinite(interval_min) and L.MIN_REPLAY_INTERVAL_MIN <= interval_min <= L.MAX_REPLAY_INTERVAL_MIN):
        raise InvalidInput(f"{names[1]} must be between {L.MIN_REPLAY_INTERVAL_MIN:g} and "
                           f"{L.MAX_REPLAY_INTERVAL_MIN:g} minutes (got {interval_min:g})",
                           field=names[1].removeprefix("--").replace("-", "_"))


def _get(kpis: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    node: Any = kpis
    for p in dotted.split("."):
        node = node.get(p) if isinstance(node, dict) else None
    return node if isinstance(node, dict) and "mean" in node else None


def _fmt(stat: dict[str, Any] | None, pct: bool = False) -> tuple[str, str]:
    if stat is None or stat["mean"] is None:
        return "–", ""
    f = (lambda x: f"{100 * x:.1f} %") if pct else (lambda x: f"{x:,.2f}")
    lo, hi = stat["ci95"]
    return f(stat["mean"]), (f"[{f(lo)}, {f(hi)}]" if lo is not None else "n/a (1 replication)")


def _print_report(rep: dict[str, Any]) -> None:
    t = Table(title=f"{rep['scenario']}: {rep['replications']} replications, {rep['horizon_days']:g} days "
                    f"(warm-up {rep['warmup_days']:g}), seed {rep['seed']}")
    t.add_column("KPI")
    t.add_column("mean", justify="right")
    t.add_column("95 % CI", justify="right")
    for key, label in HEADLINE:
        m, ci = _fmt(_get(rep["kpis"], key), pct=key == "on_time_rate")
        t.add_row(label, m, ci)
    for group in ("by_mode", "by_customs_mode"):
        for k, v in rep["kpis"].get("lead_time_days", {}).get(group, {}).items():
            m, ci = _fmt(v)
            t.add_row(f"lead time mean, {k}", m, ci)
    console.print(t)
    st = Table(title="busiest stages")
    for col in ("stage", "servers", "utilisation", "mean queue", "mean wait (h)"):
        st.add_column(col, justify="left" if col == "stage" else "right")
    stages = sorted(rep.get("stages", {}).items(), key=lambda kv: -(kv[1].get("utilisation", {}).get("mean") or 0))[:10]
    for name, s in stages:
        st.add_row(name, str(s.get("capacity", "")), _fmt(s.get("utilisation"), pct=True)[0], _fmt(s.get("queue"))[0],
                   _fmt(s.get("wait_hours"))[0])
    console.print(st)
    rt = rep["runtime"]
    console.print(f"[dim]{rt['events_per_replication']:,} events and {rt['seconds_per_replication']} s per replication; "
                  f"CIs: {rep['confidence']}[/]")


@simulate_app.command("run")
def run_cmd(
    scenario: Annotated[str, typer.Argument(help="scenario YAML file, or a bundled scenario name (e.g. baseline)")],
    replications: Annotated[int | None, typer.Option("--replications", "-n", help="independent replications, 1-200 (default: the scenario's)")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="root seed (default: the scenario's)")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-w", help="worker processes, at most one per core (default: one per core; 1: in this process; ignored with CBEC_DASK_SCHEDULER)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report (kpis with mean and ci95) as JSON")] = False,
    plots: Annotated[Path | None, typer.Option("--plots", help="write plots (lead time, queues, utilisation) into this directory")] = None,
    plot_format: Annotated[str, typer.Option("--plot-format", help="png | svg")] = "png",
    horizon_days: Annotated[float | None, typer.Option("--horizon-days", help="override the scenario's horizon (at most 1098 days)")] = None,
    warmup_days: Annotated[float | None, typer.Option("--warmup-days", help="override the scenario's warm-up")] = None,
    publish: Annotated[str | None, typer.Option("--publish", help="replay replication 0 over MQTT, e.g. mqtt://127.0.0.1:1883")] = None,
    speed: Annotated[float, typer.Option("--speed", help="replay speed-up (3600: one simulated hour per second)")] = 3600.0,
    publish_days: Annotated[float | None, typer.Option("--publish-days", help="replay only the first N simulated days")] = None,
    publish_interval: Annotated[float, typer.Option("--publish-interval", help="minutes of simulated time between fixes (1-1440)")] = 60.0,
) -> None:
    """Simulate one scenario: KPIs per stage and end to end, each with a 95 % CI over replications.

    With CBEC_API_URL set, the deployed service simulates (POST /v1/simulations, a job; plots downloaded)."""
    from api.cli.remote import remote
    from simulation.experiment import run_experiment

    with errors_as_exit():
        _check_run_options(replications, workers, plot_format, plots)
        service = remote()
        if service is not None:
            with service:
                rep = _remote_run(service, scenario, replications, seed, workers, plots, plot_format, horizon_days,
                                  warmup_days, publish)
            _show_run(rep, as_json, publish)
            return
        if publish:
            from simulation.replay import parse_broker

            parse_broker(publish)
            _check_replay_options(speed, publish_days, publish_interval)
        sc, net = _load(scenario, seed, horizon_days, warmup_days)
        check_work([(sc, clip(scenario))], replications or sc.replications, net)  # before the progress bar shows
        _note_workers(workers, replications or sc.replications)
        with progress_bar(f"simulating {sc.name}") as progress:
            # the CLI runs in the user's own process: one worker may run right here
            run = run_experiment([sc], replications, workers=workers, progress=progress, plots_dir=plots,
                                 plot_format=plot_format, isolate=False, sources=[clip(scenario)]).runs[0]
        rep = run.report
        if plots:
            rep["plots"] = [str(p) for p in run.plots]
        if publish:
            rep["replay"] = _replay(sc, net, publish, speed, publish_days, publish_interval)
    _show_run(rep, as_json, publish)


def _show_run(rep: dict[str, Any], as_json: bool, publish: str | None) -> None:
    if as_json:
        print_json(rep)
    else:
        _print_report(rep)
        for p in rep.get("plots", []):
            console.print(f"wrote {p}")
        if "replay" in rep:
            console.print(f"published {rep['replay']['acknowledged']}/{rep['replay']['messages']} messages to {publish}")


REMOTE_FIELDS = {"replications": "--replications", "seed": "--seed", "workers": "--workers",
                 "horizon_days": "--horizon-days", "warmup_days": "--warmup-days", "plot_format": "--plot-format"}


def _remote_run(service, scenario: str, replications: int | None, seed: int | None, workers: int | None,
                plots: Path | None, plot_format: str, horizon_days: float | None, warmup_days: float | None,
                publish: str | None) -> dict[str, Any]:
    """The report of a simulation run by the service: a bundled scenario by name, a file read here (its
    ``extends`` merged) and sent whole; the service checks the ids and the work budget. Plots are downloaded
    into ``plots``."""
    from urllib.parse import urlsplit

    from api.cli.remote import RemoteProblem
    from simulation.scenario import BUNDLED_DIR, load_scenario, resolve_path

    if publish:
        raise InvalidInput("--publish does not apply in remote mode (CBEC_API_URL is set): run `cbec simulate replay` "
                           "here instead", field="publish")
    path = resolve_path(scenario)
    ref: Any = scenario if path.parent == BUNDLED_DIR and path.exists() else load_scenario(scenario).to_doc()
    body = {"scenario": ref, "replications": replications, "seed": seed, "workers": workers,
            "horizon_days": horizon_days, "warmup_days": warmup_days, "plots": plots is not None,
            "plot_format": plot_format}
    body = {k: v for k, v in body.items() if v is not None}
    try:
        doc = service.run_job("/v1/simulations", body, f"simulating {clip(scenario)}")
    except RemoteProblem as exc:
        field = (exc.field or "").split(".")[0].split("[")[0]
        option = REMOTE_FIELDS.get(field)
        if option and not exc.detail.startswith(option):
            exc.detail = f"{option}: {exc.detail}"
        elif exc.field and field not in REMOTE_FIELDS and clip(scenario) not in exc.detail:
            exc.detail = f"{clip(scenario)}: {exc.detail}"
        raise
    rep = dict(doc["report"])
    if plots is not None:
        plots.mkdir(parents=True, exist_ok=True)
        written = []
        for url in doc.get("plots", []):
            name = urlsplit(url).path.rsplit("/", 1)[-1]
            if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\.(png|svg)", name):
                continue  # only plain file names are written here, whatever the service says
            target = plots / name
            target.write_bytes(service.request("GET", urlsplit(url).path).content)
            written.append(str(target))
        rep["plots"] = written
    return rep


def _replay(sc, net, url: str, speed: float, days: float | None, interval_min: float,
            names: tuple[str, str] = ("--publish-days", "--publish-interval")) -> dict[str, Any]:
    from simulation.replay import build_messages, parse_broker, publish, run_traced

    parse_broker(url)
    _check_replay_options(speed, days, interval_min, names)
    model = run_traced(sc, net, 0)
    msgs = build_messages(model, interval_min / 60.0, days)
    with progress_bar(f"replaying {len(msgs)} messages at {speed:g}x") as progress:
        acked = publish(msgs, url, speed=speed, progress=progress, total=len(msgs))
    return {"broker": url, "messages": len(msgs), "acknowledged": acked, "speed": speed}


@simulate_app.command("replay")
def replay_cmd(
    scenario: Annotated[str, typer.Argument(help="scenario YAML file, or a bundled scenario name (e.g. baseline)")],
    broker: Annotated[str, typer.Option("--broker", help="MQTT broker, e.g. mqtt://127.0.0.1:1883")] = "mqtt://127.0.0.1:1883",
    speed: Annotated[float, typer.Option("--speed", help="replay speed-up (3600: one simulated hour per second)")] = 3600.0,
    days: Annotated[float | None, typer.Option("--days", help="replay only the first N simulated days")] = None,
    interval: Annotated[float, typer.Option("--interval", help="minutes of simulated time between fixes (1-1440)")] = 60.0,
    seed: Annotated[int | None, typer.Option("--seed", help="root seed (default: the scenario's)")] = None,
    horizon_days: Annotated[float | None, typer.Option("--horizon-days", help="override the scenario's horizon")] = None,
    warmup_days: Annotated[float | None, typer.Option("--warmup-days", help="override the scenario's warm-up")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print what was published as JSON")] = False,
) -> None:
    """Run replication 0 of a scenario and publish its GPS fixes and warehouse readings over MQTT (the ingest formats)."""
    with errors_as_exit():
        from simulation.replay import parse_broker

        parse_broker(broker)
        _check_replay_options(speed, days, interval, ("--days", "--interval"))
        sc, net = _load(scenario, seed, horizon_days, warmup_days)
        check_work([(sc, clip(scenario))], 1, net)
        out = _replay(sc, net, broker, speed, days, interval, ("--days", "--interval"))
    if as_json:
        print_json(out)
    else:
        console.print(f"published {out['acknowledged']}/{out['messages']} messages to {broker}")


@simulate_app.command("compare")
def compare_cmd(
    scenarios: Annotated[list[str], typer.Argument(help="two to ten scenarios; the first is the baseline")],
    replications: Annotated[int | None, typer.Option("--replications", "-n", help="replications per scenario, 2-200 (default: the first scenario's)")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="root seed shared by all scenarios (default: the first scenario's)")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-w", help="worker processes, at most one per core (1: in this process)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print reports and differences as JSON")] = False,
    plots: Annotated[Path | None, typer.Option("--plots", help="write the comparison plot into this directory")] = None,
    plot_format: Annotated[str, typer.Option("--plot-format", help="png | svg")] = "png",
    horizon_days: Annotated[float | None, typer.Option("--horizon-days")] = None,
    warmup_days: Annotated[float | None, typer.Option("--warmup-days")] = None,
) -> None:
    """Compare scenarios with the first one: paired differences (common random numbers), 95 % CIs, significance."""
    from simulation import limits as L
    from simulation.experiment import run_experiment

    with errors_as_exit():
        if len(scenarios) < 2:
            raise InvalidInput("compare needs at least two scenarios", field="scenarios")
        if len(scenarios) > L.MAX_SCENARIOS_PER_REQUEST:
            raise InvalidInput(f"compare takes at most {L.MAX_SCENARIOS_PER_REQUEST} scenarios (got {len(scenarios)})",
                               field="scenarios")
        _check_run_options(replications, workers, plot_format, plots, min_replications=2)
        loaded = [_load(s, seed, horizon_days, warmup_days)[0] for s in scenarios]
        check_work(list(zip(loaded, [clip(s) for s in scenarios])), replications or loaded[0].replications, load_network())
        _note_workers(workers, replications or loaded[0].replications)
        with progress_bar("comparing") as progress:
            exp = run_experiment(loaded, replications, workers=workers, progress=progress, plots_dir=plots,
                                 plot_format=plot_format, scenario_plots=False, isolate=False,
                                 sources=[clip(s) for s in scenarios])
        comp, reports = exp.comparison, exp.reports
        if plots:
            comp["plots"] = [str(p) for p in exp.comparison_plots]
    if as_json:
        print_json({"comparison": comp, "reports": reports})
        return
    for c in comp["comparisons"]:
        t = Table(title=f"{c['scenario']} vs {comp['baseline']} ({comp['replications']} paired replications)")
        t.add_column("KPI", no_wrap=True)
        t.add_column("baseline", justify="right", no_wrap=True)
        t.add_column("scenario", justify="right", no_wrap=True)
        t.add_column("difference [95 % CI]", justify="right", no_wrap=True)
        t.add_column("sig.", justify="center")
        for key, h in c["headline"].items():
            lo, hi = h["ci95"]
            ci = f" [{lo:+,.2f}, {hi:+,.2f}]" if lo is not None else ""
            t.add_row(key, f"{h['baseline']:,.2f}", f"{h['scenario']:,.2f}", f"{h['difference']:+,.2f}{ci}",
                      "yes" if h["significant"] else "no")
        console.print(t)
        console.print(f"[dim]{len(c['significant'])} of the KPIs differ significantly (see --json for all)[/]")
    for p in comp.get("plots", []):
        console.print(f"wrote {p}")
