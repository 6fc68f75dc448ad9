"""`quorum serve`: one foreground process that runs and watches every part of Quorum.

It prepares the instance (embedded Redis, migrations, demo data), starts two children: the web app
(gunicorn) and `quorum background` (the SMTP server, an RQ worker and the scheduler in one process,
app/background.py), and says Quorum is ready (with the demo's sign-in link) only once `/healthz`
answers 200: every part listening or beating. A part
that stops is logged once with its last lines of output and restarted with backoff; a part that
keeps crashing stops everything with a message naming it. Ctrl-C, SIGTERM or SIGHUP stop every
child and then the embedded Redis, within 10 seconds.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask

from .processes import describe_exit, die_with_parent

log = logging.getLogger("quorum.serve")

READY_TIMEOUT = 120.0  # seconds for every part to come up
STOP_GRACE = 7.0  # SIGTERM, then SIGKILL: the parts and then Redis are gone within 10 s
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
STEADY_AFTER = 60.0  # a part that ran this long starts its backoff afresh
CRASH_LIMIT, CRASH_WINDOW = 5, 300.0  # this many crashes of one part in this many seconds: give up
SETTLE_TIMEOUT = 120.0  # the closing summary waits at most this long for start-up jobs to finish
TAIL_LINES = 15


@dataclass
class Part:
    """One child process of `quorum serve`, with the last lines it wrote to stderr."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    next_start: float = 0.0
    backoff: float = BACKOFF_FIRST
    crashes: deque = field(default_factory=deque)
    tail: deque = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    reader: threading.Thread | None = None

    def start(self, env: dict[str, str], cwd: str) -> None:
        # Its own session (so Ctrl-C reaches only `quorum serve`, which stops the parts in order)
        # and told to die with us (so a killed `quorum serve` leaves nothing running).
        self.process = subprocess.Popen(self.argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True, preexec_fn=die_with_parent())
        self.started_at = time.monotonic()
        self.tail.clear()
        self.reader = threading.Thread(target=self._forward, args=(self.process.stderr,), daemon=True,
                                       name=f"{self.name}-stderr")
        self.reader.start()

    def _forward(self, stream) -> None:
        """Copy the part's stderr to ours, line by line, keeping the last lines for a crash report."""
        for line in iter(stream.readline, b""):
            self.tail.append(line.decode(errors="replace").rstrip())
            try:
                sys.stderr.buffer.write(line)
                sys.stderr.flush()
            except (OSError, ValueError):
                pass  # our own stderr is gone (a closed terminal): keep draining the pipe
        stream.close()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_group(self, sig: int) -> None:
        """Signal the part and everything it started (gunicorn's workers share its process group)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def last_output(self) -> str:
        if self.reader is not None:
            self.reader.join(timeout=1.0)  # the lines it wrote just before it died
        return "\n".join(f"    {line}" for line in self.tail) or "    (nothing on stderr)"


@dataclass
class Outcome:
    ok: bool
    message: str = ""


def prepare_instance(app: Flask) -> dict:
    """Apply migrations and, on a new empty instance, seed the demo; say what to print when ready."""
    from flask_migrate import upgrade

    from .demo import instance_is_empty, seed_demo

    with app.app_context():
        upgrade()
        welcome: dict = {}
        if instance_is_empty():
            if app.config["QUORUM_DEMO"]:
                welcome = seed_demo() or {}
            else:
                welcome = {"empty": True}
        from .extensions import db

        db.engine.dispose()  # `quorum serve` itself holds no database connection while the parts run
    return welcome


def gunicorn_args(cfg, *, preload: bool = False) -> list[str]:
    """gunicorn's settings. Without `preload` the master never loads the app (about 20 MB instead of
    100; each worker loads its own); `quorum web` preloads only when its master must own the embedded
    Redis (no REDIS_URL), which `quorum serve` starts itself."""
    return [
        "--bind", cfg["WEB_LISTEN"], "--workers", str(cfg["WEB_WORKERS"]), "--worker-class", "sync",
        "--access-logfile", "-", "--logger-class", "app.weblog.RedactingLogger", "--forwarded-allow-ips", "127.0.0.1",
        "--graceful-timeout", "5", "--timeout", "60", "--no-control-socket", *(["--preload"] if preload else []),
        "wsgi:app",
    ]


def units(cfg) -> dict[str, list[str]]:
    """Every part's argv by name, for a configuration (WEB_LISTEN, WEB_WORKERS): the two `quorum serve`
    runs (web, background) and the separate units an operator may run instead of background (smtp,
    worker, scheduler; deploy/systemd)."""
    python = sys.executable
    quorum = [python, "-m", "app"]
    return {
        "web": [python, "-m", "gunicorn", *gunicorn_args(cfg)],
        "background": [*quorum, "background"],
        "smtp": [*quorum, "smtp"],
        "worker": [*quorum, "worker"],
        "scheduler": [*quorum, "scheduler"],
    }


SERVED = ("web", "background")  # what `quorum serve` runs: SMTP, worker and scheduler share one process


def children(app: Flask) -> list[Part]:
    """The parts, as `quorum serve` starts them (the fault suite and the bench start them with the same argv)."""
    argv = units(app.config)
    return [Part(name, argv[name]) for name in SERVED]


def child_environment(app: Flask) -> dict[str, str]:
    env = dict(os.environ)
    # Every child shares this process's Redis (the embedded one if none was configured).
    env["REDIS_URL"] = app.config["REDIS_URL"]
    env["QUORUM_INSTANCE"] = app.config["QUORUM_INSTANCE"]
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class Supervisor:
    """Starts the parts, restarts the ones that stop, and stops them all."""

    def __init__(self, app: Flask, members: list[Part]):
        self.app = app
        self.parts = members
        self.env = child_environment(app)
        self.cwd = str(Path(__file__).resolve().parent.parent)
        self.stop_requested = ""  # the signal's name once one came
        self.hurry = False  # a second signal: stop without waiting

    def request_stop(self, signum, _frame) -> None:
        if self.stop_requested:
            self.hurry = True
            return
        self.stop_requested = signal.Signals(signum).name

    def start_all(self) -> None:
        for part in self.parts:
            part.start(self.env, self.cwd)
            log.info("started %s (pid %s)", part.name, part.process.pid)

    def tick(self) -> Outcome | None:
        """Restart what stopped; an Outcome when a part keeps crashing."""
        now = time.monotonic()
        for part in self.parts:
            if part.process is None:
                if now >= part.next_start:
                    part.start(self.env, self.cwd)
                    log.info("restarted %s (pid %s)", part.name, part.process.pid)
                continue
            code = part.process.poll()
            if code is None:
                if now - part.started_at > STEADY_AFTER:
                    part.backoff = BACKOFF_FIRST
                continue
            part.signal_group(signal.SIGKILL)  # whatever it left behind (gunicorn workers) goes too
            part.process = None
            part.crashes.append(now)
            while part.crashes and now - part.crashes[0] > CRASH_WINDOW:
                part.crashes.popleft()
            cause = describe_exit(code)
            if len(part.crashes) >= CRASH_LIMIT:
                span = now - part.crashes[0]
                within = f"{span:.0f} s" if span < 120 else f"{span / 60:.0f} min"
                return Outcome(False, f"the {part.name} part crashed {len(part.crashes)} times in {within} "
                                      f"(last: {cause}); stopping Quorum. Its last output:\n{part.last_output()}")
            log.error("%s stopped (%s); restarting it in %.1f s. Its last output:\n%s",
                      part.name, cause, part.backoff, part.last_output())
            part.next_start = now + part.backoff
            part.backoff = min(part.backoff * 2, BACKOFF_MAX)
        return None

    def wait_until_ready(self, timeout: float = READY_TIMEOUT) -> Outcome:
        """Supervise until /healthz answers 200 (every part up), a signal, a crash loop or the timeout."""
        deadline = time.monotonic() + timeout
        last: dict = {}
        while not self.stop_requested:
            failed = self.tick()
            if failed:
                return failed
            status, last = health(self.app.config["WEB_LISTEN"], last)
            if status == 200:
                return Outcome(True)
            if time.monotonic() > deadline:
                down = ", ".join(last.get("down", [])) or "web"
                return Outcome(False, f"Quorum did not become ready within {timeout:.0f} s (not up: {down}); stopping.")
            time.sleep(0.5)
        return Outcome(True)

    def watch(self, on_settled) -> Outcome:
        """Supervise until a signal or a crash loop; call on_settled() once start-up work is done."""
        ready_at = time.monotonic()
        settled = False
        while not self.stop_requested:
            failed = self.tick()
            if failed:
                return failed
            if not settled and (queue_is_empty(self.app) or time.monotonic() - ready_at > SETTLE_TIMEOUT):
                settled = True
                on_settled()
            time.sleep(0.25)
        return Outcome(True)

    def stop_all(self, grace: float = STOP_GRACE) -> None:
        running = [part for part in self.parts if part.process is not None]
        for part in running:
            part.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for part in running:
            while part.process.poll() is None and time.monotonic() < deadline and not self.hurry:
                time.sleep(0.05)
            if part.process.poll() is None:
                log.warning("%s did not stop in time; killing it", part.name)
        for part in running:
            part.signal_group(signal.SIGKILL)  # the stragglers, and anything a part left in its group
            try:
                part.process.wait(2)
            except subprocess.TimeoutExpired:
                pass
        log.info("all parts of Quorum stopped")


def health(listen: str, last: dict) -> tuple[int, dict]:
    """GET /healthz on the web part: (status, body), or (0, last body) while it does not answer."""
    host, _, port = listen.rpartition(":")
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=3) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        except ValueError:
            return error.code, last
    except (OSError, ValueError):
        return 0, last


def queue_is_empty(app: Flask) -> bool:
    from rq import Queue

    from .queue import QUEUES, redis_client

    try:
        return all(len(Queue(name, connection=redis_client(app))) == 0 for name in QUEUES)
    except Exception:  # noqa: BLE001 - Redis away: nothing to wait for
        return True


def welcome_lines(app: Flask, welcome: dict) -> list[str]:
    cfg = app.config
    lines = ["", "  Quorum is ready.", f"    Web:      {cfg['BASE_URL']}/", f"    SMTP in:  {cfg['SMTP_LISTEN']}"]
    if not cfg.get("SMTP_URL"):
        lines.append(f"    Mail out: written to {Path(cfg['QUORUM_INSTANCE']) / 'outbox'}/ (set SMTP_URL to send it)")
    if welcome.get("link"):
        lines += [f"  A demo organisation is ready ({welcome['groups']} groups, {welcome['members']} members).",
                  f"  Sign in as the demo admin ({welcome['admin_email']}) with this one-time link:", "",
                  f"    {welcome['link']}", ""]
    elif welcome.get("empty"):
        lines += ["  This instance is empty. Create your first account with:",
                  "    quorum user create you@example.org --name 'Your Name'", ""]
    return lines


def summary_lines(app: Flask, welcome: dict) -> list[str]:
    cfg = app.config
    lines = ["", f"  Quorum is running: web {cfg['BASE_URL']}/, SMTP in {cfg['SMTP_LISTEN']}. Ctrl-C stops it."]
    if welcome.get("link"):
        lines.append(f"  Demo admin ({welcome['admin_email']}), one-time sign-in link: {welcome['link']}")
    lines.append("  A fresh sign-in link for anyone, any time: quorum login-link EMAIL")
    from .stewardship.backup.schedule import configured

    with app.app_context():
        if not configured():
            lines.append("  Advice: backups are off. Set BACKUP_DESTINATIONS and BACKUP_AGE_RECIPIENT for a daily "
                         "encrypted backup (SECURITY.md, \"Backups\").")
    lines.append("")
    return lines


def run_all(app: Flask) -> int:
    from . import heartbeat
    from .queue import redis_client, stop_embedded_redis

    supervisor = Supervisor(app, children(app))
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, supervisor.request_stop)
    outcome = Outcome(True)
    try:
        welcome = prepare_instance(app)
        try:
            heartbeat.clear(redis_client(app))  # an earlier run's beats must not count as this run's
        except Exception:  # noqa: BLE001 - Redis down: /healthz will say so
            pass
        if supervisor.stop_requested:  # Ctrl-C during migrations or the demo: start nothing
            return 0
        supervisor.start_all()
        outcome = supervisor.wait_until_ready()
        if outcome.ok and not supervisor.stop_requested:
            print("\n".join(welcome_lines(app, welcome)), flush=True)
            outcome = supervisor.watch(lambda: print("\n".join(summary_lines(app, welcome)), flush=True))
    finally:
        if supervisor.stop_requested:
            print(f"\n  Stopping Quorum ({supervisor.stop_requested}; again to stop at once)…", file=sys.stderr,
                  flush=True)
        supervisor.stop_all(0 if supervisor.hurry else STOP_GRACE)
        stop_embedded_redis()  # the parts are gone; the embedded Redis goes with them
    if not outcome.ok:
        print(f"\nquorum serve: {outcome.message}", file=sys.stderr, flush=True)
        return 1
    return 0
