"""Routes: the exchange records (enterprises, orders, payments, waybills, 9810 stock movements) and the
three-document check of 9610 orders.

Every route takes an organisation's credential and is scoped by its organisation: records are the
sender's own; another organisation's record answers 404 exactly like an unknown key (an office analyst
reads zone-wide statistics, never another tenant's raw records). Writing takes a member or admin.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from api.auth import AUTH_ERRORS, MemberDep, Principal, require
from api.deps import IngestDbDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.trade import (
    BATCH_BODIES,
    BATCH_BODY_TYPES,
    BatchOut,
    CheckListOut,
    CheckOut,
    JsonSchemaOut,
    RawJson,
    RecordHistoryOut,
    RecordKind,
    RecordListOut,
    StoredRecordOut,
)
from optimizer.errors import InvalidInput
from optimizer.timefmt import iso_ms
from trade.bulk import gc_paused
from trade.checks import STATUSES, CheckRow, get_check, list_checks
from trade.json_schema import record_schema
from trade.store import (
    FILTERS,
    PAGE_MAX,
    TIME_COLUMN,
    BatchResult,
    StoredRecord,
    get_record,
    list_records,
    record_history,
    store_batch,
)

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["records"])
WriterDep = Annotated[Principal, Depends(require("member", "admin"))]
Kind = Annotated[RecordKind, Path(description="the record kind")]
Key = Annotated[str, Path(min_length=1, max_length=64, description="the record's key: credit code, order no., "
                                                                   "payment no., logistics no. or movement no.")]
Limit = Annotated[int, Query(ge=1, le=PAGE_MAX, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")]
Filter = Annotated[str | None, Query(max_length=64)]


def iso(ms: int | None) -> str | None:
    return iso_ms(ms, zulu=True)


ISO_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
Since = Annotated[str | None, Query(pattern=ISO_TIME, description="from this time, inclusive (ISO 8601; without an "
                                                                 "offset UTC)", examples=["2026-03-01"])]
Until = Annotated[str | None, Query(pattern=ISO_TIME, description="before this time, exclusive (ISO 8601)",
                                    examples=["2026-04-01T00:00:00+08:00"])]


def to_ms(text: str | None, name: str) -> int | None:
    """An ISO 8601 date or time (UTC without an offset) as epoch milliseconds; a 422 naming ``name`` otherwise."""
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name}: '{text[:40]}' is not a valid ISO 8601 date or time", field=name) from None
    return int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp() * 1000)


def batch_out(result: BatchResult, results: str = "all") -> dict[str, Any]:
    """The batch's answer; ``results="changes"`` lists only the rejected and updated records (the others were
    created or unchanged, as counted): a large ingest does not read back one entry per record."""
    listed = result.results if results == "all" else [r for r in result.results
                                                       if r.outcome in ("rejected", "updated")]
    return {"kind": result.kind, "counts": result.counts, "checks_changed": result.checks_changed,
            "results": [{"index": r.index, "key": r.key, "outcome": r.outcome, "version": r.version,
                         "errors": [{"field": e.field, "message": e.message} for e in r.errors]}
                        for r in listed]}


def batch_response(result: BatchResult, results: str = "all") -> Response:
    """:func:`batch_out` as the JSON response, encoded here: the answer is built from the store's own results
    (every field of ``BatchOut``, in its order), so validating a few thousand entries against ``BatchOut``
    again, as FastAPI would for a returned dict, is skipped (``tests/test_trade_batch_route.py`` checks that
    the answer still validates). Encoded as FastAPI's ``JSONResponse`` does."""
    body = json.dumps(batch_out(result, results), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(body.encode(), media_type="application/json")


def record_out(r: StoredRecord) -> dict[str, Any]:
    return {"kind": r.kind, "key": r.key, "version": r.version, "created_at": iso(r.created_ms),
            "updated_at": iso(r.updated_ms), "record": r.record}


def check_out(c: CheckRow) -> dict[str, Any]:
    return {"order_no": c.order_no, "status": c.status, "missing": c.missing, "mismatches": c.mismatches,
            "ordered_at": iso(c.ordered_ms) if c.ordered_ms else None, "checked_at": iso(c.checked_ms)}


# --- batches (one route per kind: each body states its record's schema) -----------------------------------------
class RawJsonRequest(Request):
    """A request whose ``json()`` is the body itself, unparsed (:class:`RawJson`): the batch body's type
    (:class:`api.schemas.trade.OneParse`) parses and validates it in one pass."""

    async def json(self) -> Any:
        return RawJson(await self.body())


class BatchRoute(JsonRoute):
    """The batch routes: the body reaches its validator as raw JSON (a batch of 10,000 records is not
    turned into Python dicts first and validated from them after); the garbage collector is paused for the
    whole request (:func:`trade.bulk.gc_paused`: the batch's objects live until the answer is built).

    A process answering a batch while another batch is in flight in it answers ``Connection: close``: the
    client's next batch comes on a new connection, which an idle API process of ``cbec serve --workers N`` can
    accept. Keep-alive connections otherwise stay with the process that accepted them, and uvicorn's processes
    accept from one shared socket, often the same process for every client (``busy_workers`` of
    ``bench/records_bench.py``: two of four runs had one process of two do all the work). A reconnection costs
    well under a millisecond against tens of milliseconds per batch."""

    in_flight = 0  # batches being answered in this process (the event loop's thread only)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = APIRoute.get_route_handler(self)

        async def route_handler(request: Request) -> Response:
            BatchRoute.in_flight += 1
            try:
                with gc_paused():
                    response = await handler(RawJsonRequest(request.scope, request.receive))
                if BatchRoute.in_flight > 1:
                    response.headers["connection"] = "close"
                return response
            finally:
                BatchRoute.in_flight -= 1

        return route_handler


Results = Annotated[Literal["all", "changes"], Query(
    description="`all`: one entry per record; `changes`: only the rejected and updated records (every other one "
                "was created or unchanged, as `counts` says), for large ingests")]


def _batch_route(kind: str) -> None:
    body_model = BATCH_BODY_TYPES[kind]

    async def post_batch(body: body_model, principal: WriterDep, db: IngestDbDep,  # type: ignore[valid-type]
                         results: Results = "all") -> Response:
        result = await run_in_threadpool(store_batch, db, principal.org_id, kind, body.records)  # type: ignore[attr-defined]
        return batch_response(result, results)

    post_batch.__annotations__["body"] = body_model  # a real class, not the postponed name
    post_batch.__name__ = f"post_{kind}_batch"
    post_batch.__doc__ = (
        f"Idempotent: a record whose key is known with the same content is `unchanged` (nothing written); with "
        f"other content it is `updated` to a new version (the history is kept: GET /v1/records/{kind}/{{key}}/versions). "
        "Each record is validated on its own: an invalid one is `rejected` with its field paths and the others are "
        "stored (one transaction per batch). Orders, payments and waybills re-run the three-document check of the "
        "orders they name.")
    router.add_api_route(f"/records/{kind}:batch", post_batch, methods=["POST"], response_model=BatchOut,
                         route_class_override=BatchRoute,
                         summary=f"Send a batch of {kind.replace('_', ' ')}",
                         responses=problems(**AUTH_ERRORS, **{"400": "the body is not parseable JSON",
                                                              "413": "body larger than CBEC_MAX_BODY_BYTES",
                                                              "422": "not a batch (no records list, or too many)"}))


for _kind in BATCH_BODIES:
    _batch_route(_kind)


# --- reading ----------------------------------------------------------------------------------------------
FILTER_HELP = {"customs_mode": "9610 | 9710 | 9810 | 1210", "destination_country": "ISO alpha-2",
               "enterprise_code": "the seller's credit code", "currency": "ISO 4217", "order_no": "the order's number",
               "shipment_id": "a followed shipment", "channel": "postal | express | freight",
               "transport_mode": "air | rail | sea | road", "role": "ecommerce | platform | logistics | warehouse | "
               "payment", "city": "home city", "warehouse_id": "the overseas warehouse", "kind": "inbound | sales_out"}


def _list_route(kind: str) -> None:
    """``GET /v1/records/<kind>``: its own filters (:data:`trade.store.FILTERS`) as query parameters."""

    def get_records(principal: MemberDep, db: IngestDbDep, limit: Limit = 100, offset: Offset = 0,
                    since: Since = None, until: Until = None, **filters: str | None) -> dict[str, Any]:
        page = list_records(db, principal.org_id, kind, filters={k: v for k, v in filters.items() if v is not None},
                            since_ms=to_ms(since, "since"), until_ms=to_ms(until, "until"), limit=limit, offset=offset)
        return {"items": [record_out(r) for r in page.items], "total": page.total, "limit": limit, "offset": offset}

    base = [p for p in inspect.signature(get_records).parameters.values() if p.kind != p.VAR_KEYWORD]
    if kind not in TIME_COLUMN:
        base = [p for p in base if p.name not in ("since", "until")]
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                               annotation=Annotated[str | None, Query(max_length=64, description=FILTER_HELP[name])])
             for name in FILTERS[kind]]
    get_records.__signature__ = inspect.Signature(base + extra)  # type: ignore[attr-defined]
    get_records.__annotations__ = {p.name: p.annotation for p in base + extra} | {"return": dict[str, Any]}
    get_records.__name__ = f"get_{kind}"
    get_records.__doc__ = (f"The organisation's current {kind.replace('_', ' ')} in key order, filtered by "
                           f"{', '.join(FILTERS[kind])}" + (" and by time" if kind in TIME_COLUMN else "") + ".")
    router.add_api_route(f"/records/{kind}", get_records, methods=["GET"], response_model=RecordListOut,
                         summary=f"List the organisation's {kind.replace('_', ' ')}",
                         responses=problems(**AUTH_ERRORS, **{"422": "an invalid filter value or time"}))


