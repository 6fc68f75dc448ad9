"""GET and HEAD change nothing: mail scanners, link previews and prefetchers open every URL we
send, and Flask answers HEAD with the GET view. So instead of trusting each view to check the
method, the database refuses a write during a GET or HEAD request, except to the few tables that
record what a person looked at (never what they decided)."""
from __future__ import annotations

import re

from flask import Flask, has_request_context, request
from sqlalchemy import event

from ..extensions import db

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Bookkeeping of reading, allowed on a safe request: the operator access log (a view under a
# support grant is logged for the group's admins), and read tracking ("new since your last visit").
VIEW_BOOKKEEPING = frozenset({"access_logs", "read_states"})
_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


class WriteOnSafeRequest(RuntimeError):
    """A GET or HEAD request tried to change state: a bug in the view, refused before it happens."""


def written_table(statement: str) -> str | None:
    match = _WRITE.match(statement)
    return match.group(1).lower() if match else None


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def refuse_writes_on_safe_requests(conn, cursor, statement, parameters, context, executemany):
        if not has_request_context() or request.method not in SAFE_METHODS:
            return
        table = written_table(statement)
        if table is not None and table not in VIEW_BOOKKEEPING:
            raise WriteOnSafeRequest(f"{request.method} {request.path} tried to write to {table}")
