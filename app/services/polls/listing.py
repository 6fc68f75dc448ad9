"""The polls a thread page or a group page lists."""
from __future__ import annotations


from functools import lru_cache

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload

from ... import policy
from ...extensions import db
from ...models import Poll


@lru_cache(maxsize=1)
def _thread_polls_statement():
    # Built once (every thread page asks): a statement object keeps its cache key.
    return (select(Poll).where(Poll.discussion_id == bindparam("discussion_id"), Poll.deleted_at.is_(None))
            .order_by(Poll.id.desc()))


def polls_for_thread(discussion_id: int, user=None) -> list[Poll]:
    """The thread's polls (not deleted; drafts only for who may open them), newest first, in one query."""
    polls = db.session.scalars(_thread_polls_statement(), {"discussion_id": discussion_id})
    return [p for p in polls if not p.draft or policy.can_open_poll(user, p)]


def thread_page_polls(discussion, user) -> dict:
    """The thread page's extension (discussions.THREAD_PAGE_EXTENSIONS): its polls, one query."""
    return {"thread_polls": polls_for_thread(discussion.id, user)}


def polls_for_group(group_id: int, user=None) -> list[Poll]:
    """The group page's decisions, one query: every open one (standing alone or inside a thread, also a
    thread moved here; the reader's own drafts too) and the closed ones standing alone; open first,
    soonest closing first."""
    mine = user.id if getattr(user, "is_authenticated", False) else None
    return list(db.session.scalars(
        select(Poll).options(joinedload(Poll.discussion))
        .where(policy.polls_following([group_id], drafts_of=mine), or_(Poll.closed_at.is_(None), Poll.discussion_id.is_(None)))
        .order_by(Poll.closed_at.is_not(None), Poll.closing_at)
    ))
