"""GET / — the web page (quote form, network map); it only calls the public API."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.routing import JsonRoute

router = APIRouter(route_class=JsonRoute, include_in_schema=False)
_PAGE = files("api") / "web" / "index.html"  # package data, in a wheel too


@router.get("/", response_class=HTMLResponse)
def index() -> str:
    return _PAGE.read_text(encoding="utf-8")
