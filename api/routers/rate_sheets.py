"""Routes: an organisation's own rate sheets (CSV or XLSX; format in docs/rate_sheets.md).

``POST /v1/rate-sheets/{name}`` uploads a new version (the body is the file itself, ``text/csv`` or the
XLSX media type); every bad row is named (row number and column) in a 422 and nothing is stored. The
organisation's quotes use its active versions where they apply (``tariff_source`` on each leg).
Admins upload and retire; every member lists and reads. Another organisation's sheet answers 404.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.auth import AUTH_ERRORS, AdminDep, MemberDep
from api.deps import IngestDbDep, NetworkDep
from api.problems import problem, problems
from api.routing import JsonRoute
from api.schemas.rate_sheets import RateSheetListOut, RateSheetOut
from quotations import rate_sheets as sheets

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["rate sheets"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TYPES = ("text/csv", XLSX, "application/octet-stream")
Name = Annotated[str, Path(min_length=1, max_length=64, pattern=sheets.NAME_RE.pattern,
                           description="the sheet's name (letters, digits, _ . -)")]
_BODY_DOC = {"required": True, "description": "the rate sheet file: CSV (UTF-8, a header row) or an XLSX workbook "
                                              "(first worksheet); columns in docs/rate_sheets.md",
             "content": {"text/csv": {"schema": {"type": "string"}, "example":
                                      "service,equipment,min_kg,rate,basis,min_charge,currency,valid_from,valid_to\n"
                                      "CRE_CD_LODZ,40HQ,0,4600,per_container,0,USD,2026-11-01,2027-01-31\n"},
                         XLSX: {"schema": {"type": "string", "format": "binary"}}}}


@router.post("/rate-sheets/{name}", status_code=201, response_model=RateSheetOut,
             summary="Upload a new version of a rate sheet (admins)",
             responses=problems(**AUTH_ERRORS, **{"413": "larger than the service's body limit",
                                                  "415": "not CSV or XLSX",
                                                  "422": "bad rows: each named by row number and column (errors[])"}),
             openapi_extra={"requestBody": _BODY_DOC})
async def post_rate_sheet(name: Name, request: Request, response: Response, principal: AdminDep,
                          db: IngestDbDep, net: NetworkDep) -> Any:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind not in TYPES:
        return problem(415, "Unsupported media type", f"content-type must be text/csv or {XLSX} (got "
                                                       f"'{kind[:60] or 'none'}')", str(request.url.path), field="content-type")
    body = await request.body()
    filename = f"{name}.{'xlsx' if body.startswith(sheets.XLSX_MAGIC) else 'csv'}"
    info = await run_in_threadpool(sheets.upload_sheet, db, principal.org_id, name, filename, body, net,
                                   actor=principal.user_id or principal.key_id)
    response.headers["Location"] = f"/v1/rate-sheets/{name}?version={info.version}"
    return asdict(info)


@router.get("/rate-sheets", response_model=RateSheetListOut, summary="The organisation's rate sheets (latest versions)",
            responses=problems(**AUTH_ERRORS))
def get_rate_sheets(principal: MemberDep, db: IngestDbDep) -> Any:
    return {"sheets": [asdict(s) for s in sheets.list_sheets(db, principal.org_id)]}


@router.get("/rate-sheets/{name}", response_model=RateSheetOut, summary="One rate sheet with its rates",
            responses=problems(**AUTH_ERRORS, **{"404": "no such sheet (or version) in the organisation"}))
def get_rate_sheet(name: Name, principal: MemberDep, db: IngestDbDep,
                   version: Annotated[int | None, Query(ge=1, le=1_000_000, description="default: the latest")] = None) -> Any:
    return asdict(sheets.get_sheet(db, principal.org_id, name, version))


@router.post("/rate-sheets/{name}/retire", response_model=RateSheetOut,
             summary="Retire a rate sheet: quotes no longer use it (admins)",
             responses=problems(**AUTH_ERRORS, **{"404": "no such sheet in the organisation",
                                                  "422": "the sheet has no active version"}))
def retire_rate_sheet(name: Name, principal: AdminDep, db: IngestDbDep) -> Any:
    return asdict(sheets.retire_sheet(db, principal.org_id, name))
