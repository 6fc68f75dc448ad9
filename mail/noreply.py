"""Replies to `notifications@MAIL_DOMAIN`, the From of every mail we send.

A mail client answers a digest, a sign-in mail or an export link there (those carry no Reply-To of
their own). Such a reply is accepted at RCPT (a 550 "no such group" only confused the member), then:

- a reply to the member's own digest that quotes exactly one item's "Reply to this" address goes to
  that item, as if it had been sent there (the address is checked like any reply address: it must
  be this member's, and the sender proven);
- anything else is answered, once in a while and only to a proven sender, with where to write
  instead. An unproven From gets nothing (it may be anyone's), auto-replies never reach here.
"""
from __future__ import annotations

import re
from email.message import Message

from flask import current_app
from sqlalchemy import select

from app.email.addresses import BadAddress
from app.extensions import db
from app.i18n import _
from app.models import Group, Membership, OutboundMessage, User

from .mime import body_parts, message_ids
from .recipients import Recipient, resolve_recipient

MAX_GROUPS_NAMED = 5


def quoted_digest_item(msg: Message, user: User | None) -> Recipient | None:
    """The one digest item this reply to `user`'s digest answers, or None."""
    if user is None:
        return None
    answered = [f"<{i}>" for i in message_ids(msg, "In-Reply-To", "References")][:20]
    if not answered or db.session.scalar(select(OutboundMessage.id).where(
            OutboundMessage.message_id.in_(answered), OutboundMessage.kind == "digest",
            OutboundMessage.user_id == user.id).limit(1)) is None:
        return None
    domain = re.escape(current_app.config["MAIL_DOMAIN"].lower())
    plain, html, _ = body_parts(msg)
    text = plain if plain and plain.strip() else html or ""  # the part the member wrote in, with its quote
    quoted = {m.lower() for m in re.findall(rf"\b(r\+[a-z0-9.]{{1,80}}@{domain})\b", text, flags=re.IGNORECASE)}
    if len(quoted) != 1:  # the whole digest quoted (or none of it): no way to tell which item is meant
        return None
    try:
        item = resolve_recipient(quoted.pop())
    except BadAddress:
        return None
    return item if item.kind == "reply" and item.user_id == user.id else None


def where_to_write(user: User | None) -> str:
    """The explanation: this address is not read; where to reply instead."""
    domain = current_app.config["MAIL_DOMAIN"]
    text = _("%(address)s only sends mail; what is written to it is not posted anywhere. To take part, reply to "
             "the email about the thread, comment or poll itself: each one has its own reply address. In a digest, "
             "use the \u201cReply to this\u201d link under the item you are answering.",
             address=f"notifications@{domain}")
    handles = []
    if user is not None:
        handles = list(db.session.scalars(
            select(Group.handle).join(Membership, Membership.group_id == Group.id)
            .where(Membership.user_id == user.id, Group.archived_at.is_(None)).order_by(Group.handle)
            .limit(MAX_GROUPS_NAMED)))
    if handles:
        text += "\n\n" + _("To start a new thread, write to your group's address: %(addresses)s.",
                             addresses=", ".join(f"{h}@{domain}" for h in handles))
    return text
