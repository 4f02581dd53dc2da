"""Geodesy: WGS84 geodesic distances (pyproj) and route-distance estimates."""

from __future__ import annotations

from functools import lru_cache

from pyproj import Geod

_GEOD = Geod(ellps="WGS84")


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Shortest distance on the WGS84 ellipsoid, in km."""
    _, _, metres = _GEOD.inv(lon1, lat1, lon2, lat2)
    return metres / 1000.0


@lru_cache(maxsize=65536)
def _cached(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return geodesic_km(lat1, lon1, lat2, lon2)


def route_km(lat1: float, lon1: float, lat2: float, lon2: float, circuity: float, floor_km: float = 0.0) -> float:
    """Estimated route length: geodesic x circuity factor, at least ``floor_km``."""
    return max(_cached(lat1, lon1, lat2, lon2) * circuity, floor_km)
