"""`cbec network`: the bundled network as a summary or GeoJSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.app import app
from api.cli.common import console, errors_as_exit, fail
from optimizer.network import load_network
from optimizer.quotes.limits import shown


@app.command("network")
def network_cmd(
    geojson: Annotated[bool, typer.Option("--geojson", help="write the network as GeoJSON")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="GeoJSON file (default: stdout)")] = None,
    include_planned: Annotated[bool, typer.Option("--include-planned/--active-only")] = True,
) -> None:
    """Summarise the network, or write it as GeoJSON (nodes as points, services as lines)."""
    with errors_as_exit():
        net = load_network()
        if geojson:
            # geopandas is slow to import; only here
            from optimizer.network.geojson import network_geojson

            text = network_geojson(net, include_planned=include_planned)
            if output:
                try:
                    output.write_text(text, encoding="utf-8")
                except OSError as exc:  # a directory, a missing folder, no permission: one line, exit 2
                    fail(f"--output: cannot write {shown(str(output), 200)} ({exc.strerror or type(exc).__name__})")
                console.print(f"wrote {output} ({len(net.nodes)} nodes, {len(net.services)} services)")
            else:
                print(text)
            return
    from collections import Counter

    kinds = Counter(n.kind.value for n in net.nodes.values())
    modes = Counter(s.mode.value for s in net.services.values())
    console.print(f"network as of {net.as_of}: {len(net.nodes)} nodes, {len(net.services)} services")
    console.print("nodes: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    console.print("services: " + ", ".join(f"{k} {v}" for k, v in sorted(modes.items())))
    planned = [n.id for n in net.nodes.values() if n.planned] + [s.id for s in net.services.values() if s.planned and s.mode.value != "road"]
    console.print("planned: " + ", ".join(planned))
