"""The handler chain, Traccar-style: each handler takes the batch's readings and returns those the
next handler should see (dropping invalid ones, duplicates, quarantined ones), recording its side
effects (events, alerts, state) in the shared :class:`~iot_ingest.handlers.base.Context`.

validate -> filter (plausibility) -> bind (registry / quarantine) -> dedup -> order -> geofence -> milestones -> alerts -> store
(the alert rules, also run by the pipeline's sweep, are in ``alert_rules`` beside the alerts handler)
"""

from __future__ import annotations

from iot_ingest.handlers.alerts import AlertsHandler
from iot_ingest.handlers.base import Context, DeviceState, Handler
from iot_ingest.handlers.bind import BindHandler
from iot_ingest.handlers.dedup import DedupHandler
from iot_ingest.handlers.filter import FilterConfig, FilterHandler
from iot_ingest.handlers.geofence import GeofenceHandler
from iot_ingest.handlers.milestones import MilestonesHandler
from iot_ingest.handlers.order import OrderHandler
from iot_ingest.handlers.store import StoreHandler
from iot_ingest.handlers.validate import ValidateHandler


def default_chain(geofences, filters: FilterConfig | None = None) -> list[Handler]:
    """The standard chain; ``geofences`` is a :class:`~iot_ingest.geofence.GeofenceIndex`, ``filters``
    the plausibility limits (default: ``handlers/filter.py``'s constants)."""
    return [ValidateHandler(), FilterHandler(filters), BindHandler(), DedupHandler(), OrderHandler(), GeofenceHandler(geofences),
            MilestonesHandler(), AlertsHandler(), StoreHandler()]


__all__ = ["Context", "DeviceState", "Handler", "default_chain", "ValidateHandler", "FilterHandler",
           "FilterConfig", "BindHandler", "DedupHandler",
           "OrderHandler", "GeofenceHandler", "MilestonesHandler", "AlertsHandler", "StoreHandler"]
