"""Routes: monthly settlements of shared-warehouse capacity (``/v1/settlements``): the figures per pair of
organisations (both parties see the same), CSV/XLSX exports, the signed statement and its verification, the
office's totals between cities, and an organisation's home city.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from accounts.principal import Principal
from api.auth import AUTH_ERRORS, MemberDep, require
from api.deps import IngestDbDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.sharing import MONTH_RE, CityFlowsOut, CityIn, CityOut, SettlementOut, StatementOut, VerifyIn, VerifyOut
from sharing.audit import Actor
from sharing.export import lines_csv, lines_xlsx, statement
from sharing.profiles import city_of, set_city
from sharing.settlement import Month, between_cities, settlement
from sharing.signing import verify

BODY = {"400": "malformed JSON body"}
router = APIRouter(route_class=JsonRoute, prefix="/v1/settlements", tags=["shared warehouses"])
MonthPath = Annotated[str, Path(pattern=f"^{MONTH_RE}$", description="the month, YYYY-MM")]
NO_MONTH = {"404": "the path's month is not YYYY-MM (no such resource)"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/city", response_model=CityOut, summary="This organisation's home city", responses=problems(**AUTH_ERRORS))
def get_city(principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    return {"org": principal.org_id, "city": city_of(db, principal.org_id)}


@router.put("/city", response_model=CityOut, summary="Set this organisation's home city (admins)",
            responses=problems(**AUTH_ERRORS, **BODY, **{"422": "invalid city"}))
def put_city(body: CityIn, principal: Annotated[Principal, Depends(require("admin"))], db: IngestDbDep) -> dict[str, Any]:
    return {"org": principal.org_id, "city": set_city(db, principal.org_id, body.city, Actor.of(principal))}


@router.post("/verify", response_model=VerifyOut, summary="Verify a signed statement",
             responses=problems(**AUTH_ERRORS, **BODY, **{"422": "not a JSON object"}))
def post_verify(body: VerifyIn, principal: MemberDep) -> dict[str, Any]:
    valid, reason = verify(body.model_dump())
    return {"valid": valid, "reason": reason}


@router.get("/{month:month}", response_model=SettlementOut, summary="The month's settlement of every pair this organisation "
                                                              "is a party to", responses=problems(**AUTH_ERRORS, **NO_MONTH, **{"422": "bad month"}))
def get_settlement(month: MonthPath, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    return settlement(db, Month.parse(month), org=principal.org_id)


@router.get("/{month:month}/export", summary="The month's lines as CSV or XLSX", response_class=Response,
            responses={200: {"description": "the lines", "content": {"text/csv": {}, XLSX: {}}},
                       **problems(**AUTH_ERRORS, **NO_MONTH, **{"422": "bad month or format"})})
def get_export(month: MonthPath, principal: MemberDep, db: IngestDbDep,
               format: Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")] = "csv") -> Response:
    doc = settlement(db, Month.parse(month), org=principal.org_id)
    name = f"settlement-{month}-{principal.org_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "xlsx":
        return Response(lines_xlsx(doc["lines"], month), media_type=XLSX, headers=headers)
    return Response(lines_csv(doc["lines"]), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/{month:month}/statement", response_model=StatementOut, summary="This organisation's signed statement",
            responses=problems(**AUTH_ERRORS, **NO_MONTH, **{"422": "bad month"}))
def get_statement(month: MonthPath, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    """HMAC-SHA256 over the statement's canonical JSON (sorted keys, no spaces, UTF-8, without ``signature``),
    keyed from the deployment's secret: verify with ``POST /v1/settlements/verify`` or ``cbec settlements verify``."""
    return statement(db, Month.parse(month), principal.org_id)


@router.get("/{month:month}/cities", response_model=CityFlowsOut, summary="Totals between cities (the pilot-zone office)",
            responses=problems(**AUTH_ERRORS, **NO_MONTH, **{"422": "bad month"}))
def get_cities(month: MonthPath, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    """Flows between home cities and the totals per city, no organisation named; the statistics office's rule
    hides a figure with fewer than three organisations on its smaller side, and the figures that would let it be
    worked out from the shown totals (``suppressed``: primary / secondary; ``rule`` says so)."""
    if not principal.zone_wide:
        raise HTTPException(403, "totals between cities are for the pilot-zone office (an analyst or admin of an "
                                 "office organisation)")
    return between_cities(db, Month.parse(month))
