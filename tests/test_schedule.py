"""The scheduler process: periodic jobs, and promotion of scheduled retries to the queue."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rq import Queue


def _noop() -> str:
    return "ran"


def test_the_scheduler_moves_a_due_retry_onto_the_queue(clean_app):
    from app.queue import redis_client
    from app.schedule import build_scheduler

    connection = redis_client(clean_app)
    queue = Queue("default", connection=connection)
    job = queue.enqueue_at(datetime.now(timezone.utc) - timedelta(seconds=1), _noop)
    assert job.id not in queue.job_ids

    scheduler = build_scheduler(clean_app)
    scheduler.promote_scheduled_jobs()
    assert job.id in queue.job_ids
    scheduler.promoter.release_locks()


def test_every_periodic_job_is_a_real_job(clean_app):
    import importlib

    from app.schedule import PERIODIC_JOBS, build_scheduler

    scheduler = build_scheduler(clean_app)
    names = {cron.func_name for cron in scheduler.get_jobs()}
    assert names == {f"{func.__module__}.{func.__name__}" for func, _ in PERIODIC_JOBS}
    for name in names:  # RQ finds each by its dotted name, as a worker will
        module, _, attribute = name.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute))
