"""Every header of every outbound mail, built here and nowhere else: the typed options a mail
kind sets, the ordered header list the composer writes, stable Message-IDs and References,
List-* (RFC 2919, 2369, 8058), Auto-Submitted (RFC 3834), and the headers DKIM signs.

Message-IDs are deterministic so a re-run builds the same message and a reply finds its parent:

    <d12.u7@DOMAIN>         thread 12's first mail, as sent to member 7 (their thread root)
    <d12.c40.u7@DOMAIN>     comment 40 in thread 12, as sent to member 7
    <d12.p3.u7@DOMAIN>      poll 3 (in thread 12), as sent to member 7
    <p3.u7@DOMAIN>          a poll standing alone in a group: its own root
    <d12.p3.e99.u7@DOMAIN>  a later event (closing soon, closed, outcome) about poll 3

Each member's root is the id of the first mail *they* got, so References always names a
message in their own mailbox (clients that never got it still thread by the shared prefix).

A group's mbox archive (app/stewardship/mbox.py) is nobody's mailbox, so its ids name no member:

    <d12.archive@DOMAIN>      thread 12's first message
    <d12.c40.archive@DOMAIN>  comment 40 in thread 12
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, replace
from email.utils import format_datetime, formataddr
from urllib.parse import quote

from flask import current_app

from ..models import utcnow

MESSAGE_ID = "Message-ID"
AUTO_GENERATED = "auto-generated"  # notifications, digests, sign-in: nobody wrote this mail
AUTO_REPLIED = "auto-replied"  # confirmations and refusals: the answer to a member's own mail


@dataclass(frozen=True, kw_only=True)
class ListHeaders:
    """A mailing-list mail's List-* headers: where to read it, and the one-click way out."""

    unsubscribe_url: str  # the RFC 8058 one-click URL (POST only)
    unsubscribe_mailto: str  # our address that takes the command by mail
    mailto_subject: str = "unsubscribe"
    list_id: str | None = None
    archive_url: str | None = None


_MSGID = re.compile(r"<[!-;=?-~]{1,498}>")  # one bracketed id of printable ASCII, no space
# A subject that already says it answers something ("Re:", and Outlook's German, Nordic, Dutch,
# Italian, Portuguese and Polish forms) is answered as it is, not as "Re: Re: …".
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|sv|vs|antw|rif|res|odp)\s*:", re.IGNORECASE)
MAX_REFERENCES = 10


@dataclass(frozen=True, kw_only=True)
class Original:
    """The member's own message an automatic answer replies to (read by the inbound side)."""

    message_id: str = ""  # its Message-ID, angle brackets included
    subject: str = ""
    references: tuple[str, ...] = ()  # its References (or In-Reply-To): the conversation before it


@dataclass(frozen=True, kw_only=True)
class MailOptions:
    """What a mail kind decides about its headers (a misspelled option is a TypeError, not lost)."""

    from_name: str = "Quorum"  # or a render.Later, written in the reader's language
    message_id: str | None = None  # None: a fresh random one
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_submitted: str = AUTO_GENERATED
    lists: ListHeaders | None = None
    subject: str | None = None  # None: the kind's own subject (templates/email/<kind>/subject.txt)

    def answering(self, original: Original | None) -> "MailOptions":
        """These options for an automatic answer to one of a member's messages: it says it is an
        auto-reply and, when the member's message has a sane Message-ID, threads under it as their
        own client's reply would (In-Reply-To, References, "Re: <their subject>")."""
        answered = replace(self, auto_submitted=AUTO_REPLIED)
        if original is None or not _MSGID.fullmatch(original.message_id.strip()):
            return answered
        message_id = original.message_id.strip()
        earlier = [i for i in original.references if _MSGID.fullmatch(i) and i != message_id]
        return replace(answered, in_reply_to=message_id, references=(*earlier[-(MAX_REFERENCES - 1):], message_id),
                       subject=answer_subject(original.subject))


def answer_subject(subject: str) -> str | None:
    """"Re: <their subject>" (theirs as it is if it is already a reply); None for no subject."""
    subject = " ".join((subject or "").split())[:200]
    if not subject:
        return None
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}"


def make_message_id(local: str | None = None) -> str:
    """A Message-ID on our mail domain (angle brackets included)."""
    local = local or f"{int(time.time())}.{secrets.token_hex(8)}"
    return f"<{local}@{current_app.config['MAIL_DOMAIN']}>"


def notifications_address() -> str:
    return f"notifications@{current_app.config['MAIL_DOMAIN']}"


def outbound(*, subject: str, to: str, options: MailOptions) -> list[tuple[str, str]]:
    """The ordered headers of one outbound mail, before the MIME structure's own."""
    found = [("From", formataddr((str(options.from_name), notifications_address()))), ("To", to),
             ("Subject", options.subject or subject),
             ("Date", format_datetime(utcnow())), (MESSAGE_ID, options.message_id or make_message_id())]
    if options.in_reply_to:
        found.append(("In-Reply-To", options.in_reply_to))
    if options.references:
        found.append(("References", " ".join(options.references)))
    if options.reply_to:
        found.append(("Reply-To", options.reply_to))
    found.append(("Auto-Submitted", options.auto_submitted))
    found.append(("X-Auto-Response-Suppress", "All"))  # no out-of-office replies from Exchange/Outlook
    lists = options.lists
    if lists is not None:
        if lists.list_id:
            found.append(("List-Id", lists.list_id))
        if lists.archive_url:
            found.append(("List-Archive", f"<{lists.archive_url}>"))
        found.append(("List-Unsubscribe", f"<{lists.unsubscribe_url}>, "
                                          f"<mailto:{lists.unsubscribe_mailto}?subject={quote(lists.mailto_subject)}>"))
        found.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return found


