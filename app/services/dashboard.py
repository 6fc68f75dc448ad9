"""What the signed-in home shows: the member's groups and recent threads with unread counts."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Discussion, Membership, ReadState
from .. import policy


def dashboard_for(user, limit: int = 30) -> dict:
    memberships = list(db.session.scalars(
        select(Membership).options(joinedload(Membership.group)).where(Membership.user_id == user.id)
    ))
    policy.prime_memberships(user, memberships)
    shown = [m.group for m in memberships if m.group.archived_at is None]  # policy.listed: archived groups are not listed
    group_ids = [group.id for group in shown]
    threads = []
    if group_ids:
        rows = db.session.execute(
            select(Discussion, ReadState)
            .options(joinedload(Discussion.group), joinedload(Discussion.author))
            .outerjoin(ReadState, (ReadState.discussion_id == Discussion.id) & (ReadState.user_id == user.id))
            .where(Discussion.group_id.in_(group_ids), Discussion.deleted_at.is_(None))
            .order_by(Discussion.last_activity_at.desc())
            .limit(limit)
        ).all()
        threads = [thread_row(d, r) for d, r in rows]
    groups = sorted(shown, key=lambda g: g.name.lower())
    return {"groups": groups, "threads": threads}


def thread_row(discussion: Discussion, read: ReadState | None) -> dict:
    """A thread in a list with its unread state (never read: all of it is new)."""
    if read is None or read.last_read_at is None:
        unread, never_read = discussion.comments_count, True
    else:
        unread, never_read = max(discussion.comments_count - read.read_comments_count, 0), False
    return {"discussion": discussion, "unread": unread, "never_read": never_read}
