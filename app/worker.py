"""`quorum worker`: RQ's SimpleWorker, plus a heartbeat for /healthz and one line per slow job.

Jobs run in-process (no fork per job, one database pool per worker). RQ itself logs every job at
INFO (start, "Job OK", result lifespan, "Successfully completed"); configure_logging() keeps those
for LOG_LEVEL=DEBUG, so by default the log holds failures (RQ logs them at ERROR) and slow jobs.
"""
from __future__ import annotations

import logging
import time

from rq import SimpleWorker

log = logging.getLogger("quorum.worker")

SLOW_JOB_SECONDS = 5.0


class QuorumWorker(SimpleWorker):
    def execute_job(self, job, queue):
        started = time.monotonic()
        try:
            return super().execute_job(job, queue)
        finally:
            took = time.monotonic() - started
            if took >= SLOW_JOB_SECONDS:
                log.info("slow job: %s took %.1f s (%s)", job.func_name, took, job.id)


def run(app, *, burst: bool = False) -> None:
    from .heartbeat import start_beating
    from .queue import QUEUES, redis_client, through_outages

    connection = redis_client(app)
    if not burst:
        start_beating(connection, "worker")
    # Scheduled jobs (retries) are promoted by `quorum scheduler`, not by a forked process here;
    # a Redis outage pauses the worker (through_outages) rather than crashing it.
    through_outages(lambda: QuorumWorker(QUEUES, connection=connection).work(burst=burst, with_scheduler=False),
                    part="worker")
