"""The three-document check (三单对碰) of 9610 orders: order, payment and waybill matched by order number.

For each 9610 order the documents must agree on:

* the amount: the payments' total equals the order's amount due (goods + freight) within
  ``max(AMOUNT_ABS_TOLERANCE, AMOUNT_REL_TOLERANCE × amount due)``, in the order's currency;
* the currency of every payment;
* the payer (the order's buyer) and the consignee (the order's and the waybills'), compared without case
  and extra spaces, when both documents name one;
* the destination country of every waybill;
* the weight: the waybills' gross weight is plausible for the declared net weight of the goods
  (not lighter than ``WEIGHT_MIN_RATIO`` × net, not heavier than ``WEIGHT_MAX_RATIO`` × net +
  ``WEIGHT_MAX_PACKING_KG``), when every goods line declares a net weight.

Outcome: ``matched``; ``mismatch`` with each disagreeing field, the documents involved, what was
expected and what was found; ``incomplete`` with the missing documents (``payment``, ``waybill``, or
``order`` when a payment or waybill names an order not received). A mismatch found while a document is
still missing is reported as ``incomplete`` with the mismatches listed too.

:func:`evaluate` is the pure rule; :func:`recompute` runs it in the store's transaction for the orders a
batch touched (an order, payment or waybill arriving or changing), saves the result and hands changed
outcomes to the webhooks outbox (``check.result``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Connection, and_, func, select

from optimizer.errors import CbecError
from storage.db import Database
from trade import bulk
from trade.tables import checks, orders, payments, waybills

AMOUNT_ABS_TOLERANCE = 0.01
AMOUNT_REL_TOLERANCE = 0.005
WEIGHT_MIN_RATIO = 0.95
WEIGHT_MAX_RATIO = 3.0
WEIGHT_MAX_PACKING_KG = 2.0
STATUSES = ("matched", "mismatch", "incomplete")
CHECKED_MODE = "9610"

Status = Literal["matched", "mismatch", "incomplete"]


@dataclass(frozen=True)
class OrderFacts:
    """What the check reads of an order."""

    order_no: str
    customs_mode: str
    currency: str
    destination_country: str
    amount_due: float
    net_weight_kg: float | None
    buyer_name: str | None
    consignee_name: str | None
    ordered_ms: int


@dataclass(frozen=True)
class PaymentFacts:
    payment_no: str
    amount: float
    currency: str
    payer_name: str | None
    paid_ms: int


@dataclass(frozen=True)
class WaybillFacts:
    logistics_no: str
    gross_weight_kg: float
    destination_country: str
    consignee_name: str | None
    shipped_ms: int | None


@dataclass(frozen=True)
class Mismatch:
    """One field on which documents disagree."""

    field: str  # amount | currency | payer | consignee | destination_country | gross_weight
    documents: tuple[str, ...]  # e.g. ("order", "payment PAY1")
    expected: str
    found: str

    def to_dict(self) -> dict:
        return {"field": self.field, "documents": list(self.documents), "expected": self.expected, "found": self.found}


@dataclass(frozen=True)
class CheckResult:
    """The check of one order number."""

    order_no: str
    status: Status
    mismatches: tuple[Mismatch, ...] = ()
    missing: tuple[str, ...] = ()
    ordered_ms: int = 0

    def to_dict(self) -> dict:
        return {"order_no": self.order_no, "status": self.status, "missing": list(self.missing),
                "mismatches": [m.to_dict() for m in self.mismatches]}


def _name(value: str | None) -> str | None:
    return None if value is None else " ".join(value.split()).casefold()


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def evaluate(order: OrderFacts | None, pays: list[PaymentFacts], bills: list[WaybillFacts], *,
             order_no: str | None = None) -> CheckResult:
    """The check of one order number from its documents (``order`` None: not received)."""
    no = order.order_no if order is not None else (order_no or "")
    missing = tuple(name for name, present in (("order", order is not None), ("payment", bool(pays)),
                                               ("waybill", bool(bills))) if not present)
    found: list[Mismatch] = []
    if order is not None:
        if pays:
            for p in pays:
                if p.currency != order.currency:
                    found.append(Mismatch("currency", ("order", f"payment {p.payment_no}"), order.currency, p.currency))
                if p.payer_name and order.buyer_name and _name(p.payer_name) != _name(order.buyer_name):
                    found.append(Mismatch("payer", ("order", f"payment {p.payment_no}"), order.buyer_name, p.payer_name))
            paid = sum(p.amount for p in pays if p.currency == order.currency)
            if all(p.currency == order.currency for p in pays):
                tolerance = max(AMOUNT_ABS_TOLERANCE, AMOUNT_REL_TOLERANCE * order.amount_due)
                if abs(paid - order.amount_due) > tolerance:
                    found.append(Mismatch("amount", ("order", *(f"payment {p.payment_no}" for p in pays)),
                                          f"{_fmt(order.amount_due)} {order.currency}", f"{_fmt(paid)} {order.currency}"))
        for b in bills:
            if b.destination_country != order.destination_country:
                found.append(Mismatch("destination_country", ("order", f"waybill {b.logistics_no}"),
                                      order.destination_country, b.destination_country))
            if b.consignee_name and order.consignee_name and _name(b.consignee_name) != _name(order.consignee_name):
                found.append(Mismatch("consignee", ("order", f"waybill {b.logistics_no}"), order.consignee_name,
                                      b.consignee_name))
        if bills and order.net_weight_kg is not None:
            gross = sum(b.gross_weight_kg for b in bills)
            low = WEIGHT_MIN_RATIO * order.net_weight_kg
            high = WEIGHT_MAX_RATIO * order.net_weight_kg + WEIGHT_MAX_PACKING_KG
            if not low <= gross <= high:
                found.append(Mismatch("gross_weight", ("order", *(f"waybill {b.logistics_no}" for b in bills)),
                                      f"{low:.3f}-{high:.3f} kg for {order.net_weight_kg:.3f} kg net of goods",
                                      f"{gross:.3f} kg"))
    status: Status = "incomplete" if missing else ("mismatch" if found else "matched")
    ordered_ms = order.ordered_ms if order is not None else min(
        [p.paid_ms for p in pays] + [b.shipped_ms for b in bills if b.shipped_ms is not None] or [0])
    return CheckResult(no, status, tuple(found), missing, ordered_ms)


# --- in the store's transaction ----------------------------------------------------------------------------
_MISSING = {m: json.dumps(list(m)) for m in ((), ("payment",), ("waybill",), ("payment", "waybill"), ("order",),
                                             ("order", "payment"), ("order", "waybill"))}
def recompute(conn: Connection, org_id: str, order_nos: Iterable[str], now_ms: int, *,
              written_orders: Mapping[str, OrderFacts | None] | None = None) -> list[CheckResult]:
    """Re-check the 9610 orders ``order_nos`` of ``org_id`` (and orphan payments/waybills naming them),
    save the results in ``trd_checks`` and return those whose outcome changed (status, mismatches or
    missing documents). An order of another customs mode has no check.

    ``written_orders``: the facts of orders written in this transaction just before (None for one of another
    customs mode), taken as they are instead of being read back; the others are read from ``trd_orders``."""
    wanted = sorted(set(order_nos))
    if not wanted:
        return []
    order_facts: dict[str, OrderFacts] = {}
    other_mode: set[str] = set()
    pays: dict[str, list[PaymentFacts]] = defaultdict(list)
    bills: dict[str, list[WaybillFacts]] = defaultdict(list)
    before: dict[str, tuple[str, str, str]] = {}
    given = written_orders or {}
    for no, facts in given.items():
        if facts is None:
            other_mode.add(no)
        else:
            order_facts[no] = facts
    for r in bulk.select_in(conn, orders, ("order_no", "customs_mode", "currency", "destination_country", "goods_value",
                                           "freight", "net_weight_kg", "buyer_name", "consignee_name", "ordered_ms"),
                            org_id, "order_no", [no for no in wanted if no not in given]):
        if r.customs_mode != CHECKED_MODE:
            other_mode.add(r.order_no)
            continue
        order_facts[r.order_no] = OrderFacts(r.order_no, r.customs_mode, r.currency, r.destination_country,
                                             round(r.goods_value + r.freight, 2), r.net_weight_kg, r.buyer_name,
                                             r.consignee_name, r.ordered_ms)
    checked = [no for no in wanted if no not in other_mode]  # payments, waybills, checks: of checked orders only
    for r in bulk.select_in(conn, payments, ("order_no", "payment_no", "amount", "currency", "payer_name", "paid_ms"),
                            org_id, "order_no", checked, order_by="payment_no"):
        pays[r.order_no].append(PaymentFacts(r.payment_no, r.amount, r.currency, r.payer_name, r.paid_ms))
    for r in bulk.select_in(conn, waybills, ("order_no", "logistics_no", "gross_weight_kg", "destination_country",
                                             "consignee_name", "shipped_ms"),
                            org_id, "order_no", checked, order_by="logistics_no"):
        bills[r.order_no].append(WaybillFacts(r.logistics_no, r.gross_weight_kg, r.destination_country,
                                              r.consignee_name, r.shipped_ms))
    for r in bulk.select_in(conn, checks, ("order_no", "status", "mismatches_json", "missing_json"), org_id,
                            "order_no", wanted):
        before[r.order_no] = (r.status, r.mismatches_json, r.missing_json)
    results = [evaluate(order_facts.get(no), pays.get(no, []), bills.get(no, []), order_no=no)
               for no in checked if no in order_facts or no in pays or no in bills]
    rows, changed, replaced = [], [], []
    for r in results:
        mismatches = json.dumps([m.to_dict() for m in r.mismatches], ensure_ascii=False) if r.mismatches else "[]"
        missing = _MISSING.get(r.missing) or json.dumps(list(r.missing))
        old = before.get(r.order_no)
        if old != (r.status, mismatches, missing):
            changed.append(r)
            rows.append((org_id, r.order_no, r.status, mismatches, missing, r.ordered_ms, now_ms))
            if old is not None:
                replaced.append(r.order_no)
    have = {r.order_no for r in results}
    stale = [no for no in wanted if no in before and no not in have]
    bulk.delete_in(conn, checks, org_id, "order_no", replaced + stale)
    bulk.insert_tuples(conn, checks, rows)
    return changed


assert [c.name for c in checks.columns] == ["org_id", "order_no", "status", "mismatches_json", "missing_json",
                                            "ordered_ms", "checked_ms"]


@dataclass(frozen=True)
class CheckRow:
    """A stored check, as listed."""

    order_no: str
    status: str
    mismatches: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    ordered_ms: int = 0
    checked_ms: int = 0


@dataclass(frozen=True)
class CheckPage:
    items: list[CheckRow]
    total: int
    counts: dict[str, int]


def list_checks(db: Database, org_id: str, *, status: str | None = None, order_no: str | None = None,
                since_ms: int | None = None, until_ms: int | None = None, limit: int = 100,
                offset: int = 0) -> CheckPage:
    """The organisation's checks, newest orders first, filtered by status, order number and order time
    (``since_ms`` inclusive, ``until_ms`` exclusive); ``counts`` by status over the same filters but status."""
    cond = [checks.c.org_id == org_id]
    if order_no is not None:
        cond.append(checks.c.order_no == order_no)
    if since_ms is not None:
        cond.append(checks.c.ordered_ms >= since_ms)
    if until_ms is not None:
        cond.append(checks.c.ordered_ms < until_ms)
    counts = {s: 0 for s in STATUSES}
    with db.engine.connect() as conn:
        for r in conn.execute(select(checks.c.status, func.count()).where(and_(*cond)).group_by(checks.c.status)):
            counts[r[0]] = r[1]
        if status is not None:
            cond.append(checks.c.status == status)
        rows = conn.execute(select(checks).where(and_(*cond))
                            .order_by(checks.c.ordered_ms.desc(), checks.c.order_no).limit(limit).offset(offset)).all()
    total = counts.get(status, 0) if status is not None else sum(counts.values())
    items = [CheckRow(r.order_no, r.status, json.loads(r.mismatches_json), json.loads(r.missing_json), r.ordered_ms,
                      r.checked_ms) for r in rows]
    return CheckPage(items, total, counts)


class UnknownCheck(CbecError):
    status = 404
    title = "Not found"

    def __init__(self, order_no: str) -> None:
        super().__init__(f"no document check for order '{order_no[:80]}' (only 9610 orders and documents naming "
                         "an order are checked)", field="order_no")


def get_check(db: Database, org_id: str, order_no: str) -> CheckRow:
    """The check of one order number of ``org_id``; :class:`UnknownCheck` (404) otherwise."""
    page = list_checks(db, org_id, order_no=order_no, limit=1)
    if not page.items:
        raise UnknownCheck(order_no)
    return page.items[0]
