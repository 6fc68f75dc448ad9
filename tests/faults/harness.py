"""The fault suite's stack: Quorum's real parts started as `quorum serve` starts them, or as separate
units (the same argv, from app.supervisor.units), a Redis server of the test's own that it may stop, a scratch
database (SQLite in the instance folder, or a scratch PostgreSQL database when DATABASE_URL is
set), and a loopback relay that records every delivery and can be told to misbehave.

The test process also holds an app of its own on the same database and Redis, to seed members
and to look at what the parts did.
"""
from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

from aiosmtpd.controller import Controller

from bench.stack import Backend, Stack, free_port, postgres_backend, sqlite_backend, wait_for_http, wait_for_port
from tests.helpers import RedisServer

BOUND = 60.0  # no wait in the fault suite lasts longer than this


def wait_until(predicate, timeout: float = BOUND, message: str = "condition", every: float = 0.2):
    """Poll `predicate` until it returns something true; fail with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(every)


@dataclass(frozen=True)
class Delivery:
    recipient: str
    message_id: str
    subject: str


class Relay:
    """A loopback SMTP relay: records each accepted delivery; `mode` makes it misbehave.

    accept: 250 · refuse: answer `code` (e.g. 421, 451) at MAIL FROM · hang: say nothing for
    `hang_seconds` after DATA (the sender times out), then 451 · drop: close the connection at
    DATA without an answer. Recipients in `refused_recipients` get 550 at RCPT, for good.
    """

    def __init__(self):
        self.port = free_port()
        self.mode = "accept"
        self.code = "451 4.3.0 Try again later"
        self.hang_seconds = 8.0
        self.refused_recipients: set[str] = set()
        self.attempts = 0  # every transaction that reached DATA or was refused
        self._deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=off"

    def start(self) -> "Relay":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mode == "refuse":
            with self._lock:
                self.attempts += 1
            return self.code
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused_recipients:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.attempts += 1
        if self.mode == "hang":
            await asyncio.sleep(self.hang_seconds)
            return "451 4.4.2 Too slow"
        if self.mode == "drop":
            server.transport.close()
            return "421 4.4.2 Closing"
        if self.mode == "refuse":
            return self.code
        message = message_from_bytes(envelope.original_content or envelope.content)
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self._deliveries.append(Delivery(recipient.lower(), message.get("Message-ID", ""),
                                                 message.get("Subject", "")))
        return "250 OK"

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def copies(self, subject_contains: str = "") -> Counter:
        """How many times each (recipient, Message-ID) arrived, among subjects containing the text."""
        return Counter((d.recipient, d.message_id) for d in self.deliveries() if subject_contains in d.subject)

    def recipients(self, subject_contains: str = "") -> Counter:
        return Counter(d.recipient for d in self.deliveries() if subject_contains in d.subject)


@dataclass
class FaultStack:
    """The running parts of one instance, and the Redis, relay and app around them."""

    folder: Path
    dns_servers: str
    backend_tag: str
    settings: dict = field(default_factory=dict)  # extra environment for every part
    database_url: str | None = None  # a database of the test's own (e.g. a private PostgreSQL)

    def __post_init__(self):
        self.redis = RedisServer(self.folder / "redis").start()
        if self.database_url:
            self.backend = Backend("postgresql", self.database_url, self.redis.url)
        elif os.environ.get("DATABASE_URL"):
            self.backend = postgres_backend(os.environ["DATABASE_URL"], self.redis.url, self.backend_tag)
        else:
            self.backend = sqlite_backend(self.folder, self.redis.url)
        self.relay = Relay().start()
        self.stack = Stack(self.folder, self.backend, web_port=free_port(), smtp_port=free_port(), workers=2,
                           dns_servers=self.dns_servers)
        self.app = self._make_app()
        from flask_migrate import upgrade

        with self.app.app_context():
            upgrade()

    # --- the environment every part gets ------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = self.stack.env()
        env.update({
            "SMTP_URL": self.relay.url,
            "SWEEP_GRACE_SECONDS": "2",
            "LOG_LEVEL": "INFO",
        })
        env.update({key: str(value) for key, value in self.settings.items()})
        return env

    def _make_app(self):
        from app import create_app

        env = self.env()
        config = {
            "QUORUM_INSTANCE": str(self.folder),
            "SECRET_KEY": env["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": self.backend.database_url,
            "REDIS_URL": self.redis.url,
            "SMTP_URL": self.relay.url,
            "BASE_URL": env["BASE_URL"],
            "WEB_LISTEN": env["WEB_LISTEN"],
            "SMTP_LISTEN": env["SMTP_LISTEN"],
            "MAIL_DOMAIN": env["MAIL_DOMAIN"],
            "QUORUM_DEMO": False,
            "RATELIMIT_ENABLED": False,
            "MAIL_DNS_SERVERS": self.dns_servers,
            "MAIL_DNS_TIMEOUT": 1.0,
        }
        return create_app(config)

    # --- parts ----------------------------------------------------------------------------------

    def argv(self, name: str) -> list[str]:
        """A part's argv as Quorum starts it: `quorum serve`'s ("web", "background") or a separate unit's
        ("smtp", "worker", "scheduler"), from app.supervisor."""
        from app.supervisor import units

        return units(self.app.config)[name]

    def start(self, *names: str) -> "FaultStack":
        """Start parts ("web", "background", or the separate "smtp", "worker", "scheduler"); wait until
        web and SMTP listen."""
        for name in names:
            process = self.stack.start(name, self.argv(name), env=self.env())
            if name == "web":
                url = f"http://127.0.0.1:{self.stack.web_port}/healthz"
                if not wait_for_http(url, 60, process) and not wait_for_port(self.stack.web_port, 5, process):
                    raise AssertionError(f"web did not start:\n{self.stack.log_tail('web', 40)}")
            if name in ("smtp", "background") and not wait_for_port(self.stack.smtp_port, 60, process):
                raise AssertionError(f"{name} did not start:\n{self.stack.log_tail(name, 40)}")
        return self

    def process(self, name: str):
        return self.stack.processes[name]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill a part (its whole process group) at once, as a crash or the OOM killer would."""
        process = self.stack.processes.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)

    def stop(self, name: str) -> None:
        self.stack.stop(name)

    def log(self, name: str) -> str:
        try:
            return self.stack.logs[name].read_text(errors="replace")
        except (KeyError, OSError):
            return ""

    def close(self) -> None:
        self.stack.stop_all()
        self.relay.stop()
        self.redis.stop()
        with self.app.app_context():
            from app.extensions import db

            db.engine.dispose()
        self.backend.cleanup()

    # --- talking to it --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.stack.web_port}"

    def send_mail(self, raw: bytes, sender: str, to: str, source: str = "127.0.0.1") -> tuple[int, str]:
        """Hand one message to Quorum's SMTP server; return its answer to DATA (code, text)."""
        with smtplib.SMTP("127.0.0.1", self.stack.smtp_port, timeout=30, source_address=(source, 0)) as client:
            client.ehlo("mail.example.org")
            code, text = client.mail(sender)
            if code != 250:
                return code, text.decode(errors="replace")
            code, text = client.rcpt(to)
            if code not in (250, 251):
                return code, text.decode(errors="replace")
            code, text = client.data(raw)
            return code, text.decode(errors="replace")

    def in_app(self):
        """An app context on the instance's database (to seed and to look)."""
        return self.app.app_context()

    def browser_page(self, browser, email: str, *, js: bool = True):
        """A Chromium page signed in as `email` with a one-time link, as the member would."""
        from datetime import timedelta

        from app.services import accounts

        with self.in_app():
            link = accounts.issue_sign_in_link(email=email, lifetime=timedelta(hours=1))
        context = browser.new_context(base_url=self.base_url, java_script_enabled=js)
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.goto(link)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in its folder, on a free loopback port), so a
    test can stop and restart the server itself without touching anyone else's databases."""

    def __init__(self):
        import glob
        import shutil

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) or [shutil.which("pg_ctl") or ""]
        self.bin = Path(found[-1]).parent if found[-1] else None
        self.data: Path | None = None  # made by init(), outside pytest's folders (postgres must reach it)
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def available(self) -> bool:
        return self.bin is not None and (self.bin / "initdb").exists()

    def _run(self, *argv: str) -> None:
        import subprocess

        command = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout[-1000:]}{done.stderr[-1000:]}")

    def init(self) -> "PrivatePostgres":
        import shutil
        import tempfile

        self.data = Path(tempfile.mkdtemp(prefix="quorum-faults-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        return self.start()

    def start(self) -> "PrivatePostgres":
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.data / "server.log"), "-w", "start")
        return self

    def stop(self) -> None:
        """Stop now, as a restart does: every connection is cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        import shutil

        if self.data is None:
            return
        try:
            self.stop()
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(self.data, ignore_errors=True)
