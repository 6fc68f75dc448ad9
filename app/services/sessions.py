"""Signed-in browsers, kept server-side (the sign-in step waiting for a second factor is in
app/stewardship/totp.py, kept the same way).

A cookie holds only a random key; the database keeps its keyed hash and when the session ended. So
signing out ends a session for good: a copied session or remember cookie stops working.
"""
from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from sqlalchemy import bindparam, select, update

from ..extensions import db
from ..models import Group, Membership, SecondFactorChallenge, User, WebSession, utcnow
from ..tokens import hash_token, random_token

SESSION_LIFETIME = timedelta(days=365)  # as long as Flask-Login's remember cookie


def key_hash(purpose: str, key: str) -> str:
    return hash_token(f"{purpose}:{key}")


# --- Web sessions -------------------------------------------------------------------------

def start(*, user_id: int) -> str:
    """A new session for this member; returns the id the cookies carry (`<user id>:<key>`)."""
    key = random_token(32)
    now = utcnow()
    db.session.add(WebSession(user_id=user_id, key_hash=key_hash("session", key), created_at=now,
                              expires_at=now + SESSION_LIFETIME))
    db.session.commit()
    return f"{user_id}:{key}"


def _parse(session_id: str | None) -> tuple[int, str] | None:
    user_id, _, key = str(session_id or "").partition(":")
    if not user_id.isdigit() or not 20 <= len(key) <= 100:
        return None
    return int(user_id), key


@lru_cache(maxsize=1)
def _member_of_statement():
    # Built once (every signed-in request runs it): a statement object keeps its cache key.
    group_default = (
        select(Group.locale).join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == User.id, Group.locale.is_not(None), Group.locale != "")
        .order_by(Membership.id).limit(1).correlate(User).scalar_subquery())
    return (select(User, group_default).join(WebSession, WebSession.user_id == User.id)
            .where(WebSession.key_hash == bindparam("key_hash"), WebSession.user_id == bindparam("user_id"),
                   WebSession.ended_at.is_(None), WebSession.expires_at > bindparam("now"), User.deleted_at.is_(None),
                   User.deactivated_at.is_(None)))


def member_of(session_id: str | None) -> User | None:
    """The member a live session belongs to (one query), or None once it ended or expired. The same query
    brings the default language of their oldest group that set one, for pages to a member who never chose
    (app/i18n.py select_locale), so no page asks for it separately."""
    parsed = _parse(session_id)
    if parsed is None:
        return None
    user_id, key = parsed
    row = db.session.execute(_member_of_statement(), {"key_hash": key_hash("session", key), "user_id": user_id,
                                                      "now": utcnow()}).first()
    if row is None:
        return None
    user, user.first_group_locale = row
    return user


def end(session_id: str | None) -> None:
    """Sign this one browser out, server-side."""
    parsed = _parse(session_id)
    if parsed is None:
        return
    user_id, key = parsed
    db.session.execute(update(WebSession).where(
        WebSession.key_hash == key_hash("session", key), WebSession.user_id == user_id,
        WebSession.ended_at.is_(None)).values(ended_at=utcnow()))
    db.session.commit()


def end_all(*, user_id: int) -> None:
    """Sign the member out everywhere (in the caller's transaction)."""
    db.session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                       .values(ended_at=utcnow()))
    db.session.execute(update(SecondFactorChallenge).where(
        SecondFactorChallenge.user_id == user_id, SecondFactorChallenge.used_at.is_(None)).values(used_at=utcnow()))
