"""After commit, hand what the commit made pending to the job queue; the sweeper catches up.

The rows are the outbox: an event not yet fanned out, a message queued to send, a stored
inbound message not yet processed, an export not yet built. A session hook notes the rows a
flush made pending and, once their transaction has committed, enqueues one job per row by
function object. Nobody else enqueues them, so no caller can forget to, or do it too early.

Redis being down is handled here and nowhere else: the rows stay pending, one warning is
logged, and `sweep()` (every minute, from the scheduler) enqueues every pending row older
than a short grace period. An outage delays side effects; it never loses them. Every job is
idempotent, so a row enqueued twice (by the hook and a sweep) is still done once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, Callable

from flask import Flask, current_app, g, has_request_context
from rq import Retry
from sqlalchemy import event as sa_event
from sqlalchemy import case, func, inspect, select, update
from sqlalchemy.orm import Session

from . import jobs
from .email.outbox import MAX_ATTEMPTS, retry_delays
from .extensions import db
from .models import Event, GroupExport, InboundMessage, OutboundMessage, WebhookDelivery, utcnow
from .queue import queue

log = logging.getLogger(__name__)

_PENDING_KEY = "quorum_pending_jobs"


@dataclass(frozen=True)
class Kind:
    """One kind of pending row: how to tell it is pending (in Python and in SQL) and its job."""

    model: type
    label: str  # how the sweeper's report names what it enqueued
    job: Callable
    pending: Callable[[Any], bool]
    waiting: Callable[[], Any]  # SQL: pending, and old enough that its job should have run
    queue: str = "default"
    options: Callable[[int], dict] = field(default=lambda _id: {})
    status_attribute: str | None = "status"
    stuck: Callable[[], Any] | None = None  # SQL: claimed by a job that died
    released: str | None = None  # the status a stuck row goes back to, so a new job may claim it
    # Several rows of one commit go to one job taking their ids (at most batch_size each), if given.
    batch: Callable | None = None
    batch_size: int = 50
    batch_options: Callable[[list[int]], dict] = field(default=lambda _ids: {})

    def stale(self):
        """SQL: every row of this kind the sweeper should enqueue."""
        return self.waiting() if self.stuck is None else (self.waiting() | self.stuck())


def _grace() -> timedelta:
    # Long enough that the sweeper never races the commit hook for a row it just enqueued.
    return timedelta(seconds=float(current_app.config["SWEEP_GRACE_SECONDS"]))


def _send_options(_id: int) -> dict:
    # RQ retries a TemporaryFailure with exponential backoff; deliver() gives up on the last attempt.
    return {"retry": Retry(max=MAX_ATTEMPTS - 1, interval=retry_delays())}


def _send_batch_options(ids: list[int]) -> dict:
    # Room for every message's slowest relay answer, so RQ never cuts a batch short on a slow relay.
    return {"job_timeout": int(60 + 3 * len(ids) * float(current_app.config["SMTP_TIMEOUT_SECONDS"]))}


def _last_try():
    """SQL: when a send last claimed the message (a row from before claims were timed: its creation)."""
    return func.coalesce(OutboundMessage.attempted_at, OutboundMessage.created_at)


def _stale_outbound():
    """SQL: queued past the grace period, or retrying and past its next attempt's time (the retry
    RQ scheduled may have been lost with Redis)."""
    due = [(OutboundMessage.attempts == n, utcnow() - timedelta(seconds=delay) - _grace())
           for n, delay in enumerate(retry_delays(), start=1)]
    return (((OutboundMessage.status == "queued") & (OutboundMessage.created_at < utcnow() - _grace()))
            | ((OutboundMessage.status == "retrying") & (_last_try() < case(*due, else_=utcnow() - _grace()))))


# A job that died mid-way leaves its row claimed; after this long it is taken as lost.
INBOUND_STUCK_AFTER = timedelta(minutes=15)
EXPORT_STUCK_AFTER = timedelta(hours=2)  # longer than the export job's timeout


def _send_stuck_after() -> timedelta:
    # A send is a handful of SMTP steps, each given up after SMTP_TIMEOUT_SECONDS: a claim ten
    # timeouts old (200 s by default) belongs to a worker that died.
    return timedelta(seconds=10 * float(current_app.config["SMTP_TIMEOUT_SECONDS"]))


def _sender_check_wait() -> timedelta:
    return timedelta(seconds=float(current_app.config["SENDER_CHECK_RETRY_SECONDS"]))


def _claim_older_than(age: timedelta):
    """SQL: the inbound message's claim is older than `age` (a row claimed before claims were timed
    counts from its arrival)."""
    cutoff = utcnow() - age
    return ((InboundMessage.claimed_at.is_not(None) & (InboundMessage.claimed_at < cutoff))
            | (InboundMessage.claimed_at.is_(None) & (InboundMessage.created_at < cutoff)))


def _webhook_options(_id: int) -> dict:
    from .services.webhooks import MAX_ATTEMPTS as WEBHOOK_ATTEMPTS, retry_delays as webhook_delays

    return {"retry": Retry(max=WEBHOOK_ATTEMPTS - 1, interval=webhook_delays())}


def _stale_webhook_deliveries():
    """SQL: queued past the grace period, or retrying and past the longest backoff (its RQ retry lost)."""
    from .services.webhooks import retry_delays as webhook_delays

    longest = timedelta(seconds=max(webhook_delays()))
    tried = func.coalesce(WebhookDelivery.attempted_at, WebhookDelivery.created_at)
    return (((WebhookDelivery.status == "queued") & (WebhookDelivery.created_at < utcnow() - _grace()))
            | ((WebhookDelivery.status == "retrying") & (tried < utcnow() - longest - _grace())))


KINDS: tuple[Kind, ...] = (
    Kind(Event, "events_enqueued", jobs.fan_out_event,
         pending=lambda row: row.fanned_out_at is None,
         waiting=lambda: Event.fanned_out_at.is_(None) & (Event.created_at < utcnow() - _grace()),
         status_attribute=None),
    Kind(OutboundMessage, "outbound_redispatched", jobs.send_message, batch=jobs.send_messages,
         batch_options=_send_batch_options,
         # "sending" is a job's claim: a row going from it to "retrying" already has its retry.
         pending=lambda row: row.status in ("queued", "retrying", "sending"),
         waiting=_stale_outbound, options=_send_options,
         stuck=lambda: (OutboundMessage.status == "sending") & (_last_try() < utcnow() - _send_stuck_after()),
         released="retrying"),
    Kind(InboundMessage, "inbound_enqueued", jobs.process_inbound, queue="inbound",
         pending=lambda row: row.status == "received",
         waiting=lambda: (InboundMessage.status == "received") & (InboundMessage.created_at < utcnow() - _grace()),
         # A claim a dead job left, or a sender check DNS deferred whose wait is over.
         stuck=lambda: (((InboundMessage.status == "processing") & _claim_older_than(INBOUND_STUCK_AFTER))
                        | ((InboundMessage.status == "deferred") & _claim_older_than(_sender_check_wait()))),
         released="received", options=lambda row_id: {"job_id": f"inbound-{row_id}"}),
    Kind(GroupExport, "exports_enqueued", jobs.build_group_export,
         pending=lambda row: row.status == "queued",
         waiting=lambda: (GroupExport.status == "queued") & (GroupExport.created_at < utcnow() - _grace()),
         stuck=lambda: (GroupExport.status == "running") & (GroupExport.created_at < utcnow() - EXPORT_STUCK_AFTER),
         released="queued", options=lambda _id: {"job_timeout": 3600}),
    Kind(WebhookDelivery, "webhooks_enqueued", jobs.deliver_webhook,
         pending=lambda row: row.status in ("queued", "retrying", "sending"),
         waiting=_stale_webhook_deliveries, options=_webhook_options,
         stuck=lambda: (WebhookDelivery.status == "sending")
         & (WebhookDelivery.attempted_at < utcnow() - timedelta(minutes=10)),
         released="retrying"),
)
_BY_MODEL = {kind.model: kind for kind in KINDS}


def init_app(app: Flask) -> None:
    """Watch every session of this process (idempotent: the hooks are module-level functions)."""
    for name, hook in (("after_flush", _note_pending), ("after_commit", _enqueue_noted),
                       ("after_rollback", _forget_noted)):
        if not sa_event.contains(Session, name, hook):
            sa_event.listen(Session, name, hook)


def _became_pending(kind: Kind, row) -> bool:
    if not kind.pending(row):
        return False
    if kind.status_attribute is None:
        return True
    history = inspect(row).attrs[kind.status_attribute].history
    if not history.added:
        return False  # its status did not change in this flush
    # Pending before this flush too (e.g. queued → retrying): its job already exists.
    return not any(kind.pending(SimpleNamespace(**{kind.status_attribute: old})) for old in history.deleted)


def _note_pending(session: Session, _flush_context) -> None:
    noted = session.info.setdefault(_PENDING_KEY, [])
    for row in session.new:
        kind = _BY_MODEL.get(type(row))
        if kind is not None and kind.pending(row):
            noted.append((kind, row.id))
    for row in session.dirty:
        kind = _BY_MODEL.get(type(row))
        if kind is not None and kind.status_attribute is not None and _became_pending(kind, row):
            noted.append((kind, row.id))


def _forget_noted(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_PENDING_KEY, None)


def _enqueue_noted(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: nothing is visible to a worker until the outer commit
    noted = session.info.pop(_PENDING_KEY, None)
    if noted:
        enqueue_rows(noted)


def enqueue_rows(rows: list[tuple[Kind, int]]) -> int:
    """Enqueue a job per (kind, id) — or, for a kind that batches, a job per batch of its ids — and return
    how many rows went to Redis. Never raises: if Redis is down the rows simply stay pending for the
    sweeper."""
    seen: set[tuple[type, int]] = set()
    unique = []
    for kind, row_id in rows:
        if row_id is not None and (kind.model, row_id) not in seen:
            seen.add((kind.model, row_id))
            unique.append((kind, row_id))
    if not unique:
        return 0
    try:
        by_queue: dict[str, list] = {}
        for kind, row_id in unique:
            by_queue.setdefault(kind.queue, []).append((kind, row_id))
        for name, items in by_queue.items():
            q = queue(name)
            calls = _calls(items)
            if q.is_async:  # one round trip for the whole commit
                q.enqueue_many([q.prepare_data(func, args, **_prepared(options)) for func, args, options in calls])
            else:  # tests run jobs inline, one after another
                for func, args, options in calls:
                    q.enqueue(func, *args, **options)
    except Exception as error:  # noqa: BLE001 - Redis down (or refusing): the rows stay pending
        log.warning("job queue unreachable (%s): %s pending rows left for the sweeper", type(error).__name__, len(unique))
        if has_request_context():
            g.side_effects_waiting = True  # the page says so (app/web/__init__.py)
        return 0
    return len(unique)


def _prepared(options: dict) -> dict:
    """enqueue()'s options as prepare_data() names them (it says `timeout` for `job_timeout`: passing the
    latter made every export's commit look like a Redis outage, left for the sweeper)."""
    options = dict(options)
    if "job_timeout" in options:
        options["timeout"] = options.pop("job_timeout")
    return options


