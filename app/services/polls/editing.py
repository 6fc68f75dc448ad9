"""Changing an open poll: its closing time (extend or bring forward, never into the past).

Every change is a `poll_edited` event naming what changed (old and new), which is the poll's
history on its page."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ... import policy
from ...extensions import db
from ...models import Event, Poll
from .. import events
from ..accounts import acting_member
from ..errors import NotAllowed
from .common import CLOSING_SOON, aware, check_closing, event_fields, now_or, visible_poll


def editable_poll(user, poll_id: int) -> Poll:
    """The poll, if this person may change it now (its author or a group admin, while it is open)."""
    poll = visible_poll(user, poll_id)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed("Only the poll's author or a group admin can change it.")
    if not policy.can_edit_poll(user, poll):
        raise NotAllowed("This poll is closed, so it can no longer be changed (reopen it first).")
    return poll


def change_closing(*, actor_id: int, poll_id: int, closing_at: datetime, now: datetime | None = None,
                   inbound_message_id: int | None = None) -> Poll:
    """Move an open poll's closing time (later or sooner), never into the past or over a year ahead."""
    user = acting_member(actor_id)
    poll = editable_poll(user, poll_id)
    now = now_or(now)
    closing_at = check_closing(closing_at, now)
    old = aware(poll.closing_at)
    if closing_at == old:
        return poll
    poll.closing_at = closing_at
    if closing_at - now > CLOSING_SOON:
        poll.closing_soon_sent_at = None  # out of the last day again: the notice goes out once more
    events.record("poll_edited", actor_id=user.id, **event_fields(poll), title=poll.title,
                  changes={"closing_at": [old.isoformat(), closing_at.isoformat()]},
                  inbound_message_id=inbound_message_id)
    db.session.commit()
    return poll


def done_by_message(poll_id: int, kind: str, inbound_message_id: int | None) -> bool:
    """Has the stored message `inbound_message_id` already done this to the poll (a retried job)?"""
    if inbound_message_id is None:
        return False
    data = db.session.scalars(select(Event.data).where(Event.poll_id == poll_id, Event.kind == kind))
    return any((d or {}).get("inbound_message_id") == inbound_message_id for d in data)
