"""`quorum serve`: one foreground process that runs and watches every part of Quorum.

It prepares the instance (embedded Redis, migrations, demo data), then starts the web app
(gunicorn), the SMTP server, an RQ worker and the scheduler as children. A child that
crashes is logged and restarted with backoff; Ctrl-C (or SIGTERM) stops them all.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask

log = logging.getLogger("quorum.serve")


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    backoff: float = field(default=1.0)


def prepare_instance(app: Flask) -> None:
    """Apply migrations and, on a new empty instance, seed the demo and print a sign-in link."""
    from flask_migrate import upgrade

    from .demo import instance_is_empty, seed_demo

    with app.app_context():
        upgrade()
        outbox = Path(app.config["QUORUM_INSTANCE"]) / "outbox"
        if instance_is_empty():
            if app.config["QUORUM_DEMO"]:
                result = seed_demo()
                print(f"\n  A demo organisation is ready ({result['groups']} groups, {result['members']} members).", flush=True)
                print(f"  Sign in as the demo admin ({result['admin_email']}) with this one-time link:\n\n    {result['link']}\n", flush=True)
            else:
                print("\n  This instance is empty. Create your first account with:", flush=True)
                print("    quorum user create you@example.org --name 'Your Name'\n", flush=True)
        if not app.config.get("SMTP_URL"):
            print(f"  Outgoing mail is written to {outbox}/ (set SMTP_URL to send it).", flush=True)
        print(f"  Web: {app.config['BASE_URL']}/   SMTP in: {app.config['SMTP_LISTEN']}\n", flush=True)


def gunicorn_args(cfg) -> list[str]:
    return [
        "--bind", cfg["WEB_LISTEN"], "--workers", str(cfg["WEB_WORKERS"]), "--worker-class", "sync",
        "--access-logfile", "-", "--logger-class", "app.weblog.RedactingLogger", "--forwarded-allow-ips", "127.0.0.1",
        "--graceful-timeout", "10", "--timeout", "60", "--no-control-socket", "--preload", "wsgi:app",
    ]


def children(app: Flask) -> list[Child]:
    python = sys.executable
    quorum = [python, "-m", "app"]
    return [
        Child("web", [python, "-m", "gunicorn", *gunicorn_args(app.config)]),
        Child("smtp", [*quorum, "smtp"]),
        Child("worker", [*quorum, "worker"]),
        Child("scheduler", [*quorum, "scheduler"]),
    ]


def child_environment(app: Flask) -> dict[str, str]:
    env = dict(os.environ)
    # Every child shares this process's Redis (the embedded one if none was configured).
    env["REDIS_URL"] = app.config["REDIS_URL"]
    env["QUORUM_INSTANCE"] = app.config["QUORUM_INSTANCE"]
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_all(app: Flask) -> int:
    prepare_instance(app)
    env = child_environment(app)
    cwd = str(Path(__file__).resolve().parent.parent)
    procs = children(app)
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    def start(child: Child) -> None:
        child.process = subprocess.Popen(child.argv, env=env, cwd=cwd)
        child.started_at = time.monotonic()
        log.info("started %s (pid %s)", child.name, child.process.pid)

    for child in procs:
        start(child)
    try:
        while not stopping:
            now = time.monotonic()
            for child in procs:
                if child.process is None:
                    if now >= child.next_start:
                        start(child)
                    continue
                code = child.process.poll()
                if code is None:
                    if now - child.started_at > 60:
                        child.backoff = 1.0  # it ran a good while: a later crash starts fresh
                    continue
                child.restarts += 1
                log.error("%s exited with code %s; restarting in %.0f s (restart %d)",
                          child.name, code, child.backoff, child.restarts)
                child.process = None
                child.next_start = now + child.backoff
                child.backoff = min(child.backoff * 2, 30.0)
            time.sleep(0.5)
    finally:
        shutdown(procs)
        from .queue import stop_embedded_redis

        stop_embedded_redis()  # the children are gone; the embedded Redis goes with them
    return 0


def shutdown(procs: list[Child], grace: float = 10.0) -> None:
    for child in procs:
        if child.process and child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in procs:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", child.name)
            child.process.kill()
    log.info("all parts of Quorum stopped")
