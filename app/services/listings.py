"""Lists a page at a time for the API, in id order so a cursor (the last id seen) holds still while
rows are added: each asks the policy what the person may see, as the pages' lists do."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .. import policy
from .. import search as search_index
from ..extensions import db
from ..models import Comment, Discussion, Group, Membership, Notification
from . import notifications
from ..i18n import _
from .errors import NotAllowed


def groups(user, *, after: int | None, limit: int) -> list[Group]:
    """Groups whose content this person may read (policy.visible_group_ids), by id."""
    ids = policy.visible_group_ids(user)
    if not ids:
        return []
    query = select(Group).where(Group.id.in_(ids)).order_by(Group.id).limit(limit + 1)
    if after is not None:
        query = query.where(Group.id > after)
    return [g for g in db.session.scalars(query) if policy.can_view_content(user, g)]


def members(user, group: Group, *, after: int | None, limit: int) -> list[Membership]:
    """The group's memberships, by when they began: for its admins (as the members page's management is)."""
    if not policy.can_manage_members(user, group):
        raise NotAllowed(_("Only this group's admins can list its members here."))
    query = (select(Membership).options(joinedload(Membership.user)).where(Membership.group_id == group.id)
             .order_by(Membership.id).limit(limit + 1))
    if after is not None:
        query = query.where(Membership.id > after)
    return list(db.session.scalars(query))


def threads(user, group: Group, *, after: int | None, limit: int) -> list[Discussion]:
    """The group's threads, newest first (new ones come before the first page, never inside a later one)."""
    if not policy.can_view_content(user, group):
        return []
    query = (select(Discussion).options(joinedload(Discussion.author), joinedload(Discussion.group))
             .where(Discussion.group_id == group.id, Discussion.deleted_at.is_(None))
             .order_by(Discussion.id.desc()).limit(limit + 1))
    if after is not None:
        query = query.where(Discussion.id < after)
    return list(db.session.scalars(query))


def comments(user, discussion: Discussion, *, after: int | None, limit: int) -> list[Comment]:
    """The thread's comments (not deleted), oldest first, replies in their place by id."""
    if not policy.can_view_discussion(user, discussion):
        return []
    query = (select(Comment).options(joinedload(Comment.author))
             .where(Comment.discussion_id == discussion.id, Comment.deleted_at.is_(None))
             .order_by(Comment.id).limit(limit + 1))
    if after is not None:
        query = query.where(Comment.id > after)
    return list(db.session.scalars(query))


SEARCH_DEPTH = 500  # hits a search pages through at most


def search(user, q: str, *, after: int | None, limit: int, filters=None) -> list[tuple[int, object]]:
    """(position, hit) pairs after `after`, from the same search as the page (the policy checks each hit)."""
    start = after or 0
    if start >= SEARCH_DEPTH:
        return []
    hits = search_index.search(user, q, limit=min(start + limit + 1, SEARCH_DEPTH), filters=filters)
    return list(enumerate(hits, 1))[start:start + limit + 1]


def notifications_of(user_id: int, *, after: int | None, limit: int) -> list[dict]:
    """The member's notifications, newest first, as the bell lists them (notifications.recent decides
    what they may still see); `after` is the id of the last one on the previous page."""
    newer = 0
    if after is not None:
        newer = db.session.scalar(select(func.count(Notification.id)).where(
            Notification.user_id == user_id, Notification.id >= after)) or 0
    total = db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user_id)) or 0
    depth = newer + limit + 1
    while True:  # some may no longer be theirs to see: read deeper until the page is full or nothing is left
        items = notifications.recent(user_id, limit=depth)
        if after is not None:
            items = [item for item in items if item["notification"].id < after]
        if len(items) > limit or depth >= total:
            return items[:limit + 1]
        depth *= 2
