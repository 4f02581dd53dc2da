"""The network as GeoJSON (geopandas): nodes as points, services as lines drawn the way they run.

* sea services follow real sea lanes: the ``searoute`` geometry between their ports (Eurostat's
  maritime network), with the route's length beside the network's own figure; river liners (from a
  river port) are straight lines: searoute has no inland waterways;
* rail and road services go through their stops (border crossings, gauge changes) in order;
* air services are straight lines (the map draws them as arcs);
* every service carries ``planned`` (a planned node or service: the map draws it dashed) and the
  ``geometry_source`` of its line.

Sea lanes cost tens of milliseconds each, so the lines of one network are computed once and kept
(:func:`service_lines`, keyed by the network object: a loaded network is read-only).
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from dataclasses import dataclass

import geopandas as gpd
from shapely.geometry import LineString, Point

from optimizer.network.model import Mode, NodeKind, Service
from optimizer.network.network import Network

log = logging.getLogger(__name__)

STRAIGHT = "straight"
STOPS = "stops"
SEAROUTE = "searoute"

_lines_lock = threading.Lock()
_lines: "weakref.WeakKeyDictionary[Network, dict[str, ServiceLine]]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """The drawn line of one service: its (lon, lat) points and how they were obtained."""

    coordinates: tuple[tuple[float, float], ...]
    source: str  # straight | stops | searoute
    length_km: float | None = None  # the sea lane's length (searoute), None otherwise


def _stop_points(net: Network, service: Service) -> tuple[tuple[float, float], ...]:
    nodes = [net.nodes[service.origin]] + [net.nodes[st.node] for st in service.stops] + [net.nodes[service.destination]]
    return tuple((n.lon, n.lat) for n in nodes)


def sea_lane(origin: tuple[float, float], destination: tuple[float, float]) -> ServiceLine | None:
    """The sea lane between two (lon, lat) points by ``searoute`` (Suez and Panama open; the
    north-west passage closed), starting and ending at the ports themselves; None when it fails."""
    try:
        import searoute
        route = searoute.searoute(list(origin), list(destination), units="km", append_orig_dest=True)
    except Exception as exc:  # a broken sea graph must not break the map: fall back to a straight line
        log.warning("searoute failed between %s and %s: %s", origin, destination, exc)
        return None
    coords = tuple((round(float(x), 4), round(float(y), 4)) for x, y in route["geometry"]["coordinates"])
    if len(coords) < 2:
        return None
    return ServiceLine(coords, SEAROUTE, round(float(route["properties"]["length"]), 1))


def _on_river(net: Network, service: Service) -> bool:
    """A Yangtze liner (mode sea, from a river port): searoute has no inland waterways, so it is drawn
    straight rather than along an invented sea lane."""
    return NodeKind.RIVER_PORT in (net.nodes[service.origin].kind, net.nodes[service.destination].kind)


def service_line(net: Network, service: Service) -> ServiceLine:
    """How a service is drawn: sea by ``searoute``, the others through their stops."""
    points = _stop_points(net, service)
    if service.mode is Mode.SEA and not _on_river(net, service):
        lane = sea_lane(points[0], points[-1])
        if lane is not None:
            return lane
        return ServiceLine(points, STRAIGHT)
    return ServiceLine(points, STOPS if service.stops else STRAIGHT)


def service_lines(net: Network) -> dict[str, ServiceLine]:
    """Every service's line, computed once per network object (sea lanes take ~50 ms each)."""
    cached = _lines.get(net)
    if cached is not None:
        return cached
    with _lines_lock:
        cached = _lines.get(net)
        if cached is None:
            cached = {s.id: service_line(net, s) for s in net.services.values()}
            _lines[net] = cached
    return cached


def network_frames(net: Network, include_planned: bool = True) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(nodes, services) GeoDataFrames in WGS84."""
    nodes = [
        {"id": n.id, "name": n.name, "kind": n.kind.value, "country": n.country, "status": n.status.value,
         "customs_modes": "|".join(sorted(n.customs_modes)), "geofence_radius_m": n.geofence_radius_m,
         "source": n.provenance.source, "as_of": n.provenance.as_of, "geometry": Point(n.lon, n.lat)}
        for n in net.nodes.values() if include_planned or not n.planned
    ]
    lines = service_lines(net)
    services = []
    for s in net.services.values():
        planned = s.planned or net.nodes[s.origin].planned or net.nodes[s.destination].planned
        if planned and not include_planned:
            continue
        line = lines[s.id]
        services.append({
            "id": s.id, "mode": s.mode.value, "from": s.origin, "to": s.destination, "carrier": s.carrier,
            "status": s.status.value, "planned": planned, "distance_km": s.distance_km,
            "stops": "|".join(st.node for st in s.stops), "schedule": s.schedule.describe(),
            "transit_p50_h": s.transit.p50_hours, "transit_p90_h": s.transit.p90_hours,
            "geometry_source": line.source, "lane_km": line.length_km,
            "source": s.provenance.source, "as_of": s.provenance.as_of,
            "geometry": LineString(line.coordinates),
        })
    return (gpd.GeoDataFrame(nodes, geometry="geometry", crs="EPSG:4326"),
            gpd.GeoDataFrame(services, geometry="geometry", crs="EPSG:4326"))


def network_geojson_dict(net: Network, include_planned: bool = True) -> dict:
    """The network as one GeoJSON FeatureCollection; ``properties.feature`` is ``node`` or ``service``."""
    nodes, services = network_frames(net, include_planned)
    fc_nodes = json.loads(nodes.to_json())
    fc_services = json.loads(services.to_json())
    for f in fc_nodes["features"]:
        f["properties"]["feature"] = "node"
    for f in fc_services["features"]:
        f["properties"]["feature"] = "service"
    return {"type": "FeatureCollection", "features": fc_nodes["features"] + fc_services["features"],
            "properties": {"data_as_of": net.as_of}}


def network_geojson(net: Network, include_planned: bool = True) -> str:
    """:func:`network_geojson_dict` as a JSON string."""
    return json.dumps(network_geojson_dict(net, include_planned), ensure_ascii=False)
