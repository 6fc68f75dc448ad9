"""Stored inbound mail as operators and housekeeping see it: list, reprocess, discard, expire.

The deciding is done by `mail/pipeline.py` (run by `mail/processing.py`); this module only
moves rows between states, so the web app never imports the mail package.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from .. import policy
from ..extensions import db
from ..models import Comment, Discussion, InboundMessage, Poll, Stance, utcnow
from ..i18n import _
from .errors import NotAllowed, NotFound

log = logging.getLogger(__name__)

NAMESPACE = "inbound"
REVIEW_STATUSES = ("held", "failed")


def _operator_only(actor) -> None:
    if not policy.is_operator(actor):
        raise NotAllowed(_("Only site operators can manage stored mail."))


def for_review(actor, *, status: str | None = None, limit: int = 200) -> list[InboundMessage]:
    """Held and failed messages (or one status), newest first. Metadata only: no content."""
    _operator_only(actor)
    statuses = (status,) if status else REVIEW_STATUSES
    return list(db.session.scalars(
        select(InboundMessage).where(InboundMessage.status.in_(statuses))
        .order_by(InboundMessage.created_at.desc(), InboundMessage.id.desc()).limit(limit)
    ))


def _get(inbound_id: int) -> InboundMessage:
    row = db.session.get(InboundMessage, inbound_id)
    if row is None:
        raise NotFound(_("There is no such stored message."))
    return row


def reprocess(actor, *, inbound_id: int) -> InboundMessage:
    """Run a held or failed message through the pipeline again."""
    _operator_only(actor)
    row = _get(inbound_id)
    if row.status not in REVIEW_STATUSES + ("received",):
        raise NotAllowed(_("This message is %(status)s; only held or failed messages can be reprocessed.",
                           status=row.status))
    row.status = "received"
    row.reason = f"reprocessing requested by operator {actor.id}"
    row.error = None
    db.session.commit()  # back to received: the commit enqueues its processing
    return row


def discard(actor, *, inbound_id: int) -> InboundMessage:
    """Give up on a held or failed message: its stored bytes are deleted, the row says why."""
    _operator_only(actor)
    row = _get(inbound_id)
    if row.status not in REVIEW_STATUSES + ("received",):
        raise NotAllowed(_("This message is %(status)s; only held or failed messages can be discarded.", status=row.status))
    from .. import storage

    row.status = "discarded"
    row.reason = f"discarded by operator {actor.id} (was: {row.reason or row.error or 'no reason'})"[:2000]
    row.processed_at = utcnow()
    db.session.commit()
    storage.delete(NAMESPACE, row.storage_key)
    return row


def delete_expired(days: int | None = None, batch: int = 500) -> int:
    """Delete stored messages (rows and files) older than INBOUND_RETENTION_DAYS."""
    days = current_app.config["INBOUND_RETENTION_DAYS"] if days is None else days
    cutoff = utcnow() - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(db.session.scalars(select(InboundMessage.id).where(InboundMessage.created_at < cutoff).limit(batch)))
        if not ids:
            return deleted
        deleted += delete_messages(ids)


def delete_messages(ids: list[int]) -> int:
    """Delete stored messages, rows and encrypted files; what was made from them stays."""
    from .. import storage

    if not ids:
        return 0
    rows = list(db.session.execute(select(InboundMessage.id, InboundMessage.storage_key).where(InboundMessage.id.in_(ids))))
    ids = [r.id for r in rows]
    # What was made from a message (comments, threads, polls, votes) outlives it; so do later duplicates.
    for model in (Comment, Discussion, Poll, Stance):
        db.session.execute(update(model).where(model.inbound_message_id.in_(ids)).values(inbound_message_id=None))
    db.session.execute(update(InboundMessage).where(InboundMessage.duplicate_of_id.in_(ids))
                       .values(duplicate_of_id=None))
    db.session.execute(InboundMessage.__table__.delete().where(InboundMessage.id.in_(ids)))
    db.session.commit()
    for row in rows:
        storage.delete(NAMESPACE, row.storage_key)
    return len(rows)


def earliest_copy(row: InboundMessage) -> int | None:
    """The first stored message with the same Message-ID or bytes, if this one is a repeat."""
    same = InboundMessage.raw_sha256 == row.raw_sha256
    if row.message_id:
        same = or_(same, InboundMessage.message_id == row.message_id)
    return db.session.scalar(
        select(InboundMessage.id).where(same, InboundMessage.id < row.id).order_by(InboundMessage.id).limit(1)
    )
