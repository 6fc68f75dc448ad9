"""Outbound mail as operators see it: what the relay refused for good or is still refusing, and
sending a failed message again (once the relay, or the address, is fixed). Metadata only."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import OutboundMessage
from ..i18n import _
from .errors import NotAllowed, NotFound
from .inbound import _operator_only

REVIEW_STATUSES = ("failed", "retrying")


def for_review(actor, *, limit: int = 200) -> list[OutboundMessage]:
    """Messages given up on and those still being retried, newest first."""
    _operator_only(actor)
    return list(db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.status.in_(REVIEW_STATUSES))
        .order_by(OutboundMessage.id.desc()).limit(limit)))


def send_again(actor, *, message_id: int) -> OutboundMessage:
    """Queue a failed message for a fresh round of attempts (the same bytes, the same Message-ID)."""
    _operator_only(actor)
    row = db.session.get(OutboundMessage, message_id)
    if row is None:
        raise NotFound(_("There is no such outbound message."))
    if row.status != "failed" or row.raw is None:
        raise NotAllowed(_("This message is %(status)s; only failed messages can be sent again.", status=row.status))
    row.status = "queued"
    row.attempts = 0
    db.session.commit()  # queued again: the commit enqueues its send
    return row
