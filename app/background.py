"""`quorum background`: the SMTP server, an RQ worker and the scheduler in one process, which is
what `quorum serve` runs next to the web app (one Python process with the app loaded instead of
three: about 200 MB less on a small VPS). Operators who run the parts as separate units
(`quorum smtp`, `quorum worker`, `quorum scheduler`; deploy/systemd) get the same code in three
processes.

The worker runs in the main thread (RQ installs its signal handlers there: SIGTERM or Ctrl-C
finish the job in hand, then stop), the SMTP server on a thread with its own event loop, and the
scheduler on a thread. Each guarantee is the separate parts' own, because each rests on what is
durable rather than on the process: mail is answered 250 only once it is committed, a job is
idempotent, and a copy is sent once (the outbox). So killing this process at any moment loses no
accepted mail and sends no duplicate.

A part that dies does not leave the others running half-dead: the watchdog logs it and stops the
process (the worker finishes its job first, within FAIL_GRACE seconds), which exits non-zero, and
`quorum serve` restarts it; /healthz names the part down meanwhile (its heartbeat stops at once).
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from flask import Flask

log = logging.getLogger("quorum.background")

WATCH_EVERY = 0.5
FAIL_GRACE = 20.0  # a part died: the worker has this long to finish its job before the process exits
JOIN_TIMEOUT = 5.0


class Watchdog(threading.Thread):
    """Stops the process when a part's thread ends while nobody asked it to."""

    def __init__(self, parts: dict[str, threading.Thread], stopping: threading.Event):
        super().__init__(name="watchdog", daemon=True)
        self.parts = parts
        self.stopping = stopping
        self.failed = ""  # the part that died, once one did

    def run(self) -> None:
        while not self.stopping.wait(WATCH_EVERY):
            dead = [name for name, thread in self.parts.items() if not thread.is_alive()]
            if dead and not self.stopping.is_set():
                self.failed = dead[0]
                break
        if not self.failed:
            return
        log.error("the %s part stopped; stopping this process so that it is started again", self.failed)
        self.stopping.set()
        os.kill(os.getpid(), signal.SIGTERM)  # the worker's warm shutdown: it finishes the job in hand
        threading.Timer(FAIL_GRACE, _exit_now, args=(self.failed,)).start()


def _exit_now(part: str) -> None:
    log.error("the worker did not stop within %.0f s after the %s part died; exiting now", FAIL_GRACE, part)
    logging.shutdown()
    os._exit(1)


def run(app: Flask) -> int:
    """Run the three parts until SIGTERM or Ctrl-C (0) or until one of them dies (1)."""
    from mail.server import ServerThread

    from . import schedule, worker
    from .heartbeat import start_beating
    from .queue import redis_client

    # Mail is acknowledged with 250 only once it is on disk: the SMTP server's own threads commit with
    # synchronous=FULL (app.db.durable_commits); the worker's many small commits keep NORMAL.
    stopping = threading.Event()
    smtp = ServerThread(app)
    smtp.start()
    while not smtp.listening.wait(0.1):
        if not smtp.is_alive():  # e.g. the port is taken: its traceback is logged
            return 1
    scheduler = threading.Thread(target=_in_context, args=(app, schedule.run, app, stopping), name="scheduler",
                                 daemon=True)
    scheduler.start()
    start_beating(redis_client(app), "scheduler", alive=lambda: scheduler.is_alive() and not stopping.is_set())
    watchdog = Watchdog({"smtp": smtp, "scheduler": scheduler}, stopping)
    watchdog.start()
    try:
        worker.run(app)  # the main thread: RQ's signal handlers, its heartbeat, until a signal
    finally:
        stopping.set()
        smtp.stop()
        smtp.join(JOIN_TIMEOUT)  # a message being stored is committed before we go
        scheduler.join(JOIN_TIMEOUT)  # it hands the scheduler's lead on
    if watchdog.failed:
        print(f"quorum background: the {watchdog.failed} part stopped", file=sys.stderr, flush=True)
        return 1
    return 0


def _in_context(app: Flask, func, *args) -> None:
    with app.app_context():
        func(*args)
