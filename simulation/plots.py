"""Plots of a simulation (matplotlib, Agg backend; PNG or SVG), kept apart from the model.

Each function takes the report and/or the replication results and writes one file:
lead-time distributions by mode, queue lengths over time, utilisation with CIs, scenario comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from simulation.records import HIST_EDGES  # noqa: E402

COLORS = {"rail": "#1f77b4", "air": "#d62728", "sea": "#2ca02c", "road": "#7f7f7f"}


def lead_time_distribution(results: list[dict[str, Any]], path: Path, title: str = "") -> Path:
    """Histogram (density) of consignment lead times by main mode, pooled over the replications."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for mode in ("air", "rail", "sea", "road"):
        counts = np.sum([np.array(r["hist"][mode]) for r in results if mode in r["hist"]], axis=0) if any(
            mode in r["hist"] for r in results) else None
        if counts is None or not np.sum(counts):
            continue
        dens = counts / counts.sum() / np.diff(HIST_EDGES)
        ax.stairs(dens, HIST_EDGES, label=f"{mode} (n={int(counts.sum())})", color=COLORS[mode])
    ax.set_xlabel("lead time, ready at origin to available at destination (days)")
    ax.set_ylabel("density (1/day)")
    ax.set_xlim(0, 80)
    ax.set_title(title or "Lead-time distribution by main mode")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def queues_over_time(results: list[dict[str, Any]], path: Path, top: int = 6, title: str = "") -> Path:
    """Daily mean queue length of the busiest stations (mean over replications), and WIP."""
    s0 = results[0]["series"]
    t = np.array(s0["t_days"])
    names = list(s0["queue"])
    if not names or not t.size:
        fig, ax = plt.subplots()
        ax.text(0.5, 0.5, "no data", ha="center")
        return _save(fig, path)
    mean_q = {n: np.mean([r["series"]["queue"][n] for r in results], axis=0) for n in names}
    busiest = sorted(names, key=lambda n: -float(np.mean(mean_q[n])))[:top]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    for n in busiest:
        ax1.plot(t, mean_q[n], label=n, lw=1)
    ax1.set_ylabel("queue length (daily mean)")
    ax1.legend(fontsize=7, ncol=2)
    ax1.grid(alpha=0.3)
    wip = np.mean([r["series"]["wip"] for r in results], axis=0)
    ax2.plot(t, wip, color="black", lw=1)
    ax2.set_ylabel("consignments in the chain (WIP)")
    ax2.set_xlabel("day")
    ax2.grid(alpha=0.3)
    fig.suptitle(title or f"Queues over time (mean of {len(results)} replications)")
    return _save(fig, path)


def utilisation(report: dict[str, Any], path: Path, min_util: float = 0.05, title: str = "") -> Path:
    """Utilisation of each station with its 95 % CI (stations under ``min_util`` left out)."""
    rows = [(n, s["utilisation"]) for n, s in report.get("stages", {}).items()
            if s.get("utilisation", {}).get("mean") is not None and s["utilisation"]["mean"] >= min_util]
    rows.sort(key=lambda r: r[1]["mean"])
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.5))
    y = np.arange(len(rows))
    means = [r[1]["mean"] for r in rows]
    hw = [r[1]["half_width"] or 0.0 for r in rows]
    ax.barh(y, means, xerr=hw, color="#4c72b0", capsize=2)
    ax.set_yticks(y, [r[0] for r in rows], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("utilisation (mean, 95 % CI)")
    ax.set_title(title or f"Utilisation — {report.get('scenario', '')}")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def comparison(comp: dict[str, Any], path: Path) -> Path:
    """Relative difference of the headline KPIs of each scenario against the baseline, with 95 % CIs."""
    comps = comp["comparisons"]
    keys = list(comps[0]["headline"]) if comps else []
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(keys) * max(1, len(comps)) + 1.5))
    ypos, labels = 0, []
    for j, c in enumerate(comps):
        for k in keys:
            h = c["headline"].get(k)
            if h is None or not h["baseline"]:
                continue
            base = h["baseline"]
            d = h["difference"] / base * 100
            lo, hi = (h["ci95"][0] or h["difference"]) / base * 100, (h["ci95"][1] or h["difference"]) / base * 100
            color = ("#c44e52" if h["significant"] else "#8c8c8c")
            ax.errorbar(d, ypos, xerr=[[d - lo], [hi - d]], fmt="o", color=color, capsize=3)
            labels.append(f"{c['scenario']}: {k}")
            ypos += 1
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel(f"difference vs {comp['baseline']} (%; red = significant at 95 %)")
    ax.set_title("Scenario comparison (paired, common random numbers)")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def write_all(report: dict[str, Any], results: list[dict[str, Any]], directory: Path, fmt: str = "png") -> list[Path]:
    """The three plots of one scenario into ``directory`` (created); returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    name = report.get("scenario", "scenario")
    return [
        lead_time_distribution(results, directory / f"{name}_lead_time.{fmt}", f"Lead time by mode — {name}"),
        queues_over_time(results, directory / f"{name}_queues.{fmt}"),
        utilisation(report, directory / f"{name}_utilisation.{fmt}"),
    ]


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