for _kind in BATCH_BODIES:
    _list_route(_kind)


@router.get("/records/{kind}/{key}", response_model=StoredRecordOut, summary="One record (its current version)",
            responses=problems(**AUTH_ERRORS, **{"404": "no such record in the organisation"}))
def get_one_record(kind: Kind, key: Key, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    return record_out(get_record(db, principal.org_id, kind, key))


@router.get("/records/{kind}/{key}/versions", response_model=RecordHistoryOut, summary="Every version of a record",
            responses=problems(**AUTH_ERRORS, **{"404": "no such record in the organisation"}))
def get_record_versions(kind: Kind, key: Key, principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    h = record_history(db, principal.org_id, kind, key)
    return {"kind": h.kind, "key": h.key, "versions": [
        {"version": v.version, "digest": v.digest, "stored_at": iso(v.stored_ms), "record": v.record}
        for v in h.versions]}


@router.get("/schemas/{kind}", response_model=JsonSchemaOut, summary="The JSON Schema of a record kind",
            responses=problems(**AUTH_ERRORS))
def get_schema(kind: Kind, principal: MemberDep) -> dict[str, Any]:
    """The same document as the published file ``trade/schemas/<kind>.v1.0.json``."""
    return record_schema(kind)


# --- the three-document check ----------------------------------------------------------------------------------
@router.get("/checks", response_model=CheckListOut, tags=["checks"], summary="Three-document checks of 9610 orders",
            responses=problems(**AUTH_ERRORS))
def get_checks(principal: MemberDep, db: IngestDbDep, limit: Limit = 100, offset: Offset = 0,
               status: Annotated[str | None, Query(pattern="^(matched|mismatch|incomplete)$",
                                                   description=" | ".join(STATUSES))] = None,
               order_no: Filter = None,
               since: Since = None, until: Until = None) -> dict[str, Any]:
    """Newest orders first (by order time; ``since``/``until`` filter on it); ``counts`` gives the number of each
    status over the same filters."""
    page = list_checks(db, principal.org_id, status=status, order_no=order_no, since_ms=to_ms(since, "since"),
                       until_ms=to_ms(until, "until"), limit=limit, offset=offset)
    return {"items": [check_out(c) for c in page.items], "total": page.total, "counts": page.counts,
            "limit": limit, "offset": offset}


@router.get("/checks/{order_no}", response_model=CheckOut, tags=["checks"], summary="The check of one order",
            responses=problems(**AUTH_ERRORS, **{"404": "no check for this order number in the organisation"}))
def get_one_check(order_no: Annotated[str, Path(min_length=1, max_length=64)], principal: MemberDep,
                  db: IngestDbDep) -> dict[str, Any]:
    return check_out(get_check(db, principal.org_id, order_no))
