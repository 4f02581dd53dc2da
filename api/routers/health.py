"""GET /healthz (the process answers) and GET /readyz (it can do its work: database, broker, lag).

Both run on the event loop, never waiting for a request thread: ``/healthz`` answers even when
every worker thread is busy. ``/readyz`` runs its database check in a thread of its own limiter
with a timeout, so a hung database makes it fail fast instead of hang.
"""

from __future__ import annotations

import time

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import NetworkDep
from api.problems import PROBLEM_JSON, problems
from api.routing import JsonRoute
from api.schemas.health import ReadyOut
from api.schemas.network import HealthOut

router = APIRouter(route_class=JsonRoute, tags=["health"])
_READY_LIMITER = anyio.CapacityLimiter(2)  # apart from the 40 request threads
DB_TIMEOUT_S = 3.0
MAX_LAG = 50_000  # messages received but not stored: beyond this the ingest is not keeping up


@router.get("/healthz", response_model=HealthOut, summary="Liveness and the loaded network")
async def healthz(net: NetworkDep) -> dict:
    return {"status": "ok", "nodes": len(net.nodes), "services": len(net.services), "data_as_of": net.as_of}


def _check_db(request: Request) -> str:
    from storage.db import open_db, require_current

    state = request.app.state
    db = getattr(state, "ingest_db", None)
    if db is None:
        db = state.ingest_db = open_db(state.settings.database_url)  # raises when absent or not migrated
    else:
        require_current(db)  # connects: fails when the server is down
    return f"{db.engine.dialect.name} reachable, schema at head"


@router.get("/readyz", response_model=ReadyOut, summary="Readiness: database reachable and migrated, broker connected, lag",
            responses=problems(**{"503": "not ready (the body lists each check)"}))
async def readyz(request: Request) -> JSONResponse | dict:
    checks: dict[str, dict] = {}
    t0 = time.perf_counter()
    try:
        with anyio.fail_after(DB_TIMEOUT_S):
            detail = await anyio.to_thread.run_sync(_check_db, request, limiter=_READY_LIMITER, abandon_on_cancel=True)
        checks["database"] = {"ok": True, "detail": detail}
    except TimeoutError:
        checks["database"] = {"ok": False, "detail": f"no answer within {DB_TIMEOUT_S:.0f} s"}
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
        checks["database"] = {"ok": False, "detail": getattr(exc, "detail", None) or type(exc).__name__}
    checks["database"]["ms"] = round((time.perf_counter() - t0) * 1000, 1)
    consumer = getattr(request.app.state, "ingest_consumer", None)
    if consumer is not None:
        up = consumer.connected.is_set()
        checks["broker"] = {"ok": up, "detail": f"{'connected to' if up else 'not connected to'} {consumer.target.host}:"
                                                f"{consumer.target.port}"}
        lag = consumer.lag()
        checks["consumer_lag"] = {"ok": lag <= MAX_LAG, "detail": f"{lag} messages received and not yet stored"}
    ready = all(c["ok"] for c in checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    if ready:
        return body
    return JSONResponse({"type": "about:blank", "title": "Not ready", "status": 503,
                         "detail": "; ".join(f"{k}: {c['detail']}" for k, c in checks.items() if not c["ok"]),
                         "instance": "/readyz", "checks": checks}, status_code=503, media_type=PROBLEM_JSON)
