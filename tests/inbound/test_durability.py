"""A crash loses no accepted message: `quorum smtp`, or `quorum background` (the SMTP server with the
worker and the scheduler, as `quorum serve` runs it, processing the replies as they come), is
SIGKILLed in the middle of a burst; after a restart every message that got a 250 is stored and,
once processed, posted exactly once."""
from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from rq import SimpleWorker
from sqlalchemy import select, update

from app.dispatch import INBOUND_STUCK_AFTER, sweep
from app.extensions import db
from app.models import Comment, InboundMessage, utcnow
from app.queue import QUEUES, redis_client
from mail.processing import process_stored
from mail.server import free_port

from .conftest import comments_of, reply

REPO = Path(__file__).resolve().parents[2]


def start_smtp(app, port: int, command: str = "smtp") -> subprocess.Popen:
    env = {
        **os.environ,
        "QUORUM_INSTANCE": app.config["QUORUM_INSTANCE"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "MAIL_DOMAIN": app.config["MAIL_DOMAIN"],
        "SMTP_LISTEN": f"127.0.0.1:{port}",
        "QUORUM_DEMO": "0",
        # `quorum background` processes the replies itself: its sender checks ask the test's DNS server.
        "MAIL_DNS_SERVERS": app.config["MAIL_DNS_SERVERS"],
        "MAIL_DNS_TIMEOUT": str(app.config["MAIL_DNS_TIMEOUT"]),
    }
    process = subprocess.Popen([sys.executable, "-m", "app", command], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # poll until it listens (no fixed sleep)
        if process.poll() is not None:
            raise AssertionError(f"quorum {command} exited: {process.stderr.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"quorum {command} did not start listening in 30 s")


@pytest.mark.parametrize("command", ["smtp", "background"])
def test_a_crash_mid_burst_loses_no_accepted_message_and_posts_each_once(scene, clean_app, command):
    port = free_port()
    server = start_smtp(clean_app, port, command)
    to = scene.reply_address()
    accepted: list[int] = []
    enough = threading.Event()

    def killer():
        enough.wait(60)
        server.send_signal(signal.SIGKILL)

    threading.Thread(target=killer, daemon=True).start()
    started = time.monotonic()
    try:
        client = smtplib.SMTP("127.0.0.1", port, timeout=10)
        for n in range(400):
            try:
                client.sendmail("alice@example.org", [to], reply(to=to, body=f"Burst message {n}.\n"))
            except (smtplib.SMTPException, OSError):
                break  # the server died under us: this one got no 250
            accepted.append(n)
            if len(accepted) == 60:
                enough.set()
    finally:
        elapsed = time.monotonic() - started
        server.wait(10)
    assert 60 <= len(accepted) < 400, "the kill should land in the middle of the burst"
    print(f"\naccepted {len(accepted)} messages before SIGKILL at {len(accepted) / elapsed:.0f} messages/s")

    # Restart: the server serves again, and everything it had said 250 to is there.
    server = start_smtp(clean_app, port, command)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("alice@example.org", [to], reply(to=to, body="After the restart.\n"))
        accepted.append(-1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
    db.session.expire_all()
    stored = db.session.scalars(select(InboundMessage)).all()
    assert len(stored) >= len(accepted)

    # `quorum background` was killed while processing too: a reply it had claimed stays claimed until
    # the sweeper releases it (INBOUND_STUCK_AFTER later); let that time pass for those claims.
    db.session.execute(update(InboundMessage).where(InboundMessage.status == "processing")
                       .values(claimed_at=utcnow() - INBOUND_STUCK_AFTER - timedelta(minutes=1)))
    db.session.commit()

    # Process: the queued jobs (as a worker would), then anything the sweeper finds, twice over.
    SimpleWorker(QUEUES, connection=redis_client()).work(burst=True)
    clean_app.config["SWEEP_GRACE_SECONDS"] = 0
    try:
        sweep()  # RQ runs what it finds inline in tests
    finally:
        clean_app.config["SWEEP_GRACE_SECONDS"] = 60
    for row in stored:
        process_stored(row.id)  # a repeated job is a no-op
    db.session.expire_all()
    bodies = [c.body for c in comments_of(scene.thread)[1:]]
    expected = [f"Burst message {n}." for n in accepted if n >= 0] + ["After the restart."]
    for body in expected:
        assert bodies.count(body) == 1, body
    assert len(bodies) == len(set(bodies))  # nothing posted twice
    assert all(r.status in ("processed", "discarded") for r in db.session.scalars(select(InboundMessage)))
    assert db.session.scalar(select(db.func.count(Comment.id)).where(Comment.inbound_message_id.is_not(None))) == len(bodies)


def test_the_smtp_servers_threads_commit_durably_and_the_worker_beside_them_does_not(app):
    """In `quorum background` the SMTP server and the worker share a process and its connection pool:
    mail answered 250 is committed with synchronous=FULL (survives power loss), while the worker's many
    small commits keep NORMAL (survives a killed process), whichever pooled connection each is given."""
    from sqlalchemy import text

    from app.db import is_sqlite
    from app.extensions import db
    from mail.server import InboundHandler

    if not is_sqlite(app):
        pytest.skip("SQLite's synchronous level; PostgreSQL commits durably anyway")

    def level() -> int:
        return db.session.execute(text("PRAGMA synchronous")).scalar()

    handler = InboundHandler(app, workers=1)
    try:
        levels = []
        for _ in range(2):  # each kind of thread after the other, over the same pooled connection
            levels.append(handler.executor.submit(handler._in_context, level).result())
            with app.app_context():
                levels.append(level())
    finally:
        handler.executor.shutdown(wait=True)
    assert levels == [2, 1, 2, 1]  # FULL in the SMTP server's threads, NORMAL in the worker's
