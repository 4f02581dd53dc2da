"""Bounds of the warehouse use cases (design, stock policies, OR-Library input), stated once.

The HTTP schemas (``api/schemas/warehouses.py``) and the CLI (``api/cli/warehouses.py``) use these
same ranges; the engine checks them too, so a direct call cannot bypass them.

* ``carbon_price`` in [0, 10 000] USD per t CO2e: the EU ETS trades near 70-100, the highest published
  social-cost-of-carbon estimates are near 1 000; ten times that leaves room for sensitivity runs and
  keeps every cost finite (1.6e308 made them ``inf``).
* ``max_days`` (service level) in (0, 365]; ``review_days`` in (0, 90] (a review beyond a quarter is not
  a replenishment policy); ``fill_rate`` in (0, 1).
* demand rows: at most ``MAX_DEMAND_ROWS`` (200: 15 markets x 13 families; each distinct family
  density costs one quote per serving warehouse, ~1.3 s at 200 rows), each ``mean_m3_day`` in
  (0, 10 000] (four block trains a day), ``sd_m3_day`` in [0, 10 000], ``kg_per_m3`` in (0, 8 000]
  (steel, the densest common cargo, is 7 850 kg/m³; the 60 m³ reference lot then weighs at most
  480 t, within a quote's 1 100 t).
* design: ``time_limit`` in (0, 1 800] s, ``max_open``/``n_open`` in [1, 1 000], ``budget`` in [0, 1e12],
  ``capacity`` in (0, 1e9].
* OR-Library text: at most 4 000 000 characters, 1 000 sites, 5 000 customers and 250 000
  site x customer pairs (OR-Library's largest, capa-capc, have 100 x 1 000).
"""

from __future__ import annotations

from optimizer.quotes.limits import Range

CARBON_PRICE = Range(0, 10_000, unit="USD/t CO2e")
MAX_DAYS = Range(0, 365, lo_open=True, unit="days")
REVIEW_DAYS = Range(0, 90, lo_open=True, unit="days")
FILL_RATE = Range(0, 1, lo_open=True, hi_open=True)
TIME_LIMIT_S = Range(0, 1800, lo_open=True, unit="s")
STOCK_TIME_LIMIT_S = Range(0, 600, lo_open=True, unit="s")
OPEN_SITES = Range(1, 1000, integer=True)
BUDGET = Range(0, 1e12)
CAPACITY = Range(0, 1e9, lo_open=True)

MAX_DEMAND_ROWS = 200
MEAN_M3_DAY = Range(0, 10_000, lo_open=True, unit="m³/day")
SD_M3_DAY = Range(0, 10_000, unit="m³/day")
KG_PER_M3 = Range(0, 8_000, lo_open=True, unit="kg/m³")
LABEL_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_. -]{0,63}$"  # product family: letters, digits, '_', '.', '-', space
MAX_WAREHOUSES = 50  # ids in one stock-policy request

MAX_ORLIB_CHARS = 4_000_000
MAX_ORLIB_SITES = 1000
MAX_ORLIB_CUSTOMERS = 5000
MAX_ORLIB_CELLS = 250_000
FILE_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
