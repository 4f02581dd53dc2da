"""Geofences of the network's nodes (hubs, border crossings, warehouses, markets) with shapely.

Each node gets a polygon: either one supplied by the caller (GeoJSON-like mapping node id ->
shapely geometry, e.g. a terminal's real outline) or a geodesic circle of the node's
``geofence_radius_m``. Points of a whole batch are tested in one vectorised STRtree query, after a
cheap prefilter (a raster of the fences' bounding boxes) has dropped those far from every fence.
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
GRID_DEG = 0.2  # prefilter cell size (a 900 x 1800 boolean raster, 1.6 MB)
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
        # prefilter: a raster of GRID_DEG cells marking those any (grown) fence's bounding box
        # touches; only points in marked cells become shapely points and meet the tree
        self._grid = np.zeros((int(180 / GRID_DEG), int(360 / GRID_DEG)), dtype=bool)
        ny, nx = self._grid.shape
        for g in outer:
            minx, miny, maxx, maxy = g.bounds
            x0, x1 = (int(np.clip((v + 180.0) // GRID_DEG, 0, nx - 1)) for v in (minx, maxx))
            y0, y1 = (int(np.clip((v + 90.0) // GRID_DEG, 0, ny - 1)) for v in (miny, maxy))
            self._grid[y0:y1 + 1, x0:x1 + 1] = True

    def locate(self, lons: Sequence[float], lats: Sequence[float]) -> list[tuple[frozenset[str], frozenset[str]]]:
        """For each point: (fences it is inside, fences whose leave-hysteresis ring still holds it)."""
        n = len(lons)
        out: list[tuple[frozenset[str], frozenset[str]]] = [(frozenset(), frozenset())] * n
        if n == 0:
            return out
        x, y = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
        ny, nx = self._grid.shape
        with np.errstate(invalid="ignore"):
            ix = np.clip(np.nan_to_num((x + 180.0) // GRID_DEG), 0, nx - 1).astype(np.intp)
            iy = np.clip(np.nan_to_num((y + 90.0) // GRID_DEG), 0, ny - 1).astype(np.intp)
        cand = np.flatnonzero(self._grid[iy, ix])
        if cand.size == 0:
            return out
        pts = shapely.points(x[cand], y[cand])
        pairs = self.tree.query(pts, predicate="intersects")  # (candidate index, fence index) inside `outer`
        if pairs.shape[1] == 0:
            return out
        p_idx, f_idx = cand[pairs[0]], pairs[1]
        is_in = shapely.contains_xy(self.inner[f_idx], x[p_idx], y[p_idx])
        acc: dict[int, tuple[set[str], set[str]]] = {}
        for p, f, inside in zip(p_idx.tolist(), f_idx.tolist(), is_in.tolist()):
            ins, ring = acc.setdefault(p, (set(), set()))
            (ins if inside else ring).add(self.node_ids[f])
        for p, (ins, ring) in acc.items():
            out[p] = (frozenset(ins), frozenset(ring | ins))
        return out
