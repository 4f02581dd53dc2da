"""The delivery worker: outbox events -> one delivery per matching subscription -> signed HTTP POSTs.

Where it runs: every process that serves the service runs one worker (a daemon thread,
:class:`DeliveryWorker`): ``cbec serve`` (with or without the ingest; with ``--workers N`` in the
supervising process only, not in each API process) and ``cbec ingest``. Events produced by API
requests (document checks, shipments' milestones and alerts) are therefore delivered with
``--no-ingest`` too. Several workers on one database — several servers, an ingest process beside an
API process — share the work through the database and deliver each event once:

1. **fan-out**: undispatched events of ``wh_events`` are claimed (``SELECT ... FOR UPDATE SKIP LOCKED``
   on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` makes the transaction exclusive) and each becomes one
   ``wh_deliveries`` row per active subscription of its organisation taking its type;
2. **delivery**: per endpoint (subscription) with due work, the worker locks the subscription row
   (``FOR UPDATE SKIP LOCKED``: another worker claiming the same endpoint is skipped, not waited for)
   and leases the endpoint's head delivery: ``next_attempt_ms`` moved past the POST's timeout. A worker
   that dies loses its lease and another one retries. An endpoint with a leased delivery (one POST in
   flight, on any worker) or a failed one waiting for its retry (back-off) is *blocked*: nothing else
   is sent to it meanwhile. So every endpoint gets at most one POST at a time, and its back-off is the
   endpoint's: the delivery that failed is retried first (the head is the delivery with the most
   attempts), after ``backoff_s × 2^(attempt-1)`` (capped at ``backoff_max_s``), and the endpoint's other
   deliveries wait behind it instead of each failing on its own. POSTs run in a thread pool, so a slow
   or failing partner holds one thread and its own queue, never the ingest or the API (which only
   wrote the outbox row in their own transaction) nor other partners.

Each POST carries the event JSON, ``X-Cbec-Signature: t=...,v1=...`` (:mod:`webhooks.signing`),
``X-Cbec-Event`` (type), ``X-Cbec-Event-Id`` and ``X-Cbec-Delivery``, and times out after
``timeout_s`` (the whole exchange, from the connection to the answer's status line; the answer's body
is never read). A 2xx answer delivers; anything else (an error status, a refused connection, a timeout)
is logged in ``wh_attempts`` and retried until ``max_attempts``, then the delivery is ``failed``. A host
that resolves to a private, loopback, link-local, multicast, reserved or unspecified address is refused
at connection time (:mod:`webhooks.targets`, unless ``allow_private``): the attempt is logged with the
reason and the delivery fails at once (a refusal is not retried). Once an hour the worker prunes
finished deliveries, their attempts and dispatched events older than ``keep_days`` (:func:`prune`;
pending ones are kept). Receivers must de-duplicate by ``X-Cbec-Event-Id`` (delivery is at least once:
a worker that dies after the partner answered but before recording it leaves the lease to expire).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from sqlalchemy import Connection, and_, delete, func, select, update

from optimizer.settings import Settings, get_settings
from storage.db import Database
from webhooks.signing import HEADER, signature_header
from webhooks.tables import attempts, deliveries, events, subscriptions
from webhooks.targets import GuardedTransport, PrivateTarget, Resolver

log = logging.getLogger("webhooks")
USER_AGENT = "cbec-logistics-webhooks/1"
KEEP_DAYS = 30.0
"""Finished deliveries, their attempts and dispatched events are kept this long (the delivery log)."""
PRUNE_EVERY_S = 3600.0
ERROR_MAX = 300
LEASE_MARGIN_S = 30.0
"""A claimed delivery is leased for the POST's timeout plus this: time to record the answer."""


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


@dataclass(frozen=True)
class _Outcome:
    """What one POST came to: the status code, or the error; ``final``: not retried whatever the attempt."""

    status_code: int | None
    error: str | None
    final: bool = False


def now_ms() -> int:
    return int(time.time() * 1000)


