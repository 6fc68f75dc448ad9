"""Bounces and complaints: keep sending only to addresses that work and want our mail.

A hard bounce (5.x.x) suspends sending to the member's address at once; soft bounces (4.x.x)
add to a score and suspend at SOFT_BOUNCE_LIMIT. A suspended member sees a notice on every page
(templates/base.html) until they fix it; its group's admins see it on the members page
(`app.services.memberships.suspended_members`).
An ARF complaint ("this is spam") mutes all of that member's memberships at once.
"""
from __future__ import annotations

from sqlalchemy import func, select

from app.email.addresses import user_id_from_bounce_token
from app.extensions import db
from app.models import Membership, User, utcnow
from app.services import subscriptions
from app.services.memberships import suspended_members  # noqa: F401  (the query lives with the members page)

SOFT_BOUNCE_LIMIT = 3
HARD_BOUNCE_POINTS = SOFT_BOUNCE_LIMIT


def user_for_report(recipients: list[str], reported_address: str | None) -> User | None:
    """The member a report is about: from our VERP address first, else the address it names."""
    for address in recipients:
        local = address.strip("<>").rpartition("@")[0].lower()
        if local.startswith("bounces+"):
            user_id = user_id_from_bounce_token(local[len("bounces+"):])
            if user_id is not None:
                user = db.session.get(User, user_id)
                if user is not None and user.deleted_at is None:
                    return user
    if reported_address:
        from app.services.accounts import user_by_email

        return user_by_email(reported_address)
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
