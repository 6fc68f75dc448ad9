"""Data migrations that change what existing rows mean, run on a database made at the revision before."""
from __future__ import annotations

import pytest
from sqlalchemy import text


def test_0004_cuts_off_every_alias_an_admin_attached(tmp_path, app):
    from flask_migrate import upgrade

    from app import create_app

    old = create_app({**{k: app.config[k] for k in ("SECRET_KEY", "REDIS_URL", "MAIL_DOMAIN", "BASE_URL")},
                      "QUORUM_INSTANCE": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
                      "TESTING": True, "RQ_ASYNC": False, "QUORUM_DEMO": False, "SMTP_URL": None})
    with old.app_context():
        from app.extensions import db

        upgrade(revision="0003")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO users (id, email, name, time_zone, locale, is_site_admin, created_at, "
                              "session_generation, mail_token_generation, digest_frequency, digest_weekday, "
                              "digest_hour, bounce_score) VALUES (1, 'bob@example.org', 'Bob', 'UTC', 'en', 0, "
                              "CURRENT_TIMESTAMP, 0, 0, 'off', 0, 7, 0)"))
            conn.execute(text("INSERT INTO user_aliases (user_id, email, verified_at, created_at) VALUES "
                              "(1, 'bob@attacker.example', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        upgrade()
        from app.services.accounts import user_by_email

        row = db.session.execute(text("SELECT verified_at, cut_off_at FROM user_aliases")).one()
        assert row.verified_at is None and row.cut_off_at is not None
        assert user_by_email("bob@attacker.example") is None  # it no longer signs in or posts as Bob
        db.session.remove()
        db.engine.dispose()


def test_full_text_triggers_survive_every_later_migration(clean_app):
    """A later migration that rebuilds a table on SQLite (a batch alter) silently drops its triggers, and
    search stops finding what is added after: every search trigger must still be there at head."""
    from app.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL searches through expression indexes, not triggers")
    names = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    wanted = {f"search_{table}_{when}" for table in ("discussions", "comments", "polls", "outcomes", "stances")
              for when in ("ai", "au", "ad")}
    assert wanted <= names, f"missing: {sorted(wanted - names)}"
