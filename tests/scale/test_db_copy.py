"""`quorum db copy --to postgresql://…`: the demo instance moves to a new PostgreSQL database whole,
every table with the same rows and hashes, and the copy works as a Quorum database afterwards."""
from __future__ import annotations

from sqlalchemy import create_engine, text

from app.demo import seed_demo
from app.extensions import db
from app.stewardship.backup.manifest import table_digests

from .support import drop_postgres, scratch_postgres


def test_the_demo_instance_round_trips_to_postgresql_with_equal_hashes(runner, clean_app, monkeypatch):
    # The demo's notifications are queued, not sent (no worker here): the rows are what is copied.
    monkeypatch.setitem(clean_app.config, "RQ_ASYNC", True)
    seed_demo(force=True)
    with db.engine.connect() as conn:
        before = table_digests(conn)
    assert before["users"]["rows"] > 5 and before["comments"]["rows"] > 5
    target = scratch_postgres("quorum_copy")
    try:
        result = runner.invoke(args=["db", "copy", "--to", target])
        assert result.exit_code == 0, result.output
        assert "content hashes match" in result.output
        engine = create_engine(target.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as conn:
                assert table_digests(conn) == before
            with engine.begin() as conn:
                # Sequences are past the highest ids: a new row does not collide.
                top = conn.execute(text("SELECT max(id) FROM users")).scalar()
                new_id = conn.execute(text("SELECT nextval(pg_get_serial_sequence('users', 'id'))")).scalar()
                assert new_id > top
                # Search finds copied threads (the full-text indexes hold the rows).
                title = conn.execute(text("SELECT title FROM discussions ORDER BY id LIMIT 1")).scalar()
                word = max(title.split(), key=len)
                found = conn.execute(text(
                    "SELECT count(*) FROM discussions WHERE to_tsvector('english', coalesce(title, '') || ' ' || "
                    "coalesce(body, '')) @@ plainto_tsquery('english', :w)"), {"w": word}).scalar()
                assert found >= 1
            # A second copy into the same (now full) database is refused, and says why.
            again = runner.invoke(args=["db", "copy", "--to", target])
            assert again.exit_code != 0 and "already holds data" in again.output
        finally:
            engine.dispose()
    finally:
        drop_postgres(target)


def test_a_copy_to_something_not_postgresql_is_refused_with_a_reason(runner):
    result = runner.invoke(args=["db", "copy", "--to", "mysql://example/quorum"])
    assert result.exit_code != 0
    assert "must be a PostgreSQL address" in result.output
