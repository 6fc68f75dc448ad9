"""The inbound job's state machine: claim one stored message, run it through the pipeline once,
record its outcome (or its failure, for an operator to reprocess)."""
from __future__ import annotations

from sqlalchemy import update

from app.extensions import db
from app.models import InboundMessage, utcnow
from app.services.inbound import earliest_copy

from . import authn
from .mime import safe_text
from .pipeline import process
from .store import read_raw

def process_stored(inbound_id: int, *, resolver: authn.Resolver | None = None) -> str:
    """Process one stored message exactly once; returns its final status.

    The claim is one conditional UPDATE, so two jobs for the same message (a retry, a sweep)
    cannot both run it; a repeat of an earlier message (same Message-ID or bytes) is discarded.
    """
    claimed = db.session.execute(
        update(InboundMessage).where(InboundMessage.id == inbound_id, InboundMessage.status.in_(("received", "failed")))
        .values(status="processing", attempts=InboundMessage.attempts + 1, claimed_at=utcnow())
    ).rowcount
    db.session.commit()
    row = db.session.get(InboundMessage, inbound_id)
    if row is None:
        return "missing"
    if not claimed:
        return row.status
    original = earliest_copy(row)
    if original is not None:
        row.duplicate_of_id = original
        row.status, row.action = "discarded", "duplicate"
        row.reason = f"a copy of message {original} (same Message-ID or content), processed once"
        row.processed_at = utcnow()
        db.session.commit()
        return row.status
    try:
        outcome = process(read_raw(row), envelope_from=row.envelope_from, recipients=list(row.recipients or []),
                          inbound_id=row.id, resolver=resolver)
    except Exception as exc:
        db.session.rollback()
        row = db.session.get(InboundMessage, inbound_id)
        row.status, row.error = "failed", safe_text(f"{type(exc).__name__}: {exc}")[:2000]
        row.reason = "processing failed; an operator can reprocess it"
        db.session.commit()
        raise
    # One UPDATE: the action's commit expired the row, and re-reading it only to write it costs a query.
    db.session.execute(
        update(InboundMessage).where(InboundMessage.id == inbound_id)
        .values(status=outcome.status, classification=outcome.classification, action=outcome.action[:40],
                reason=safe_text(outcome.reason)[:2000], user_id=outcome.user_id, group_id=outcome.group_id,
                error=None, processed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return outcome.status
