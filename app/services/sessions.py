"""Signed-in browsers and sign-ins waiting for their second factor, both kept server-side.

A cookie holds only a random key; the database keeps its keyed hash, when it ends and how often a
second-factor code was wrong. So signing out ends a session for good (a copied cookie stops
working), and nothing a browser replays can reset a lockout.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from ..extensions import db
from ..models import SecondFactorChallenge, User, WebSession, utcnow
from ..tokens import hash_token, random_token
from .errors import Invalid, NotFound, RateLimited

SESSION_LIFETIME = timedelta(days=365)  # as long as Flask-Login's remember cookie
CHALLENGE_LIFETIME = timedelta(minutes=10)
CHALLENGE_MAX_FAILURES = 5  # wrong codes in one sign-in before it must start again
ACCOUNT_MAX_FAILURES = 10  # wrong codes for one account, across sign-ins, per window
ACCOUNT_WINDOW = timedelta(minutes=15)


def _key_hash(purpose: str, key: str) -> str:
    return hash_token(f"{purpose}:{key}")


# --- Web sessions -------------------------------------------------------------------------

def start(*, user_id: int) -> str:
    """A new session for this member; returns the id the cookies carry (`<user id>:<key>`)."""
    key = random_token(32)
    now = utcnow()
    db.session.add(WebSession(user_id=user_id, key_hash=_key_hash("session", key), created_at=now,
                              expires_at=now + SESSION_LIFETIME))
    db.session.commit()
    return f"{user_id}:{key}"


def _parse(session_id: str | None) -> tuple[int, str] | None:
    user_id, _, key = str(session_id or "").partition(":")
    if not user_id.isdigit() or not 20 <= len(key) <= 100:
        return None
    return int(user_id), key


def member_of(session_id: str | None) -> User | None:
    """The member a live session belongs to (one query), or None once it ended or expired."""
    parsed = _parse(session_id)
    if parsed is None:
        return None
    user_id, key = parsed
    return db.session.scalar(
        select(User).join(WebSession, WebSession.user_id == User.id)
        .where(WebSession.key_hash == _key_hash("session", key), WebSession.user_id == user_id,
               WebSession.ended_at.is_(None), WebSession.expires_at > utcnow(), User.deleted_at.is_(None)))


def end(session_id: str | None) -> None:
    """Sign this one browser out, server-side."""
    parsed = _parse(session_id)
    if parsed is None:
        return
    user_id, key = parsed
    db.session.execute(update(WebSession).where(
        WebSession.key_hash == _key_hash("session", key), WebSession.user_id == user_id,
        WebSession.ended_at.is_(None)).values(ended_at=utcnow()))
    db.session.commit()


def end_all(*, user_id: int) -> None:
    """Sign the member out everywhere (in the caller's transaction)."""
    db.session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                       .values(ended_at=utcnow()))
    db.session.execute(update(SecondFactorChallenge).where(
        SecondFactorChallenge.user_id == user_id, SecondFactorChallenge.used_at.is_(None)).values(used_at=utcnow()))


# --- The second factor ------------------------------------------------------------------------

def begin_second_factor(*, user_id: int, next_path: str | None) -> str:
    """The first factor is done: remember that (for CHALLENGE_LIFETIME) and return the cookie's key."""
    key = random_token(32)
    now = utcnow()
    db.session.add(SecondFactorChallenge(user_id=user_id, key_hash=_key_hash("2fa", key), next_path=next_path,
                                         created_at=now, expires_at=now + CHALLENGE_LIFETIME, failures=0))
    db.session.commit()
    return key


def pending_second_factor(key: str | None) -> SecondFactorChallenge | None:
    """The sign-in waiting for this key's second factor, if it is still live."""
    if not key or len(key) > 100:
        return None
    return db.session.scalar(select(SecondFactorChallenge).where(
        SecondFactorChallenge.key_hash == _key_hash("2fa", key), SecondFactorChallenge.used_at.is_(None),
        SecondFactorChallenge.expires_at > utcnow(), SecondFactorChallenge.failures < CHALLENGE_MAX_FAILURES))


def _account_failures(user_id: int) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(SecondFactorChallenge.failures), 0)).where(
        SecondFactorChallenge.user_id == user_id,
        SecondFactorChallenge.created_at > utcnow() - ACCOUNT_WINDOW)) or 0


def answer_second_factor(*, key: str | None, code: str) -> tuple[User, str | None]:
    """Check the code for the waiting sign-in; returns the member and where they were going.

    NotFound: no live sign-in (expired, used, or too many wrong codes: start again).
    RateLimited: too many wrong codes for this account lately, whichever browser sent them.
    Invalid: a wrong code (counted, server-side).
    """
    from ..stewardship import totp

    challenge = pending_second_factor(key)
    if challenge is None:
        raise NotFound("Your sign-in has timed out. Please start again.")
    if _account_failures(challenge.user_id) >= ACCOUNT_MAX_FAILURES:
        raise RateLimited("Too many wrong codes for this account. Wait 15 minutes, then sign in again.")
    user = db.session.get(User, challenge.user_id)
    if user is None or user.deleted_at is not None or not totp.verify(user, code):
        # Counted in one UPDATE, so parallel guesses are all counted.
        db.session.execute(update(SecondFactorChallenge).where(SecondFactorChallenge.id == challenge.id)
                           .values(failures=SecondFactorChallenge.failures + 1))
        db.session.commit()
        raise Invalid("That code is not right. Type the 6 digits your app shows now, or one of your recovery codes.",
                      field="code")
    won = db.session.execute(update(SecondFactorChallenge).where(
        SecondFactorChallenge.id == challenge.id, SecondFactorChallenge.used_at.is_(None))
        .values(used_at=utcnow())).rowcount
    db.session.commit()
    if won != 1:
        raise NotFound("Your sign-in has timed out. Please start again.")
    return user, challenge.next_path
