"""Replies to a thread or a comment become a comment, nested under what was replied to."""
from __future__ import annotations

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.i18n import _
from app.models import Comment, Discussion, Event, Group, OutboundMessage
from app.services import discussions
from app.services.errors import DomainError

from . import confirm
from .reply import ActionResult, Reply, accepted_files, refused, url


def _comment_named_by_message_ids(message_ids: list[str], discussion_id: int) -> int | None:
    """The comment an earlier notification of ours was about, found from In-Reply-To."""
    for message_id in message_ids:
        row = db.session.scalar(
            select(Event.comment_id).join(OutboundMessage, OutboundMessage.event_id == Event.id)
            .where(OutboundMessage.message_id == f"<{message_id}>", Event.discussion_id == discussion_id)
            .limit(1)
        )
        if row:
            return row
    return None


def post_comment(reply: Reply, discussion: Discussion | None, parent_id: int | None) -> ActionResult:
    if discussion is None or discussion.deleted_at is not None:
        return refused("comment", _("The thread you replied to no longer exists, so your reply was not posted."))
    group: Group = discussion.group
    if not policy.can_view_discussion(reply.user, discussion) or not (
            policy.is_member(reply.user, group) or policy.is_thread_guest(reply.user, discussion)):
        return refused("comment", _("You are no longer a member of this group, so your reply was not posted."),
                       group_id=group.id)
    if discussion.closed_at is not None:
        return refused("comment", _("The thread “%(title)s” is closed, so it takes no new comments. Your reply was "
                                    "not posted.", title=discussion.title), group_id=group.id)
    if reply.inbound_id is not None:  # a retried job: the comment may already be there
        existing = db.session.scalar(select(Comment.id).where(Comment.inbound_message_id == reply.inbound_id))
        if existing:
            return ActionResult("processed", "comment", "already posted", group_id=group.id, comment_id=existing)
    if reply.dry_run:
        if not policy.can_comment(reply.user, discussion):
            return refused("comment", _("You may not comment in this thread."), group_id=group.id)
        return ActionResult("processed", "comment", "would post a comment (dry run)", group_id=group.id,
                            preview=_("Post a comment"))
    files, left_out = accepted_files(reply.attachments)
    group_id = group.id  # read before post_comment's commit expires it (no query to reload it)
    try:
        comment = discussions.post_comment(actor_id=reply.user.id, discussion_id=discussion.id, body=reply.text,
                                           parent_id=parent_id, source="email", inbound_message_id=reply.inbound_id,
                                           files=files)
    except DomainError as error:
        db.session.rollback()
        return refused("comment", _("%(error)s Your reply was not posted.", error=error.message), group_id=group_id)
    comment_id = sa_inspect(comment).identity[0]  # the key, without reloading the committed row
    if left_out:  # posted, but not all of it: say what is missing rather than drop it silently
        confirm.done(reply, subject=_("Posted, without some attachments: %(title)s", title=discussion.title),
                     paragraphs=[_("Your reply was posted, but not every attached file could be kept:"), *left_out],
                     link=url(f"/d/{discussion.id}#c{comment_id}"))
    return ActionResult("processed", "comment", f"posted comment {comment_id}", group_id=group_id,
                        comment_id=comment_id)


def reply_to_discussion(reply: Reply) -> ActionResult:
    discussion = db.session.get(Discussion, reply.target_id)
    parent_id = _comment_named_by_message_ids(reply.in_reply_to, discussion.id) if discussion else None
    return post_comment(reply, discussion, parent_id)


def reply_to_comment(reply: Reply) -> ActionResult:
    comment = db.session.get(Comment, reply.target_id)
    if comment is None:
        return refused("comment", _("The comment you replied to no longer exists, so your reply was not posted."))
    # A deleted comment still anchors its thread; the reply goes to the thread instead.
    parent_id = comment.id if comment.deleted_at is None else None
    return post_comment(reply, comment.discussion, parent_id)
