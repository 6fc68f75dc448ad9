"""Database binding: SQLite pragmas (WAL, foreign keys, busy timeout), the session, and a fresh
connection pool in every forked process."""
from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path

from flask import Flask
from sqlalchemy import event

from .extensions import db


_durable = threading.local()


def durable_commits() -> None:
    """This thread's SQLite commits survive power loss too (synchronous=FULL), whatever the process's
    setting: the SMTP server's threads call it, since mail is answered 250 only once it is on disk.
    In `quorum background` the worker beside them keeps NORMAL, which survives a killed process."""
    _durable.on = True


def _pragmas(app: Flask):
    def apply(dbapi_connection, record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    def level(dbapi_connection, record, _proxy) -> None:
        # NORMAL survives a killed process; FULL (the SMTP server's) survives power loss. A pooled
        # connection may serve either kind of thread, so the level is set as it is handed out.
        want = "FULL" if app.config.get("SQLITE_SYNCHRONOUS") == "FULL" or getattr(_durable, "on", False) else "NORMAL"
        if record.info.get("synchronous") != want:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA synchronous={want}")
            cursor.close()
            record.info["synchronous"] = want

    return apply, level


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
    with app.app_context():
        engine = db.engine
    if is_sqlite(app):
        on_connect, on_checkout = _pragmas(app)
        event.listen(engine, "connect", on_connect)
        event.listen(engine, "checkout", on_checkout)
    _fresh_pool_after_fork(engine)


_engines: "weakref.WeakSet" = weakref.WeakSet()
_inherited_pools: list = []  # in a forked child: the parent's pools, kept so nothing here closes them
_fork_hook: list = []


def _fresh_pool_after_fork(engine) -> None:
    """gunicorn forks its workers from a master that loaded the app (--preload). A connection the
    parent holds must never be used by a child as well: two processes driving one SQLite handle
    corrupt its in-memory state (a segfault in a fetch). Each child starts with an empty pool; the
    parent's connections stay open for the parent, untouched here (a SQLite handle closed in the
    child could still checkpoint the parent's WAL)."""
    if not _fork_hook:
        os.register_at_fork(after_in_child=_fresh_pools_in_child)
        _fork_hook.append(_fresh_pools_in_child)
    _engines.add(engine)


def _fresh_pools_in_child() -> None:
    for engine in list(_engines):
        _inherited_pools.append(engine.pool)
        engine.dispose(close=False)


# What a database says when it is away, restarting or locked, rather than when a query is wrong.
_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error", "could not connect",
                "connection refused", "server closed the connection", "terminating connection",
                "the database system is", "connection is closed", "lock timeout", "is not accepting connections",
                "does not allow connections", "connection to server")


def unavailable(error: BaseException) -> bool:
    """Is this the database being unreachable or locked for now (answer 503/451), not a bug?"""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    return isinstance(error, OperationalError) and any(text in str(error.orig).lower() for text in _UNAVAILABLE)
