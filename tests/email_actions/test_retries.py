"""A processing job retried after its work was committed (the worker died before recording the
outcome) starts nothing twice and records no second vote: the thread, poll or stance names the
stored message it came from, and the confirmation is keyed on that message too."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Discussion, InboundMessage, OutboundMessage, Poll, Stance
from mail.processing import process_stored
from mail.store import accept

from .conftest import message


def _store(raw: bytes, *, to: str, sender: str) -> InboundMessage:
    return accept(raw, envelope_from=sender, recipients=[to], peer="192.0.2.10", helo="mail.example.org",
                  domain="quorum.test")


def _process_twice(row: InboundMessage, *, lose_confirmation: bool = False) -> InboundMessage:
    """Process, then run the job again as a retry would: the status set back to "received"."""
    assert process_stored(row.id) == "processed"
    db.session.expire_all()
    row = db.session.get(InboundMessage, row.id)
    row.status = "received"
    if lose_confirmation:  # the worker died between the commit and the confirmation
        db.session.execute(OutboundMessage.__table__.delete().where(
            OutboundMessage.dedupe_key == f"confirm:{row.id}"))
    db.session.commit()
    assert process_stored(row.id) == "processed"
    db.session.expire_all()
    return db.session.get(InboundMessage, row.id)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _confirmations(row: InboundMessage) -> int:
    return _count(OutboundMessage, OutboundMessage.dedupe_key == f"confirm:{row.id}")


def test_a_retried_new_thread_job_starts_one_thread(garden):
    to = "garden@quorum.test"
    row = _store(message(sender="Dee <dee@example.org>", to=to, subject="Seed swap", body="Bring seeds."),
                 to=to, sender="dee@example.org")
    row = _process_twice(row, lose_confirmation=True)
    [thread] = db.session.scalars(select(Discussion).where(Discussion.title == "Seed swap")).all()
    assert (thread.inbound_message_id, thread.author_id, thread.source) == (row.id, garden.dee.id, "email")
    assert (row.action, row.reason) == ("new_thread", f"already started thread {thread.id}")
    assert _confirmations(row) == 1  # the lost confirmation is sent by the retry, once


def test_a_retried_new_decision_job_starts_one_poll(garden):
    to = "garden@quorum.test"
    row = _store(message(sender="Dee <dee@example.org>", to=to, subject="Poll: Which day?",
                         body="- Saturday\n- Sunday\n"), to=to, sender="dee@example.org")
    row = _process_twice(row)
    [poll] = db.session.scalars(select(Poll).where(Poll.title == "Which day?")).all()
    assert (poll.inbound_message_id, poll.poll_type, [o.name for o in poll.options]) == (
        row.id, "poll", ["Saturday", "Sunday"])
    assert row.reason == f"already started poll {poll.id}"
    assert _confirmations(row) == 1


def test_a_retried_vote_job_records_one_stance(garden):
    poll = garden.poll("proposal", in_thread=True)
    to = garden.address(garden.bob, "poll", poll.id)
    row = _store(message(sender="Bob <bob@example.org>", to=to, subject="Re: A proposal poll",
                         body="disagree: too early\n"), to=to, sender="bob@example.org")
    row = _process_twice(row, lose_confirmation=True)
    stances = db.session.scalars(select(Stance).where(Stance.poll_id == poll.id)).all()
    assert [(s.participant_id, s.reason, s.latest, s.inbound_message_id) for s in stances] == [
        (garden.bob.id, "too early", True, row.id)]
    assert row.reason == f"already recorded a vote in poll {poll.id}"
    assert _confirmations(row) == 1


def test_a_retried_changed_vote_is_still_one_change(garden):
    from app.services.polls import cast_vote

    poll = garden.poll("proposal")
    cast_vote(actor_id=garden.bob.id, poll_id=poll.id, text="agree")
    to = garden.address(garden.bob, "poll", poll.id)
    row = _store(message(sender="Bob <bob@example.org>", to=to, subject="Re: A proposal poll", body="abstain\n"),
                 to=to, sender="bob@example.org")
    row = _process_twice(row)
    history = db.session.scalars(select(Stance).where(Stance.poll_id == poll.id).order_by(Stance.id)).all()
    assert [(s.latest, s.inbound_message_id) for s in history] == [(False, None), (True, row.id)]
    assert row.reason == f"already changed a vote in poll {poll.id}"


def test_a_new_message_with_the_same_text_is_a_new_vote(garden):
    """Only the same stored message is deduplicated: sending the vote again is a (second) vote."""
    poll = garden.poll("proposal")
    to = garden.address(garden.bob, "poll", poll.id)
    for _ in range(2):
        row = _store(message(sender="Bob <bob@example.org>", to=to, subject="Re: A proposal poll", body="agree\n"),
                     to=to, sender="bob@example.org")
        assert process_stored(row.id) == "processed"
    assert _count(Stance, Stance.poll_id == poll.id) == 2
    assert _count(Stance, Stance.poll_id == poll.id, Stance.latest.is_(True)) == 1


def test_threads_polls_and_votes_outlive_the_stored_message(garden):
    """Retention deletes old stored mail; what was made from it stays, unlinked."""
    from datetime import timedelta

    from app.models import utcnow
    from app.services.inbound import delete_expired

    to = "garden@quorum.test"
    rows = [_store(message(sender="Dee <dee@example.org>", to=to, subject=subject, body=body), to=to,
                   sender="dee@example.org")
            for subject, body in (("Compost", "Who turns it?"), ("Poll: Which bin?", "- Green\n- Black\n"))]
    for row in rows:
        assert process_stored(row.id) == "processed"
    poll = db.session.scalar(select(Poll).where(Poll.title == "Which bin?"))
    vote_to = garden.address(garden.bob, "poll", poll.id)
    rows.append(_store(message(sender="Bob <bob@example.org>", to=vote_to, subject="Re: Which bin?", body="1\n"),
                       to=vote_to, sender="bob@example.org"))
    assert process_stored(rows[-1].id) == "processed"
    for row in rows:
        row.created_at = utcnow() - timedelta(days=400)
    db.session.commit()
    assert delete_expired() == 3 and _count(InboundMessage) == 0
    db.session.expire_all()
    assert db.session.scalar(select(Discussion.inbound_message_id).where(Discussion.title == "Compost")) is None
    assert db.session.get(Poll, poll.id).inbound_message_id is None
    assert db.session.scalar(select(Stance.inbound_message_id).where(Stance.poll_id == poll.id)) is None
    assert _count(Stance, Stance.poll_id == poll.id) == 1
