"""GET /v1/network (GeoJSON) and GET /v1/nodes: built once per network, served as cached bytes.

The network is read-only once loaded, so each representation is serialised once per (network,
variant) and kept on ``app.state``; every answer carries a strong ``ETag`` (a hash of the bytes) and
``Cache-Control: public, max-age=300``, and a request whose ``If-None-Match`` names that tag gets a
304 without a body.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from api.auth import PrincipalDep
from api.deps import NetworkDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.network import FeatureCollection, NodeOut
from optimizer.network import Network
from optimizer.network.geojson import network_geojson_dict

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["network"])
CACHE_CONTROL = "public, max-age=300"
_lock = threading.Lock()

_CACHE_HEADERS = {
    "ETag": {"description": "strong validator of this representation (send it back in If-None-Match)",
             "schema": {"type": "string"}},
    "Cache-Control": {"description": CACHE_CONTROL, "schema": {"type": "string"}},
}
CACHED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"headers": _CACHE_HEADERS},
    304: {"description": "not modified: If-None-Match names the current ETag (no body)", "headers": _CACHE_HEADERS},
}
IfNoneMatch = Annotated[str | None, Header(max_length=4096, description="ETags from an earlier answer (304 when one matches)")]


def _cached(request: Request, net: Network, key: tuple, build: Callable[[], Any]) -> tuple[bytes, str]:
    """(JSON bytes, strong ETag) of ``build()``, built once per (network, key) and kept on ``app.state``."""
    cache = _store(request)
    full_key = (id(net),) + key
    hit = cache.get(full_key)
    if hit is None or hit[0] is not net:
        with _lock:
            hit = cache.get(full_key)
            if hit is None or hit[0] is not net:
                body = json.dumps(build(), ensure_ascii=False, separators=(",", ":")).encode()
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                hit = cache[full_key] = (net, body, etag)
    return hit[1], hit[2]


def _store(request: Request) -> dict:
    store = getattr(request.app.state, "representations", None)
    if store is None:
        with _lock:
            store = getattr(request.app.state, "representations", None)
            if store is None:
                store = request.app.state.representations = {}
    return store


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: weak comparison; ``*`` matches any current representation."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def _answer(body: bytes, etag: str, if_none_match: str | None, media_type: str = "application/json") -> Response:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


@router.get("/network", response_model=FeatureCollection,
            responses={**CACHED_RESPONSES, **problems(**{"401": "a malformed, unknown or revoked credential (none: public)",
                                                          "422": "invalid query"})},
            summary="The network as GeoJSON: nodes (points) and services (lines)")
def get_network_geojson(request: Request, net: NetworkDep, _caller: PrincipalDep, include_planned: bool = True,
                        if_none_match: IfNoneMatch = None) -> Response:
    def build() -> dict:
        return network_geojson_dict(net, include_planned)

    body, etag = _cached(request, net, ("network", include_planned), build)
    return _answer(body, etag, if_none_match)


@router.get("/nodes", response_model=list[NodeOut], responses={**CACHED_RESPONSES, **problems(**{"401": "a malformed, unknown or revoked credential (none: public)",
                                                                                     "422": "invalid header"})},
            summary="Node ids, names and kinds")
def list_nodes(request: Request, net: NetworkDep, _caller: PrincipalDep, if_none_match: IfNoneMatch = None) -> Response:
    def build() -> list[dict]:
        return [{"id": n.id, "name": n.name, "kind": n.kind.value, "country": n.country, "status": n.status.value,
                 "lat": n.lat, "lon": n.lon} for n in net.nodes.values()]

    body, etag = _cached(request, net, ("nodes",), build)
    return _answer(body, etag, if_none_match)
