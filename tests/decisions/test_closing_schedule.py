"""Polls close on time by themselves: the scheduled jobs run through real Redis and an RQ worker."""
from __future__ import annotations

from datetime import timedelta

from rq import Queue, SimpleWorker
from sqlalchemy import select, update

from app import jobs
from app.extensions import db
from app.models import Event, Poll, utcnow
from app.queue import redis_client
from app.schedule import PERIODIC_JOBS
from app.services import polls as service
from tests.decisions.support import make_poll, setup_group


def run_in_worker(clean_app, func) -> None:
    """Enqueue `func` on a real (asynchronous) queue and let a burst-mode worker run it."""
    queue = Queue("decisions-test", connection=redis_client(clean_app))
    job = queue.enqueue(func)
    SimpleWorker([queue], connection=redis_client(clean_app)).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result().exc_string if job.latest_result() else job.get_status()


def events_of(kind: str, poll_id: int) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.kind == kind, Event.poll_id == poll_id)))


def test_the_scheduler_runs_both_jobs_at_least_every_minute():
    intervals = {func.__name__: seconds for func, seconds in PERIODIC_JOBS}
    assert intervals["close_due_polls"] <= 60 and intervals["send_closing_soon"] <= 60
    assert callable(jobs.close_due_polls) and callable(jobs.send_closing_soon)


def test_a_poll_past_its_closing_time_is_closed_by_the_worker_exactly_once(clean_app):
    group, admin, (ann, *_) = setup_group()
    due = make_poll("proposal", admin, group)
    later = make_poll("check", admin, group)
    service.cast_vote(actor_id=ann.id, poll_id=due.id, choices={due.options[0].id: 1})
    db.session.execute(update(Poll).where(Poll.id == due.id).values(closing_at=utcnow() - timedelta(seconds=5)))
    db.session.commit()

    run_in_worker(clean_app, jobs.close_due_polls)
    run_in_worker(clean_app, jobs.close_due_polls)  # the next tick finds nothing to do
    db.session.expire_all()
    assert db.session.get(Poll, due.id).closed_at is not None
    assert db.session.get(Poll, later.id).is_open
    [closed] = events_of("poll_closed", due.id)
    assert closed.actor_id is None and closed.data["closed_by"] == "schedule" and closed.data["voter_count"] == 1


def test_closing_twice_at_once_records_one_event(clean_app):
    group, admin, _ = setup_group()
    poll = make_poll("count", admin, group)
    at = poll.closing_at + timedelta(seconds=1)
    assert service.close_due_polls(now=at) == 1
    assert service.close_due_polls(now=at) == 0
    assert len(events_of("poll_closed", poll.id)) == 1


def test_closing_soon_is_recorded_once_a_day_before_closing(clean_app):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("proposal", admin, group)
    service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={poll.options[0].id: 1})
    run_in_worker(clean_app, jobs.send_closing_soon)
    assert events_of("poll_closing_soon", poll.id) == []  # three days to go
    # Time moves on: it now closes in 20 hours.
    db.session.execute(update(Poll).where(Poll.id == poll.id).values(
        closing_at=utcnow() + timedelta(hours=20), created_at=utcnow() - timedelta(days=3)))
    db.session.commit()
    run_in_worker(clean_app, jobs.send_closing_soon)
    run_in_worker(clean_app, jobs.send_closing_soon)
    [soon] = events_of("poll_closing_soon", poll.id)
    assert ann.id not in soon.data["non_voter_ids"] and admin.id in soon.data["non_voter_ids"]


def test_a_poll_shorter_than_a_day_gets_no_closing_soon_notice(clean_app):
    group, admin, _ = setup_group()
    poll = make_poll("check", admin, group, closing_at=utcnow() + timedelta(hours=6))
    assert service.send_closing_soon() == 0
    assert events_of("poll_closing_soon", poll.id) == []


def test_reopening_allows_a_new_closing_soon_and_a_new_automatic_close(clean_app):
    group, admin, _ = setup_group()
    poll = make_poll("proposal", admin, group)
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    service.reopen_poll(actor_id=admin.id, poll_id=poll.id, closing_at=utcnow() + timedelta(days=2))
    assert service.close_due_polls(now=utcnow() + timedelta(days=2, seconds=1)) == 1
    assert len(events_of("poll_closed", poll.id)) == 2 and len(events_of("poll_reopened", poll.id)) == 1
