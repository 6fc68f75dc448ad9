"""The foundation: health, the schema from migrations, configuration, the CLI."""
from __future__ import annotations

from sqlalchemy import inspect


def test_healthz_is_200_when_every_part_is_up(client, app, monkeypatch):
    from app import heartbeat
    from app.queue import redis_client
    from mail.server import start_server

    smtp = start_server(app)
    try:
        monkeypatch.setitem(app.config, "SMTP_LISTEN", f"127.0.0.1:{smtp.port}")
        for part in heartbeat.PARTS:
            heartbeat.beat(redis_client(app), part)
        response = client.get("/healthz")
    finally:
        smtp.stop()
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "down": [], "parts": {
        "web": "up", "smtp": "up", "worker": "up", "scheduler": "up", "database": "up", "redis": "up"}}


def test_healthz_names_the_parts_that_are_not_running(client, app, monkeypatch):
    from app import heartbeat
    from app.queue import redis_client
    from mail.server import free_port

    monkeypatch.setitem(app.config, "SMTP_LISTEN", f"127.0.0.1:{free_port()}")  # nothing listens there
    heartbeat.beat(redis_client(app), "scheduler")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["down"] == ["smtp", "worker"]
    assert body["parts"]["scheduler"] == "up" and body["parts"]["database"] == "up"


def test_healthz_with_redis_down_says_so_and_cannot_tell_the_heartbeats(client, app, monkeypatch):
    from redis import Redis

    monkeypatch.setitem(app.extensions, "quorum_redis", Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
    response = client.get("/healthz")
    assert response.status_code == 503
    parts = response.get_json()["parts"]
    assert parts["redis"] == "down"
    assert parts["worker"] == parts["scheduler"] == "unknown"
    assert parts["database"] == "up"


def test_migrations_build_exactly_the_models_schema(db_session):
    """No model change without a migration: autogenerate finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.extensions import db

    from app.search import EXTRA_TABLES, EXTRA_INDEXES

    def ours(name, type_, parent_names):
        # Full-text search lives outside the models (an FTS5 table and its shadows; GIN indexes).
        if type_ == "table":
            return not name.startswith(EXTRA_TABLES)
        return not (type_ == "index" and name in EXTRA_INDEXES)

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False, "include_name": ours})
        diff = compare_metadata(context, db.metadata)
    assert diff == []
    assert "users" in inspect(db.engine).get_table_names()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db_session):
    from sqlalchemy import text

    from app.extensions import db

    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_static_files_are_hashed_and_cached_for_a_year(client):
    page = client.get("/login").get_data(as_text=True)
    import re

    css = re.search(r'href="(/s/quorum\.[0-9a-f]{10}\.css)"', page).group(1)
    response = client.get(css)
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"] and "max-age=31536000" in response.headers["Cache-Control"]
    assert client.get("/s/quorum.0000000000.css").status_code == 404


def test_pages_answer_304_to_a_matching_etag(client):
    first = client.get("/login")
    etag = first.headers["ETag"]
    again = client.get("/login", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_cli_creates_users_and_groups(runner, db_session):
    from app.models import Group, Membership

    result = runner.invoke(args=["user", "create", "ann@example.org", "--name", "Ann"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["group", "create", "Book Club", "--handle", "books", "--admin", "ann@example.org", "--privacy", "open"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["group", "add-member", "books", "bob@example.org"])
    assert result.exit_code == 0, result.output
    group = db_session.query(Group).filter_by(handle="books").one()
    roles = sorted(m.role for m in db_session.query(Membership).filter_by(group_id=group.id))
    assert group.privacy == "open" and roles == ["admin", "member"]


def test_cli_refuses_a_bad_handle_with_a_clear_message(runner, db_session):
    result = runner.invoke(args=["group", "create", "X", "--handle", "Not Valid!", "--admin", "a@example.org"])
    assert result.exit_code != 0
    assert "lower-case letters" in result.output


def test_a_gzip_client_gets_a_304_for_an_unchanged_page(client):
    first = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    again = client.get("/login", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_static_files_are_served_compressed_to_gzip_clients(client):
    import gzip
    import re

    page = client.get("/login").get_data(as_text=True)
    htmx = re.search(r'src="(/s/vendor/htmx-2\.0\.4\.min\.[0-9a-f]{10}\.js)"', page).group(1)
    response = client.get(htmx, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.data) < 20_000
    assert b"htmx" in gzip.decompress(response.data)[:400]


def test_a_signed_in_page_keeps_its_etag_as_time_passes(client, db_session, monkeypatch):
    """The CSRF token in forms is stable per session, so an unchanged page answers 304 later too."""
    import time as real_time

    import itsdangerous.timed

    from tests.factories import UserFactory
    from tests.helpers import sign_in

    sign_in(client, UserFactory(name="Ann"))
    first = client.get("/account")
    later = real_time.time() + 5
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    again = client.get("/account", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
