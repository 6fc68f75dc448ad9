"""Bounces and complaints: keep sending only to addresses that work and want our mail.

A hard bounce (5.x.x) suspends sending to the member's address at once; soft bounces (4.x.x)
add to a score and suspend at SOFT_BOUNCE_LIMIT. A suspended member sees a notice on every page
(templates/base.html) until they fix it; its group's admins see it on the members page
(`app.services.memberships.suspended_members`).
An ARF complaint ("this is spam") mutes all of that member's memberships at once.

A report acts only on the member whose VERP address (``bounces+<id>.<mac>@``, which only mail we
sent to them carries) it reaches or quotes: the address a report *names* is the sender's word, and
anyone can write a bounce or a complaint naming someone else's address.
"""
from __future__ import annotations

import re
from email.message import Message

from sqlalchemy import func, select

from app.email.addresses import user_id_from_bounce_token
from app.extensions import db
from app.models import Membership, User, utcnow
from app.services import subscriptions
from app.services.memberships import suspended_members  # noqa: F401  (the query lives with the members page)

SOFT_BOUNCE_LIMIT = 3
HARD_BOUNCE_POINTS = SOFT_BOUNCE_LIMIT


# "bounces+3k.9f1c2a7b0d@quorum.example" in the headers of the mail a report quotes.
_VERP_TOKEN = re.compile(r"\bbounces\+([0-9a-z]+\.[0-9a-z]+)@", re.IGNORECASE)
_QUOTED_MAIL_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "text/rfc822")


def _quoted_verp_tokens(msg: Message) -> list[str]:
    """VERP tokens in the mail a report quotes (a complaint's attached original keeps the
    Return-Path we sent it with), read from at most the first 64 KB of each quoted part."""
    tokens: list[str] = []
    for part in msg.walk():
        if part.get_content_type() not in _QUOTED_MAIL_TYPES:
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        try:
            text = inner.as_string()[:65536] if isinstance(inner, Message) else str(payload)[:65536]
        except Exception:  # noqa: BLE001 - a malformed quoted part holds no token
            continue
        tokens += _VERP_TOKEN.findall(text)
    return tokens


def user_for_report(recipients: list[str], msg: Message) -> User | None:
    """The member a bounce or complaint is about: the one whose VERP address it was delivered to,
    or (a complaint sent to a fixed feedback address) whose VERP address the quoted mail carries."""
    tokens = [address.strip("<>").rpartition("@")[0].lower()[len("bounces+"):] for address in recipients
              if address.strip("<>").lower().startswith("bounces+")]
    for token in tokens + _quoted_verp_tokens(msg):
        user_id = user_id_from_bounce_token(token)
        if user_id is not None:
            user = db.session.get(User, user_id)
            if user is not None and user.deleted_at is None:
                return user
    return None


def record_bounce(user: User, *, hard: bool, detail: str, dry_run: bool = False) -> str:
    """Add to the member's bounce score; suspend at the limit. Returns what happened, for the log."""
    score = (user.bounce_score or 0) + (HARD_BOUNCE_POINTS if hard else 1)
    kind = "hard" if hard else "soft"
    suspend = score >= SOFT_BOUNCE_LIMIT and user.email_suspended_at is None
    if dry_run:
        return f"{kind} bounce for member {user.id}" + ("; would suspend sending" if suspend else "")
    user.bounce_score = score
    if suspend:
        user.email_suspended_at = utcnow()
        user.email_suspended_reason = (
            "mail to this address bounced permanently" if hard else f"mail to this address bounced {score} times"
        )[:255]
    db.session.commit()
    return f"{kind} bounce for member {user.id} (score {score})" + ("; sending suspended" if suspend else "")


def record_complaint(user: User, *, dry_run: bool = False) -> str:
    """The member marked our mail as spam: stop mailing them from every group, at once."""
    if dry_run:
        count = db.session.scalar(select(func.count(Membership.id)).where(Membership.user_id == user.id))
        return f"complaint from member {user.id}; would mute {count} memberships"
    return f"complaint from member {user.id}; muted {subscriptions.mute_everything(user)} memberships"


def resume_sending(user: User) -> None:
    """The member fixed their address (or it works again): clear the suspension and score."""
    user.email_suspended_at = None
    user.email_suspended_reason = None
    user.bounce_score = 0
    db.session.commit()