MIME_VERSION = ("MIME-Version", "1.0")


def multipart_alternative(boundary: str) -> tuple[str, str]:
    return ("Content-Type", f'multipart/alternative; boundary="{boundary}"')


def text_part(subtype: str, *, mime_version: bool) -> str:
    """The header block of one quoted-printable UTF-8 text part."""
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n'
            + ("MIME-Version: 1.0\r\n" if mime_version else "") + "\r\n")


# DKIM signs what a forwarder must not change. From is listed twice so no second From can be
# added later without breaking the signature (oversigning).
SIGNED = [b"from", b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"in-reply-to",
          b"references", b"list-id", b"list-archive", b"list-unsubscribe", b"list-unsubscribe-post",
          b"mime-version", b"content-type", b"auto-submitted"]

_PART = re.compile(r"^([dcpeu])(\d{1,12})$")
_NAMES = {"d": "discussion_id", "c": "comment_id", "p": "poll_id", "e": "event_id", "u": "user_id"}
_ORDER = "dcpeu"


def _domain() -> str:
    return current_app.config["MAIL_DOMAIN"].lower()


def message_id(*, user_id: int, discussion_id: int | None = None, comment_id: int | None = None,
               poll_id: int | None = None, event_id: int | None = None) -> str:
    """The Message-ID (with angle brackets) of one item as sent to one member."""
    values = {"d": discussion_id, "c": comment_id, "p": poll_id, "e": event_id, "u": user_id}
    local = ".".join(f"{letter}{values[letter]}" for letter in _ORDER if values[letter] is not None)
    return f"<{local}@{_domain()}>"


def root_message_id(*, user_id: int, discussion_id: int | None = None, poll_id: int | None = None) -> str:
    """The thread root for this member: the thread's first mail, or a standalone poll's first mail."""
    if discussion_id is not None:
        return message_id(user_id=user_id, discussion_id=discussion_id)
    return message_id(user_id=user_id, poll_id=poll_id)


def parse_message_id(msgid: str | None) -> dict | None:
    """What one of our Message-IDs names: {discussion_id, comment_id, poll_id, event_id, user_id}
    (absent parts are None), or None if the id is not one we made. Accepts brackets or not."""
    if not msgid:
        return None
    value = msgid.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    local, at, domain = value.rpartition("@")
    if not at or domain.lower() != _domain():
        return None
    found = dict.fromkeys(_NAMES.values())
    last = -1
    for part in local.lower().split("."):
        match = _PART.match(part)
        if match is None:
            return None
        letter, number = match.groups()
        position = _ORDER.index(letter)
        if position <= last:  # parts appear once each, in order
            return None
        last = position
        found[_NAMES[letter]] = int(number)
    if found["user_id"] is None or (found["discussion_id"] is None and found["poll_id"] is None):
        return None
    return found


def archive_message_id(*, discussion_id: int, comment_id: int | None = None) -> str:
    """The Message-ID of a thread start or a comment in a group's mbox archive (no member's copy)."""
    local = f"d{discussion_id}" + (f".c{comment_id}" if comment_id is not None else "")
    return f"<{local}.archive@{_domain()}>"


def archived(*, group, author_name: str, title: str, sent_at, discussion_id: int, comment_id: int | None = None,
             parent_id: int | None = None) -> list[tuple[str, str]]:
    """The headers of one message of a group's mbox archive: from the author's name at the group's
    address (an archive hands on no one's own address), threaded under the thread's first message,
    and a reply also under its parent comment."""
    root = archive_message_id(discussion_id=discussion_id)
    found = [("From", formataddr((author_name, f"{group.handle}@{_domain()}"))),
             ("To", formataddr((group.name, f"{group.handle}@{_domain()}"))),
             ("Subject", thread_subject(group, title) if comment_id is None else f"Re: {thread_subject(group, title)}"),
             ("Date", format_datetime(sent_at)),
             (MESSAGE_ID, archive_message_id(discussion_id=discussion_id, comment_id=comment_id))]
    if comment_id is not None:
        references = [root] + ([archive_message_id(discussion_id=discussion_id, comment_id=parent_id)]
                               if parent_id is not None else [])
        found += [("In-Reply-To", references[-1]), ("References", " ".join(references))]
    found.append(("List-Id", list_id(group)))
    return found


def list_id(group) -> str:
    """RFC 2919 List-Id: `"Group name" <handle.MAIL_DOMAIN>`."""
    name = group.name.replace("\\", "").replace('"', "")
    return f'"{name}" <{group.handle}.{_domain()}>'


def thread_subject(group, title: str) -> str:
    """`[handle] Title`: the same for every mail in a thread, so every client threads it."""
    return f"[{group.handle}] {' '.join(title.split())}"
