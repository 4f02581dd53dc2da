"""GET /metrics: Prometheus text exposition of the service's metrics (api/observability.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.routing import JsonRoute

router = APIRouter(route_class=JsonRoute, tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics: HTTP latency by route, jobs by state, ingest rate, lag, dead letters",
            response_class=Response,
            responses={200: {"description": "Prometheus text format", "content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
