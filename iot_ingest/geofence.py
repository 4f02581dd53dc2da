"""Geofences of the network's nodes (hubs, border crossings, warehouses, markets) with shapely.

Each node gets a polygon: either one supplied by the caller (GeoJSON-like mapping node id ->
shapely geometry, e.g. a terminal's real outline) or a geodesic circle of the node's
``geofence_radius_m``. Points of a whole batch are tested in one vectorised STRtree query.
A device *enters* a fence inside its polygon and only *leaves* it outside the polygon grown by
``LEAVE_FACTOR`` (hysteresis), so GPS jitter at the edge does not produce arrival/departure storms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from optimizer.network import Network

LEAVE_FACTOR = 1.2
_GEOD = Geod(ellps="WGS84")


def circle(lat: float, lon: float, radius_m: float, n: int = 48) -> Polygon:
    """A geodesic circle as a lon/lat polygon (accurate at any latitude, unlike a degree buffer)."""
    az = np.linspace(0.0, 360.0, n, endpoint=False)
    lons, lats, _ = _GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, radius_m))
    return Polygon(zip(lons, lats))


class GeofenceIndex:
    """Which node fences contain which points."""

    def __init__(self, net: Network, polygons: Mapping[str, BaseGeometry] | None = None) -> None:
        polygons = dict(polygons or {})
        self.node_ids: list[str] = []
        inner: list[BaseGeometry] = []
        outer: list[BaseGeometry] = []
        for node in net.nodes.values():
            if node.id in polygons:
                poly = polygons[node.id]
                grown = poly.buffer(max(poly.bounds[2] - poly.bounds[0], 1e-4) * (LEAVE_FACTOR - 1) / 2)
            elif node.geofence_radius_m > 0:
                poly = circle(node.lat, node.lon, node.geofence_radius_m)
                grown = circle(node.lat, node.lon, node.geofence_radius_m * LEAVE_FACTOR)
            else:
                continue
            self.node_ids.append(node.id)
            inner.append(poly)
            outer.append(grown)
        self.inner = np.array(inner, dtype=object)
        self.outer = np.array(outer, dtype=object)
        shapely.prepare(self.inner)
        shapely.prepare(self.outer)
        self.tree = shapely.STRtree(self.outer)
        self.kind = {nid: net.nodes[nid].kind.value for nid in self.node_ids}

    def locate(self, lons: Sequence[float], lats: Sequence[float]) -> list[tuple[frozenset[str], frozenset[str]]]:
        """For each point: (fences it is inside, fences whose leave-hysteresis ring still holds it)."""
        n = len(lons)
        out: list[tuple[frozenset[str], frozenset[str]]] = [(frozenset(), frozenset())] * n
        if n == 0:
            return out
        pts = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        pairs = self.tree.query(pts, predicate="intersects")  # (point index, fence index) inside `outer`
        if pairs.shape[1] == 0:
            return out
        p_idx, f_idx = pairs
        is_in = shapely.contains_xy(self.inner[f_idx], np.asarray(lons)[p_idx], np.asarray(lats)[p_idx])
        acc: dict[int, tuple[set[str], set[str]]] = {}
        for p, f, inside in zip(p_idx.tolist(), f_idx.tolist(), is_in.tolist()):
            ins, ring = acc.setdefault(p, (set(), set()))
            (ins if inside else ring).add(self.node_ids[f])
        for p, (ins, ring) in acc.items():
            out[p] = (frozenset(ins), frozenset(ring | ins))
        return out
