"""Fan-out: decide who hears of an event. (In-app notifications; email comes with outbound mail.)"""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Event, Membership, Notification, utcnow


def fan_out(event_id: int) -> int:
    event = db.session.get(Event, event_id)
    if event is None or event.fanned_out_at is not None:
        return 0
    count = 0
    if event.kind in ("discussion_started", "comment_posted", "poll_created") and event.group_id:
        user_ids = db.session.scalars(
            select(Membership.user_id).where(Membership.group_id == event.group_id, Membership.volume == "all")
        )
        for user_id in user_ids:
            if user_id != event.actor_id:
                db.session.add(Notification(user_id=user_id, event_id=event.id, reason="group"))
                count += 1
    event.fanned_out_at = utcnow()
    db.session.commit()
    return count
