"""The inbound job's state machine: claim one stored message, run it through the pipeline once,
record its outcome (or its failure, for an operator to reprocess)."""
from __future__ import annotations

from sqlalchemy import update

from app.extensions import db
from app.models import InboundMessage, utcnow
from app.services.inbound import earliest_copy

from .mime import safe_text
from .pipeline import SenderCheckDeferred, process
from .store import read_raw

# A sender check that DNS left undecided is tried this many times in all, SENDER_CHECK_RETRY_SECONDS
# apart (the sweeper hands the message back); after that the sender counts as unproven, which is
# safe: the member is asked to confirm.
SENDER_CHECK_ATTEMPTS = 4


def process_stored(inbound_id: int) -> str:
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
                          inbound_id=row.id, may_defer=row.attempts < SENDER_CHECK_ATTEMPTS,
                          allowed_by=row.allowed_by_id)
    except SenderCheckDeferred as deferred:
        db.session.rollback()
        db.session.execute(
            update(InboundMessage).where(InboundMessage.id == inbound_id)
            .values(status="deferred", claimed_at=utcnow(), sender_check=safe_text(f"unknown (DNS failed): {deferred}")[:255],
                    reason=f"the sender check could not finish (DNS did not answer); attempt {row.attempts} of "
                           f"{SENDER_CHECK_ATTEMPTS}, tried again later")
            .execution_options(synchronize_session=False))
        db.session.commit()
        return "deferred"
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
                sender_check=safe_text(outcome.sender_check)[:255] or None, error=None, processed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return outcome.status
