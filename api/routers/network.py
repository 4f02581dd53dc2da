"""GET /v1/network (GeoJSON) and node lookups."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import NetworkDep
from api.problems import problems
from api.schemas.network import FeatureCollection, NodeOut
from optimizer.network.geojson import network_geojson_dict

router = APIRouter(prefix="/v1", tags=["network"])


@router.get("/network", response_model=FeatureCollection, responses=problems(**{"422": "invalid query"}),
            summary="The network as GeoJSON: nodes (points) and services (lines)")
def get_network_geojson(net: NetworkDep, include_planned: bool = True) -> dict:
    return network_geojson_dict(net, include_planned)


@router.get("/nodes", response_model=list[NodeOut], summary="Node ids, names and kinds")
def list_nodes(net: NetworkDep) -> list[dict]:
    return [{"id": n.id, "name": n.name, "kind": n.kind.value, "country": n.country, "status": n.status.value,
             "lat": n.lat, "lon": n.lon} for n in net.nodes.values()]
