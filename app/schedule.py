"""Periodic work, run by RQ's cron scheduler: it only enqueues jobs; workers do them.

Every job here is idempotent, so two schedulers or a restart never do anything twice; and each run
is claimed in Redis (claim_run), so with a scheduler on every host a periodic job is enqueued once.
The same process also moves RQ's scheduled jobs (retries with backoff) onto the queue when
they are due, so workers need no scheduler process of their own.
"""
from __future__ import annotations

from flask import Flask
from rq.cron import CronScheduler
from rq.scheduler import RQScheduler

from . import jobs
from .dispatch import sweep_pending
from .queue import QUEUES, redis_client

# (job, seconds between runs).
PERIODIC_JOBS: list[tuple[object, int]] = [
    (jobs.backup_if_due, 3600),
    (jobs.purge_expired_exports, 3600),
    (jobs.purge_personal_data, 86400),
    (sweep_pending, 60),
    (jobs.enqueue_due_digests, 300),
    (jobs.close_due_polls, 30),
    (jobs.send_closing_soon, 60),
    (jobs.expire_inbound, 86400),
    (jobs.expire_sender_confirmations, 3600),
    (jobs.tell_cut_off_aliases, 300),
    (jobs.delete_due_groups, 3600),
]
PERIODIC_JOBS.append((jobs.send_outcome_reviews, 300))  # an outcome's review date: its author is reminded



class QuorumScheduler(CronScheduler):
    """RQ's cron scheduler that also promotes due scheduled jobs (RQ's own retry scheduling)."""

    def __init__(self, connection, **kwargs):
        super().__init__(connection=connection, **kwargs)
        # RQ's lock makes sure only one scheduler promotes a queue's jobs at a time.
        self.promoter = RQScheduler(QUEUES, connection=connection)

    def enqueue_jobs(self):
        enqueued = self.enqueue_claimed_jobs()
        self.promote_scheduled_jobs()
        return enqueued

    def enqueue_claimed_jobs(self) -> list:
        """Enqueue each due job only if this scheduler claims its run: a key in Redis, set if absent,
        that lives a little less than the job's interval. However many schedulers run (one per
        host), each periodic job is enqueued once per interval; if the one that claimed it dies,
        another claims the next run."""
        from rq.cron import now

        enqueue_time = now()
        enqueued = []
        for job in self._cron_jobs:
            if not job.should_run():
                continue
            if claim_run(self.connection, job.func_name, job.interval or 60):
                job.enqueue(self.connection)
                enqueued.append(job)
            job.set_enqueue_time(enqueue_time)  # claimed here or elsewhere: this run is taken
        return enqueued

    def promote_scheduled_jobs(self) -> None:
        promoter = self.promoter
        if not promoter.acquired_locks or promoter.should_reacquire_locks:
            promoter.acquire_locks()
        if promoter.acquired_locks:
            promoter.enqueue_scheduled_jobs()
            promoter.heartbeat()

    def calculate_sleep_interval(self) -> float:
        # Retries are scheduled to the second; look at least every second.
        return min(super().calculate_sleep_interval(), 1.0)

    def register_death(self, pipeline=None) -> None:
        self.promoter.release_locks()
        super().register_death(pipeline)


CLAIM_PREFIX = "quorum:cron-claim:"


def claim_run(connection, name: str, interval: int) -> bool:
    """True for the one scheduler that takes this interval's run of `name`."""
    ttl_ms = max(500, int(interval * 1000 * 0.9))
    return bool(connection.set(CLAIM_PREFIX + name, "1", nx=True, px=ttl_ms))


def build_scheduler(app: Flask) -> CronScheduler:
    scheduler = QuorumScheduler(redis_client(app), name="quorum-scheduler")
    intervals = {sweep_pending: int(app.config["SWEEP_INTERVAL_SECONDS"]),
                 jobs.enqueue_due_digests: int(app.config["DIGEST_CHECK_SECONDS"])}
    for func, interval in PERIODIC_JOBS:
        interval = intervals.get(func, interval)
        scheduler.register(func, queue_name="default", interval=interval, job_timeout=600)
    return scheduler
