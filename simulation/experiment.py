"""Experiments: simulate one or several scenarios on common random numbers, then compare them.

The one use case behind both faces: ``cbec simulate`` / ``cbec simulate compare`` and
``POST /v1/simulations`` parse their scenarios (files or bundled names on the command line, names
or mappings over HTTP), then call :func:`run_experiment`.

    >>> from simulation.scenario import load_scenario
    >>> base, more = load_scenario("baseline"), load_scenario("more_trains")
    >>> exp = run_experiment([base, more], 6)                                   # doctest: +SKIP
    >>> exp.comparison["comparisons"][0]["headline"]["lead_time_days"]         # doctest: +SKIP

Every scenario runs with the same root seed (the first scenario's unless ``seed`` is given), so
replication *i* of each draws the same named random streams and the comparison is paired
(:mod:`simulation.compare`). The network is not an argument: every replication builds its
scenario's network variant from the data directory, in whichever process or Dask worker runs it
(:func:`simulation.runner.scenario_network`).

Bounds: the work of the whole experiment (scenarios x replications) is estimated and refused
before anything runs (:func:`simulation.budget.check_work`); with ``isolate`` (the default) nothing
heavy runs in the calling process — replications, route quotes and plots all run in worker
processes (:mod:`simulation.runner`), so a server calling this stays responsive.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optimizer.errors import InvalidInput
from optimizer.network import load_network
from optimizer.network.progress import ProgressFn
from simulation.budget import check_work
from simulation.compare import compare
from simulation.runner import run_isolated, simulate
from simulation.scenario import Scenario, parse_scenario

PLOT_FORMATS = ("png", "svg")


def with_overrides(scenario: Scenario | Mapping[str, Any], source: str, *, seed: int | None = None,
                   horizon_days: float | None = None, warmup_days: float | None = None) -> Scenario:
    """The scenario (parsed, or a mapping still to validate) with the given fields replaced.

    The result is validated as a whole (a warm-up longer than the new horizon is an error naming
    ``source``); a parsed scenario without overrides is returned as it is.
    """
    updates = {k: v for k, v in (("seed", seed), ("horizon_days", horizon_days), ("warmup_days", warmup_days))
               if v is not None}
    if isinstance(scenario, Scenario):
        if not updates:
            return scenario
        doc = scenario.to_doc()
    else:
        doc = dict(scenario)
    return parse_scenario({**doc, **updates}, source)


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario of an experiment: its report (KPIs with 95 % CIs), raw replication results and plots."""

    scenario: Scenario
    report: dict[str, Any]
    results: list[dict[str, Any]]
    plots: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.scenario.name


@dataclass(frozen=True)
class ExperimentResult:
    """The runs in the order given; ``comparison`` of every later run with the first (None for one scenario)."""

    runs: list[ScenarioRun]
    comparison: dict[str, Any] | None = None
    comparison_plots: list[Path] = field(default_factory=list)

    @property
    def reports(self) -> list[dict[str, Any]]:
        return [r.report for r in self.runs]


def common_seed(scenarios: Sequence[Scenario], seed: int | None = None) -> list[Scenario]:
    """The scenarios, each with the root seed ``seed`` (default: the first scenario's)."""
    root = seed if seed is not None else scenarios[0].seed
    return [sc if sc.seed == root else parse_scenario({**sc.to_doc(), "seed": root}, sc.name) for sc in scenarios]


def run_experiment(
    scenarios: Sequence[Scenario],
    replications: int | None = None,
    *,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: ProgressFn | None = None,
    plots_dir: Path | None = None,
    plot_format: str = "png",
    scenario_plots: bool = True,
    isolate: bool = True,
    cancel: threading.Event | None = None,
    sources: Sequence[str] | None = None,
) -> ExperimentResult:
    """Simulate ``scenarios`` one after the other and compare every later one with the first.

    ``replications`` defaults to the first scenario's; ``seed`` (default: the first scenario's) is
    given to all of them. ``workers``/``scheduler`` as in :func:`simulation.runner.run_replications`;
    ``progress`` sees the whole experiment as one fraction. With ``plots_dir``, each scenario's
    plots (lead time, queues, utilisation; unless ``scenario_plots`` is false) and the comparison
    plot are written there as ``plot_format`` (png or svg).

    Before anything runs, the work is checked against :mod:`simulation.limits` (InvalidInput naming
    the field and the limit; ``sources`` name the scenarios in messages, default their names).
    ``isolate``/``cancel`` as in :func:`simulation.runner.run_replications`; with ``isolate`` the
    plots are drawn in a worker process too.
    """
    if not scenarios:
        raise InvalidInput("an experiment needs at least one scenario", field="scenarios")
    if plot_format not in PLOT_FORMATS:
        raise InvalidInput(f"plot_format must be png or svg (got '{str(plot_format)[:20]}')", field="plot_format")
    scenarios = common_seed(scenarios, seed)
    n = replications or scenarios[0].replications
    names = list(sources) if sources is not None else [sc.name for sc in scenarios]
    check_work(list(zip(scenarios, names, strict=True)), n, load_network())
    progress = progress or (lambda f, m="": None)
    parts = len(scenarios)
    runs: list[ScenarioRun] = []
    for k, sc in enumerate(scenarios):
        def part(f: float, m: str = "", k: int = k) -> None:
            progress((k + f) / parts, m)

        rep, results = simulate(sc, n, workers=workers, scheduler=scheduler, progress=part, isolate=isolate,
                                cancel=cancel)
        plots: list[Path] = []
        if plots_dir is not None and scenario_plots:
            from simulation.plots import write_all

            plots = _draw(isolate, cancel, write_all, rep, results, plots_dir, plot_format)
        runs.append(ScenarioRun(sc, rep, results, plots))
    if parts < 2:
        return ExperimentResult(runs)
    comp = compare([(r.name, r.results) for r in runs])
    comp_plots: list[Path] = []
    if plots_dir is not None:
        from simulation.plots import comparison

        comp_plots = [_draw(isolate, cancel, comparison, comp, plots_dir / f"comparison.{plot_format}")]
    return ExperimentResult(runs, comp, comp_plots)


def _draw(isolate: bool, cancel: threading.Event | None, fn: Any, *args: Any) -> Any:
    """A plot function, in a worker process when isolated (matplotlib holds the GIL for seconds)."""
    return run_isolated(fn, *args, cancel=cancel) if isolate else fn(*args)
