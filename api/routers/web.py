"""The web application: ``GET /`` (the page) and ``GET /web/{path}`` (its modules, styles, vendored
libraries, map data and dictionaries). The application itself only calls the public API.

Assets are package data (``api/web/``, in a wheel too), read once and kept in memory with a strong
``ETag`` (a hash of the bytes) and, for text over 1 kB, a gzip copy sent when the browser accepts it.
URLs carry no hash, so the application's own files are revalidated on every load (``no-cache``:
a 304 costs no body) while the vendored libraries and map data, which change only with a release,
may be kept a day. Only files that exist under ``api/web`` are served (no path outside it).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.routing import JsonRoute

router = APIRouter(route_class=JsonRoute, include_in_schema=False)
WEB_ROOT = Path(str(files("api") / "web"))  # package data, in a wheel too
APP_CACHE = "no-cache"  # revalidate (ETag) on each load: the URLs carry no content hash
VENDOR_CACHE = "public, max-age=86400"
GZIP_MIN_BYTES = 1024
_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
_TYPES = {".js": "application/javascript; charset=utf-8", ".mjs": "application/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".json": "application/json", ".html": "text/html; charset=utf-8",
          ".svg": "image/svg+xml", ".png": "image/png", ".md": "text/markdown; charset=utf-8",
          ".ico": "image/x-icon", ".webmanifest": "application/manifest+json"}
_lock = threading.Lock()
_assets: dict[str, "Asset"] = {}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the application as served: its bytes, gzip copy (None when not worth it) and headers."""

    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str
    cache_control: str


def _media_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def load_asset(relative: str) -> Asset | None:
    """The asset at ``relative`` (a path under ``api/web``), read once; None when there is no such file."""
    hit = _assets.get(relative)
    if hit is not None:
        return hit
    root = WEB_ROOT.resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file() or path.name.startswith("."):
        return None
    body = path.read_bytes()
    media_type = _media_type(path)
    gzipped = None
    if len(body) >= GZIP_MIN_BYTES and media_type.startswith(_COMPRESSIBLE):
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        gzipped = packed if len(packed) < len(body) * 0.9 else None
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    cache = VENDOR_CACHE if relative.startswith("vendor/") else APP_CACHE
    asset = Asset(body, gzipped, media_type, etag, cache)
    with _lock:
        _assets[relative] = asset
    return asset


def _accepts_gzip(accept_encoding: str | None) -> bool:
    for part in (accept_encoding or "").split(","):
        coding, _, q = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return q.strip().replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _not_modified(if_none_match: str | None, etag: str) -> bool:
    return bool(if_none_match) and any(t.strip() in ("*", etag, "W/" + etag) for t in if_none_match.split(","))


def serve(relative: str, if_none_match: str | None, accept_encoding: str | None) -> Response:
    """The asset as a response: 304 when ``If-None-Match`` names it, gzip when accepted and smaller."""
    asset = load_asset(relative)
    if asset is None:
        raise HTTPException(404, f"no web asset {relative!r}")
    headers = {"ETag": asset.etag, "Cache-Control": asset.cache_control, "X-Content-Type-Options": "nosniff"}
    if asset.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if _not_modified(if_none_match, asset.etag):
        return Response(status_code=304, headers=headers)
    if asset.gzipped is not None and _accepts_gzip(accept_encoding):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


IfNoneMatch = Annotated[str | None, Header(max_length=4096)]
AcceptEncoding = Annotated[str | None, Header(max_length=1024)]


@router.api_route("/", methods=["GET", "HEAD"])
def index(if_none_match: IfNoneMatch = None, accept_encoding: AcceptEncoding = None) -> Response:
    """The application's page (its views are client-side routes: ``/#/quote``, ``/#/shipments``, ...)."""
    return serve("index.html", if_none_match, accept_encoding)


@router.api_route("/web/{asset:path}", methods=["GET", "HEAD"])
def web_asset(asset: Annotated[str, PathParam(max_length=300, pattern=r"^[A-Za-z0-9_./-]+$")],
              if_none_match: IfNoneMatch = None, accept_encoding: AcceptEncoding = None) -> Response:
    """A module, style sheet, dictionary, vendored library or map data file of the application."""
    if ".." in asset.split("/"):
        raise HTTPException(404, f"no web asset {asset!r}")
    return serve(asset, if_none_match, accept_encoding)
