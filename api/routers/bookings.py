"""Routes: bookings of shared-warehouse capacity."""

from __future__ import annotations

from fastapi import APIRouter

from api.routing import JsonRoute

router = APIRouter(route_class=JsonRoute)
