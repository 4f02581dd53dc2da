"""Structured logs with a request id, and Prometheus metrics of the service.

- Logs: one JSON object per line (``CBEC_LOG_FORMAT=json``, the default) with ``ts``, ``level``,
  ``logger``, ``msg`` and the ``request_id`` of the request being served (a context variable set by
  :class:`api.middleware.ServiceMiddleware`), plus any ``extra`` fields.
- Metrics (``GET /metrics``): HTTP latency by route template, jobs by state, ingest rate, consumer lag
  and dead letters; collected from the app's state at scrape time, so the hot paths only bump counters.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``extra={...}`` fields are kept; exceptions go in ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            doc["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


def configure_logging(fmt: str = "json", level: str = "info") -> None:
    """Route the root logger (and uvicorn's) to stderr in ``fmt``; idempotent."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.addFilter(_RequestIdFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # ServiceMiddleware logs each request once, with its id
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a line per plugin at every start


class _StateCollector(Collector):
    """Jobs by state and ingest counters, read from the app's state when Prometheus scrapes."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def collect(self) -> Iterator[Any]:
        jobs = GaugeMetricFamily("cbec_jobs", "Jobs known to this process by state", labels=["state"])
        runner = getattr(self._state, "jobs", None)
        counts = runner.counts() if runner is not None and hasattr(runner, "counts") else {}
        for state in ("queued", "running", "succeeded", "failed", "cancelled"):
            jobs.add_metric([state], counts.get(state, 0))
        yield jobs
        pipe = getattr(self._state, "ingest_pipeline", None)
        stats = pipe.metrics() if pipe is not None and hasattr(pipe, "metrics") else None
        if stats is not None:
            received = CounterMetricFamily("cbec_ingest_readings", "Readings and messages handled by this process's "
                                           "ingest pipeline, by outcome (received and dead_letter count messages)",
                                           labels=["outcome"])
            for outcome, value in stats.items():
                received.add_metric([outcome], value)
            yield received
        consumer = getattr(self._state, "ingest_consumer", None)
        if consumer is not None and hasattr(consumer, "lag"):
            lag = GaugeMetricFamily("cbec_ingest_lag_messages", "Messages received but not yet stored and acknowledged")
            lag.add_metric([], consumer.lag())
            yield lag


class Metrics:
    """The registry of one app (apps in tests each get their own)."""

    def __init__(self, state: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http = Histogram("cbec_http_request_duration_seconds", "HTTP request latency by route template",
                              ["method", "route", "status"], registry=self.registry,
                              buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.registry.register(_StateCollector(state))
