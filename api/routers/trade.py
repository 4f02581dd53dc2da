"""Routes: records exchange: enterprises, orders, payments, waybills, stock movements; document checks."""

from __future__ import annotations

from fastapi import APIRouter

from api.routing import JsonRoute

router = APIRouter(route_class=JsonRoute)
