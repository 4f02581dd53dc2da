"""GET /v1/network (GeoJSON) and node lookups."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import get_network
from optimizer.network.geojson import network_geojson_dict
from optimizer.network import Network

router = APIRouter(prefix="/v1", tags=["network"])


@router.get("/network", summary="The network as GeoJSON: nodes (points) and services (lines)")
def get_network_geojson(include_planned: bool = True, net: Network = Depends(get_network)) -> dict:
    return network_geojson_dict(net, include_planned)


@router.get("/nodes", summary="Node ids, names and kinds")
def list_nodes(net: Network = Depends(get_network)) -> list[dict]:
    return [{"id": n.id, "name": n.name, "kind": n.kind.value, "country": n.country, "status": n.status.value,
             "lat": n.lat, "lon": n.lon} for n in net.nodes.values()]
