from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import get_network
from optimizer.network import Network

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and the loaded network")
def healthz(net: Network = Depends(get_network)) -> dict:
    return {"status": "ok", "nodes": len(net.nodes), "services": len(net.services), "data_as_of": net.as_of}