def _calls(items: list[tuple[Kind, int]]) -> list[tuple[Callable, tuple, dict]]:
    """(job, args, options) for each job to enqueue: one per row, or one per batch of a batching kind."""
    calls = []
    batched: dict[Kind, list[int]] = {}
    for kind, row_id in items:
        if kind.batch is not None:
            batched.setdefault(kind, []).append(row_id)
        else:
            calls.append((kind.job, (row_id,), kind.options(row_id)))
    for kind, ids in batched.items():
        if len(ids) == 1:
            calls.append((kind.job, (ids[0],), kind.options(ids[0])))
            continue
        for start in range(0, len(ids), kind.batch_size):
            chunk = ids[start:start + kind.batch_size]
            calls.append((kind.batch, (chunk,), kind.batch_options(chunk)))
    return calls


def sweep(limit: int = 500) -> dict:
    """Enqueue every kind of pending row older than the grace period (and claimed rows whose job
    died). Returns how many rows of each kind it found, and how many went to Redis."""
    found: list[tuple[Kind, int]] = []
    counts: dict[str, int] = {}
    for kind in KINDS:
        ids = list(db.session.scalars(select(kind.model.id).where(kind.stale()).order_by(kind.model.id).limit(limit)))
        counts[kind.label] = len(ids)
        found.extend((kind, row_id) for row_id in ids)
    _release_claims()
    db.session.commit()
    counts["enqueued"] = enqueue_rows(found)
    return counts


@jobs.job
def sweep_pending() -> dict:
    """Every minute: enqueue what a Redis outage (or a dead worker) left pending."""
    return sweep()


def _release_claims() -> None:
    """Rows a dead job left claimed go back to pending, so their next job may claim them."""
    for kind in KINDS:
        if kind.stuck is not None:
            db.session.execute(update(kind.model).where(kind.stuck()).values(status=kind.released)
                               .execution_options(synchronize_session=False))