class DeliveryWorker:
    """Fans out and delivers webhook events; ``start()`` runs it in a daemon thread, ``stop()`` ends it.

    ``allow_private`` (default: the setting ``webhooks_allow_private``) lets deliveries reach private
    addresses; ``resolve`` replaces the system's resolver (tests); ``verify`` is the TLS verification
    (True: the system's CA store, or an ``ssl.SSLContext``)."""

    def __init__(self, db: Database, *, policy: RetryPolicy | None = None, concurrency: int = 8, poll_s: float = 0.5,
                 batch: int = 200, keep_days: float = KEEP_DAYS, allow_private: bool | None = None,
                 resolve: Resolver | None = None, verify: ssl.SSLContext | bool = True) -> None:
        self.db = db
        self.keep_days = keep_days
        self.policy = policy or RetryPolicy()
        self.poll_s = poll_s
        self.batch = batch
        self.concurrency = concurrency
        self.allow_private = get_settings().webhooks_allow_private if allow_private is None else allow_private
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook")
        self._client = httpx.Client(transport=GuardedTransport(allow_private=self.allow_private, resolve=resolve,
                                                               verify=verify, total_s=self.policy.timeout_s),
                                    timeout=httpx.Timeout(self.policy.timeout_s), follow_redirects=False,
                                    trust_env=False, headers={"User-Agent": USER_AGENT})
        self._in_flight: dict[str, Future] = {}  # sub_id -> its one running POST
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # a POST ended: its endpoint may take the next delivery now
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, db: Database, settings: Settings | None = None) -> "DeliveryWorker":
        """The worker a server process runs: timeout, attempts and private targets from the settings."""
        settings = settings or get_settings()
        return cls(db, policy=RetryPolicy(timeout_s=settings.webhooks_timeout_s,
                                          max_attempts=settings.webhooks_max_attempts),
                   allow_private=settings.webhooks_allow_private)

    # --- the loop -----------------------------------------------------------------------------------
    def start(self) -> "DeliveryWorker":
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="webhook-worker", daemon=True)
            self._thread.start()
            log.info("webhook delivery worker started")
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """End the loop, let the POSTs in flight finish and be recorded (at most the POST timeout, bounded by
        ``timeout``); queued ones are dropped (their leases expire and a worker retries them)."""
        end = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(max(0.0, end - time.monotonic()))
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.wait_idle(timeout=max(0.0, end - time.monotonic()))
        self._client.close()
        if self._thread is not None:
            log.info("webhook delivery worker stopped")

    def shutdown(self) -> None:
        """:meth:`stop` under the name the server's other runners use."""
        self.stop()

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
            self._wake.wait(self.poll_s)
            self._wake.clear()

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
        with self.db.engine.begin() as conn:
            # claimed by this transaction: another worker's skips these rows instead of waiting for them
            pending = conn.execute(select(e.event_id, e.org_id, e.event_type).where(e.dispatched.is_(False))
                                   .order_by(e.created_ms).limit(self.batch).with_for_update(skip_locked=True)).all()
            if not pending:
                return 0
            orgs = sorted({p.org_id for p in pending})
            subs: dict[str, list[tuple[str, set[str]]]] = {}
            for r in conn.execute(select(s.sub_id, s.org_id, s.event_types)
                                  .where(and_(s.active.is_(True), s.org_id.in_(orgs)))):
                subs.setdefault(r.org_id, []).append((r.sub_id, set(r.event_types.split(","))))
            conn.execute(update(events).where(e.event_id.in_([p.event_id for p in pending])).values(dispatched=True))
            rows = [{"delivery_id": "dlv_" + uuid.uuid4().hex, "sub_id": sub_id, "event_id": p.event_id,
                     "org_id": p.org_id, "status": "pending", "attempts": 0, "next_attempt_ms": now,
                     "last_status_code": None, "last_error": None, "created_ms": now, "finished_ms": None}
                    for p in pending for sub_id, types in subs.get(p.org_id, []) if p.event_type in types]
            if rows:
                conn.execute(deliveries.insert(), rows)
        return len(rows)

    # --- delivery -----------------------------------------------------------------------------------
    def deliver_due(self, now: int) -> int:
        """Lease the head delivery of each endpoint with due work that no worker is sending to and that is not
        backing off, as many as there are free POST threads; start their POSTs; returns how many."""
        with self._lock:
            busy = {sid for sid, f in self._in_flight.items() if not f.done()}
        free = self.concurrency - len(busy)
        if free <= 0:
            return 0
        lease = now + int((self.policy.timeout_s + LEASE_MARGIN_S) * 1000)
        jobs: list[_Job] = []
        with self.db.engine.begin() as conn:
            blocked = busy | _blocked(conn, now)
            d, s = deliveries.c, subscriptions.c
            due = select(d.sub_id).where(and_(d.status == "pending", d.next_attempt_ms <= now))
            if blocked:
                due = due.where(d.sub_id.not_in(sorted(blocked)))
            candidates = list(conn.execute(due.group_by(d.sub_id).order_by(func.min(d.next_attempt_ms), d.sub_id)
                                           .limit(self.batch)).scalars())
            if not candidates:
                return 0
            self._fail_removed(conn, candidates, now)
            order = {sid: i for i, sid in enumerate(candidates)}
            for start in range(0, len(candidates), free):  # in order of waiting, only as many as free threads
                chunk = candidates[start:start + free]
                # the endpoints' rows locked until commit: two workers never lease the same endpoint at once
                locked = conn.execute(select(s.sub_id, s.url, s.secret).where(and_(s.sub_id.in_(chunk),
                                                                                    s.active.is_(True)))
                                      .with_for_update(skip_locked=True)).all()
                # another worker may have leased one of them between the first look and the lock (committed since)
                taken = _blocked(conn, now, [r.sub_id for r in locked]) if locked else set()
                for sub in sorted((r for r in locked if r.sub_id not in taken), key=lambda r: order[r.sub_id]):
                    job = self._lease_head(conn, sub, now, lease)
                    if job is not None:
                        jobs.append(job)
                        if len(jobs) == free:
                            break
                if len(jobs) >= free:
                    break
        for job in jobs:
            future = self._pool.submit(self._post, job)
            with self._lock:
                self._in_flight[job.sub_id] = future
        return len(jobs)

    def _fail_removed(self, conn: Connection, sub_ids: list[str], now: int) -> None:
        """Pending deliveries of deleted or inactive subscriptions fail (nothing will be sent to them)."""
        s, d = subscriptions.c, deliveries.c
        live = set(conn.execute(select(s.sub_id).where(and_(s.sub_id.in_(sub_ids), s.active.is_(True)))).scalars())
        gone = [sid for sid in sub_ids if sid not in live]
        if gone:
            conn.execute(update(deliveries).where(and_(d.sub_id.in_(gone), d.status == "pending"))
                         .values(status="failed", last_error="subscription removed", finished_ms=now))

    def _lease_head(self, conn: Connection, sub, now: int, lease: int) -> _Job | None:
        """Lease the endpoint's next delivery: the one with the most attempts (a retry goes before the deliveries
        queued behind it, so the back-off keeps growing while the endpoint fails), then the oldest."""
        d, e = deliveries.c, events.c
        head = conn.execute(select(d.delivery_id, d.org_id, d.event_id, d.attempts, d.next_attempt_ms,
                                   e.event_type, e.payload_json)
                            .join(events, e.event_id == d.event_id)
                            .where(and_(d.sub_id == sub.sub_id, d.status == "pending", d.next_attempt_ms <= now))
                            .order_by(d.attempts.desc(), d.next_attempt_ms, d.delivery_id).limit(1)).first()
        if head is None:
            return None
        claimed = conn.execute(update(deliveries).where(and_(d.delivery_id == head.delivery_id, d.status == "pending",
                                                             d.next_attempt_ms == head.next_attempt_ms))
                               .values(next_attempt_ms=lease)).rowcount
        if not claimed:
            return None
        return _Job(head.delivery_id, sub.sub_id, head.org_id, head.event_id, head.event_type, sub.url, sub.secret,
                    head.payload_json.encode(), head.attempts + 1)

    def _post(self, job: _Job) -> None:
        started = now_ms()
        t0 = time.perf_counter()
        try:
            outcome = self._send(job)
        except Exception as exc:  # noqa: BLE001 - never lose a lease silently in the pool's future
            log.exception("webhook delivery %s", job.delivery_id)
            outcome = _Outcome(None, f"{type(exc).__name__}: {exc}"[:ERROR_MAX])
        duration = int((time.perf_counter() - t0) * 1000)
        self._record(job, started, duration, outcome)
        self._wake.set()

    def _send(self, job: _Job) -> _Outcome:
        try:
            # streamed: the status is all that counts, and a partner's answer body (of any size) is never read
            with self._client.stream("POST", job.url, content=job.body, headers={
                    "Content-Type": "application/json", HEADER: signature_header(job.secret, job.body),
                    "X-Cbec-Event": job.event_type, "X-Cbec-Event-Id": job.event_id,
                    "X-Cbec-Delivery": job.delivery_id}) as resp:
                code = resp.status_code
        except PrivateTarget as exc:  # refused before connecting; retrying would only ask the same question again
            log.warning("webhook delivery %s: %s", job.delivery_id, exc)
            return _Outcome(None, str(exc)[:ERROR_MAX], final=True)
        except httpx.TimeoutException:
            return _Outcome(None, f"no answer within {self.policy.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return _Outcome(None, f"{type(exc).__name__}: {exc}"[:ERROR_MAX])
        return _Outcome(code, None if 200 <= code < 300 else f"HTTP {code}")

    def _record(self, job: _Job, started: int, duration: int, outcome: _Outcome) -> None:
        end = now_ms()
        d = deliveries.c
        if outcome.error is None:
            values = {"status": "delivered", "finished_ms": end}
        elif outcome.final or job.attempt >= self.policy.max_attempts:
            values = {"status": "failed", "finished_ms": end}
        else:
            values = {"next_attempt_ms": end + self.policy.delay_ms(job.attempt)}
        try:
            with self.db.engine.begin() as conn:
                conn.execute(attempts.insert().values(delivery_id=job.delivery_id, attempt=job.attempt, sub_id=job.sub_id,
                                                      org_id=job.org_id, started_ms=started, duration_ms=duration,
                                                      status_code=outcome.status_code, error=outcome.error))
                conn.execute(update(deliveries).where(d.delivery_id == job.delivery_id)
                             .values(attempts=job.attempt, last_status_code=outcome.status_code,
                                     last_error=outcome.error, **values))
        except Exception:  # the lease expires and another round retries it
            log.exception("could not record webhook delivery %s", job.delivery_id)


def _blocked(conn: Connection, now: int, among: list[str] | None = None) -> set[str]:
    """Endpoints with a pending delivery not due yet: leased (a POST in flight on some worker) or backing off."""
    d = deliveries.c
    q = select(d.sub_id).where(and_(d.status == "pending", d.next_attempt_ms > now))
    if among is not None:
        q = q.where(d.sub_id.in_(among))
    return set(conn.execute(q.distinct()).scalars())


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
