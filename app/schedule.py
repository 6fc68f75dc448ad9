"""Periodic work, run by RQ's cron scheduler: it only enqueues jobs; workers do them.

Every job here is idempotent, so two schedulers or a restart never do anything twice.
"""
from __future__ import annotations

from flask import Flask
from rq.cron import CronScheduler

from .queue import redis_client

# (job path inside app.jobs, seconds between runs). Later areas add theirs here.
PERIODIC_JOBS: list[tuple[str, int]] = [
    ("backup_if_due", 3600),
    ("purge_expired_exports", 3600),
    ("purge_personal_data", 86400),
    ("sweep", 60),
    ("enqueue_due_digests", 300),
    ("close_due_polls", 30),
    ("send_closing_soon", 60),
    ("expire_inbound", 86400),
]


def build_scheduler(app: Flask) -> CronScheduler:
    from . import jobs

    scheduler = CronScheduler(connection=redis_client(app), name="quorum-scheduler")
    for name, interval in PERIODIC_JOBS:
        scheduler.register(getattr(jobs, name), queue_name="default", interval=interval, job_timeout=600)
    return scheduler
