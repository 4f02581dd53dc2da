"""Routes: statistics of the pilot zone's cross-border e-commerce."""

from __future__ import annotations

from fastapi import APIRouter

from api.routing import JsonRoute

router = APIRouter(route_class=JsonRoute)
