"""Threads and comments: start, comment, reply, and reading."""
from __future__ import annotations

from sqlalchemy import select

from .. import policy
from ..extensions import db
from ..models import Comment, Discussion, Group, ReadState, User, Version, utcnow
from ..rendering import mentioned_handles
from . import events
from .errors import Invalid, NotAllowed, NotFound

TITLE_MAX = 200
BODY_MAX = 100_000


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotAllowed("Please sign in first.")
    return user


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise Invalid("Please give the thread a title.", field="title")
    if len(title) > TITLE_MAX:
        raise Invalid(f"Titles can be at most {TITLE_MAX} characters.", field="title")
    return title


def _clean_body(body: str, *, required: bool, field: str = "body") -> str:
    body = (body or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if required and not body:
        raise Invalid("Please write something first.", field=field)
    if len(body) > BODY_MAX:
        raise Invalid(f"That is too long: at most {BODY_MAX:,} characters.", field=field)
    return body


def participate(user_id: int, discussion: Discussion, *, read: bool = True) -> ReadState:
    """Taking part subscribes you to the thread (and you have read what you wrote)."""
    state = db.session.scalar(
        select(ReadState).where(ReadState.user_id == user_id, ReadState.discussion_id == discussion.id)
    )
    if state is None:
        state = ReadState(user_id=user_id, discussion_id=discussion.id, read_comments_count=0)
        db.session.add(state)
    state.participating = True
    if read:
        state.last_read_at = utcnow()
        state.read_comments_count = discussion.comments_count
    return state


def start_thread(*, actor_id: int, group_id: int, title: str, body: str = "", source: str = "web") -> Discussion:
    user = _user(actor_id)
    group = db.session.get(Group, group_id)
    if group is None or not policy.can_see_group(user, group):
        raise NotFound("There is no such group.")
    if not policy.can_start_thread(user, group):
        raise NotAllowed("Only this group's admins can start threads here.")
    discussion = Discussion(group_id=group.id, author_id=user.id, title=_clean_title(title),
                            body=_clean_body(body, required=False), source=source)
    db.session.add(discussion)
    db.session.flush()
    db.session.add(Version(item_type="discussion", item_id=discussion.id, number=1, author_id=user.id,
                           title=discussion.title, body=discussion.body))
    participate(user.id, discussion)
    event = events.record("discussion_started", actor_id=user.id, group_id=group.id, discussion_id=discussion.id,
                          mentions=sorted(mentioned_handles(discussion.body)))
    db.session.commit()
    events.publish(event)
    return discussion


def post_comment(*, actor_id: int, discussion_id: int, body: str, parent_id: int | None = None,
                 source: str = "web", inbound_message_id: int | None = None) -> Comment:
    user = _user(actor_id)
    discussion = db.session.get(Discussion, discussion_id)
    if discussion is None or not policy.can_view_discussion(user, discussion):
        raise NotFound("There is no such thread.")
    if discussion.closed_at is not None:
        raise NotAllowed("This thread is closed, so it takes no new comments.")
    if not policy.can_comment(user, discussion):
        raise NotAllowed("Only members of this group can comment here.")
    parent = None
    if parent_id is not None:
        parent = db.session.get(Comment, parent_id)
        if parent is None or parent.discussion_id != discussion.id:
            raise Invalid("The comment you are replying to is not in this thread.", field="parent_id")
        # One level of replies: answering a reply answers its top-level comment.
        if parent.parent_id is not None:
            parent = db.session.get(Comment, parent.parent_id)
    comment = Comment(discussion_id=discussion.id, author_id=user.id, parent_id=parent.id if parent else None,
                      body=_clean_body(body, required=True), source=source, inbound_message_id=inbound_message_id)
    db.session.add(comment)
    discussion.comments_count = (discussion.comments_count or 0) + 1
    discussion.last_activity_at = utcnow()
    db.session.flush()
    db.session.add(Version(item_type="comment", item_id=comment.id, number=1, author_id=user.id, body=comment.body))
    participate(user.id, discussion)
    event = events.record("comment_posted", actor_id=user.id, group_id=discussion.group_id,
                          discussion_id=discussion.id, comment_id=comment.id,
                          parent_author_id=parent.author_id if parent else None,
                          mentions=sorted(mentioned_handles(comment.body)))
    db.session.commit()
    events.publish(event)
    return comment
