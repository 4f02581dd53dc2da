"""Shared by the ingest tests: a train journey Mianyang -> Qingbaijiang -> Alashankou -> Łódź."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from iot_ingest.milestones import TrackedShipment

H = 3_600_000


def ready_date(days_ago: int = 30) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()


def journey(net, shp: TrackedShipment, delay_h: dict[str, float] | None = None) -> list[tuple[str, float, float, int]]:
    """(label, lat, lon, ts_ms) fixes: outside -> inside each stop at its planned time (+ delay) -> outside."""
    delay_h = delay_h or {}
    pts = []
    ms = shp.milestones
    shift = 0
    for i, m in enumerate(ms):
        n = net.nodes[m["node"]]
        shift = max(shift, int(delay_h.get(m["node"], 0) * H))
        arr = (m["planned_arrive"] if m["planned_arrive"] is not None else m["planned_depart"] - 2 * H) + shift
        dep = (m["planned_depart"] if m["planned_depart"] is not None else arr + 2 * H) + shift
        pts.append((f"at {m['node']}", n.lat, n.lon, arr))
        pts.append((f"still at {m['node']}", n.lat + 0.001, n.lon, (arr + dep) // 2))
        if i + 1 < len(ms):
            nxt = net.nodes[ms[i + 1]["node"]]
            if abs(nxt.lat - n.lat) + abs(nxt.lon - n.lon) > 1.0:  # far apart: a point on the way
                pts.append((f"after {m['node']}", (n.lat + nxt.lat) / 2, (n.lon + nxt.lon) / 2, dep + H))
    return pts


def position(device: str, lat: float, lon: float, ts_ms: int, seq: int) -> tuple[str, bytes]:
    return (f"cbec/v1/devices/{device}/position",
            json.dumps({"ts": ts_ms / 1000, "lat": lat, "lon": lon, "speed_kmh": 60, "seq": seq}).encode())
