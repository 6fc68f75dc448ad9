"""Mail to a group's address from someone the group does not know, held for its admins.

A message from an address that is not a member's (nor a member's proven alias), or from a
non-member, is not posted: it is held (InboundMessage.status "held", action "held_sender",
group_id set) and the group's admins are told by mail. An admin then posts it once as the
sender's own message (only if its sender was authenticated), invites the address (the
invitation goes to that mailbox), or blocks the address (a SenderRule: later mail from it is
refused without asking). No admin action ever attaches an address to a member's account: that
takes the member, signed in, and a link mailed to the address (`services/addresses.py`).
Like `services/inbound.py`, this module only moves rows; the mail package does the deciding.
"""
from __future__ import annotations

import html
import re
from email.parser import BytesHeaderParser, BytesParser
from email.policy import default as default_policy
from email.utils import parseaddr

import nh3
from sqlalchemy import func, select

from .. import policy, storage
from ..email import messages
from ..extensions import db
from ..models import Group, InboundMessage, Membership, SenderRule, User, utcnow
from ..i18n import _
from .errors import Invalid, NotAllowed, NotFound
from . import audit
from .inbound import NAMESPACE

HELD_ACTION = "held_sender"


def rule_for(group_id: int, email: str) -> str | None:
    """"allow", "block" or None: what the group's admins decided about this address."""
    return db.session.scalar(select(SenderRule.rule).where(
        SenderRule.group_id == group_id, func.lower(SenderRule.email) == (email or "").strip().lower()))


PREVIEW_CHARS = 500


def notify_admins(*, group_id: int, inbound_id: int | None, sender: str, subject: str, preview: str = "") -> None:
    """Tell each admin of the group that a message waits for them (once per message and admin),
    with the start of its text (plain text: the mail escapes it like any other)."""
    if inbound_id is None:
        return  # not a stored message (a dry run, a test of the pipeline alone): nothing to decide on
    group = db.session.get(Group, group_id)
    admins = list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group_id, Membership.role == "admin", User.deleted_at.is_(None))))
    for admin in admins:
        messages.held_for_approval(admin=admin, group=group, inbound_id=inbound_id, sender=sender, subject=subject,
                                   preview=shorten(preview))
    db.session.commit()


# --- the admins' page -------------------------------------------------------------------------

def _group_admin(actor, group: Group) -> None:
    if not policy.can_manage_members(actor, group):
        raise NotAllowed(_("Only this group's admins can decide about held mail."))


def shorten(text: str) -> str:
    """At most PREVIEW_CHARS of the text, at a word, with blank runs squeezed (lines kept)."""
    text = "\n".join(" ".join(line.split()) for line in (text or "").strip().splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text)
    if len(text) <= PREVIEW_CHARS:
        return text
    return text[:PREVIEW_CHARS].rsplit(" ", 1)[0] + " …"


def _text_of(raw: bytes) -> str:
    """The message's words: its plain-text part, else its HTML part with every tag removed."""
    try:
        message = BytesParser(policy=default_policy).parsebytes(raw)
        part = message.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        content = part.get_content()
    except Exception:  # noqa: BLE001 - a malformed message has no preview, not an error page
        return ""
    if part.get_content_type() == "text/html":
        content = html.unescape(nh3.clean(content, tags=set(), strip_comments=True))
    return content


def summary(row: InboundMessage) -> dict:
    """Sender, subject and the start of the text (plain, escaped by the page), read from the stored message."""
    try:
        raw = storage.read(NAMESPACE, row.storage_key)
    except FileNotFoundError:
        return {"row": row, "sender": "", "name": "", "subject": "(the stored message is gone)", "proven": False,
                "preview": ""}
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    name, address = parseaddr(str(headers.get("From", "")))
    return {"row": row, "sender": address.lower(), "name": name, "subject": str(headers.get("Subject", ""))[:200],
            "proven": (row.sender_check or "").startswith("authenticated"), "preview": shorten(_text_of(raw))}


