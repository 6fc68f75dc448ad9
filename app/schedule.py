"""Periodic work, run by RQ's cron scheduler: it only enqueues jobs; workers do them.

Every job here is idempotent, so two schedulers or a restart never do anything twice; and only one
scheduler leads (a lease in Redis it renews every second, see lead()), so with a scheduler on every
host a periodic job is enqueued once per interval. If the leader dies, another takes over within
LEADER_LEASE_MS; one that stops cleanly hands the lease back at once.
The same process also moves RQ's scheduled jobs (retries with backoff) onto the queue when
they are due, so workers need no scheduler process of their own.
"""
from __future__ import annotations

import threading
import uuid

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
    (jobs.send_outcome_reviews, 300),  # an outcome's review date: its author is reminded
]


class QuorumScheduler(CronScheduler):
    """RQ's cron scheduler that also promotes due scheduled jobs (RQ's own retry scheduling)."""

    def __init__(self, connection, **kwargs):
        super().__init__(connection=connection, **kwargs)
        # RQ's lock makes sure only one scheduler promotes a queue's jobs at a time.
        self.promoter = RQScheduler(QUEUES, connection=connection)
        self.leader_id = uuid.uuid4().hex

    def enqueue_jobs(self):
        enqueued = self.enqueue_claimed_jobs()
        self.promote_scheduled_jobs()
        return enqueued

    def enqueue_claimed_jobs(self) -> list:
        """RQ's own enqueueing of due periodic jobs, done only by the leading scheduler. A follower keeps
        no schedule of its own: on taking the lead it runs every job once at once (each is idempotent)."""
        if not self.lead():
            for job in self._cron_jobs:
                job.latest_enqueue_time = None  # whoever leads next starts each job afresh
            return []
        return super().enqueue_jobs()

    def lead(self) -> bool:
        """Take the lease if nobody holds it, or renew it if this scheduler does (one atomic script)."""
        return bool(self.connection.eval(_LEAD, 1, LEADER_KEY, self.leader_id, LEADER_LEASE_MS))

    def promote_scheduled_jobs(self) -> None:
        promoter = self.promoter
        if not promoter.acquired_locks or promoter.should_reacquire_locks:
            promoter.acquire_locks()
        if promoter.acquired_locks:
            promoter.enqueue_scheduled_jobs()
            promoter.heartbeat()

    def run_until(self, stopping) -> None:
        """start() for a thread of `quorum background`: RQ's loop (enqueue what is due, beat, sleep)
        without its signal handlers, which only the main thread may install; ends once `stopping`
        (a threading.Event) is set, handing the lead on as a clean stop does."""
        self.register_birth()
        try:
            while not stopping.is_set():
                if self.enqueue_jobs():
                    self.save()  # RQ's own record of when each job was last enqueued
                self.heartbeat()
                stopping.wait(self.calculate_sleep_interval())
        finally:
            self.register_death()

    def calculate_sleep_interval(self) -> float:
        # Retries are scheduled to the second; look at least every second.
        return min(super().calculate_sleep_interval(), 1.0)

    def register_death(self, pipeline=None) -> None:
        self.promoter.release_locks()
        self.connection.eval(_RESIGN, 1, LEADER_KEY, self.leader_id)  # a clean stop hands the lead on now
        super().register_death(pipeline)


LEADER_KEY = "quorum:scheduler-leader"
LEADER_LEASE_MS = 10_000
# Set the lease if free, or extend it if it is ours: 1 when this scheduler leads.
_LEAD = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
return 0
"""
_RESIGN = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def build_scheduler(app: Flask) -> CronScheduler:
    scheduler = QuorumScheduler(redis_client(app), name="quorum-scheduler")
    intervals = {sweep_pending: int(app.config["SWEEP_INTERVAL_SECONDS"]),
                 jobs.enqueue_due_digests: int(app.config["DIGEST_CHECK_SECONDS"])}
    for func, interval in PERIODIC_JOBS:
        interval = intervals.get(func, interval)
        scheduler.register(func, queue_name="default", interval=interval, job_timeout=600)
    return scheduler


def run(app: Flask, stopping: threading.Event | None = None) -> None:
    """`quorum scheduler` (in the main thread, stopped by SIGTERM or Ctrl-C), or the scheduler thread of
    `quorum background` (stopped by `stopping`); a Redis outage pauses it, it never ends it."""
    from .logs import configure as configure_logging
    from .queue import through_outages

    def loop() -> None:
        built = build_scheduler(app)
        configure_logging(app)  # RQ's schedulers set their loggers to INFO as they are built
        if stopping is None:
            built.start()
        else:
            built.run_until(stopping)

    through_outages(loop, part="scheduler", stopping=stopping)
