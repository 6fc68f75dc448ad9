"""What the pipeline hands to an action, and what an action answers: the types every reply
handler shares (comments, votes, commands, new threads), and the helpers they have in common."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from app.email.headers import Original
from app.i18n import _
from app.models import User


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
    original: Original = Original()  # the message itself, which every answer to it threads under
    calendar: object | None = None  # an iMIP REPLY it carries (mail/meetings.CalendarAnswer): its own route


@dataclass
class ActionResult:
    status: str  # processed | held | rejected
    action: str
    reason: str
    explain: bool = False  # tell the sender `reason` in a short reply
    preview: str = ""  # a dry run's "what confirming does", in the member's words ("Post a comment")
    group_id: int | None = None
    comment_id: int | None = None


Handler = Callable[[Reply], ActionResult]


def refused(action: str, reason: str, *, group_id: int | None = None) -> ActionResult:
    return ActionResult("rejected", action, reason, explain=True, group_id=group_id)


def url(path: str) -> str:
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
            notes.append(_("%(name)s was left out: at most %(limit)s files can be attached.",
                           name=repr(attachment.filename), limit=attachment_files.MAX_FILES))
            continue
        try:
            attachment_files.check([(attachment.filename, attachment.data)])
        except Invalid as error:
            notes.append(_("%(error)s It was left out.", error=error.message))
            continue
        files.append((attachment.filename, attachment.data))
    return files, notes
