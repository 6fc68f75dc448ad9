"""The RQ worker is SIGKILLed in the middle of a fan-out of one comment to 200 members, and in the
middle of a digest batch for 200 members, and again while their mail is going out. After a
restart every member gets each mail exactly once, counted at the relay. The fan-out runs in both
layouts: the worker as a unit of its own, and inside `quorum background` (what `quorum serve` runs,
with the SMTP server and the scheduler), where the kill takes them all down at once."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import update

from app.extensions import db
from app.models import Membership, utcnow
from app.services import events
from app.services.discussions import post_comment
from tests.factories import CommentFactory, DiscussionFactory, GroupFactory, member

from .harness import wait_until

MEMBERS = 200


def _running(stack, function: str) -> bool:
    """Is the worker in the middle of a job calling `function` right now?"""
    redis = Redis.from_url(stack.redis.url)
    for name in ("default", "inbound"):
        registry = StartedJobRegistry(queue=Queue(name, connection=redis))
        for job_id in registry.get_job_ids():
            job = Job.fetch(job_id, connection=redis)
            if job.func_name.endswith(function):
                return True
    return False


# The parts to start, and the one that runs the worker (the one killed).
LAYOUTS = {"units": (("worker", "scheduler"), "worker"), "background": (("background",), "background")}


def _kill_when(stack, condition, message: str, worker: str = "worker") -> None:
    wait_until(condition, message=message, every=0.02)
    stack.kill(worker)
    stack.start(worker)


def _each_once(stack, subject: str, addresses: set[str], worker: str = "worker", kills: int = 2) -> None:
    """Every member got the mail, and only a copy in flight at a kill came twice: one the relay had
    accepted (250) when the worker died, before it could record "sent" (docs/OPERATIONS.md, "The one
    duplicate left"); a kill lands in that millisecond now and then. A worker that sent a batch, a
    digest or a fan-out again would send tens twice."""
    try:
        wait_until(lambda: set(stack.relay.recipients(subject)) >= addresses, timeout=90,
                   message=f"a copy for each of {len(addresses)} members")
    except AssertionError as timeout:
        got = len(set(stack.relay.recipients(subject)) & addresses)
        subjects = Counter(d.subject for d in stack.relay.deliveries())
        raise AssertionError(f"{timeout}: {got} got it; delivered: {dict(subjects)}\n"
                             f"worker:\n{stack.stack.log_tail(worker, 30)}") from None
    stack.stop(worker)  # anything still running would have sent by now; nothing more can come
    copies = stack.relay.recipients(subject)
    assert set(copies) == addresses
    twice = {address: n for address, n in copies.items() if n != 1}
    assert len(twice) <= kills and set(twice.values()) <= {2}, f"members who got the mail more than once: {twice}"


def _fast(fault_stack):
    # Retries, the sweeper and stuck claims on a test's time scale (seconds, not minutes).
    return fault_stack(MAIL_RETRY_SECONDS=1, SMTP_TIMEOUT_SECONDS=1, SWEEP_INTERVAL_SECONDS=1,
                       DIGEST_CHECK_SECONDS=2)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_worker_killed_mid_fan_out_and_mid_sending_sends_each_member_one_copy(fault_stack, layout):
    parts, worker = LAYOUTS[layout]
    stack = _fast(fault_stack)
    with stack.in_app():
        group = GroupFactory(handle="big", name="Big group")
        author = member(group, email="author@example.org")
        addresses = {member(group, email=f"m{n}@example.org").email for n in range(MEMBERS)}
        thread = DiscussionFactory(group=group, author=author, title="Two hundred readers")
        author_id, thread_id = author.id, thread.id
    stack.start(*parts)
    with stack.in_app():
        post_comment(actor_id=author_id, discussion_id=thread_id, body="Hello, all two hundred of you.")
    _kill_when(stack, lambda: _running(stack, "fan_out_event"), "the fan-out to start", worker)
    _kill_when(stack, lambda: len(stack.relay.recipients("Two hundred readers")) >= 60, "60 copies to go out", worker)
    _each_once(stack, "Two hundred readers", addresses, worker)


def test_a_worker_killed_mid_digest_batch_and_mid_sending_sends_each_member_one_digest(fault_stack):
    stack = _fast(fault_stack)
    with stack.in_app():
        group = GroupFactory(handle="digesters", name="Digest readers")
        author = member(group, email="author@example.org")
        addresses = {member(group, email=f"d{n}@example.org", digest_frequency="daily", digest_hour=0).email
                     for n in range(MEMBERS)}
        thread = DiscussionFactory(group=group, author=author, title="Garden news")
        # Today's news: a new thread and three comments, settled (a digest leaves the last minute out).
        earlier = utcnow() - timedelta(minutes=10)
        news = [events.record("discussion_started", actor_id=author.id, group_id=group.id, discussion_id=thread.id)]
        for n in range(3):
            comment = CommentFactory(discussion=thread, author=author, body=f"Item {n} for today's digest.")
            news.append(events.record("comment_posted", actor_id=author.id, group_id=group.id,
                                      discussion_id=thread.id, comment_id=comment.id))
        for event in news:
            event.created_at, event.fanned_out_at = earlier, earlier
        db.session.execute(update(Membership).where(Membership.user_id != author.id).values(volume="digest"))
        db.session.commit()
    stack.start("worker", "scheduler")
    _kill_when(stack, lambda: _running(stack, "build_digest_batch"), "the digest batch to start")
    _kill_when(stack, lambda: len(stack.relay.recipients("digest")) >= 60, "60 digests to go out")
    _each_once(stack, "your daily digest", addresses)