def held_for(actor, group: Group) -> list[dict]:
    _group_admin(actor, group)
    rows = db.session.scalars(select(InboundMessage).where(
        InboundMessage.group_id == group.id, InboundMessage.status == "held",
        InboundMessage.action == HELD_ACTION).order_by(InboundMessage.id))
    return [summary(row) for row in rows]


def _held(group: Group, inbound_id: int) -> InboundMessage:
    row = db.session.get(InboundMessage, inbound_id)
    if row is None or row.group_id != group.id or row.status != "held" or row.action != HELD_ACTION:
        raise NotFound(_("There is no such held message (it may have been decided already)."))
    return row


def _set_rule(group: Group, email: str, rule: str, actor) -> None:
    existing = db.session.scalar(select(SenderRule).where(SenderRule.group_id == group.id,
                                                          func.lower(SenderRule.email) == email))
    if existing is None:
        db.session.add(SenderRule(group_id=group.id, email=email, rule=rule, decided_by_id=actor.id))
    else:
        existing.rule, existing.decided_by_id = rule, actor.id


def post_once(actor, *, group: Group, inbound_id: int) -> InboundMessage:
    """Post this one message in the group as its sender's (a non-member's) thread; nothing more.

    Only a message whose sender was proven (SPF or DKIM aligned with its From domain, or the
    trusted MTA) can be posted this way: otherwise an admin would be putting words in the mouth
    of whoever the From names. The address is attached to no member's account, ever.
    """
    _group_admin(actor, group)
    row = _held(group, inbound_id)
    sender = summary(row)["sender"]
    if not sender:
        raise Invalid(_("We cannot read this message's sender, so it cannot be posted."))
    if not (row.sender_check or "").startswith("authenticated"):
        raise Invalid(_("Nothing proves that this message really came from %(sender)s (its domain did not "
                        "authenticate it), so it cannot be posted in that name. Invite the address instead: once "
                        "they join, they can post themselves.", sender=sender))
    audit.record(actor_id=actor.id, group_id=group.id, action="held_mail_posted", email=sender)
    row.status, row.allowed_by_id = "received", actor.id
    row.reason = f"posted once, as a message from {sender}, by admin {actor.id}"
    db.session.commit()  # back to received: the commit enqueues its processing
    return row


def invite_sender(actor, *, group: Group, inbound_id: int) -> InboundMessage:
    """Invite the sender's address to the group instead of posting their message: the invitation
    goes to that mailbox, so only its owner can accept it."""
    from . import invitations

    _group_admin(actor, group)
    row = _held(group, inbound_id)
    sender = summary(row)["sender"]
    if not sender:
        raise Invalid(_("We cannot read this message's sender, so there is no address to invite."))
    result = invitations.invite(actor_id=actor.id, group_id=group.id, emails=sender)
    audit.record(actor_id=actor.id, group_id=group.id, action="held_mail_invited", email=sender)
    row.status, row.action = "rejected", "invited_sender"
    row.reason = (f"the admins invited {sender} instead of posting the message"
                  + (" (already a member)" if result["members"] else ""))
    row.processed_at = utcnow()
    db.session.commit()
    storage.delete(NAMESPACE, row.storage_key)
    return row


def block(actor, *, group: Group, inbound_id: int) -> InboundMessage:
    """Refuse this message and every later one from its sender to this group."""
    _group_admin(actor, group)
    row = _held(group, inbound_id)
    sender = summary(row)["sender"]
    if sender:
        _set_rule(group, sender, "block", actor)
    audit.record(actor_id=actor.id, group_id=group.id, action="held_mail_blocked", email=sender)
    row.status, row.action = "rejected", "blocked_sender"
    row.reason, row.processed_at = f"blocked by admin {actor.id}", utcnow()
    db.session.commit()
    storage.delete(NAMESPACE, row.storage_key)
    return row
