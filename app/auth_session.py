"""Flask-Login wiring: load the member from the session cookie."""
from __future__ import annotations

from flask import Flask

from .extensions import db, login_manager


def init_login(app: Flask) -> None:
    from .models import User

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str):
        user_id, _, generation = session_id.partition(":")
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or user.deleted_at is not None or str(user.session_generation) != generation:
            return None
        return user
