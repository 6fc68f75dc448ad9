"""Flask-Login wiring: who a request is signed in as, and the one way to sign in and out.

The session and remember cookies carry a server-side session id (app/services/sessions.py), never
just the member's id: signing out ends that session in the database, so neither cookie, copied
before, signs anyone back in.
"""
from __future__ import annotations

from flask import Flask, g, session
from flask_login import login_user, logout_user

from .extensions import login_manager


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "basic"

    login_manager.user_loader(user_from_session_id)


def user_from_session_id(session_id: str):
    """The member a live server-side session belongs to (None once it ended, or the account is gone)."""
    from .services import sessions

    user = sessions.member_of(session_id)
    if user is not None:
        user.web_session_id = session_id
    return user


def _fresh_cookie_session() -> None:
    """Nothing from before survives (pending steps, the CSRF token) but the messages to show next."""
    flashes = session.get("_flashes")
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's per-request copy of the old token
    if flashes:
        session["_flashes"] = flashes


def sign_in(user, *, remember: bool = True) -> None:
    """Start a new server-side session for the member and put it in the cookies."""
    from .services import sessions

    if getattr(user, "deactivated_at", None) is not None:  # a site admin deactivated it: no session at all
        from flask import flash

        from .services.accounts import DEACTIVATED_EXPLANATION

        flash(DEACTIVATED_EXPLANATION, "error")
        return

    session_id = sessions.start(user_id=user.id)
    _fresh_cookie_session()
    user.web_session_id = session_id
    login_user(user, remember=remember)


def sign_out() -> None:
    """End this browser's session server-side and clear both cookies."""
    from .services import sessions

    sessions.end(session.get("_user_id"))
    logout_user()
    _fresh_cookie_session()
    session["_remember"] = "clear"  # Flask-Login deletes the remember cookie after this request
