"""The FastAPI application: a thin layer over optimizer, simulation and iot_ingest.

One router per resource (api/routers/); errors are RFC 9457 problem details (api/problems.py);
long work runs as durable jobs (jobs/, seen through api/jobs.py).
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from api import problems
from api.jobs import JobRunner, QuotaExceeded
from api.middleware import ServiceMiddleware
from api.observability import Metrics
from api.routers import (accounts, bookings, health, jobs, metrics, offers, pickups, plans, quotes, rate_sheets, settlements, shipments,
                         simulations, stats, telemetry, trade, warehouses_design, warehouses_status, web, webhooks)
from api.routers import network as network_routes
from api.routers import space_bookings
from api.routers import shipment_events
from optimizer.settings import Settings, get_settings
from simulation import runner as simulation_runner
from optimizer.network import Network, load_network

API_DESCRIPTION = """
Logistics and overseas-warehouse optimisation service of the Mianyang cross-border e-commerce
pilot zone: multimodal route quotes (road, China-Europe Railway Express, air, Western Land-Sea
Corridor), batch plans, shared-warehouse design, pickup routing, IoT tracking and simulations.
Errors are RFC 9457 problem details (`application/problem+json`).
"""


def create_app(network: Network | None = None, settings: Settings | None = None, **state: Any) -> FastAPI:
    """Build the app. ``network``/``settings`` default to the bundled data and the environment."""
    settings = settings or get_settings()

    def job_runner() -> JobRunner:
        # records in the database of the settings (or the ingest database handed over by `cbec serve`)
        return JobRunner(settings=settings, network=app.state.network, db=getattr(app.state, "ingest_db", None))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.jobs.closed:  # the app is started again (tests' clients run a lifespan each)
            app.state.jobs = job_runner()
        app.state.jobs.start()  # in the background, once the database is there (never creates it)
        yield
        app.state.jobs.shutdown()  # no new jobs; running in-process jobs go back to the queue (stored)
        simulation_runner.shutdown()  # running simulations: worker processes stop now

    app = FastAPI(title="cbec-logistics", version="0.1.0", description=API_DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.network = network or load_network(settings.data_dir)
    for key, value in state.items():
        setattr(app.state, key, value)
    app.state.jobs = job_runner()
    app.state.metrics = Metrics(app.state)
    problems.install(app)

    @app.exception_handler(QuotaExceeded)
    async def _over_quota(request: Request, exc: QuotaExceeded):
        return problems.problem(429, exc.title, exc.detail, str(request.url.path),
                                headers={"Retry-After": str(exc.retry_after_s)}, limit=exc.extra.get("limit"),
                                active=exc.extra.get("active"), retry_after_s=exc.retry_after_s)

    problems.openapi_with_problems(app)
    if settings.cors_origins:  # browsers on other origins may call the API only when configured
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Device-Key", "X-Request-ID"], expose_headers=["Location", "X-Request-ID"])
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_body_bytes, metrics=app.state.metrics)
    # JSON over 1 kB goes gzipped to clients that accept it (the network's GeoJSON: 650 kB -> ~40 kB); the web
    # assets arrive already compressed (content-encoding set), which the middleware leaves alone.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    for module in (health, metrics, accounts, quotes, network_routes, jobs, web, simulations, telemetry, shipments, shipment_events, warehouses_status, plans,
                   warehouses_design, pickups, trade, webhooks, stats, offers, bookings, settlements, rate_sheets,
                   space_bookings):
        app.include_router(module.router)
    return app
