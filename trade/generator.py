"""A synthetic year of pilot-zone cross-border e-commerce: SYNTHETIC DATA, NOT OFFICIAL FIGURES.

Seeded and deterministic (numpy ``PCG64``): the same seed gives the same data on every machine. It
draws what a statistics office of the Mianyang pilot zone would see from its partner platforms:

* enterprises filed in Mianyang (most), Chengdu, and other cities of Sichuan and Chongqing, each with
  a valid unified social credit code (the division code of its city, a check character that passes
  GB 32100-2015) and a role (e-commerce companies, platforms, logistics firms, warehouse operators,
  payment firms);
* orders through the year with a seasonal profile (Spring Festival lull in February, the 618 sale,
  the Double 11 / Black Friday peak of November, the run-up to Christmas), more on weekdays;
* customs modes 9610 (B2C parcels, most orders), 9710 (B2B direct), 9810 (B2B to overseas warehouses,
  few orders, large values), 1210 (bonded);
* a goods mix by HS chapter shaped like Sichuan's exports (electronics of chapter 85 first, then
  machinery, apparel, footwear, furniture and lighting, toys, ...), each product with a unit, a unit
  price and a unit net weight;
* markets by country (the United States, the EU, the United Kingdom, Russia and Central Asia, Japan
  and Korea, South-East Asia, the Gulf, Latin America), values in the currency the platform settles
  in (the market's for EUR, GBP, JPY, RUB, AUD, CAD; else USD), at rough generation-time rates;
* channels and transport modes per customs mode (postal/express by air or rail for parcels, freight
  by rail or sea for B2B), and for 9610 a share of documents that do not match (wrong amount,
  currency, consignee, country or weight) or are missing (no payment, no waybill).

Two faces over the same draws: :func:`generate` gives a small set as exchange records (tests, the
demo), :func:`generate_lines` gives order lines as columns (a pandas DataFrame with categorical
columns: ten million lines in a few seconds, for the statistics bench).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from trade.credit_code import ALPHABET, complete
from trade.records import CHINA_TZ, Enterprise, Order, Payment, StockMovement, Waybill

SYNTHETIC_NOTE = ("synthetic sample data drawn by trade.generator (seeded); not official statistics of the "
                  "Mianyang pilot zone")

# --- the shapes of the draws ------------------------------------------------------------------------------
MONTH_WEIGHTS = np.array([0.90, 0.60, 0.85, 0.85, 0.90, 1.05, 0.85, 0.90, 1.00, 1.05, 1.55, 1.35])
"""Orders per month, relative: Spring Festival lull (Feb), 618 (Jun), Double 11 / Black Friday (Nov), Christmas."""
WEEKDAY_WEIGHTS = np.array([1.05, 1.05, 1.05, 1.05, 1.0, 0.9, 0.9])
PEAK_DAYS = {(6, 18): 2.5, (11, 11): 4.0, (11, 27): 2.5, (11, 30): 1.8, (12, 1): 1.8}
"""Sale days: 618, Double 11, Black Friday and Cyber Monday (2026)."""

CUSTOMS_MODE_SHARES = {"9610": 0.66, "9710": 0.13, "9810": 0.11, "1210": 0.10}

CITIES = [  # city, GB/T 2260 division codes of its districts, share of e-commerce companies
    ("Mianyang", "绵阳", ("510703", "510704", "510705", "510781"), 0.55),
    ("Chengdu", "成都", ("510104", "510105", "510107", "510116"), 0.25),
    ("Deyang", "德阳", ("510603", "510681"), 0.07),
    ("Suining", "遂宁", ("510903",), 0.04),
    ("Guangyuan", "广元", ("510802",), 0.03),
    ("Chongqing", "重庆", ("500103", "500112"), 0.06),
]

COUNTRIES = [  # country, share of orders, settlement currency
    ("US", 0.19, "USD"), ("DE", 0.08, "EUR"), ("GB", 0.07, "GBP"), ("FR", 0.05, "EUR"), ("NL", 0.03, "EUR"),
    ("PL", 0.04, "EUR"), ("ES", 0.03, "EUR"), ("IT", 0.03, "EUR"), ("RU", 0.08, "RUB"), ("KZ", 0.04, "USD"),
    ("UZ", 0.02, "USD"), ("JP", 0.05, "JPY"), ("KR", 0.03, "USD"), ("AU", 0.04, "AUD"), ("CA", 0.03, "CAD"),
    ("SG", 0.02, "USD"), ("MY", 0.02, "USD"), ("TH", 0.02, "USD"), ("VN", 0.02, "USD"), ("AE", 0.03, "USD"),
    ("SA", 0.02, "USD"), ("BR", 0.03, "USD"), ("MX", 0.03, "USD"),
]
USD_RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 150.0, "RUB": 92.0, "AUD": 1.52, "CAD": 1.36}
"""Units of each currency per US dollar used to draw values (rough 2026 levels; generation only, the
statistics convert with their own dated table)."""
CURRENCIES = tuple(USD_RATES)

# HS chapter mix: (hs_code, description, unit, unit price USD, unit net weight kg, share)
PRODUCTS = [
    ("8528721100", "LCD television set", "pcs", 210.0, 9.5, 0.05),
    ("8517130000", "smartphone", "pcs", 160.0, 0.2, 0.07),
    ("8518300000", "wireless earphones", "pcs", 18.0, 0.06, 0.07),
    ("8516601000", "electric rice cooker", "pcs", 38.0, 3.2, 0.04),
    ("8539520000", "LED lamp", "pcs", 4.5, 0.1, 0.04),
    ("8471300000", "laptop computer", "pcs", 420.0, 1.8, 0.03),
    ("8418102000", "refrigerator", "pcs", 260.0, 45.0, 0.015),
    ("8414510000", "electric fan", "pcs", 22.0, 2.4, 0.03),
    ("6109100021", "cotton T-shirt", "pcs", 6.5, 0.2, 0.08),
    ("6204430000", "women's dress, synthetic fibres", "pcs", 14.0, 0.3, 0.06),
    ("6110200000", "cotton sweater", "pcs", 12.0, 0.45, 0.03),
    ("6404110000", "sports shoes", "pair", 16.0, 0.8, 0.06),
    ("9405110000", "LED ceiling light", "pcs", 25.0, 1.6, 0.03),
    ("9403600000", "wooden furniture", "pcs", 65.0, 18.0, 0.02),
    ("9503008900", "plastic toy", "pcs", 5.5, 0.25, 0.06),
    ("4202920000", "travel bag", "pcs", 13.0, 0.9, 0.04),
    ("3924100000", "plastic tableware", "set", 3.5, 0.4, 0.03),
    ("6302310000", "cotton bed linen", "set", 15.0, 1.2, 0.025),
    ("7117190000", "imitation jewellery", "pcs", 2.8, 0.03, 0.03),
    ("3304990000", "skin-care preparation", "pcs", 9.0, 0.15, 0.03),
    ("0902301000", "Sichuan black tea", "kg", 28.0, 1.0, 0.02),
    ("8708299000", "motor vehicle body part", "pcs", 45.0, 3.5, 0.02),
    ("9004100000", "sunglasses", "pcs", 4.0, 0.05, 0.025),
    ("7323930000", "stainless steel kitchenware", "set", 11.0, 1.5, 0.03),
    ("8543709990", "electronic cigarette device", "pcs", 7.0, 0.08, 0.02),
]

CHANNELS = {  # customs mode -> [(channel, transport mode, share)]
    "9610": [("postal", "air", 0.45), ("express", "air", 0.35), ("postal", "rail", 0.12), ("express", "road", 0.08)],
    "1210": [("express", "air", 0.6), ("postal", "air", 0.4)],
    "9710": [("freight", "sea", 0.45), ("freight", "rail", 0.35), ("freight", "air", 0.2)],
    "9810": [("freight", "rail", 0.55), ("freight", "sea", 0.4), ("freight", "air", 0.05)],
}
CARRIERS = {"postal": ("China Post", "EMS"), "express": ("SF Express", "YTO Express", "Cainiao"),
            "freight": ("Sinotrans", "COSCO Shipping Logistics", "Chengdu International Railway Port Logistics")}
WAREHOUSES = [("WH-DUISBURG-1", "DE"), ("WH-WARSAW-1", "PL"), ("WH-MOSCOW-1", "RU"), ("WH-ALMATY-1", "KZ"),
              ("WH-LA-1", "US"), ("WH-DUBAI-1", "AE")]
"""Shared overseas warehouses of the 9810 stock (ids as the project's network names them)."""

MISMATCH_SHARE = 0.05
"""9610 orders whose documents disagree on one field."""
INCOMPLETE_SHARE = 0.03
"""9610 orders whose payment or waybill never arrives."""
FIRST_NAMES = ("Anna", "James", "Maria", "Olga", "Yuki", "Carlos", "Fatima", "Liam", "Sofia", "Ivan", "Emma",
               "Noah", "Aisha", "Lucas", "Mia", "Hiro", "Elena", "Omar", "Chloe", "Pedro")
LAST_NAMES = ("Schmidt", "Smith", "Garcia", "Ivanova", "Tanaka", "Silva", "Khan", "Brown", "Rossi", "Petrov",
              "Martin", "Kowalski", "Nguyen", "Kim", "Lopez", "Dubois", "Muller", "Ali", "Novak", "Jensen")
NAME_WORDS = [("优品", "Quality Goods"), ("云联", "Cloud Link"), ("长虹", "Rainbow"), ("九洲", "Nine Isles"),
              ("蜀锦", "Shu Brocade"), ("科创", "Sci-Tech"), ("丝路", "Silk Road"), ("熊猫", "Panda"),
              ("涪江", "Fujiang"), ("天府", "Tianfu"), ("锦程", "Bright Journey"), ("富乐", "Fule"),
              ("星河", "Galaxy"), ("远航", "Far Voyage"), ("嘉禾", "Fine Harvest"), ("明德", "Mingde")]
ROLE_NAMES = {"ecommerce": ("电子商务有限公司", "E-commerce Co., Ltd."), "platform": ("跨境电商平台有限公司", "Cross-border Platform Co., Ltd."),
              "logistics": ("国际物流有限公司", "International Logistics Co., Ltd."),
              "warehouse": ("海外仓储有限公司", "Overseas Warehousing Co., Ltd."),
              "payment": ("支付科技有限公司", "Payment Technology Co., Ltd.")}
SUPPORT_ROLES = {"platform": 3, "logistics": 4, "warehouse": 3, "payment": 2}


@dataclass
class SampleData:
    """A generated set of exchange records (:func:`generate`); ``planted`` names the order numbers given a
    defect on purpose (``mismatch:<field>`` or ``incomplete:<document>``), for tests to compare with."""

    enterprises: list[Enterprise]
    orders: list[Order]
    payments: list[Payment]
    waybills: list[Waybill]
    stock_movements: list[StockMovement]
    planted: dict[str, str] = field(default_factory=dict)
    note: str = SYNTHETIC_NOTE

    def records(self) -> dict[str, list[Any]]:
        """The records by kind, in the order a platform would send them (enterprises first)."""
        return {"enterprises": self.enterprises, "orders": self.orders, "payments": self.payments,
                "waybills": self.waybills, "stock_movements": self.stock_movements}


@dataclass(frozen=True)
class _Draws:
    """Order-level and line-level draws shared by both faces (arrays, one entry per order or per line)."""

    enterprise: np.ndarray  # index into the e-commerce companies
    ordered_ms: np.ndarray
    mode: np.ndarray  # index into MODES
    country: np.ndarray  # index into COUNTRIES
    line_order: np.ndarray  # per line: its order's index
    line_no: np.ndarray
    product: np.ndarray  # per line: index into PRODUCTS
    quantity: np.ndarray
    value_usd: np.ndarray
    net_weight: np.ndarray


MODES = tuple(CUSTOMS_MODE_SHARES)


def _shares(values) -> np.ndarray:
    p = np.asarray(values, dtype=float)
    return p / p.sum()


def day_weights(year: int) -> tuple[np.ndarray, np.ndarray]:
    """The days of ``year`` (epoch ms of local midnight, UTC+08:00) and their relative order volume."""
    start = date(year, 1, 1)
    days = [start + timedelta(days=i) for i in range((date(year + 1, 1, 1) - start).days)]
    weights = np.array([MONTH_WEIGHTS[d.month - 1] * WEEKDAY_WEIGHTS[d.weekday()] * PEAK_DAYS.get((d.month, d.day), 1.0)
                        for d in days])
    midnight = np.array([int(datetime(d.year, d.month, d.day, tzinfo=CHINA_TZ).timestamp() * 1000) for d in days],
                        dtype=np.int64)
    return midnight, weights / weights.sum()


CITY_SIZE = {"Mianyang": 1.6, "Chengdu": 1.3}
"""Sellers of the pilot zone's own city (and of the provincial capital) sell more than the others (1.0)."""


def _seller_shares(rng: np.random.Generator, sellers: list[Enterprise]) -> np.ndarray:
    """A few large sellers and a long tail (Zipf-like, as on every platform), larger in Mianyang and Chengdu."""
    n = len(sellers)
    zipf = (1.0 / np.arange(1, n + 1) ** 0.9)[rng.permutation(n)]
    return _shares(zipf * np.array([CITY_SIZE.get(s.city, 1.0) for s in sellers]))


def _draw(rng: np.random.Generator, n_orders: int, sellers: list[Enterprise], year: int,
          max_lines: int | None = None) -> _Draws:
    midnights, day_p = day_weights(year)
    enterprise = rng.choice(len(sellers), size=n_orders, p=_seller_shares(rng, sellers))
    day = rng.choice(len(midnights), size=n_orders, p=day_p)
    # time of day: most orders 08:00-24:00 China time (a mixture of a daytime and an evening peak)
    seconds = np.clip(np.where(rng.random(n_orders) < 0.55, rng.normal(14.5, 3.0, n_orders),
                               rng.normal(21.0, 1.8, n_orders)), 0, 23.999) * 3600
    ordered_ms = midnights[day] + (seconds * 1000).astype(np.int64)
    mode = rng.choice(len(MODES), size=n_orders, p=_shares(list(CUSTOMS_MODE_SHARES.values())))
    country = rng.choice(len(COUNTRIES), size=n_orders, p=_shares([c[1] for c in COUNTRIES]))
    b2b = (mode == MODES.index("9710")) | (mode == MODES.index("9810"))
    # lines per order: parcels 1-4 (mostly 1), B2B 1-8
    lines = np.where(b2b, np.minimum(rng.geometric(0.35, n_orders), 8), np.minimum(rng.geometric(0.6, n_orders), 4))
    if max_lines is not None:  # stop once the wanted number of lines is reached
        cut = int(np.searchsorted(np.cumsum(lines), max_lines)) + 1
        enterprise, ordered_ms, mode, country, lines, b2b = (a[:cut] for a in (enterprise, ordered_ms, mode, country,
                                                                              lines, b2b))
        lines[-1] -= int(lines.sum()) - max_lines
    order_of_line = np.repeat(np.arange(len(lines)), lines)
    starts = np.repeat(np.cumsum(lines) - lines, lines)
    line_no = (np.arange(len(order_of_line)) - starts + 1).astype(np.int16)
    n_lines = len(order_of_line)
    product = rng.choice(len(PRODUCTS), size=n_lines, p=_shares([p[5] for p in PRODUCTS]))
    line_b2b = b2b[order_of_line]
    quantity = np.where(line_b2b, np.round(rng.lognormal(5.3, 0.9, n_lines)) + 10,
                        np.minimum(rng.geometric(0.55, n_lines), 6)).astype(np.float64)
    unit_price = np.array([p[3] for p in PRODUCTS])[product] * rng.lognormal(0.0, 0.3, n_lines)
    unit_price = np.where(line_b2b, unit_price * 0.7, unit_price)  # wholesale prices
    value_usd = np.round(quantity * unit_price, 2)
    net_weight = np.round(quantity * np.array([p[4] for p in PRODUCTS])[product], 3)
    return _Draws(enterprise, ordered_ms, mode, country, order_of_line, line_no, product, quantity, value_usd,
                  net_weight)


def _companies(rng: np.random.Generator, n: int, role: str, used: set[str]) -> list[Enterprise]:
    out = []
    for _ in range(n):
        city_i = int(rng.choice(len(CITIES), p=_shares([c[3] for c in CITIES]))) if role == "ecommerce" else \
            int(rng.choice(2, p=[0.6, 0.4]))
        city, city_zh, divisions, _share = CITIES[city_i]
        while True:
            body = "".join(ALPHABET[int(i)] for i in rng.integers(0, len(ALPHABET), 7))
            code = complete("91" + str(divisions[int(rng.integers(len(divisions)))]) + "MA" + body)
            word_zh, word_en = NAME_WORDS[int(rng.integers(len(NAME_WORDS)))]
            name_zh = f"{city_zh}{word_zh}{ROLE_NAMES[role][0]}"
            if code not in used and name_zh not in used:
                break
            name_zh = f"{city_zh}{word_zh}{code[-4:]}{ROLE_NAMES[role][0]}"
            if code not in used and name_zh not in used:
                break
        used.update((code, name_zh))
        out.append(Enterprise(credit_code=code, name_zh=name_zh, name_en=f"{city} {word_en} {ROLE_NAMES[role][1]}",
                              role=role, city=city))
    return out


def enterprises(seed: int = 2026, companies: int = 60) -> list[Enterprise]:
    """The filed enterprises: ``companies`` e-commerce companies (the sellers of :func:`generate` and
    :func:`generate_lines` with the same seed) followed by platforms, logistics firms, warehouse operators
    and payment firms."""
    rng = np.random.default_rng([seed, 1])
    used: set[str] = set()
    out = _companies(rng, companies, "ecommerce", used)
    for role, n in SUPPORT_ROLES.items():
        out += _companies(rng, n, role, used)
    return out


def generate_lines(lines: int, seed: int = 2026, year: int = 2026, companies: int = 60) -> pd.DataFrame:
    """``lines`` order lines of a synthetic year as columns (one row per goods line, the order's fields
    repeated), for the statistics bench and its pandas baseline.

    Columns: order_id (int64; ``order_no(order_id)`` is its order number), line_no, enterprise_code, city,
    ordered_ms (UTC epoch ms), customs_mode, destination_country, currency, hs_code, hs_chapter, unit,
    quantity, value (in ``currency``), value_usd, net_weight_kg; strings are pandas categoricals.
    Ten million lines take a few seconds."""
    if lines < 1:
        raise ValueError("lines must be at least 1")
    rng = np.random.default_rng([seed, 2])
    firms = enterprises(seed, companies)[:companies]
    mean_lines = 1.6
    d = _draw(rng, int(lines / mean_lines * 1.1) + 16, firms, year, max_lines=lines)
    currency_of_country = np.array([CURRENCIES.index(c[2]) for c in COUNTRIES])
    order_currency = currency_of_country[d.country]
    rate = np.array([USD_RATES[c] for c in CURRENCIES])
    lo = d.line_order
    cur = order_currency[lo]
    cat = pd.Categorical.from_codes
    return pd.DataFrame({
        "order_id": lo.astype(np.int64),
        "line_no": d.line_no,
        "enterprise_code": cat(d.enterprise[lo], [f.credit_code for f in firms]),
        "city": _categories(d.enterprise[lo], [f.city for f in firms]),
        "ordered_ms": d.ordered_ms[lo],
        "customs_mode": cat(d.mode[lo], list(MODES)),
        "destination_country": cat(d.country[lo], [c[0] for c in COUNTRIES]),
        "currency": cat(cur, list(CURRENCIES)),
        "hs_code": cat(d.product, [p[0] for p in PRODUCTS]),
        "hs_chapter": _categories(d.product, [p[0][:2] for p in PRODUCTS]),
        "unit": _categories(d.product, [p[2] for p in PRODUCTS]),
        "quantity": d.quantity,
        "value": np.round(d.value_usd * rate[cur], 2),
        "value_usd": d.value_usd,
        "net_weight_kg": d.net_weight,
    })


def _categories(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    """A categorical of ``labels[codes]`` where labels may repeat (e.g. the HS chapter of each product)."""
    unique = sorted(set(labels))
    to_unique = np.array([unique.index(label) for label in labels])
    return pd.Categorical.from_codes(to_unique[codes], unique)


def order_no(order_id: int, year: int = 2026) -> str:
    """The order number of a generated order: ``MY<year><8 digits>``."""
    return f"MY{year}{order_id:08d}"


def _iso(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC).astimezone(CHINA_TZ)


def _later(t: datetime, **delta: float) -> datetime:
    """``t`` plus ``delta`` (timedelta's arguments), to the second, as platforms write times."""
    return (t + timedelta(**delta)).replace(microsecond=0)


def _money(x: float) -> Decimal:
    return Decimal(f"{x:.2f}")


def generate(orders: int = 500, seed: int = 2026, year: int = 2026, companies: int = 60,
             mismatch_share: float = MISMATCH_SHARE, incomplete_share: float = INCOMPLETE_SHARE) -> SampleData:
    """A synthetic year of ``orders`` orders as exchange records: the enterprises, the orders with their
    goods lines, a payment and a waybill per order (9610 with planted defects: ``mismatch_share`` disagree
    on one field, ``incomplete_share`` miss a document; ``SampleData.planted`` names them), and for 9810
    the stock moved into overseas warehouses and part of it sold out."""
    rng = np.random.default_rng([seed, 3])
    firms = enterprises(seed, companies)
    sellers = firms[:companies]
    platforms = [f for f in firms if f.role == "platform"]
    payers = [f for f in firms if f.role == "payment"]
    carriers = [f for f in firms if f.role == "logistics"]
    d = _draw(rng, orders, sellers, year)
    order_rows: list[Order] = []
    payments: list[Payment] = []
    waybills: list[Waybill] = []
    movements: list[StockMovement] = []
    planted: dict[str, str] = {}
    by_order = np.split(np.arange(len(d.line_order)), np.cumsum(np.bincount(d.line_order, minlength=orders))[:-1])
    sorted_idx = np.argsort(d.ordered_ms, kind="stable")  # numbered in time order
    for seq, i in enumerate(sorted_idx, start=1):
        mode = MODES[d.mode[i]]
        country, _share, currency = COUNTRIES[d.country[i]]
        rate = USD_RATES[currency]
        no = order_no(seq, year)
        buyer = f"{FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]} {LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]}"
        if mode in ("9710", "9810"):
            buyer = f"{LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]} Trading {country}"
        lines = [{"hs_code": PRODUCTS[d.product[j]][0], "description": PRODUCTS[d.product[j]][1],
                  "quantity": Decimal(int(d.quantity[j])), "unit": PRODUCTS[d.product[j]][2],
                  "value": _money(d.value_usd[j] * rate), "net_weight_kg": Decimal(f"{d.net_weight[j]:.3f}")}
                 for j in by_order[i]]
        freight = _money(float(rng.uniform(2, 9)) * rate) if mode in ("9610", "1210") else Decimal("0")
        ordered = _iso(int(d.ordered_ms[i]))
        order = Order(order_no=no, enterprise_code=sellers[d.enterprise[i]].credit_code,
                      platform_code=platforms[int(rng.integers(len(platforms)))].credit_code if mode != "9810" else None,
                      customs_mode=mode, destination_country=country, currency=currency, ordered_at=ordered,
                      buyer_name=buyer, consignee_name=buyer, freight=freight, lines=lines)
        order_rows.append(order)
        channel, transport, _ = CHANNELS[mode][int(rng.choice(len(CHANNELS[mode]),
                                                             p=_shares([c[2] for c in CHANNELS[mode]])))]
        net = float(order.net_weight_kg or 0)
        gross = round(net * float(rng.uniform(1.05, 1.25)) + 0.1, 3)
        payment = {"payment_no": f"PAY{no[2:]}", "order_no": no, "payer_name": buyer,
                   "payment_firm_code": payers[int(rng.integers(len(payers)))].credit_code,
                   "amount": order.amount_due, "currency": currency,
                   "paid_at": _later(ordered, minutes=float(rng.uniform(0.5, 30)))}
        waybill = {"logistics_no": f"WB{no[2:]}", "order_no": no, "carrier": CARRIERS[channel][
            int(rng.integers(len(CARRIERS[channel])))], "carrier_code": carriers[int(rng.integers(len(carriers)))].credit_code,
                   "parcels": 1 if mode in ("9610", "1210") else max(1, int(net // 400) + 1),
                   "gross_weight_kg": Decimal(f"{gross:.3f}"), "consignee_name": buyer,
                   "destination_country": country, "channel": channel, "transport_mode": transport,
                   "shipped_at": _later(ordered, hours=float(rng.uniform(6, 72)))}
        if mode == "9610":
            draw = float(rng.random())
            if draw < incomplete_share:
                missing = "payment" if rng.random() < 0.6 else "waybill"
                planted[no] = f"incomplete:{missing}"
                payment = None if missing == "payment" else payment
                waybill = None if missing == "waybill" else waybill
            elif draw < incomplete_share + mismatch_share:
                what = ("amount", "currency", "consignee", "country", "weight")[int(rng.integers(5))]
                planted[no] = f"mismatch:{what}"
                if what == "amount":
                    payment["amount"] = _money(float(order.amount_due) * float(rng.choice([0.7, 0.8, 1.25])))
                elif what == "currency":
                    payment["currency"] = "USD" if currency != "USD" else "EUR"
                elif what == "consignee":
                    waybill["consignee_name"] = f"{FIRST_NAMES[0]} {LAST_NAMES[-1]}x"
                elif what == "country":
                    waybill["destination_country"] = "CA" if country != "CA" else "US"
                else:
                    waybill["gross_weight_kg"] = Decimal(f"{max(net * 0.4, 0.001):.3f}")
        if payment is not None:
            payments.append(Payment(**payment))
        if waybill is not None:
            waybills.append(Waybill(**waybill))
        if mode == "9810":
            wh, wh_country = WAREHOUSES[int(rng.integers(len(WAREHOUSES)))]
            for k, line in enumerate(order.lines, start=1):
                inbound = StockMovement(
                    movement_no=f"IN{no[2:]}-{k}", enterprise_code=order.enterprise_code, warehouse_id=wh,
                    warehouse_country=wh_country, kind="inbound", moved_at=_later(ordered, days=float(rng.uniform(14, 35))),
                    hs_code=line.hs_code, description=line.description, quantity=line.quantity, unit=line.unit,
                    value=line.value, currency=currency, order_no=no)
                movements.append(inbound)
                sold = Decimal(int(int(line.quantity) * float(rng.uniform(0.3, 0.9))))
                if sold > 0:
                    movements.append(StockMovement(
                        movement_no=f"OUT{no[2:]}-{k}", enterprise_code=order.enterprise_code, warehouse_id=wh,
                        warehouse_country=wh_country, kind="sales_out",
                        moved_at=_later(inbound.moved_at, days=float(rng.uniform(5, 90))), hs_code=line.hs_code,
                        description=line.description, quantity=sold, unit=line.unit,
                        value=_money(float(line.value) * float(sold) / float(line.quantity) * 1.6), currency=currency))
    return SampleData(firms, order_rows, payments, waybills, movements, planted)


TRACKED_SHARES = {"9610": 0.30, "1210": 0.30, "9710": 0.70, "9810": 0.75}
"""Share of the orders of each customs mode whose waybill links a tracked shipment (:func:`tracked_shipments`):
most B2B freight moves on a shipment the project tracks; parcels only on the consolidated line-hauls it books."""
CONSOLIDATION = {"9610": 150, "1210": 150, "9710": 4, "9810": 3}
"""Orders per tracked shipment at most (parcels go in consolidated line-hauls of a country's week; B2B orders
share a container or wagon with few others)."""
LEGS = {  # transport mode -> (origin of the main leg, typical lead days, spread, km, kg CO2e per tonne-km)
    "air": ("TFU", 7.0, 0.35, 8_000.0, 0.60), "rail": ("CD_RAILPORT", 18.0, 0.25, 9_500.0, 0.025),
    "sea": ("CNQZH", 38.0, 0.20, 16_000.0, 0.010), "road": ("MY_CITY", 10.0, 0.30, 4_000.0, 0.090)}
"""The main leg of a tracked shipment by mode (ISO 14083-style intensities, rough, for synthetic figures)."""
UNDELIVERED_SHARE = 0.04
"""Tracked shipments still in transit (no lead time, no on-time flag)."""


@dataclass(frozen=True)
class TrackedShipments:
    """The tracked shipments of generated lines (:func:`tracked_shipments`): ``orders`` maps an order
    (``order_id``) to its shipment (``shipment``, int64); ``shipments`` has one row per shipment: its id
    (``shipment_id``, text as the service's), corridor, mode, lead days (NaN: in transit), on time (None: in
    transit) and CO2e (kg, of the whole shipment: the service allocates it to the orders by gross weight)."""

    orders: pd.DataFrame
    shipments: pd.DataFrame


def tracked_shipments(lines: pd.DataFrame, seed: int = 2026) -> TrackedShipments:
    """Tracked shipments for the orders of :func:`generate_lines`' ``lines``: a share of each customs mode's
    orders (:data:`TRACKED_SHARES`) consolidated by customs mode, country, transport mode and week into
    shipments of at most :data:`CONSOLIDATION` orders, each with a lead time drawn around its mode's
    (:data:`LEGS`), on time when within the quoted p90 (a quarter over the typical lead), a few in
    transit, and CO2e = net weight x 1.15 (gross) x km x intensity. Vectorised: ten million lines in a
    second or two."""
    rng = np.random.default_rng([seed, 5])
    first = (lines["line_no"] == 1).to_numpy()
    order_id = lines["order_id"].to_numpy()[first]
    customs = lines["customs_mode"].to_numpy()[first]
    mode_i = pd.Categorical(customs, categories=list(MODES)).codes
    country = lines["destination_country"].cat.codes.to_numpy()[first]
    week = (lines["ordered_ms"].to_numpy()[first] // (7 * 86_400_000)).astype(np.int64)
    kg = np.bincount(np.searchsorted(order_id, lines["order_id"].to_numpy()), lines["net_weight_kg"].to_numpy(),
                     minlength=len(order_id)) * 1.15
    share = np.array([TRACKED_SHARES[m] for m in MODES])[mode_i]
    tracked = rng.random(len(order_id)) < share
    transports = list(LEGS)
    transport = np.zeros(len(order_id), dtype=np.int64)
    for i, m in enumerate(MODES):  # the shipment's mode as the customs mode's channels are shared out
        at = mode_i == i
        options = [t for _c, t, _s in CHANNELS[m]]
        p = _shares([s for _c, _t, s in CHANNELS[m]])
        transport[at] = np.array([transports.index(t) for t in options])[rng.choice(len(options), size=int(at.sum()), p=p)]
    idx = np.flatnonzero(tracked)
    # consolidation: orders of one (customs mode, country, mode, week), in order, cut into groups
    key = ((mode_i[idx].astype(np.int64) * 64 + country[idx]) * 8 + transport[idx]) * 100_000 + week[idx]
    order = np.lexsort((order_id[idx], key))
    idx, key = idx[order], key[order]
    new_key = np.r_[True, key[1:] != key[:-1]]
    group_start = np.maximum.accumulate(np.where(new_key, np.arange(len(idx)), 0))
    cap = np.array([CONSOLIDATION[m] for m in MODES])[mode_i[idx]]
    cut = new_key | (((np.arange(len(idx)) - group_start) % cap) == 0)
    shipment = np.cumsum(cut) - 1
    n = int(shipment[-1]) + 1 if len(shipment) else 0
    s_transport = transport[idx][cut]
    s_country = country[idx][cut]
    origin, typical, spread, km, intensity = (np.array([LEGS[t][k] for t in transports]) for k in range(5))
    lead = np.round(typical[s_transport] * rng.lognormal(0.0, spread[s_transport].astype(float), n), 4)
    on_time = lead <= typical[s_transport] * 1.25
    transit = rng.random(n) < UNDELIVERED_SHARE
    s_kg = np.bincount(shipment, kg[idx], minlength=n)
    codes = lines["destination_country"].cat.categories
    hubs = {"DE": "DUISBURG", "PL": "LODZ", "NL": "TILBURG", "RU": "MOSCOW", "KZ": "ALMATY", "UZ": "TASHKENT"}
    corridor = [f"{origin[t]}-{hubs.get(codes[c], codes[c]) if transports[t] == 'rail' else codes[c]}"
                for t, c in zip(s_transport, s_country)]
    return TrackedShipments(
        orders=pd.DataFrame({"order_id": order_id[idx].astype(np.int64), "shipment": shipment.astype(np.int64)}),
        shipments=pd.DataFrame({
            "shipment": np.arange(n, dtype=np.int64),
            "shipment_id": [f"S-GEN-{i:07d}" for i in range(n)],
            "corridor": pd.Categorical(corridor), "mode": pd.Categorical.from_codes(s_transport, transports),
            "lead_days": np.where(transit, np.nan, lead),
            "on_time": pd.array(np.where(transit, None, on_time), dtype="boolean"),
            "co2e_kg": np.round(s_kg / 1000 * km[s_transport] * intensity[s_transport], 3)}))
