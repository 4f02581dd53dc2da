"""The delivery worker: outbox events -> one delivery per matching subscription -> signed HTTP POSTs.

A daemon thread (:class:`DeliveryWorker`, started by the ingest service of ``cbec serve`` / ``cbec ingest``)
repeats :meth:`DeliveryWorker.run_once`:

1. **fan-out**: each undispatched event of ``wh_events`` becomes one ``wh_deliveries`` row per active
   subscription of its organisation taking its type (claimed with a conditional update, so several
   workers never fan out the same event twice);
2. **delivery**: due pending deliveries are claimed (a lease: ``next_attempt_ms`` moved forward by a
   conditional update; a worker that dies loses its lease and another retries) and POSTed concurrently
   by a thread pool, at most one in flight per subscription: a slow or failing endpoint holds one
   thread at most, never the ingest (which only wrote the outbox row) nor other partners.

Each POST carries the event JSON, ``X-Cbec-Signature: t=...,v1=...`` (:mod:`webhooks.signing`),
``X-Cbec-Event`` (type), ``X-Cbec-Event-Id`` and ``X-Cbec-Delivery``, and times out after
``timeout_s``. A 2xx answer delivers; anything else (an error status, a refused connection, a timeout)
is logged in ``wh_attempts`` and retried after ``backoff_s × 2^(attempt-1)`` (capped at ``backoff_max_s``)
until ``max_attempts``, then the delivery is ``failed``. Once an hour the worker prunes finished deliveries,
their attempts and dispatched events older than ``keep_days`` (:func:`prune`; pending ones are kept). Receivers must de-duplicate by ``X-Cbec-Event-Id``
(delivery is at least once).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from sqlalchemy import and_, delete, select, update

from storage.db import Database
from webhooks.signing import HEADER, signature_header
from webhooks.tables import attempts, deliveries, events, subscriptions

log = logging.getLogger("webhooks")
USER_AGENT = "cbec-logistics-webhooks/1"
KEEP_DAYS = 30.0
"""Finished deliveries, their attempts and dispatched events are kept this long (the delivery log)."""
PRUNE_EVERY_S = 3600.0
ERROR_MAX = 300


@dataclass(frozen=True)
class RetryPolicy:
    """How long a POST may take and how failed ones are retried."""

    timeout_s: float = 5.0
    max_attempts: int = 8
    backoff_s: float = 10.0
    backoff_max_s: float = 3600.0

    def delay_ms(self, attempt: int) -> int:
        """Wait after the failed ``attempt`` (1-based): exponential, capped."""
        return int(min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1)) * 1000)


@dataclass(frozen=True)
class _Job:
    delivery_id: str
    sub_id: str
    org_id: str
    event_id: str
    event_type: str
    url: str
    secret: str
    body: bytes
    attempt: int


def now_ms() -> int:
    return int(time.time() * 1000)


class DeliveryWorker:
    """Fans out and delivers webhook events; ``start()`` runs it in a daemon thread, ``stop()`` ends it."""

    def __init__(self, db: Database, *, policy: RetryPolicy | None = None, concurrency: int = 8, poll_s: float = 0.5,
                 batch: int = 200, keep_days: float = KEEP_DAYS) -> None:
        self.db = db
        self.keep_days = keep_days
        self.policy = policy or RetryPolicy()
        self.poll_s = poll_s
        self.batch = batch
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")
        self._client = httpx.Client(timeout=httpx.Timeout(self.policy.timeout_s), follow_redirects=False,
                                    trust_env=False, headers={"User-Agent": USER_AGENT})
        self._in_flight: dict[str, Future] = {}  # sub_id -> its one running POST
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the loop -----------------------------------------------------------------------------------
    def start(self) -> "DeliveryWorker":
        self._thread = threading.Thread(target=self._loop, name="webhook-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def _loop(self) -> None:
        next_prune = 0.0
        while not self._stop.is_set():
            try:
                self.run_once()
                if time.monotonic() >= next_prune:
                    prune(self.db, self.keep_days)
                    next_prune = time.monotonic() + PRUNE_EVERY_S
            except Exception:  # the database away for a moment: log and try again at the next poll
                log.exception("webhook worker round failed")
            self._stop.wait(self.poll_s)

    def run_once(self, now: int | None = None) -> int:
        """One round: fan out new events, start due deliveries; returns how many POSTs were started."""
        now = now_ms() if now is None else now
        self.fan_out(now)
        return self.deliver_due(now)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until no POST is in flight (tests, shutdown)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                running = [f for f in self._in_flight.values() if not f.done()]
            if not running:
                return
            time.sleep(0.01)

    # --- fan-out ------------------------------------------------------------------------------------
    def fan_out(self, now: int) -> int:
        """One delivery per (undispatched event, matching active subscription); returns deliveries made."""
        e, s = events.c, subscriptions.c
        made = 0
        with self.db.engine.begin() as conn:
            pending = conn.execute(select(e.event_id, e.org_id, e.event_type).where(e.dispatched.is_(False))
                                   .order_by(e.created_ms).limit(self.batch)).all()
            if not pending:
                return 0
            orgs = sorted({p.org_id for p in pending})
            subs: dict[str, list[tuple[str, set[str]]]] = {}
            for r in conn.execute(select(s.sub_id, s.org_id, s.event_types)
                                  .where(and_(s.active.is_(True), s.org_id.in_(orgs)))):
                subs.setdefault(r.org_id, []).append((r.sub_id, set(r.event_types.split(","))))
            rows = []
            for p in pending:
                claimed = conn.execute(update(events).where(and_(e.event_id == p.event_id, e.dispatched.is_(False)))
                                       .values(dispatched=True)).rowcount
                if not claimed:
                    continue
                for sub_id, types in subs.get(p.org_id, []):
                    if p.event_type in types:
                        rows.append({"delivery_id": "dlv_" + uuid.uuid4().hex, "sub_id": sub_id,
                                     "event_id": p.event_id, "org_id": p.org_id, "status": "pending", "attempts": 0,
                                     "next_attempt_ms": now, "last_status_code": None, "last_error": None,
                                     "created_ms": now, "finished_ms": None})
            if rows:
                conn.execute(deliveries.insert(), rows)
                made = len(rows)
        return made

    # --- delivery -----------------------------------------------------------------------------------
    def deliver_due(self, now: int) -> int:
        d, e, s = deliveries.c, events.c, subscriptions.c
        with self._lock:
            busy = {sid for sid, f in self._in_flight.items() if not f.done()}
        lease = now + int((self.policy.timeout_s + 30) * 1000)
        jobs: list[_Job] = []
        with self.db.engine.begin() as conn:
            due = conn.execute(select(d.delivery_id, d.sub_id, d.org_id, d.event_id, d.attempts, d.next_attempt_ms,
                                      e.event_type, e.payload_json, s.url, s.secret, s.active)
                               .join(events, e.event_id == d.event_id)
                               .outerjoin(subscriptions, s.sub_id == d.sub_id)
                               .where(and_(d.status == "pending", d.next_attempt_ms <= now))
                               .order_by(d.next_attempt_ms).limit(self.batch)).all()
            for r in due:
                if r.url is None or not r.active:
                    conn.execute(update(deliveries).where(d.delivery_id == r.delivery_id)
                                 .values(status="failed", last_error="subscription removed", finished_ms=now))
                    continue
                if r.sub_id in busy:
                    continue  # one POST in flight per endpoint: the next waits for it
                claimed = conn.execute(update(deliveries).where(and_(d.delivery_id == r.delivery_id,
                                                                     d.status == "pending",
                                                                     d.next_attempt_ms == r.next_attempt_ms))
                                       .values(next_attempt_ms=lease)).rowcount
                if claimed:
                    busy.add(r.sub_id)
                    jobs.append(_Job(r.delivery_id, r.sub_id, r.org_id, r.event_id, r.event_type, r.url, r.secret,
                                     r.payload_json.encode(), r.attempts + 1))
        for job in jobs:
            future = self._pool.submit(self._post, job)
            with self._lock:
                self._in_flight[job.sub_id] = future
        return len(jobs)

    def _post(self, job: _Job) -> None:
        started = now_ms()
        t0 = time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            resp = self._client.post(job.url, content=job.body, headers={
                "Content-Type": "application/json", HEADER: signature_header(job.secret, job.body),
                "X-Cbec-Event": job.event_type, "X-Cbec-Event-Id": job.event_id, "X-Cbec-Delivery": job.delivery_id})
            code = resp.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except httpx.TimeoutException:
            error = f"no answer within {self.policy.timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = (f"{type(exc).__name__}: {exc}")[:ERROR_MAX]
        duration = int((time.perf_counter() - t0) * 1000)
        self._record(job, started, duration, code, error)

    def _record(self, job: _Job, started: int, duration: int, code: int | None, error: str | None) -> None:
        end = now_ms()
        d = deliveries.c
        if error is None:
            values = {"status": "delivered", "finished_ms": end}
        elif job.attempt >= self.policy.max_attempts:
            values = {"status": "failed", "finished_ms": end}
        else:
            values = {"next_attempt_ms": end + self.policy.delay_ms(job.attempt)}
        try:
            with self.db.engine.begin() as conn:
                conn.execute(attempts.insert().values(delivery_id=job.delivery_id, attempt=job.attempt, sub_id=job.sub_id,
                                                      org_id=job.org_id, started_ms=started, duration_ms=duration,
                                                      status_code=code, error=error))
                conn.execute(update(deliveries).where(d.delivery_id == job.delivery_id)
                             .values(attempts=job.attempt, last_status_code=code, last_error=error, **values))
        except Exception:  # the lease expires and another round retries it
            log.exception("could not record webhook delivery %s", job.delivery_id)



def prune(db: Database, keep_days: float = KEEP_DAYS, now: int | None = None) -> int:
    """Delete finished deliveries (delivered or failed) older than ``keep_days``, their attempts, and dispatched
    events no pending delivery needs; returns the deliveries removed."""
    cutoff = (now_ms() if now is None else now) - int(keep_days * 86_400_000)
    d, a, e = deliveries.c, attempts.c, events.c
    with db.engine.begin() as conn:
        old = select(d.delivery_id).where(and_(d.status != "pending", d.finished_ms < cutoff))
        conn.execute(delete(attempts).where(a.delivery_id.in_(old)))
        removed = conn.execute(delete(deliveries).where(and_(d.status != "pending", d.finished_ms < cutoff))).rowcount
        pending = select(d.event_id).where(d.status == "pending")
        conn.execute(delete(events).where(and_(e.dispatched.is_(True), e.created_ms < cutoff, e.event_id.not_in(pending))))
    return removed or 0
