"""A scratch instance and the real stack (gunicorn, SMTP server, RQ worker) as child processes."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from app.config import DEFAULT_WEB_WORKERS

REPO = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-not-for-production"
MAIL_DOMAIN = "bench.quorum.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def wait_for_http(url: str, timeout: float, process: subprocess.Popen | None = None,
                  statuses: tuple[int, ...] = (200, 503)) -> bool:
    """True once `url` answers with one of `statuses`. A 503 counts by default: /healthz answers it
    while a part is missing (the bench runs no scheduler; a stack may start the web app first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status in statuses:
                    return True
        except urllib.error.HTTPError as error:
            if error.code in statuses:
                return True
            time.sleep(0.2)
        except Exception:
            time.sleep(0.2)
    return False



@dataclass
class Backend:
    """Where an instance keeps its data: SQLite in the folder, or a scratch PostgreSQL database."""

    name: str  # sqlite | postgresql
    database_url: str
    redis_url: str
    drop: callable = None

    def cleanup(self) -> None:
        if self.drop:
            try:
                self.drop()
            except Exception as error:  # a leftover scratch database is not worth failing the run
                print(f"  (could not drop the scratch database: {error})", flush=True)


def sqlite_backend(folder: Path, redis_url: str) -> Backend:
    return Backend("sqlite", f"sqlite:///{folder / 'quorum.db'}", redis_url)


def postgres_backend(server_url: str, redis_url: str, tag: str) -> Backend:
    """Create a scratch database next to the one DATABASE_URL names; drop it afterwards."""
    import psycopg

    url = re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", server_url)
    base, _, name = url.rpartition("/")
    name, _, query = name.partition("?")
    scratch = f"quorum_bench_{tag}_{os.getpid()}"
    admin = f"{base}/{name or 'postgres'}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        conn.execute(f'CREATE DATABASE "{scratch}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')

    full = f"{base}/{scratch}" + (f"?{query}" if query else "")
    return Backend("postgresql", full.replace("postgresql://", "postgresql+psycopg://", 1), redis_url, drop)


def make_app(folder: Path, backend: Backend, **extra):
    """The real app factory, pointed at the scratch instance (used in-process for seeding and counting)."""
    from app import create_app

    config = {
        "QUORUM_INSTANCE": str(folder),
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": backend.database_url,
        "REDIS_URL": backend.redis_url,
        "SMTP_URL": None,
        "BASE_URL": "http://127.0.0.1",
        "MAIL_DOMAIN": MAIL_DOMAIN,
        "QUORUM_DEMO": False,
        "RATELIMIT_ENABLED": True,
    }
    config.update(extra)
    return create_app(config)


def migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def seeded_app(folder: Path, backend: Backend, sizes):
    """The app on a migrated scratch instance filled with the bench's dataset: (app, Seeded). The
    pool is emptied afterwards, so the parts started next share no connection with this process."""
    from .seed import seed

    app = make_app(folder, backend)
    migrate(app)
    with app.app_context():
        from app.extensions import db

        seeded = seed(db.engine, sizes)
        db.engine.dispose()
    return app, seeded


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid: int) -> int:
    """Proportional set size: shared pages split between the processes that share them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_until_steady(pids, timeout: float, quiet: float = 3.0, busy=lambda: False) -> float:
    """Wait until the processes `pids()` names keep their count and resident size (in 2 MB steps) for
    `quiet` seconds while `busy()` stays false (bounded by `timeout`): memory measured then is what
    the processes hold at rest, not in the middle of a burst. Returns the seconds waited."""
    started = time.monotonic()
    last, since = None, started
    while time.monotonic() - started < timeout:
        current = pids()
        shape = (len(current), sum(rss_kb(p) for p in current) // 2048)
        if shape != last or busy():
            last, since = shape, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        time.sleep(0.5)
    return time.monotonic() - started


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return "?"


@dataclass
class Stack:
    """The running parts: name → Popen. Logs go to <instance>/logs/<name>.log."""

    folder: Path
    backend: Backend
    web_port: int = 0
    smtp_port: int = 0
    processes: dict = field(default_factory=dict)
    logs: dict = field(default_factory=dict)
    argv: dict = field(default_factory=dict)  # name → the argv it was started with
    workers: int = field(default_factory=lambda: DEFAULT_WEB_WORKERS)  # what `quorum serve` runs by default
    dns_servers: str = ""  # MAIL_DNS_SERVERS: the loopback DNS server the sender checks ask

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("FLASK_DEBUG", "SMTP_URL", "SECRET_KEY"):
            env.pop(key, None)
        env.update({
            "QUORUM_INSTANCE": str(self.folder),
            "DATABASE_URL": self.backend.database_url,
            "REDIS_URL": self.backend.redis_url,
            "WEB_LISTEN": f"127.0.0.1:{self.web_port}",
            "SMTP_LISTEN": f"127.0.0.1:{self.smtp_port}",
            "BASE_URL": f"http://127.0.0.1:{self.web_port}",
            "MAIL_DOMAIN": MAIL_DOMAIN,
            "QUORUM_DEMO": "0",
            "SECRET_KEY": SECRET_KEY,
            "WEB_WORKERS": str(self.workers),
            "PYTHONUNBUFFERED": "1",
            # The load generator posts as one member per client, far past a member's hourly limit;
            # the bench measures posting itself, so the scratch stack runs without rate limits.
            "RATELIMIT_ENABLED": "0",
            "MAIL_DNS_SERVERS": self.dns_servers,
        })
        return env

    def start(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        logs = self.folder / "logs"
        logs.mkdir(exist_ok=True)
        log = open(logs / f"{name}.log", "ab")
        self.logs[name] = logs / f"{name}.log"
        process = subprocess.Popen(argv, cwd=str(REPO), env=env or self.env(), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        self.processes[name] = process
        self.argv[name] = argv
        return process

    def start_served(self, env: dict | None = None) -> None:
        """The parts as `quorum serve` starts them: app.supervisor's SERVED names and argv, for this
        stack's port and WEB_WORKERS (web: gunicorn; background: SMTP, worker and scheduler)."""
        from app.supervisor import SERVED, units

        argv = units({"WEB_LISTEN": f"127.0.0.1:{self.web_port}", "WEB_WORKERS": self.workers})
        for name in SERVED:
            self.start(name, argv[name], env=env)

    def runs(self, part: str) -> str:
        """The name of the process that runs `part` (smtp, worker, scheduler): its own unit if one
        was started, else the background process that `quorum serve` runs them in."""
        return part if part in self.processes or "background" not in self.processes else "background"

    def restart(self, name: str, env: dict | None = None) -> subprocess.Popen:
        """Stop a part and start it again with the same argv (and, given, another environment)."""
        argv = self.argv[name]
        self.stop(name)
        return self.start(name, argv, env=env)

    def log_tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join(self.logs[name].read_text(errors="replace").splitlines()[-lines:])
        except (KeyError, OSError):
            return ""

    def last_error(self, name: str) -> str:
        """The last exception line in a part's log (what a 500 was), for the report."""
        try:
            lines = self.logs[name].read_text(errors="replace").splitlines()[-4000:]
        except (KeyError, OSError):
            return ""
        for line in reversed(lines):
            if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|NotFound|Exit)\b[:(]?", line):
                return line[:300]
        return ""

    def stop(self, name: str, grace: float = 10.0) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)


def quorum_argv(command: str) -> list[str]:
    return [sys.executable, "-m", "app", command]


def gunicorn_argv(stack: Stack, wsgi: str, port: int) -> list[str]:
    """The documented gunicorn settings (app.cli.gunicorn_args), for another WSGI app and port."""
    from app.supervisor import gunicorn_args

    args = gunicorn_args({"WEB_LISTEN": f"127.0.0.1:{port}", "WEB_WORKERS": stack.workers})
    args = [wsgi if a == "wsgi:app" else a for a in args]
    return [sys.executable, "-m", "gunicorn", *args]
