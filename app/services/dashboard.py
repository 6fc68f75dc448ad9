"""What the signed-in home shows: the polls waiting for the member's vote, the member's groups and
recent threads with unread counts (and whether each has an open vote)."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Discussion, Membership, Poll, ReadState
from .. import policy


def dashboard_for(user, limit: int = 30) -> dict:
    memberships = list(db.session.scalars(
        select(Membership).options(joinedload(Membership.group)).where(Membership.user_id == user.id)
    ))
    policy.prime_memberships(user, memberships)
    shown = [m.group for m in memberships if m.group.archived_at is None]  # policy.listed: archived groups are not listed
    group_ids = [group.id for group in shown]
    guest_in = policy.guest_discussion_ids(user)  # threads of other groups they are a guest of
    threads = []
    if group_ids or guest_in:
        rows = db.session.execute(
            select(Discussion, ReadState)
            .options(joinedload(Discussion.group), joinedload(Discussion.author))
            .outerjoin(ReadState, (ReadState.discussion_id == Discussion.id) & (ReadState.user_id == user.id))
            .where(or_(Discussion.group_id.in_(group_ids), Discussion.id.in_(guest_in)), Discussion.deleted_at.is_(None))
            .order_by(Discussion.last_activity_at.desc())
            .limit(limit)
        ).all()
        threads = thread_rows(rows)
    groups = sorted(shown, key=lambda g: g.name.lower())
    return {"groups": groups, "threads": threads, "waiting": waiting_for_vote(user)}


def waiting_for_vote(user, limit: int = 50) -> list[Poll]:
    """Open polls this member may vote in and has not (policy.may_vote, has_voted), soonest closing first."""
    return list(db.session.scalars(
        select(Poll).options(joinedload(Poll.discussion).joinedload(Discussion.group), joinedload(Poll.group))
        .where(Poll.closed_at.is_(None), policy.votable_polls(user), ~policy.voted_polls(user))
        .order_by(Poll.closing_at, Poll.id).limit(limit)
    ))


def thread_rows(rows) -> list[dict]:
    """(Discussion, ReadState) pairs as thread_row dicts, each with the closing time of its soonest
    closing open poll (`open_vote_closes`, None without one): one query for all of them."""
    ids = [d.id for d, _ in rows]
    closes = dict(db.session.execute(
        select(Poll.discussion_id, func.min(Poll.closing_at))
        .where(Poll.discussion_id.in_(ids), Poll.closed_at.is_(None), Poll.deleted_at.is_(None), Poll.draft.is_(False))
        .group_by(Poll.discussion_id)
    ).all()) if ids else {}
    return [thread_row(d, r) | {"open_vote_closes": closes.get(d.id)} for d, r in rows]


def thread_row(discussion: Discussion, read: ReadState | None) -> dict:
    """A thread in a list with its unread state (never read: all of it is new)."""
    if read is None or read.last_read_at is None:
        unread, never_read = discussion.comments_count, True
    else:
        unread, never_read = max(discussion.comments_count - read.read_comments_count, 0), False
    return {"discussion": discussion, "unread": unread, "never_read": never_read}
