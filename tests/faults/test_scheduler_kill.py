"""The scheduler (and the worker doing its job) SIGKILLed and restarted in the middle of closing
sixty due polls: each poll closes once, and each member gets each poll's "closed" mail once."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Event, Poll, utcnow
from app.services.polls import create_poll
from tests.factories import GroupFactory, member

from .harness import wait_until
from .test_worker_kill import _running

POLLS = 60
MEMBERS = 5


def _closed() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Poll.id)).where(Poll.closed_at.is_not(None)))


def test_killing_the_scheduler_mid_closing_closes_each_poll_once_and_mails_once(fault_stack):
    stack = fault_stack(SWEEP_INTERVAL_SECONDS=1, MAIL_RETRY_SECONDS=1, SMTP_TIMEOUT_SECONDS=1)
    with stack.in_app():
        group = GroupFactory(handle="votes", name="Voters")
        author = member(group, email="author@example.org", role="admin")
        addresses = {member(group, email=f"voter{n}@example.org").email for n in range(MEMBERS)}
        earlier = utcnow() - timedelta(hours=2)
        titles = []
        for n in range(POLLS):
            title = f"Question {n:02d}"
            create_poll(actor_id=author.id, poll_type="proposal", title=title, group_id=group.id,
                        closing_at=earlier + timedelta(hours=1), now=earlier)
            titles.append(title)
        # Their opening was announced long ago: the only mail to come is each poll's closing.
        db.session.execute(update(Event).values(fanned_out_at=earlier))
        db.session.commit()
    stack.start("worker", "scheduler")

    wait_until(lambda: _running(stack, "close_due_polls"), message="the closing job to start", every=0.01)
    stack.kill("scheduler")
    stack.kill("worker")
    with stack.in_app():
        closed_at_kill = _closed()
    stack.start("scheduler", "worker")
    wait_until(lambda: len(stack.relay.deliveries()) >= 20, message="the first closed mails")
    stack.kill("scheduler")
    stack.start("scheduler")

    with stack.in_app():
        wait_until(lambda: _closed() == POLLS, message="every poll closed")
    expected = {(address, f"Question {n:02d}") for address in addresses for n in range(POLLS)}

    def mailed() -> Counter:
        return Counter((d.recipient, title) for d in stack.relay.deliveries() for title in titles if title in d.subject)

    wait_until(lambda: set(mailed()) >= expected, timeout=90, message="every member's closed mail for every poll")
    stack.stop("worker")
    copies = mailed()
    assert {key for key in copies if key[0] in addresses} == expected
    assert not {key: n for key, n in copies.items() if n != 1}, "a closed mail went out twice"
    with stack.in_app():
        events = Counter(db.session.scalars(select(Event.poll_id).where(Event.kind == "poll_closed")))
        assert len(events) == POLLS and set(events.values()) == {1}, "a poll closed twice"
    print(f"polls closed when the worker was killed: {closed_at_kill} of {POLLS}")
