"""Database binding: SQLite pragmas (WAL, foreign keys, busy timeout) and the session."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import event

from .extensions import db


def _pragmas(app: Flask):
    def apply(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # NORMAL survives a killed process; the SMTP server asks for FULL (survives power loss).
        level = "FULL" if app.config.get("SQLITE_SYNCHRONOUS") == "FULL" else "NORMAL"
        cursor.execute(f"PRAGMA synchronous={level}")
        cursor.close()

    return apply


def is_sqlite(app: Flask) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def init_app(app: Flask) -> None:
    if is_sqlite(app):
        Path(app.config["QUORUM_INSTANCE"]).mkdir(parents=True, exist_ok=True)
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        options.setdefault("connect_args", {"timeout": 10})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app.config.setdefault("SQLALCHEMY_TRACK_MODIFICATIONS", False)
    from . import models  # noqa: F401  (register every table on the metadata)

    db.init_app(app)
    if is_sqlite(app):
        with app.app_context():
            event.listen(db.engine, "connect", _pragmas(app))
