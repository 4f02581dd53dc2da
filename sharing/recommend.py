"""Recommendations: which open offers an exporter should book for its expected demand per market
(:mod:`optimizer.warehouses.booking_choice` on the offers it may book, at their free capacity)."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from optimizer.network import Network
from optimizer.warehouses.booking_choice import DemandLine, OfferCapacity, recommend_offers
from optimizer.warehouses.design import DemandRow, DesignSettings, NetworkDesign, SiteTerms, demand_rows, design_network
from optimizer.warehouses.facility import DesignOptions
from sharing.model import check_period
from sharing.offers import day_use, list_offers
from storage.db import Database


def free_capacities(db: Database, org: str | None, start: date, end: date) -> list[OfferCapacity]:
    """Each open offer ``org`` may book covering ``start..end``, at its least free space over those days (m³)."""
    offers, _ = list_offers(db, org=org, limit=10_000)
    out = []
    with db.engine.connect() as conn:
        for o in offers:
            if o.org_id == org or o.start_day > start or o.end_day < end:
                continue
            storage = min((u.free for u in day_use(conn, o, "storage", start, end)), default=0.0) * o.m3_per_unit
            inbound = min((u.free for u in day_use(conn, o, "inbound", start, end)), default=0.0)
            if storage <= 0 or inbound <= 0:
                continue
            out.append(OfferCapacity(o.offer_id, o.warehouse, storage, inbound, o.price_storage / o.m3_per_unit,
                                     o.price_inbound, o.currency))
    return out


def recommend(db: Database, net: Network, org: str, start: date, end: date, *,
              demand: list[dict] | list[DemandRow] | None = None, demand_source: dict[str, Any] | None = None,
              fill_rate: float = 0.95, review_days: float = 7.0, max_days: float | None = None,
              time_limit: float = 30.0) -> dict[str, Any]:
    """The offers to book for ``org``'s demand over ``start..end`` (``demand``: rows as the stock-positioning
    input, market, family, mean_m3_day, sd_m3_day, kg_per_m3[, max_days]; default the bundled sample).
    ``demand_source`` says where the rows came from (e.g. the organisation's orders); the answer carries it
    with the rows used, under ``demand``."""
    check_period(start, end)
    rows = demand if demand and isinstance(demand[0], DemandRow) else demand_rows(net, demand)
    if demand_source is None:
        demand_source = {"kind": "given", "rows": len(rows)} if demand else {"kind": "sample"}
    offers = free_capacities(db, org, start, end)
    settings = DesignSettings(max_days=max_days)
    choice = recommend_offers(net, [DemandLine(org, r) for r in rows], offers, fill_rate=fill_rate,
                              review_days=review_days, settings=settings, time_limit=time_limit)
    doc = choice.to_dict(org)
    units = {o.offer_id: o for o in list_offers(db, org=org, limit=10_000)[0]}
    for b in doc["book"]:  # what to ask for, in the offer's own unit (whole pallet positions)
        o = units[b["offer"]]
        b["storage_unit"] = o.storage_unit
        b["storage_quantity"] = (math.ceil(b["storage_m3"] / o.m3_per_unit - 1e-9) if o.storage_unit == "pallet"
                                 else round(b["storage_m3"], 2))
    doc["period"] = {"start": start.isoformat(), "end": end.isoformat()}
    doc["offers_considered"] = len(offers)
    doc["demand"] = {"source": demand_source, "rows": [asdict(r) for r in rows]}
    return doc


def offered_sites(db: Database, org: str | None, start: date, end: date) -> dict[str, SiteTerms]:
    """Per warehouse, the space the open offers ``org`` may book have free over ``start..end`` (summed) and the
    cheapest of their prices: what the network design reads in place of the nodes' own figures."""
    out: dict[str, SiteTerms] = {}
    for o in free_capacities(db, org, start, end):
        had = out.get(o.warehouse)
        out[o.warehouse] = SiteTerms(
            o.storage_m3 + (had.storage_m3 if had else 0.0), o.inbound_m3_per_day + (had.inbound_m3_per_day if had else 0.0),
            min(o.price_storage_m3_day, had.storage_price_m3_day) if had else o.price_storage_m3_day,
            min(o.price_inbound_m3, had.inbound_price_m3) if had else o.price_inbound_m3)
    return out


def design_offers(db: Database, org: str | None, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    """:func:`offered_sites` as JSON, the network design job's ``offers`` parameter: ``{"period": {start, end},
    "sites": {warehouse: SiteTerms fields}}`` (``sites`` empty when no open offer ``org`` may book covers the
    period). Default period: today (UTC) and the 29 days after."""
    start = start or datetime.now(UTC).date()
    end = end or start + timedelta(days=29)
    check_period(start, end, prefix="offers_")
    sites = offered_sites(db, org, start, end)
    return {"period": {"start": start.isoformat(), "end": end.isoformat()},
            "sites": {w: {k: round(v, 4) for k, v in asdict(terms).items()} for w, terms in sorted(sites.items())}}


def design_on_offers(db: Database, net: Network, org: str | None, start: date, end: date, *,
                     demand: list[dict] | None = None, settings: DesignSettings | None = None,
                     options: DesignOptions | None = None) -> NetworkDesign:
    """The shared-warehouse network design on the space and prices actually on offer (``offered_sites``)."""
    check_period(start, end)
    s = settings or DesignSettings()
    result, lanes = design_network(net, demand_rows(net, demand), s, options or DesignOptions(time_limit=60.0),
                                   sites=offered_sites(db, org, start, end))
    return NetworkDesign(result, lanes, s, net)
