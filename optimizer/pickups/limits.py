"""Bounds of the pickup / delivery routing inputs, stated once for the engine, the HTTP schema and the CLI.

* at most ``MAX_STOPS`` (1 000) stops: the largest Gehring & Homberger VRPTW instances have 1 000
  customers and PyVRP solves them; the distance and duration matrices are then 2 x 8 MB.
* at most ``MAX_VEHICLE_TYPES`` (20) vehicle types of at most 1 000 vehicles each; a vehicle carries at
  most 100 t and 500 m³ (a road train is ~60 t / 150 m³), a stop holds at most the same.
* ``speed_kmh`` in [5, 120] (the Chinese expressway limit); ``time_limit_s`` in (0, 300] over HTTP (a
  request or a short job) and (0, 3 600] from the CLI and the engine; ``seed`` in [0, 2^31 - 1]
  (PyVRP's seed is 32-bit).
* stop ids are 1-64 letters, digits, '_', '.', ':' or '-'; names are at most 200 characters without
  control or bidirectional-override characters; windows are ``HH:MM`` (00:00-24:00), service at most a day.
* VRPLIB files: at most ``MAX_VRPLIB_BYTES`` (20 MB) and ``MAX_STOPS`` + 1 nodes.
"""

from __future__ import annotations

from optimizer.quotes.limits import Range

MAX_STOPS = 1000
MAX_VEHICLE_TYPES = 20
MAX_VRPLIB_BYTES = 20_000_000
MAX_CSV_BYTES = 5_000_000

STOP_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$"
NAME_MAX = 200
HHMM_PATTERN = r"^\s*(?:(?:[01]?[0-9]|2[0-3]):[0-5][0-9]|24:00)\s*$"

LAT = Range(-90, 90)
LON = Range(-180, 180)
STOP_KG = Range(0, 100_000, unit="kg")
STOP_M3 = Range(0, 500, unit="m³")
SERVICE_MIN = Range(0, 1440, unit="min")

VEHICLE_COUNT = Range(1, 1000, integer=True)
VEHICLE_KG = Range(0, 100_000, lo_open=True, unit="kg")
VEHICLE_M3 = Range(0, 500, lo_open=True, unit="m³")
FIXED_COST = Range(0, 1_000_000)
COST_PER_KM = Range(0, 1_000)

SPEED_KMH = Range(5, 120, unit="km/h")  # slower is no truck (and near-zero speeds overflowed the minute matrix)
TIME_LIMIT_S = Range(0, 3600, lo_open=True, unit="s")
HTTP_TIME_LIMIT_S = Range(0, 300, lo_open=True, unit="s")
SEED = Range(0, 2**31 - 1, integer=True)
