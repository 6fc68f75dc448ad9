"""The action layer: an authenticated reply becomes something in Quorum, through the services
the web uses (one function, one policy check, one event, whatever the channel).

`dispatch()` looks the reply target's kind up in `HANDLERS`. Each handler returns an
`ActionResult`; a refusal carries a reason written for the sender, which the pipeline mails
back (rate-limited). To add an action (votes, new threads, invitation replies, commands like
"unsubscribe"), write a handler and register it in `HANDLERS` or `COMMANDS`.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Comment, Discussion, Event, Group, OutboundMessage, Poll, User
from app.services import discussions
from app.services.errors import DomainError, NotFound


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Reply:
    """What the pipeline hands over: who (authenticated), to what, saying what."""

    user: User
    kind: str  # discussion | comment | poll | invitation | group
    target_id: int
    text: str
    subject: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    inbound_id: int | None = None
    dry_run: bool = False


@dataclass
class ActionResult:
    status: str  # processed | held | rejected
    action: str
    reason: str
    explain: bool = False  # tell the sender `reason` in a short reply
    group_id: int | None = None
    comment_id: int | None = None


Handler = Callable[[Reply], ActionResult]


def _refused(action: str, reason: str, *, group_id: int | None = None) -> ActionResult:
    return ActionResult("rejected", action, reason, explain=True, group_id=group_id)


def _url(path: str) -> str:
    return current_app.config["BASE_URL"] + path


# --- Replies to a thread or a comment → a comment ------------------------------------------

def _comment_named_by_message_ids(message_ids: list[str], discussion_id: int) -> int | None:
    """The comment an earlier notification of ours was about, found from In-Reply-To."""
    for message_id in message_ids:
        row = db.session.scalar(
            select(Event.comment_id, ).join(OutboundMessage, OutboundMessage.event_id == Event.id)
            .where(OutboundMessage.message_id == f"<{message_id}>", Event.discussion_id == discussion_id)
            .limit(1)
        )
        if row:
            return row
    return None


def _post_comment(reply: Reply, discussion: Discussion | None, parent_id: int | None) -> ActionResult:
    if discussion is None or discussion.deleted_at is not None:
        return _refused("comment", "The thread you replied to no longer exists, so your reply was not posted.")
    group: Group = discussion.group
    if not policy.can_view_discussion(reply.user, discussion) or not policy.is_member(reply.user, group):
        return _refused("comment", "You are no longer a member of this group, so your reply was not posted.",
                        group_id=group.id)
    if discussion.closed_at is not None:
        return _refused("comment", f"The thread “{discussion.title}” is closed, so it takes no new comments. "
                                   f"Your reply was not posted.", group_id=group.id)
    if reply.inbound_id is not None:  # a retried job: the comment may already be there
        existing = db.session.scalar(select(Comment.id).where(Comment.inbound_message_id == reply.inbound_id))
        if existing:
            return ActionResult("processed", "comment", "already posted", group_id=group.id, comment_id=existing)
    if reply.dry_run:
        if not policy.can_comment(reply.user, discussion):
            return _refused("comment", "You may not comment in this thread.", group_id=group.id)
        return ActionResult("processed", "comment", "would post a comment (dry run)", group_id=group.id)
    try:
        comment = discussions.post_comment(actor_id=reply.user.id, discussion_id=discussion.id, body=reply.text,
                                           parent_id=parent_id, source="email", inbound_message_id=reply.inbound_id)
    except DomainError as error:
        db.session.rollback()
        return _refused("comment", error.message + " Your reply was not posted.", group_id=group.id)
    return ActionResult("processed", "comment", f"posted comment {comment.id}", group_id=group.id,
                        comment_id=comment.id)


def reply_to_discussion(reply: Reply) -> ActionResult:
    discussion = db.session.get(Discussion, reply.target_id)
    parent_id = _comment_named_by_message_ids(reply.in_reply_to, discussion.id) if discussion else None
    return _post_comment(reply, discussion, parent_id)


def reply_to_comment(reply: Reply) -> ActionResult:
    comment = db.session.get(Comment, reply.target_id)
    if comment is None:
        return _refused("comment", "The comment you replied to no longer exists, so your reply was not posted.")
    # A deleted comment still anchors its thread; the reply goes to the thread instead.
    parent_id = comment.id if comment.deleted_at is None else None
    return _post_comment(reply, comment.discussion, parent_id)


# --- Kinds the next issue implements: refused or held with a clear reason -------------------

def reply_to_poll(reply: Reply) -> ActionResult:
    poll = db.session.get(Poll, reply.target_id)
    if poll is None or poll.deleted_at is not None:
        return _refused("vote", "The poll you replied to no longer exists.")
    return _refused("vote", "Voting by email reply is not switched on yet, so nothing was recorded. "
                            f"Please vote on the poll's page: {_url(f'/p/{poll.id}')}", group_id=poll.group_id)


def reply_to_invitation(reply: Reply) -> ActionResult:
    return _refused("invitation", "Replies to invitations are not read yet. Please use the link in the "
                                  "invitation to accept it.")


def mail_to_group(reply: Reply) -> ActionResult:
    group = db.session.get(Group, reply.target_id)
    if group is None:
        return _refused("new_thread", "There is no such group.")
    # Kept, not lost: once starting threads by email is built an operator can reprocess it.
    return ActionResult("held", "new_thread", "Starting a thread by email is not switched on yet; your message "
                        f"is kept. You can start the thread on the group's page: {_url(f'/g/{group.handle}')}",
                        explain=True, group_id=group.id)


HANDLERS: dict[str, Handler] = {
    "discussion": reply_to_discussion,
    "comment": reply_to_comment,
    "poll": reply_to_poll,
    "invitation": reply_to_invitation,
    "group": mail_to_group,
}

# Whole-reply commands ("unsubscribe", "mute", "digest", "help"): the next issue fills this in.
# A command handler takes the Reply and returns an ActionResult, like a kind handler.
COMMANDS: dict[str, Handler] = {}
_COMMAND_LINE = re.compile(r"^\s*([a-z]+)\s*[.!]?\s*$", re.IGNORECASE)


def command_of(text: str) -> str | None:
    """The command word if the whole reply is one known command."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) == 1 and (match := _COMMAND_LINE.match(lines[0])):
        word = match.group(1).lower()
        return word if word in COMMANDS else None
    return None


def dispatch(reply: Reply) -> ActionResult:
    """Route one authenticated reply to its handler; unknown kinds are refused, never a crash."""
    if (command := command_of(reply.text)) is not None:
        return COMMANDS[command](reply)
    handler = HANDLERS.get(reply.kind)
    if handler is None:
        return ActionResult("rejected", "unknown", f"Replies to a {reply.kind} are not handled.", explain=True)
    try:
        return handler(reply)
    except NotFound as error:
        db.session.rollback()
        return _refused(reply.kind, error.message)
