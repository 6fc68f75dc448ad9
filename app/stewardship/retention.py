"""Collect only what is needed: delete what has served its purpose (see SECURITY.md, "What we keep")."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from ..extensions import db
from ..models import LoginToken, SignInEvent, utcnow

LOGIN_TOKEN_DAYS = 1  # a sign-in link/code lives 10 minutes; the row a day, for rate limiting
SIGN_IN_HISTORY_DAYS = 180


def purge() -> dict:
    now = utcnow()
    tokens = db.session.execute(delete(LoginToken).where(
        LoginToken.expires_at < now - timedelta(days=LOGIN_TOKEN_DAYS))).rowcount
    history = db.session.execute(delete(SignInEvent).where(
        SignInEvent.created_at < now - timedelta(days=SIGN_IN_HISTORY_DAYS))).rowcount
    db.session.commit()
    return {"login_tokens": tokens, "sign_in_events": history}
