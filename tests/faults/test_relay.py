"""The outbound relay misbehaves for a while — refuses with 421 or 451, says nothing until the
sender times out, closes the connection mid-message — and then recovers: every member's copy is
delivered once, after retries with backoff. A permanent 550 fails that one message, for good and
in view of operators, while the others go out."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import OutboundMessage, User
from app.services.discussions import post_comment
from tests.factories import DiscussionFactory, GroupFactory, member
from tests.helpers import post, sign_in

from .harness import wait_until

MEMBERS = 12


def _group_with_members(count: int):
    group = GroupFactory(handle="relay", name="Relay testers")
    people = [member(group, email=f"reader{n}@example.org", name=f"Reader {n}") for n in range(count)]
    author = member(group, email="author@example.org", name="Author")
    thread = DiscussionFactory(group=group, author=author, title="Relay weather")
    return author, people, thread


def _statuses() -> dict[str, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all())


@pytest.mark.parametrize("fault", ["refuse 421", "refuse 451", "hang", "drop"])
def test_a_relay_fault_delays_mail_and_then_each_copy_arrives_once(fault_stack, fault):
    stack = fault_stack(MAIL_RETRY_SECONDS=1, SMTP_TIMEOUT_SECONDS=1)
    mode, _, code = fault.partition(" ")
    stack.relay.mode = mode
    stack.relay.hang_seconds = 3
    if code:
        stack.relay.code = f"{code} 4.3.0 Busy, try again later"
    with stack.in_app():
        author, people, thread = _group_with_members(MEMBERS)
        post_comment(actor_id=author.id, discussion_id=thread.id, body="Does the relay hold up?")
        addresses = {p.email for p in people}
    stack.start("worker", "scheduler")

    # The relay is tried, and every message waits to be retried: none is lost or given up on.
    wait_until(lambda: stack.relay.attempts >= MEMBERS, message="the worker to try the relay for every member")
    with stack.in_app():
        wait_until(lambda: db.session.scalar(select(func.min(OutboundMessage.attempts))) >= 1, timeout=40,
                   message="every message to be tried")
        assert set(_statuses()) <= {"retrying", "sending"}  # waiting for a retry: none sent, none given up
    tried = stack.relay.attempts
    # A retry comes once its backoff is over and the scheduler has promoted it (a second or two when idle,
    # more on a loaded machine): the bound is generous, the point is that it comes.
    wait_until(lambda: stack.relay.attempts > tried, timeout=20, message="retries to keep coming while the relay is down")
    assert not stack.relay.deliveries()

    stack.relay.mode = "accept"  # the relay recovers
    wait_until(lambda: len(stack.relay.copies("Relay weather")) >= MEMBERS, message="every copy to arrive")
    time.sleep(1.5)  # a duplicate would come right behind
    copies = stack.relay.copies("Relay weather")
    assert set(copies.values()) == {1}, f"copies delivered more than once: {copies}"
    assert {recipient for recipient, _ in copies} == addresses
    with stack.in_app():
        assert _statuses() == {"sent": MEMBERS}
        attempts = db.session.scalars(select(OutboundMessage.attempts)).all()
        assert min(attempts) >= 2  # each was refused at least once before it went out


def test_a_permanent_refusal_fails_that_message_alone_and_operators_see_it(fault_stack):
    stack = fault_stack(MAIL_RETRY_SECONDS=1)
    stack.relay.refused_recipients = {"reader3@example.org"}
    with stack.in_app():
        author, people, thread = _group_with_members(5)
        operator_id = member(GroupFactory(handle="ops"), email="operator@example.org", is_site_admin=True).id
        post_comment(actor_id=author.id, discussion_id=thread.id, body="One address is gone.")
    stack.start("worker", "scheduler", "web")

    wait_until(lambda: len(stack.relay.copies("Relay weather")) == 4, message="the four good copies")
    with stack.in_app():
        wait_until(lambda: _statuses() == {"sent": 4, "failed": 1}, timeout=20, message="one failed message")
        failed = db.session.scalar(select(OutboundMessage).where(OutboundMessage.status == "failed"))
        assert failed.to_address == "reader3@example.org"
        assert failed.attempts == 1  # a 550 is not retried
        assert failed.last_error.startswith("550") or "550" in failed.last_error

        # The operators' page lists it: who, which kind, why — never the message itself.
        client = stack.app.test_client()
        sign_in(client, db.session.get(User, operator_id))
        page = client.get("/admin/mail/outbound")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "reader3@example.org" in text and "550" in text and "No such mailbox here" in text
        assert "One address is gone" not in text
        assert "reader2@example.org" not in text  # delivered mail is not listed

        # The address is fixed at the relay; the operator sends that one message again.
        stack.relay.refused_recipients = set()
        assert post(client, f"/admin/mail/outbound/{failed.id}/send-again").status_code == 303
    wait_until(lambda: stack.relay.recipients("Relay weather")["reader3@example.org"] == 1,
               message="the message sent again")
    assert set(stack.relay.copies("Relay weather").values()) == {1}
