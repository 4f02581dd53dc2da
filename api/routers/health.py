"""GET /healthz: liveness and the loaded network."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import NetworkDep
from api.schemas.network import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, summary="Liveness and the loaded network")
def healthz(net: NetworkDep) -> dict:
    return {"status": "ok", "nodes": len(net.nodes), "services": len(net.services), "data_as_of": net.as_of}
