"""Shared-warehouse network design (a job) and stock positioning.

POST /v1/warehouse-designs returns 202 with the job id (``Location`` header) at once; GET
/v1/warehouse-designs/{id} (or /v1/jobs/{id}) gives status, progress and the design. The body
designs the bundled network (optionally with its own ``demand`` rows) or, with ``orlib``, an
OR-Library cap instance given as text. POST /v1/stock-policies answers inline. Every route takes a
member of an organisation (401 without a credential); a design belongs to the caller's organisation and
another organisation's id answers 404 exactly like an unknown one.

Shared warehouses (issue 19): a design of the bundled network reads the shared-warehouse offers the
caller's organisation may book (``offers``; default on when any open offer covers ``offers_start..offers_end``):
their free space and cheapest prices replace the warehouses' own figures and a warehouse nobody offers is
not a candidate (:func:`sharing.recommend.design_offers`). They are read when the request is accepted and
passed to the job (its ``offers`` parameter, echoed in the result).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.auth import AUTH_ERRORS, MemberDep
from api.deps import IngestDbDep, NetworkDep, job_or_404, start_job
from api.jobs import JobsDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.common import JobOut
from api.schemas.warehouses import DemandRowIn, DesignIn, StockIn, StockOut
from jobs.kinds import design_inputs
from optimizer.errors import InvalidInput
from optimizer.warehouses.design import DesignSettings, demand_rows, with_settings
from optimizer.warehouses.policies import stock_policies
from sharing.model import parse_day
from sharing.recommend import design_offers
from storage.db import Database

JobId = Annotated[str, Path(min_length=1, max_length=64, description="the job id from the Location header")]
router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["warehouses"])
BAD_BODY = "the body is not parseable JSON (e.g. nested too deeply)"


def _records(rows: list[DemandRowIn] | None) -> list[dict] | None:
    return None if rows is None else [r.model_dump(exclude_none=True) for r in rows]


def design_params(body: DesignIn) -> dict:
    """The design job's params (JSON): solver options, and the OR-Library text or the demand rows and settings."""
    options = {"single_sourcing": body.single_sourcing, "max_open": body.max_open, "n_open": body.n_open,
               "budget": body.budget, "solver": body.solver, "method": body.method, "time_limit": body.time_limit_s}
    if body.orlib is not None:
        return {"options": options, "orlib": {"text": body.orlib, "name": body.orlib_name, "capacity": body.capacity}}
    return {"options": options, "demand": _records(body.demand), "max_days": body.max_days,
            "carbon_price": body.carbon_price}


def _offers(body: DesignIn, db: Database, org: str | None) -> dict | None:
    """The design job's ``offers`` parameter, or None (see the module doc)."""
    if body.offers is False or org is None:
        return None
    if body.orlib is not None:
        if body.offers:
            raise InvalidInput("offers apply to the bundled network, not to an OR-Library instance", field="offers")
        return None
    doc = design_offers(db, org, body.offers_start and parse_day(body.offers_start, "offers_start"),
                        body.offers_end and parse_day(body.offers_end, "offers_end"))
    if not doc["sites"]:
        if body.offers:
            raise InvalidInput(f"no open offer this organisation may book covers {doc['period']['start']}.."
                               f"{doc['period']['end']}", field="offers")
        return None
    return doc


@router.post("/warehouse-designs", status_code=202, response_model=JobOut,
             summary="Design the shared overseas warehouse network (a job)",
             responses={202: {"description": "accepted as a job"},
                        **problems(**AUTH_ERRORS, **{"400": BAD_BODY, "422": "invalid input: a bound of the schema, an unknown market or a duplicate "
                                             "row in demand, an OR-Library text that cannot be read, a limit no "
                                             "design can meet, or offers asked for where none covers the period",
                                      "429": "the organisation's quota of running and queued jobs is used (Retry-After)"})})
def post_design(body: DesignIn, response: Response, net: NetworkDep, jobs: JobsDep, db: IngestDbDep) -> dict:
    params = design_params(body)
    offers = _offers(body, db, jobs.owner)
    if offers is not None:
        params["offers"] = offers
    design_inputs(net, params)  # validate before accepting, so a bad file is a 422 now rather than a failed job later
    return start_job(jobs, "warehouse-design", params, response, "/v1/warehouse-designs")


@router.get("/warehouse-designs/{design_id}", response_model=JobOut, summary="Status, progress and result of a design job",
            responses=problems(**AUTH_ERRORS, **{"404": "no such design (or another organisation's)",
                                                 "422": "an id longer than 64 characters"}))
def get_design(design_id: JobId, jobs: JobsDep) -> dict:
    return job_or_404(jobs, design_id, "warehouse-design", "warehouse design").to_dict()


@router.post("/stock-policies", response_model=StockOut,
             summary="Replenishment policy per open warehouse and product family",
             responses=problems(**AUTH_ERRORS, **{"400": BAD_BODY, "404": "unknown warehouse",
                                   "422": "invalid input (a bound of the schema, an unknown market, a warehouse the "
                                          "design leaves closed) or a service level no warehouse meets"}))
def post_stock(body: StockIn, net: NetworkDep, _member: MemberDep) -> dict:
    settings = with_settings(DesignSettings(), max_days=body.max_days, carbon_price=body.carbon_price)
    plan = stock_policies(net, demand_rows(net, _records(body.demand)), fill_rate=body.fill_rate, policy=body.policy,
                          review_days=body.review_days, warehouses=body.warehouses, settings=settings)
    return plan.to_dict()
