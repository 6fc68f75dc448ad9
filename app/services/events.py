"""Record events (the activity log) and, after commit, hand them to the fan-out job."""
from __future__ import annotations

import logging

from ..extensions import db
from ..models import Event

log = logging.getLogger(__name__)


def record(kind: str, *, actor_id: int | None, group_id: int | None = None, discussion_id: int | None = None,
           comment_id: int | None = None, poll_id: int | None = None, **data) -> Event:
    """Add an event to the current transaction; call `publish` after committing it."""
    event = Event(kind=kind, actor_id=actor_id, group_id=group_id, discussion_id=discussion_id,
                  comment_id=comment_id, poll_id=poll_id, data=data)
    db.session.add(event)
    return event


def publish(*events: Event) -> None:
    """Enqueue fan-out for committed events. If Redis is down the sweeper catches up later."""
    from .. import jobs
    from ..queue import enqueue

    for event in events:
        if event is None or event.id is None:
            continue
        try:
            enqueue(jobs.fan_out_event, event.id)
        except Exception:
            log.warning("could not enqueue fan-out for event %s; the sweeper will retry", event.id)
