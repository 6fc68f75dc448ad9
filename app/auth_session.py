"""Flask-Login wiring: load the member from the session cookie."""
from __future__ import annotations

from flask import Flask

from .extensions import db, login_manager


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "basic"

    login_manager.user_loader(user_from_session_id)


def user_from_session_id(session_id: str):
    """The member a session id (`<id>:<generation>`) names, unless deleted or signed out everywhere."""
    from .models import User

    user_id, _, generation = str(session_id or "").partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.deleted_at is not None or str(user.session_generation) != generation:
        return None
    return user
