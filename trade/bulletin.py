"""The monthly bulletin of the pilot zone's cross-border e-commerce: one self-contained HTML page with
inline SVG charts (matplotlib), for the pilot-zone office to print or publish.

Every figure comes from :func:`trade.statistics.statistics` under the same rules as the API: the
zone's bulletin is suppressed (cells of fewer than three enterprises and their complements are shown
as ``..``), a tenant's own bulletin is not. Contents: the month's headline figures with their
year-on-year and month-on-month change; 9810 stock-up apart from direct exports; parcels (postal and
express) apart from freight; customs modes; the leading markets and HS chapters; transport modes with
lead times, on-time rate and CO2e; the last thirteen months as charts; the notes.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from trade.columnar import ColumnarCopy
from trade.statistics import Scope, StatsQuery, StatsResult, statistics
from trade.stock_stats import stock_statistics
from trade.suppression import TOTAL

WITHHELD = ".."
"""How a withheld figure is printed (as statistics offices do)."""


@dataclass(frozen=True, slots=True)
class Bulletin:
    """A rendered bulletin: its month, scope and HTML."""

    month: str  # YYYY-MM
    scope: Scope
    html: str


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of ``YYYY-MM``."""
    first = date(int(month[:4]), int(month[5:7]), 1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def _back(first: date, months: int) -> date:
    y, m = first.year, first.month - months
    while m <= 0:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def bulletin(copy: ColumnarCopy, month: str, *, scope: Scope = "zone", org_id: str | None = None,
             title: str = "Mianyang Cross-border E-commerce Pilot Zone") -> Bulletin:
    """The bulletin of ``month`` (``YYYY-MM``)."""
    first, last = month_bounds(month)

    def stats(dims: tuple[str, ...], **kw) -> StatsResult:
        q = StatsQuery(dims=dims, period="month", date_from=kw.pop("date_from", first), date_to=kw.pop("date_to", last),
                       scope=scope, **kw)
        return statistics(copy, q, org_id=org_id)

    head = stats(("period",))
    flow = stats(("period", "flow"))
    consign = stats(("period", "consignment"))
    modes = stats(("customs_mode",), change=False)
    countries = stats(("country",), change=False)
    chapters = stats(("hs_chapter",), change=False)
    transport = stats(("transport_mode",), change=False)
    trend = stats(("period", "flow"), date_from=_back(first, 12), change=False)
    stock = stock_statistics(copy, ("kind", "warehouse_country"), date_from=first, date_to=last, org_id=org_id,
                             zone=scope == "zone", margins=True)
    sections = [
        _headline(head, month),
        _section("9810 stock-up and direct exports", _table(flow.table[flow.table["period"] == month], "flow", _HEAD_COLS)),
        _section("9810 overseas warehouses: stock in and sold out (goods value, CNY)", _stock_table(stock.table)),
        _section("Parcels (postal and express) and freight",
                 _table(consign.table[consign.table["period"] == month], "consignment", _HEAD_COLS)),
        _section("Customs modes", _table(modes.table, "customs_mode", _HEAD_COLS[:5])),
        _section("Leading markets (goods value, CNY)", _top(countries.table, "country", 12)),
        _section("Leading HS chapters (goods value, CNY)", _top(chapters.table, "hs_chapter", 10)),
        _section("Transport modes", _table(transport.table, "transport_mode", _LOGISTICS_COLS)),
        _section("The last thirteen months", _trend_chart(trend.table) + _bar_chart(countries.table, "country")),
    ]
    notes = list(dict.fromkeys(n for r in (head, flow, countries) for n in r.notes))
    notes.append(f"Exchange rates: {head.fx}.")
    notes.append(f"'{WITHHELD}': withheld (disclosure control). Orders, parcels and weight count each order once, "
                 "under the HS chapter of its largest line; goods values add every line in its own chapter.")
    who = "zone-wide, suppressed for publication" if scope == "zone" else f"own records of organisation {org_id}"
    body = "\n".join(sections) + _section("Notes", "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    page = _PAGE.format(title=html.escape(title), month=month, who=html.escape(who), body=body)
    return Bulletin(month, scope, page)


_HEAD_COLS = ("orders", "parcels", "goods_value_cny", "goods_value_usd", "gross_weight_kg", "enterprises",
              "goods_value_cny_yoy_pct", "goods_value_cny_mom_pct")
_LOGISTICS_COLS = ("orders", "gross_weight_kg", "shipments", "lead_time_p50_days", "lead_time_p90_days",
                   "on_time_rate", "co2e_kg")
_LABELS = {"orders": "orders", "parcels": "parcels", "goods_value_cny": "goods value, CNY",
           "goods_value_usd": "goods value, USD", "gross_weight_kg": "gross weight, kg", "enterprises": "enterprises",
           "goods_value_cny_yoy_pct": "value y/y %", "goods_value_cny_mom_pct": "value m/m %",
           "shipments": "tracked shipments", "lead_time_p50_days": "lead time p50, d",
           "lead_time_p90_days": "lead time p90, d", "on_time_rate": "on time", "co2e_kg": "CO2e, kg"}


def _fmt(value: object, column: str, withheld: bool) -> str:
    if withheld:
        return WITHHELD
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if column == "on_time_rate":
        return f"{float(value):.0%}"
    if column.endswith("_pct"):
        return f"{float(value):+.1f}"
    if column.endswith("_days"):
        return f"{float(value):.1f}"
    return f"{float(value):,.0f}"


def _table(table: pd.DataFrame, dim: str, cols: tuple[str, ...]) -> str:
    cols = tuple(c for c in cols if c in table.columns)
    head = "".join(f"<th>{html.escape(_LABELS.get(c, c))}</th>" for c in cols)
    rows = []
    for _, r in table.iterrows():
        withheld = r.get("status", "shown") != "shown"
        name = "total" if r[dim] == TOTAL else str(r[dim])
        cells = "".join(f"<td>{_fmt(r[c], c, withheld and not c.endswith('_pct'))}</td>" for c in cols)
        rows.append(f"<tr class='{'total' if r[dim] == TOTAL else ''}'><th>{html.escape(name)}</th>{cells}</tr>")
    return f"<table><tr><th>{html.escape(dim)}</th>{head}</tr>{''.join(rows)}</table>"


def _stock_table(table: pd.DataFrame) -> str:
    """Warehouse countries as rows, inbound and sales-out values as columns (withheld: ``..``)."""
    if table.empty:
        return "<p>No 9810 stock movements in this month.</p>"
    rows = []
    countries = sorted(set(table["warehouse_country"]) - {TOTAL}) + [TOTAL]
    for c in countries:
        cells = []
        for kind in ("inbound", "sales_out", TOTAL):
            hit = table[(table["warehouse_country"] == c) & (table["kind"] == kind)]
            if hit.empty:
                cells.append("<td>-</td>")
            else:
                r = hit.iloc[0]
                cells.append(f"<td>{_fmt(r['value_cny'], 'value_cny', r['status'] != 'shown')}</td>")
        name = "total" if c == TOTAL else c
        rows.append(f"<tr class='{'total' if c == TOTAL else ''}'><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
    return ("<table><tr><th>warehouse country</th><th>inbound</th><th>sales out</th><th>total</th></tr>"
            + "".join(rows) + "</table>")


def _top(table: pd.DataFrame, dim: str, n: int) -> str:
    members = table[table[dim] != TOTAL].copy()
    members["_v"] = members["goods_value_cny"].fillna(-1)
    top = members.sort_values("_v", ascending=False).head(n)
    total = table[table[dim] == TOTAL]
    return _table(pd.concat([top, total]), dim, ("orders", "goods_value_cny", "goods_value_usd", "enterprises"))


def _headline(result: StatsResult, month: str) -> str:
    t = result.table
    row = t[t["period"] == month]
    if row.empty:
        return _section(f"{month}", "<p>No orders in this month.</p>")
    r = row.iloc[0]
    withheld = r["status"] != "shown"
    tiles = []
    for c in ("orders", "parcels", "goods_value_cny", "goods_value_usd", "gross_weight_kg"):
        yoy, mom = r.get(f"{c}_yoy_pct"), r.get(f"{c}_mom_pct")
        change = " · ".join(f"{k} {_fmt(v, '_pct', False)} %" for k, v in (("y/y", yoy), ("m/m", mom))
                            if v is not None and not (isinstance(v, float) and np.isnan(v)))
        tiles.append(f"<div class='tile'><div class='v'>{_fmt(r[c], c, withheld)}</div>"
                     f"<div class='k'>{html.escape(_LABELS[c])}</div><div class='c'>{change}</div></div>")
    return _section(f"{month} at a glance", "<div class='tiles'>" + "".join(tiles) + "</div>")


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _trend_chart(table: pd.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table[(table["period"] != TOTAL) & (table["flow"] != TOTAL)]
    if t.empty:
        return ""
    pivot = t.pivot_table(index="period", columns="flow", values="goods_value_cny", aggfunc="sum").fillna(0) / 1e6
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    bottom = np.zeros(len(pivot))
    for name, colour in (("direct", "#3b6ea5"), ("stock_up_9810", "#e39b3b")):
        if name in pivot:
            ax.bar(pivot.index, pivot[name], bottom=bottom, color=colour, label=name.replace("_", " "))
            bottom += pivot[name].to_numpy()
    ax.set_ylabel("goods value, million CNY")
    ax.legend(frameon=False, fontsize=8)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return f"<figure>{_svg(fig)}<figcaption>Goods value by month: direct exports and 9810 stock-up "
    "(withheld cells left out)</figcaption></figure>"


def _bar_chart(table: pd.DataFrame, dim: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table[(table[dim] != TOTAL) & (table["status"] == "shown")].nlargest(10, "goods_value_cny")
    if t.empty:
        return ""
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    ax.barh(t[dim][::-1], t["goods_value_cny"][::-1] / 1e6, color="#3b6ea5")
    ax.set_xlabel("goods value this month, million CNY")
    ax.spines[["top", "right"]].set_visible(False)
    return f"<figure>{_svg(fig)}<figcaption>Leading markets this month</figcaption></figure>"


def _section(title: str, content: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{content}</section>"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - monthly bulletin {month}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }}
h1 {{ font-size: 1.5rem; margin-bottom: 0; }} h2 {{ font-size: 1.1rem; border-bottom: 1px solid #ccc; }}
table {{ border-collapse: collapse; font-size: .85rem; }} td, th {{ padding: .2rem .6rem; text-align: right; }}
tr th:first-child {{ text-align: left; }} tr.total {{ font-weight: bold; border-top: 1px solid #999; }}
.tiles {{ display: flex; gap: 1rem; flex-wrap: wrap; }} .tile {{ border: 1px solid #ddd; padding: .6rem 1rem; }}
.tile .v {{ font-size: 1.3rem; font-weight: bold; }} .tile .k, .tile .c {{ font-size: .8rem; color: #555; }}
figure {{ margin: 1rem 0; }} figcaption {{ font-size: .8rem; color: #555; }}
@media print {{ section {{ break-inside: avoid; }} }}
</style></head>
<body><h1>{title}</h1><p>Cross-border e-commerce monthly bulletin, {month} ({who})</p>
{body}
</body></html>
"""
