"""The quote use case, written once below both faces (``POST /v1/quotes`` and ``cbec quote``).

:func:`issue_quote` prices a request with what applies to the caller and freezes the answer:
1. the organisation's own rate sheets valid on the ready day (one :class:`RateBook` per request) and the
   space already held on departures (``quotations.holds``, once per request) go into the engine;
2. the options' tariffs and timetables must hold on the days the legs use them: otherwise a 422 naming
   them, or, with ``allow_extrapolation``, the quote with a warning per figure extrapolated;
3. ``valid_until`` is the earliest ``valid_to`` among those figures (end of that day, UTC), at most
   ``CBEC_QUOTE_VALIDITY_DAYS`` after now;
4. prices are converted into the requested currency at the dated exchange-rate table on the day of the
   quote, the rate with its date and source shown;
5. the declared goods (:class:`DeclaredGoods`: value and value of time in the quote's currency, HS code,
   the caller's duty table) are converted into the network's currency at the same dated rate, drive the
   VAT/IOSS and duty estimates and the ``recommended`` option, and are recorded in ``request``;
6. a signed-in organisation's quote is saved (with a database) under an unguessable id; :func:`fetch_quote`
   returns it, the same prices, until ``valid_until``. Anonymous quotes are answered but not saved: the
   open, rate-limited endpoint writes nothing, and a quote to keep is asked for with a credential.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from optimizer.errors import InvalidInput
from optimizer.network import Network
from optimizer.network.currency import Rate, load_rates
from optimizer.network.model import DutyRate, QuoteRequest
from optimizer.network.serialize import quote_to_dict
from optimizer.network.validity import check_options, earliest_valid_to
from optimizer.quotes.limits import GOODS_VALUE, VALUE_OF_TIME, check_hs_code
from optimizer.quotes.notes import Note, note_detail
from optimizer.quotes.quote import quote
from optimizer.quotes.rate_sheet import RateBook
from optimizer.settings import get_settings
from quotations.errors import OutsideValidity
from quotations.holds import held_space
from quotations.rate_sheets import rate_book
from quotations.saved import LIST_MAX, list_quotes, load_quote, new_quote_id, save_quote
from storage.db import Database

CURRENCIES = ("USD", "CNY", "EUR")
__all__ = ["LIST_MAX", "MAX_DUTY_RATES", "DeclaredGoods", "QuoteTerms", "fetch_quote", "issue_quote", "saved_quotes"]
STALE_RATE_DAYS = 31  # an exchange rate older than this on the quote day is flagged
HS_CODE_MIN = 4  # digits of a goods' HS code (a heading); duty-table prefixes may be shorter (chapters)
MAX_DUTY_RATES = 2_000  # duty-table rows a quote takes (HTTP and CLI alike): the table is saved with the quote


@dataclass(frozen=True)
class QuoteTerms:
    """How the caller wants the quote: its ``currency`` and whether figures may be extrapolated."""

    currency: str = "USD"
    allow_extrapolation: bool = False


@dataclass(frozen=True)
class DeclaredGoods:
    """What the goods are worth and what a day costs their owner, in the quote's currency (``QuoteTerms``).

    ``goods_value`` (declared, whole shipment) drives the VAT/IOSS and duty estimates and, without
    ``value_of_time_per_day``, the default value of time; ``hs_code`` looks up ``duty_rates`` (the caller's
    duty table, :func:`optimizer.quotes.destination.read_duty_table`, at most ``MAX_DUTY_RATES`` rows)."""

    goods_value: float | None = None
    hs_code: str | None = None
    value_of_time_per_day: float | None = None
    duty_rates: tuple[DutyRate, ...] = ()

    def request_changes(self, to_network: float) -> dict[str, Any]:
        """The QuoteRequest fields, amounts times ``to_network`` (quote currency -> network currency);
        InvalidInput naming the field for a value out of bounds."""
        if len(self.duty_rates) > MAX_DUTY_RATES:
            raise InvalidInput(f"duty table: more than {MAX_DUTY_RATES:,} rows ({len(self.duty_rates):,})",
                               field="duty_rates")
        changes: dict[str, Any] = {"duty_rates": tuple(self.duty_rates)}
        if self.goods_value is not None:
            GOODS_VALUE.check(self.goods_value, "goods_value")  # finite and non-negative before converting
            changes["goods_value"] = float(GOODS_VALUE.check(self.goods_value * to_network, "goods_value"))
        if self.value_of_time_per_day is not None:
            VALUE_OF_TIME.check(self.value_of_time_per_day, "value_of_time_per_day")
            changes["value_of_time_per_day"] = float(
                VALUE_OF_TIME.check(self.value_of_time_per_day * to_network, "value_of_time_per_day"))
        if self.hs_code is not None:
            hs = check_hs_code(self.hs_code)
            if len(hs) < HS_CODE_MIN:
                raise InvalidInput(f"hs_code must be {HS_CODE_MIN}-10 digits: the heading at least, e.g. 8471 "
                                   f"(got {hs})", field="hs_code")
            changes["hs_code"] = hs
        return changes

    def recorded(self, hs_code: str | None) -> dict[str, Any]:
        """The inputs as the saved quote's ``request`` shows them (amounts as given, in the quote's currency)."""
        return {"goods_value": self.goods_value, "hs_code": hs_code, "value_of_time_per_day": self.value_of_time_per_day,
                "duty_rates": [{"hs_code": r.hs_prefix, "country": r.country, "rate_pct": r.rate_pct, "note": r.note}
                               for r in self.duty_rates]}


def issue_quote(net: Network, req: QuoteRequest, terms: QuoteTerms, *, db: Database | None, org_id: str | None,
                now: datetime | None = None, goods: DeclaredGoods | None = None) -> dict[str, Any]:
    """The quote document for ``req`` and the declared ``goods`` (saved in ``db`` for an organisation); see
    the module's steps.

    Raises the engine's errors, InvalidInput (a declared amount out of bounds), OutsideValidity (422) and
    CurrencyError (422)."""
    exact = now or datetime.now(UTC)  # the saved row's order; the document shows whole seconds
    now = exact.replace(microsecond=0)
    currency = terms.currency.strip().upper()
    fx = load_rates(net.data_dir).rate(net.currency, currency, now.date())  # fails before any work
    goods = goods or DeclaredGoods()
    req = dataclasses.replace(req, **goods.request_changes(1.0 / fx.rate))
    book = rate_book(db, org_id, net, req.ready.date(), now.date()) if db is not None and org_id else RateBook()
    changes: dict[str, Any] = {}
    if book:
        changes["rate_book"] = book
    if db is not None:
        held = held_space(db, net, req.ready.date(), req.ready.date() + timedelta(days=req.horizon_days))
        if held:
            changes["held"] = held
    if changes:
        req = dataclasses.replace(req, **changes)
    options = quote(net, req)

    warnings: list[str] = []
    # a leg priced by the organisation's sheet does not use the public tariff (the sheet holds on the ready day)
    outside = [f for f in check_options(net, options) if not (f.kind == "tariff" and book.valid_to(f.service))]
    if outside and not terms.allow_extrapolation:
        raise OutsideValidity([f.describe() for f in outside])
    warnings += [Note("data.extrapolated", f"extrapolated: {f.describe()}", what=f.describe()) for f in outside]

    cap = now + timedelta(days=get_settings().quote_validity_days)
    ends = [d for d in (earliest_valid_to(net, options),
                        *(book.valid_to(leg.service_id) for o in options for leg in o.legs)) if d is not None]
    end = min(ends) if ends else None
    valid_until = cap
    if end is not None:
        data_end = datetime.combine(end, time(23, 59, 59), UTC)
        if data_end > now:
            valid_until = min(cap, data_end)
        else:
            warnings.append(Note("data.ended", f"the data used ended on {end.isoformat()}: this quote holds {get_settings().quote_validity_days} days",
                                  end=end.isoformat(), days=get_settings().quote_validity_days))

    doc = quote_to_dict(net, req, options)
    doc["quote_id"] = new_quote_id()
    doc["created_at"] = now.isoformat()
    doc["valid_until"] = valid_until.isoformat()
    doc["currency"] = currency
    doc["request"].update(currency=currency, allow_extrapolation=terms.allow_extrapolation, **goods.recorded(req.hs_code))
    doc["exchange_rate"] = _rate_doc(fx)
    if fx.age_days > STALE_RATE_DAYS:
        warnings.append(Note("fx.stale", f"exchange rate {fx.frm}/{fx.to} is the fixing of {fx.date.isoformat()} "
                             f"({fx.age_days} days before the quote; tag [{fx.tag}])", pair=f"{fx.frm}/{fx.to}",
                             date=fx.date.isoformat(), age_days=fx.age_days, tag=fx.tag))
    for option in doc["options"]:
        for leg in option["legs"]:
            leg["tariff_source"] = book.source(leg["service"])
        _convert(option, fx)
        option["notes_detail"] = [note_detail(n) for n in option.get("notes", [])]
    doc["warnings"] = warnings
    doc["warnings_detail"] = [note_detail(w) for w in warnings]
    doc["saved"] = db is not None and org_id is not None
    if doc["saved"]:
        save_quote(db, doc, org_id, created=exact)
    return doc


def fetch_quote(db: Database, quote_id: str, org_id: str | None) -> dict[str, Any]:
    """A saved quote at its frozen prices: 404 for an unknown or another organisation's id, 410 once expired."""
    return load_quote(db, quote_id, org_id)


def saved_quotes(db: Database, org_id: str, *, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The organisation's saved quotes, newest first (summaries) and their total count."""
    return list_quotes(db, org_id, limit=limit, offset=offset)


def _rate_doc(fx: Rate) -> dict[str, Any]:
    return {"from": fx.frm, "to": fx.to, "rate": round(fx.rate, 6), "date": fx.date.isoformat(),
            "source": fx.source, "via": fx.via, "tag": fx.tag}


def _convert(option: dict[str, Any], fx: Rate) -> None:
    """Every amount of ``option`` into the quote's currency (in place)."""
    if fx.frm == fx.to:
        return
    r = fx.rate
    cost = option["cost"]
    cost["total"] = round(cost["total"] * r, 2)
    cost["currency"] = fx.to
    for line in cost.get("breakdown", ()):
        line["amount"] = round(line["amount"] * r, 2)
        if "currency" in line:
            line["currency"] = fx.to
    for leg in option["legs"]:
        if isinstance(leg.get("cost"), (int, float)):
            leg["cost"] = round(leg["cost"] * r, 2)
    if isinstance(option.get("generalised_cost"), (int, float)):
        option["generalised_cost"] = round(option["generalised_cost"] * r, 2)
