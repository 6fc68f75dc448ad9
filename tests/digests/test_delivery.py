"""One digest per member per period: across repeated runs, two schedulers, restarts and crashes."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from app import jobs
from app.email import messages
from app.extensions import db
from app.models import DigestDelivery, OutboundMessage
from app.queue import queue, redis_client
from app.services import digests
from app.services.digests import sending as digest_sending
from tests.factories import MembershipFactory, UserFactory

from .conftest import digests_to, run


@pytest.fixture
def async_queue(clean_app):
    """Jobs go to real Redis and wait for a worker, as in production."""
    clean_app.config["RQ_ASYNC"] = True
    yield
    clean_app.config["RQ_ASYNC"] = False


def work() -> None:
    SimpleWorker([queue()], connection=redis_client()).work(burst=True)


def digest_rows(user) -> list[OutboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "digest",
                                                                  OutboundMessage.user_id == user.id)))


def more_members(scene, n: int):
    users = [UserFactory(digest_frequency="daily", digest_hour=0) for _ in range(n)]
    for user in users:
        MembershipFactory(group=scene.group, user=user, volume="digest")
    return users


def test_running_twice_sends_nothing_twice(scene, outbox, later):
    scene.thread()
    assert run(later)["sent"] == 1
    assert run(later)["sent"] == 0
    assert run(later + timedelta(hours=3))["sent"] == 0
    assert len(digests_to(outbox, scene.alice)) == 1


def test_two_schedulers_enqueue_each_member_once_and_the_worker_sends_one_digest_each(scene, outbox, later, async_queue):
    members = [scene.alice, *more_members(scene, 4)]
    scene.thread()
    assert jobs.enqueue_due_digests(later.isoformat()) == 5
    assert jobs.enqueue_due_digests(later.isoformat()) == 0  # the second scheduler finds them all handed out
    work()
    for user in members:
        assert len(digest_rows(user)) == 1
    assert len([m for m in outbox.messages() if "digest" in m.subject]) == 5


def test_a_restart_that_loses_redis_still_sends_one_digest_each(scene, later, async_queue):
    members = [scene.alice, *more_members(scene, 2)]
    scene.thread()
    jobs.enqueue_due_digests(later.isoformat())
    jobs.enqueue_due_digests(later.isoformat())
    redis_client().flushdb()  # embedded Redis keeps nothing across a restart
    jobs.enqueue_due_digests((later + timedelta(minutes=5)).isoformat())
    work()
    assert [len(digest_rows(u)) for u in members] == [1, 1, 1]
    assert digests.find_due(later + timedelta(minutes=10)) == []


def test_duplicate_batch_jobs_for_the_same_members_send_once(scene, later, async_queue):
    members = [scene.alice, *more_members(scene, 2)]
    scene.thread()
    due = digests.find_due(later)
    for _ in range(2):  # e.g. a retried job and its original
        queue().enqueue(jobs.build_digest_batch, [d.user_id for d in due], [d.period_key for d in due], later.isoformat())
    work()
    assert [len(digest_rows(u)) for u in members] == [1, 1, 1]


def test_a_worker_killed_mid_batch_leaves_nothing_half_done_and_the_next_run_sends(scene, later, monkeypatch, async_queue):
    members = [scene.alice, *more_members(scene, 2)]
    scene.thread()
    real_digest = messages.digest
    calls = []

    def dies_on_the_second(**kwargs):
        calls.append(kwargs["user"].email)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # not an Exception: like a kill, nothing handles it
        return real_digest(**kwargs)

    monkeypatch.setattr(messages, "digest", dies_on_the_second)
    due = digests.find_due(later)
    with pytest.raises(SystemExit):
        digests.deliver_batch([d.user_id for d in due], [d.period_key for d in due], now=later)
    db.session.rollback()  # the process is gone; its transaction never committed
    monkeypatch.setattr(messages, "digest", real_digest)
    assert db.session.scalar(select(func.count(DigestDelivery.id))) == 0
    assert [len(digest_rows(u)) for u in members] == [0, 0, 0]
    # The next scheduler run finds them still due, and this time the batch completes.
    assert len(digests.find_due(later + timedelta(minutes=20))) == 3
    jobs.enqueue_due_digests((later + timedelta(minutes=20)).isoformat())
    work()
    assert [len(digest_rows(u)) for u in members] == [1, 1, 1]


def test_a_failing_batch_job_is_recorded_as_failed_by_rq(scene, later, monkeypatch, async_queue):
    from rq.registry import FailedJobRegistry

    scene.thread()
    monkeypatch.setattr(digest_sending, "render_email", lambda *a, **k: 1 / 0)
    jobs.enqueue_due_digests(later.isoformat())
    work()
    assert len(FailedJobRegistry(queue=queue())) == 1
    assert digest_rows(scene.alice) == []


def test_two_workers_building_the_same_batch_at_once_send_one_digest_each(clean_app, scene, later):
    members = [scene.alice, *more_members(scene, 5)]
    scene.thread()
    due = digests.find_due(later)
    ids, keys = [d.user_id for d in due], [d.period_key for d in due]
    results, errors = [], []
    start = threading.Barrier(2)

    def worker():
        with clean_app.app_context():
            try:
                start.wait()
                results.append(digests.deliver_batch(ids, keys, now=later))
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r["sent"] for r in results) == 6
    assert [len(digest_rows(u)) for u in members] == [1] * 6
