"""After-commit dispatch: whatever a commit makes pending reaches the queue, and a Redis outage
delays side effects without losing them (the sweeper enqueues what the commit could not)."""
from __future__ import annotations

from collections import Counter

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from app import dispatch
from app.extensions import db
from app.models import Discussion, Event, OutboundMessage
from app.queue import QUEUES, queue, redis_client
from app.services import discussions
from tests.factories import GroupFactory, member
from tests.helpers import RedisServer, post, sign_in, use_redis


@pytest.fixture
def private_redis(clean_app, tmp_path):
    """The queue runs on a Redis server of this test's own, which it can stop; jobs wait for a worker."""
    server = RedisServer(tmp_path / "redis").start()
    old = use_redis(clean_app, server.url)
    clean_app.config["RQ_ASYNC"] = True
    yield server
    clean_app.config["RQ_ASYNC"] = False
    clean_app.extensions["quorum_redis"] = old
    server.stop()


@pytest.fixture
def garden(clean_app):
    group = GroupFactory(handle="garden", name="Garden", privacy="closed")
    ann = member(group, role="admin", email="ann@example.org", name="Ann")
    others = [member(group, email=f"m{n}@example.org", name=f"Member {n}") for n in range(4)]
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost bins", body="Where?")
    return group, ann, others, thread


def work() -> None:
    """A worker runs until the queues are empty (jobs it causes included)."""
    SimpleWorker(QUEUES, connection=redis_client()).work(burst=True)


def deliveries(outbox) -> Counter:
    return Counter((mail.to, mail.subject) for mail in outbox.messages())


def test_a_comment_and_a_thread_posted_while_redis_is_down_are_sent_once_after_it_returns(
        clean_app, private_redis, garden, outbox, client):
    group, ann, others, thread = garden
    work()
    outbox.clear()
    sign_in(client, ann)

    private_redis.stop()
    response = post(client, f"/d/{thread.id}/comments", {"body": "Left of the shed."})
    assert response.status_code == 303  # the member is not told about our outage
    response = post(client, "/g/garden/d/new", {"title": "Seed swap", "body": "Saturday?"})
    assert response.status_code == 303
    db.session.expire_all()
    pending = db.session.scalars(select(Event).where(Event.fanned_out_at.is_(None))).all()
    assert {e.kind for e in pending} == {"comment_posted", "discussion_started"}
    assert len(outbox) == 0

    private_redis.start()  # Redis is back, empty: the jobs the commits tried to enqueue are gone
    clean_app.config["SWEEP_GRACE_SECONDS"] = 0  # the sweeper's period has passed
    try:
        found = dispatch.sweep()
        work()
        dispatch.sweep()  # the next sweep, and a repeated worker, change nothing
        work()
    finally:
        clean_app.config["SWEEP_GRACE_SECONDS"] = 60
    assert found["events_enqueued"] == 2

    sent = deliveries(outbox)
    new_thread = db.session.scalar(select(Discussion).where(Discussion.title == "Seed swap"))
    for person in others:
        about_comment = [subject for (to, subject) in sent if to == person.email and "Compost bins" in subject]
        about_thread = [subject for (to, subject) in sent if to == person.email and "Seed swap" in subject]
        assert len(about_comment) == 1 and len(about_thread) == 1, (person.email, sent)
    assert all(count == 1 for count in sent.values())
    assert new_thread is not None
    assert db.session.scalar(select(func.count(Event.id)).where(Event.fanned_out_at.is_(None))) == 0
    assert db.session.scalar(select(func.count(OutboundMessage.id)).where(OutboundMessage.status != "sent")) == 0


def test_the_commit_itself_enqueues_with_redis_up(clean_app, private_redis, garden, outbox):
    group, ann, others, thread = garden
    work()
    outbox.clear()
    discussions.post_comment(actor_id=others[0].id, discussion_id=thread.id, body="Behind the hedge.")
    work()  # no sweep: the commit's own hook queued the fan-out
    assert sorted(mail.to for mail in outbox.messages()) == sorted(
        p.email for p in [ann, *others[1:]])


def test_a_rolled_back_transaction_enqueues_nothing(clean_app, private_redis, garden):
    group, ann, others, thread = garden
    work()
    db.session.add(Event(kind="comment_posted", actor_id=ann.id, group_id=group.id, discussion_id=thread.id))
    db.session.flush()
    db.session.rollback()
    assert all(len(queue(name)) == 0 for name in QUEUES)


def test_the_sweeper_leaves_rows_younger_than_the_grace_period_to_their_own_jobs(clean_app, private_redis, garden):
    group, ann, others, thread = garden
    private_redis.stop()
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Soon.")
    private_redis.start()
    assert dispatch.sweep()["events_enqueued"] == 0


def test_a_claim_is_released_by_its_own_age_not_by_the_age_of_the_message(clean_app):
    """An operator reprocesses a three-day-old message: while its job runs, the sweeper leaves it be;
    a claim a dead job left an hour ago goes back to received."""
    from datetime import timedelta

    from app.models import InboundMessage, utcnow

    old = utcnow() - timedelta(days=3)
    running = InboundMessage(raw_sha256="a" * 64, storage_key="k-running", status="processing",
                             created_at=old, claimed_at=utcnow() - timedelta(seconds=5))
    abandoned = InboundMessage(raw_sha256="b" * 64, storage_key="k-abandoned", status="processing",
                               created_at=old, claimed_at=utcnow() - timedelta(hours=1))
    db.session.add_all([running, abandoned])
    db.session.commit()
    running_id, abandoned_id = running.id, abandoned.id
    clean_app.config["RQ_ASYNC"] = True  # only look at what the sweeper decides, not at the jobs
    try:
        found = dispatch.sweep()
    finally:
        clean_app.config["RQ_ASYNC"] = False
    db.session.expire_all()
    assert found["inbound_enqueued"] == 1
    assert db.session.get(InboundMessage, running_id).status == "processing"
    assert db.session.get(InboundMessage, abandoned_id).status == "received"
