"""The network as GeoJSON (geopandas): nodes as points, services as lines (with their stops)."""

from __future__ import annotations

import json

import geopandas as gpd
from shapely.geometry import LineString, Point

from optimizer.network.network import Network


def network_frames(net: Network, include_planned: bool = True) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(nodes, services) GeoDataFrames in WGS84."""
    nodes = [
        {"id": n.id, "name": n.name, "kind": n.kind.value, "country": n.country, "status": n.status.value,
         "customs_modes": "|".join(sorted(n.customs_modes)), "geofence_radius_m": n.geofence_radius_m,
         "source": n.provenance.source, "as_of": n.provenance.as_of, "geometry": Point(n.lon, n.lat)}
        for n in net.nodes.values() if include_planned or not n.planned
    ]
    services = []
    for s in net.services.values():
        if s.planned and not include_planned:
            continue
        pts = [net.nodes[s.origin]] + [net.nodes[st.node] for st in s.stops] + [net.nodes[s.destination]]
        services.append({
            "id": s.id, "mode": s.mode.value, "from": s.origin, "to": s.destination, "carrier": s.carrier,
            "status": s.status.value, "distance_km": s.distance_km, "schedule": s.schedule.describe(),
            "transit_p50_h": s.transit.p50_hours, "transit_p90_h": s.transit.p90_hours,
            "source": s.provenance.source, "as_of": s.provenance.as_of,
            "geometry": LineString([(p.lon, p.lat) for p in pts]),
        })
    return (gpd.GeoDataFrame(nodes, geometry="geometry", crs="EPSG:4326"),
            gpd.GeoDataFrame(services, geometry="geometry", crs="EPSG:4326"))


def network_geojson_dict(net: Network, include_planned: bool = True) -> dict:
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
    return json.dumps(network_geojson_dict(net, include_planned), ensure_ascii=False)
