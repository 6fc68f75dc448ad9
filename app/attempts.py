"""Sending something that may fail, as outbound mail and webhook deliveries do: claim the row for one
attempt (so a second job for it sends nothing), and the doubling waits between attempts."""
from __future__ import annotations

from .extensions import db
from .models import utcnow

PENDING = ("queued", "retrying")  # a row waiting for its next attempt


def claim(model, row_id: int):
    """Mark the row "sending" for one more attempt, committed, if it is waiting for one. Returns
    (the row, True) when this caller has the claim, (the row or None, False) when it is not theirs."""
    from sqlalchemy import update

    claimed = db.session.execute(
        update(model).where(model.id == row_id, model.status.in_(PENDING))
        .values(status="sending", attempts=model.attempts + 1, attempted_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.commit()
    return db.session.get(model, row_id), claimed.rowcount == 1


def doubling(base_seconds: float, tries: int) -> list[int]:
    """The waits between `tries` attempts: the base, doubled each time (at least a second)."""
    return [int(base_seconds * 2**n) or 1 for n in range(tries - 1)]
