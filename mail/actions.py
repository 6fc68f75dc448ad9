"""The action layer: an authenticated reply becomes something in Quorum, through the services
the web uses (one function, one policy check, one event, whatever the channel).

`dispatch()` looks the reply target's kind up in `HANDLERS`. Each handler returns an
`ActionResult`; a refusal carries a reason written for the sender, which the pipeline mails
back (rate-limited). To add an action (votes, new threads, invitation replies, commands like
"unsubscribe"), write a handler and register it in `HANDLERS` or `COMMANDS`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Comment, Discussion, Event, Group, OutboundMessage, User
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

    user: User | None  # None only for a reply to an invitation from an address with no account yet
    kind: str  # discussion | comment | poll | invitation | group
    target_id: int
    text: str
    subject: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    inbound_id: int | None = None
    dry_run: bool = False
    sender_name: str = ""  # the From display name (names a new account when an invitee joins by reply)


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


def accepted_files(attachments: list[Attachment]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """The attachments the web would accept (same checks and limits), and a note on each left out.

    Mail carries files the web form would refuse (signature logos of odd types, forwarded
    messages); the post goes ahead with the acceptable ones and the sender is told about the rest.
    """
    from app.services import attachments as attachment_files
    from app.services.errors import Invalid

    files, notes = [], []
    for attachment in attachments:
        if len(files) >= attachment_files.MAX_FILES:
            notes.append(f"{attachment.filename!r} was left out: at most {attachment_files.MAX_FILES} files "
                         "can be attached.")
            continue
        try:
            attachment_files.check([(attachment.filename, attachment.data)])
        except Invalid as error:
            notes.append(f"{error.message} It was left out.")
            continue
        files.append((attachment.filename, attachment.data))
    return files, notes


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
    files, left_out = accepted_files(reply.attachments)
    group_id = group.id  # read before post_comment's commit expires it (no query to reload it)
    try:
        comment = discussions.post_comment(actor_id=reply.user.id, discussion_id=discussion.id, body=reply.text,
                                           parent_id=parent_id, source="email", inbound_message_id=reply.inbound_id,
                                           files=files)
    except DomainError as error:
        db.session.rollback()
        return _refused("comment", error.message + " Your reply was not posted.", group_id=group_id)
    comment_id = sa_inspect(comment).identity[0]  # the key, without reloading the committed row
    if left_out:  # posted, but not all of it: say what is missing rather than drop it silently
        from . import confirm

        confirm.done(reply, subject=f"Posted, without some attachments: {discussion.title}",
                     paragraphs=["Your reply was posted, but not every attached file could be kept:", *left_out],
                     link=_url(f"/d/{discussion.id}#c{comment_id}"))
    return ActionResult("processed", "comment", f"posted comment {comment_id}", group_id=group_id,
                        comment_id=comment_id)


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


HANDLERS: dict[str, Handler] = {
    "discussion": reply_to_discussion,
    "comment": reply_to_comment,
}

# Commands by reply ("unsubscribe", "mute", "digest weekly", "help"…: see mail/commands.py).
# A command handler takes the Reply and returns an ActionResult, like a kind handler.
COMMANDS: dict[str, Handler] = {}

# Public names for the modules that register below.
refused = _refused
post_comment = _post_comment


def command_of(text: str) -> str | None:
    """The command word if the reply's first line is a known command."""
    from .commands import parse

    parsed = parse(text)
    return parsed[0] if parsed and parsed[0] in COMMANDS else None


def dispatch(reply: Reply) -> ActionResult:
    """Route one authenticated reply to its handler; unknown kinds are refused, never a crash."""
    # Any reply to an invitation answers the invitation ("join", or anything else).
    if reply.kind != "invitation" and (command := command_of(reply.text)) is not None:
        return COMMANDS[command](reply)
    handler = HANDLERS.get(reply.kind)
    if handler is None:
        return ActionResult("rejected", "unknown", f"Replies to a {reply.kind} are not handled.", explain=True)
    try:
        return handler(reply)
    except NotFound as error:
        db.session.rollback()
        return _refused(reply.kind, error.message)


# Votes, invitations, new threads and commands live in their own modules, which use the names above.
from . import commands, newthreads, votes  # noqa: E402

HANDLERS.update({"poll": votes.reply_to_poll, "invitation": commands.reply_to_invitation,
                 "group": newthreads.mail_to_group})
COMMANDS.update(commands.COMMANDS)
