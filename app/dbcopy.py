"""`quorum db copy --to postgresql://…`: move a whole instance to another database (from the
embedded SQLite to PostgreSQL, when one machine is outgrown).

The target is given the schema by the migrations, then every table is copied in dependency
order, sequences are set past the highest ids, the search indexes are rebuilt, and each table's
row count and content hash (the same digest `quorum backup verify` uses) is compared with the
source. Nothing is written to the source.
"""
from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import Integer, create_engine, func, inspect, select, text

from .extensions import db
from .stewardship.backup.manifest import table_digests

BATCH = 1000


class CopyError(RuntimeError):
    """Why the copy was refused or does not match (the message says what to do)."""


def normalise(url: str) -> str:
    url = url.strip()
    if re.match(r"^postgres(ql)?://", url):
        return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)
    if url.startswith("postgresql+psycopg://"):
        return url
    raise CopyError(f"--to must be a PostgreSQL address (postgresql://user:password@host/database), not {url.split(':')[0]}://…")


def _migrate(target_url: str) -> None:
    """Build the schema in the target with the real migrations (as `quorum db upgrade` would)."""
    from flask_migrate import upgrade

    from . import create_app

    app = current_app._get_current_object()
    other = create_app({"QUORUM_INSTANCE": app.config["QUORUM_INSTANCE"], "SECRET_KEY": app.config["SECRET_KEY"],
                        "SQLALCHEMY_DATABASE_URI": target_url, "REDIS_URL": app.config["REDIS_URL"],
                        "TESTING": app.config.get("TESTING", False)})
    with other.app_context():
        try:
            upgrade()
        finally:
            db.session.remove()
            db.engine.dispose()


def _tables():
    return list(db.metadata.sorted_tables)


def _refuse_if_not_empty(engine) -> None:
    names = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in _tables():
            if table.name in names and conn.execute(select(func.count()).select_from(table)).scalar():
                raise CopyError(f"The target database already holds data (table {table.name} has rows): copy "
                                "into a new, empty database.")


def copy_database(target: str, *, say=lambda _m: None) -> dict:
    """Copy this instance's database into `target` and verify it; the per-table report."""
    target_url = normalise(target)
    source_url = db.engine.url.render_as_string(hide_password=False)
    if source_url == target_url:
        raise CopyError("The target is this instance's own database.")
    engine = create_engine(target_url)
    try:
        _refuse_if_not_empty(engine)
        say("Building the schema in the target (migrations)…")
        _migrate(target_url)
        _refuse_if_not_empty(engine)
        counts = _copy_rows(engine, say)
        _after_copy(engine)
        say("Verifying row counts and content hashes…")
        with db.engine.connect() as conn:
            expected = table_digests(conn)
        with engine.connect() as conn:
            actual = table_digests(conn)
    finally:
        engine.dispose()
    bad = sorted(name for name in expected if expected[name] != actual.get(name))
    if bad:
        details = ", ".join(f"{n} ({expected[n]['rows']} rows here, {actual.get(n, {}).get('rows')} there)"
                            for n in bad[:5])
        raise CopyError(f"The copy does not match the source: {details}.")
    return {"tables": len(expected), "rows": sum(counts.values()), "per_table": expected}


def _copy_rows(engine, say) -> dict:
    counts = {}
    with engine.begin() as target:
        if engine.dialect.name == "postgresql":
            # Rows go in table by table; foreign keys are checked by the hash comparison after.
            target.execute(text("SET LOCAL session_replication_role = replica"))
        with db.engine.connect() as source:
            for table in _tables():
                rows = 0
                result = source.execution_options(stream_results=True).execute(
                    select(table).order_by(*table.primary_key.columns))
                while batch := result.fetchmany(BATCH):
                    target.execute(table.insert(), [dict(row._mapping) for row in batch])
                    rows += len(batch)
                counts[table.name] = rows
                if rows:
                    say(f"  {table.name}: {rows} rows")
    return counts


def _after_copy(engine) -> None:
    """Sequences past the highest ids (new rows must not collide), search indexes rebuilt."""
    from .search import EXTRA_INDEXES

    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in _tables():
            columns = list(table.primary_key.columns)
            if len(columns) != 1 or not isinstance(columns[0].type, Integer):
                continue
            column = columns[0].name
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": table.name, "c": column}).scalar()
            if sequence:
                conn.execute(text(f'SELECT setval(:s, (SELECT coalesce(max("{column}"), 0) + 1 FROM "{table.name}"), false)'),
                             {"s": sequence})
        present = set(conn.execute(text("SELECT indexname FROM pg_indexes")).scalars())
        for index in EXTRA_INDEXES:
            if index in present:
                conn.execute(text(f'REINDEX INDEX "{index}"'))
        conn.execute(text("ANALYZE"))
