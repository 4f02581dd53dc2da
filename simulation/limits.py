"""The bounds of a simulation, in one place: what one scenario, one replication and one request may ask for.

The scenario schema (:mod:`simulation.scenario`), the HTTP request (``api.schemas.simulations``) and
the CLI state these limits and enforce them; :mod:`simulation.budget` checks the work a request adds
up to before anything runs. They keep every bundled scenario valid with a wide margin (the
baseline: 10 flows of at most 6 consignments a day, a one-year horizon, 10 replications, about
490,000 SimPy events per replication) and bound what one request can cost the service:

- **memory** of one replication grows with the consignments in the system (about 1.3 kB each when
  demand exceeds capacity and they pile up): at most ``MAX_CONSIGNMENTS_PER_REPLICATION`` of them,
  i.e. a few hundred MB per worker process;
- **CPU** grows with SimPy events (about 350,000/s on one core): at most
  ``MAX_EVENTS_PER_REPLICATION`` per replication (about 30 s) and ``MAX_EVENTS_PER_REQUEST`` over all
  scenarios and replications of one request (about 12 CPU-minutes; two scenarios of the baseline
  year at 200 replications each still fit);
- **processes**: never more local worker processes than the machine has cores (``os.cpu_count()``),
  whatever a request asks; with a Dask scheduler the cluster decides.

Every loop whose length depends on the input is bounded by these numbers (flows, windows, route
buckets, departures per day, days).
"""

from __future__ import annotations

from datetime import date

# --- names and ids ----------------------------------------------------------------------------------
SCENARIO_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # also a file-name prefix of the plots: no '/', no leading '.'
MAX_SCENARIO_NAME = 80
FLOW_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"  # a key of the KPIs (dots separate KPI names)
MAX_FLOW_NAME = 60
ID_PATTERN = r"^[A-Z][A-Z0-9_]*$"  # node and service ids, as the network's loader requires
MAX_ID = 40
TABLE_KEY_PATTERN = r"^(default|[A-Z][A-Z0-9_]*)$"  # keys of the docks / customs_lanes tables
# free text: no control characters (tab and newline allowed) and no bidirectional overrides
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f\\u202a-\\u202e\\u2066-\\u2069]*$"
MAX_DESCRIPTION = 1000
MAX_FAMILY = 60

# --- sizes of the scenario's tables -----------------------------------------------------------------
MAX_FLOWS = 100
MAX_DEMAND_WINDOWS = 100
MAX_DISRUPTIONS = 200
MAX_OVERRIDES = 500  # services, warehouses, drop_services, docks, customs_lanes, borders entries
MAX_ROUTE_SERVICES = 20  # services in a given route
MAX_TIMES_PER_DAY = 48  # departure times of an overridden schedule

# --- demand -----------------------------------------------------------------------------------------
MAX_LOTS_PER_DAY = 1000.0  # per flow; the baseline's largest flow has 6
MAX_DEMAND_FACTOR = 100.0  # demand_multiplier and each demand_multipliers[].factor
MAX_LOT_KG = 50_000.0  # one consignment: at most about two full 40' containers
MAX_LOT_M3 = 150.0
MAX_LOT_PIECES = 100_000

# --- time -------------------------------------------------------------------------------------------
MAX_HORIZON_DAYS = 1098.0  # three years
MAX_DRAIN_DAYS = 365.0
MAX_DAY = MAX_HORIZON_DAYS + MAX_DRAIN_DAYS  # any day offset (windows, disruptions)
# routes are quoted for ready times in the first week after the start: the quote engine's window
try:
    from optimizer.quotes.limits import READY_MAX, READY_MIN
except ImportError:  # pragma: no cover - an engine without a ready window
    READY_MIN, READY_MAX = date(2024, 1, 1), date(2030, 12, 31)
MIN_START = READY_MIN
MAX_START = date(READY_MAX.year - 1, 12, 31)  # whole years (the schema states them as a pattern), a week to spare
MAX_EVENT_DATE = date(MAX_START.year + 5, 12, 31)  # a cancelled departure's date: within start + horizon + drain
MAX_HOURS = 24.0 * 30  # any duration given in hours (handling, clearance, inspection, cut-off)
MAX_SEED = 2**53 - 1  # exact in every JSON number implementation

# --- resources --------------------------------------------------------------------------------------
MAX_SERVERS = 10_000  # trucks, docks, lanes, tracks, pickers
MAX_BACKGROUND_TRAINS_PER_DAY = 500.0
MIN_WH_BACKGROUND_LOT_M3 = 1.0

# --- runs -------------------------------------------------------------------------------------------
MAX_REPLICATIONS = 200
MAX_WORKERS = 64  # what a request may ask for; the runner never starts more than os.cpu_count()
MAX_SCENARIOS_PER_REQUEST = 10  # `cbec simulate compare` (the API compares two: scenario and compare_with)
MAX_ROUTE_QUOTES = 3000  # per scenario: flows x ready-time buckets of a week (baseline: 280)

# --- work, estimated up front (simulation.budget) ---------------------------------------------------
EVENTS_PER_CONSIGNMENT = 20  # measured on the baseline: ~146,000 events for ~7,200 consignments
EVENTS_PER_BACKGROUND = 4  # another operator's train at a border, another exporter's warehouse delivery
MAX_CONSIGNMENTS_PER_REPLICATION = 300_000
MAX_EVENTS_PER_REPLICATION = 10_000_000
MAX_EVENTS_PER_REQUEST = 250_000_000

# --- IoT replay -------------------------------------------------------------------------------------
MIN_REPLAY_INTERVAL_MIN = 1.0
MAX_REPLAY_INTERVAL_MIN = 1440.0
MAX_REPLAY_SPEED = 1e7
MAX_REPLAY_MESSAGES = 2_000_000
