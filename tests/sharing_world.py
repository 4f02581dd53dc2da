"""Shared by the sharing tests: a database (SQLite, or a throw-away PostgreSQL schema), an operator with an
offer, exporters; days relative to today so that the rules about the past and the notice hold."""

from __future__ import annotations

from datetime import date, timedelta

from sharing.audit import Actor
from sharing.model import OfferSpec, Terms
from sharing.offers import create_offer

TODAY = date.today()


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


def offer_spec(warehouse: str = "WH_LODZ", **changes) -> OfferSpec:
    base = dict(warehouse=warehouse, start_day=day(20), end_day=day(120), storage_capacity=300.0,
                inbound_m3_per_day=40.0, price_storage=0.5, price_inbound=4.0,
                cargo_classes=("general", "lithium_batteries"), customs_modes=("9810",),
                terms=Terms(notice_days=14, cancel_fee_share=0.5, settle_on="booked", booked_share=1.0, hold_hours=48))
    base.update(changes)
    return OfferSpec(**base)


def publish(db, net, operator, **changes):
    return create_offer(db, net, operator.org_id, offer_spec(**changes), Actor(operator.org_id, "test"))


def actor(tenant) -> Actor:
    return Actor(tenant.org_id, "test")
