"""Record events: the activity log that drives notifications, emails and digests.

An event recorded here is fanned out by a job once its transaction commits (`app/dispatch.py`)."""
from __future__ import annotations

from ..extensions import db
from ..models import EVENT_KINDS, Event


def record(kind: str, *, actor_id: int | None, group_id: int | None = None, discussion_id: int | None = None,
           comment_id: int | None = None, poll_id: int | None = None, **data) -> Event:
    """Add an event to the current transaction; its fan-out follows the commit."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}: add it to models.events.EVENT_KINDS")
    event = Event(kind=kind, actor_id=actor_id, group_id=group_id, discussion_id=discussion_id,
                  comment_id=comment_id, poll_id=poll_id, data=data)
    db.session.add(event)
    return event
