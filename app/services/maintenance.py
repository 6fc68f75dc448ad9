"""Housekeeping the scheduler runs: re-dispatching work a Redis outage left behind."""
from __future__ import annotations

from ..email.outbox import dispatch, stale_queued
from ..extensions import db
from ..models import OutboundMessage


def sweep() -> dict:
    ids = stale_queued()
    dispatch([db.session.get(OutboundMessage, i) for i in ids])
    from .inbound import enqueue_processing, unprocessed

    inbound = enqueue_processing(unprocessed())
    return {"outbound_redispatched": len(ids), "inbound_enqueued": inbound}
