"""Poll admin by reply: the poll's author (or a group admin) closes, extends, reminds, reopens and
writes the outcome by replying to a mail about the poll, through a live SMTP server; everyone else
is told no and nothing changes; a vote is never read as a command, nor a command as a vote."""
from __future__ import annotations

import email
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Event, Outcome, Poll, Stance
from app.services import polls as poll_service
from app.timezones import local_time
from tests.factories import UserFactory
from tests.mailauth import FORGING_SOURCE

from .conftest import message


def fresh(poll: Poll) -> Poll:
    db.session.expire_all()
    return db.session.get(Poll, poll.id)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@pytest.fixture
def reply(garden, send):
    """reply(user, poll, body) → the stored message, after its job ran (signed by the sender's domain)."""

    def deliver(user, poll, body: str, *, in_reply_to: str | None = None, signed: bool = True):
        to = garden.address(user, "poll", poll.id)
        raw = message(sender=f"{user.name} <{user.email}>", to=to, body=body, subject=f"Re: {poll.title}",
                      in_reply_to=in_reply_to, signed=signed)
        row = send(raw, to=to, envelope_from=user.email)
        row.raw_message_id = email.message_from_bytes(raw)["Message-ID"]
        return row

    return deliver


@pytest.fixture
def bobs_poll(garden):
    """A proposal Bob (a member, not an admin) started in the thread."""
    return garden.poll("proposal", author=garden.bob, in_thread=True, title="Buy spades")


# --- close -----------------------------------------------------------------------------------

def test_the_author_closes_the_poll_by_replying_close(garden, reply, outbox, bobs_poll):
    row = reply(garden.bob, bobs_poll, "Close.")
    assert (row.status, row.action) == ("processed", "poll_close")
    assert fresh(bobs_poll).closed_at is not None
    answer = outbox.last_to("bob@example.org")
    assert "“Buy spades” is closed" in answer.text
    assert answer.header("In-Reply-To") == row.raw_message_id
    assert answer.header("Auto-Submitted") == "auto-replied"


def test_a_group_admin_may_close_a_members_poll(garden, reply, bobs_poll):
    row = reply(garden.ada, bobs_poll, "close the poll")
    assert row.action == "poll_close" and fresh(bobs_poll).closed_at is not None


@pytest.mark.parametrize("who", ["dee", "guest", "stranger"])
def test_anyone_else_is_told_no_and_nothing_changes(garden, reply, outbox, who):
    guest = UserFactory(email="gus@example.org", name="Gus")
    stranger = UserFactory(email="nora@example.org", name="Nora")
    poll = garden.poll("proposal", author=garden.bob, title="Buy spades", voter_scope="specified",
                       voters=["dee@example.org", "gus@example.org"])
    person = {"dee": garden.dee, "guest": guest, "stranger": stranger}[who]
    for command in ("close", "extend 2 days", "remind"):
        row = reply(person, poll, command)
        assert row.status == "rejected", command
        assert fresh(poll).closed_at is None
    assert aware(fresh(poll).closing_at) < datetime.now(timezone.utc) + timedelta(days=4)
    assert db.session.scalar(select(func.count(Event.id)).where(Event.kind.in_(("poll_reminder", "poll_edited")))) == 0
    if who != "stranger":  # the stranger cannot see a closed group's poll at all
        assert "Only the author of “Buy spades” or one of the group's admins" in outbox.last_to(person.email).text


def test_a_forged_close_closes_nothing_until_the_author_confirms(garden, reply, outbox, bobs_poll, smtp_server):
    import smtplib

    to = garden.address(garden.bob, "poll", bobs_poll.id)
    forged = message(sender="Bob <bob@example.org>", to=to, body="close", signed=False)
    with smtplib.SMTP(smtp_server.hostname, smtp_server.port, timeout=10, source_address=(FORGING_SOURCE, 0)) as c:
        c.sendmail("bob@example.org", [to], forged)
    assert fresh(bobs_poll).closed_at is None
    ask = outbox.last_to("bob@example.org")
    assert "Close the poll “Buy spades”" in ask.text and "please confirm that you sent it" in ask.text


def test_a_forged_close_from_another_members_reply_address_is_refused(garden, send, bobs_poll):
    to = garden.address(garden.dee, "poll", bobs_poll.id)  # Dee's address, From Bob
    row = send(message(sender="bob@example.org", to=to, body="close"), to=to, envelope_from="bob@example.org")
    assert row.status == "rejected" and fresh(bobs_poll).closed_at is None


# --- votes are not commands, commands are not votes -------------------------------------------

def test_close_to_agreeing_is_not_a_command(garden, reply, bobs_poll):
    row = reply(garden.bob, bobs_poll, "close to agreeing, but not yet")
    assert fresh(bobs_poll).closed_at is None and row.action != "poll_close"


def test_a_vote_whose_reason_says_close_is_a_vote(garden, reply, bobs_poll):
    row = reply(garden.bob, bobs_poll, "agree\n\nclose")
    assert row.action == "vote" and fresh(bobs_poll).closed_at is None


def test_an_option_called_close_is_voted_for_not_obeyed(garden, reply):
    poll = garden.poll("poll", author=garden.bob, title="The gate", options=["Open", "Close"])
    row = reply(garden.bob, poll, "Close")
    assert row.action == "vote" and fresh(poll).closed_at is None
    stance = db.session.scalar(select(Stance).where(Stance.poll_id == poll.id))
    assert [o.name for o in poll.options if o.id in stance.choices] == ["Close"]


def test_a_command_is_not_recorded_as_a_vote(garden, reply, bobs_poll):
    reply(garden.bob, bobs_poll, "remind")
    assert db.session.scalar(select(Stance.id).where(Stance.poll_id == bobs_poll.id)) is None


# --- extend ------------------------------------------------------------------------------------

def test_extend_by_two_days_moves_the_closing_time(garden, reply, outbox, bobs_poll):
    before = aware(bobs_poll.closing_at)
    row = reply(garden.bob, bobs_poll, "extend 2 days")
    assert row.action == "poll_extend"
    assert aware(fresh(bobs_poll).closing_at) == before + timedelta(days=2)
    assert f"now closes on {local_time(before + timedelta(days=2), garden.bob.time_zone)}" in outbox.last_to(
        "bob@example.org").text


def test_extend_to_a_date_is_read_in_the_members_time_zone(garden, reply, outbox, bobs_poll):
    garden.bob.time_zone = "Australia/Sydney"
    db.session.commit()
    day = datetime.now(timezone.utc) + timedelta(days=10)
    reply(garden.bob, bobs_poll, f"extend to {day:%d %b %Y} 18:00")
    closing = aware(fresh(bobs_poll).closing_at)
    from zoneinfo import ZoneInfo

    local = closing.astimezone(ZoneInfo("Australia/Sydney"))
    assert (local.day, local.hour, local.minute) == (day.day, 18, 0)
    assert "(Australia/Sydney)" in outbox.last_to("bob@example.org").text


@pytest.mark.parametrize("body, says", [
    ("extend to 1 Jan 2020 10:00", "has passed already"),
    ("extend to the day after never", "We could not read"),
    ("extend 900 weeks", "at most a year"),
    ("extend", "Say by how long"),
])
def test_a_bad_extension_is_explained_and_changes_nothing(garden, reply, outbox, bobs_poll, body, says):
    before = aware(bobs_poll.closing_at)
    row = reply(garden.bob, bobs_poll, body)
    assert row.status == "rejected" and aware(fresh(bobs_poll).closing_at) == before
    assert says in outbox.last_to("bob@example.org").text


def test_a_closed_poll_cannot_be_extended_or_closed_again(garden, reply, outbox, bobs_poll):
    poll_service.close_poll(actor_id=garden.bob.id, poll_id=bobs_poll.id)
    for body in ("extend 2 days", "close"):
        row = reply(garden.bob, bobs_poll, body)
        assert row.status == "rejected"
        assert "is closed already" in outbox.last_to("bob@example.org").text


def test_a_retried_extend_extends_once(garden, bobs_poll):
    from .test_retries import _process_twice, _store

    to = garden.address(garden.bob, "poll", bobs_poll.id)
    before = aware(bobs_poll.closing_at)
    _process_twice(_store(message(sender="bob@example.org", to=to, body="extend 1 day"), to=to,
                          sender="bob@example.org"))
    assert aware(fresh(bobs_poll).closing_at) == before + timedelta(days=1)


# --- remind ------------------------------------------------------------------------------------

def test_remind_reminds_the_undecided_with_the_message_below(garden, reply, outbox, bobs_poll):
    poll_service.cast_vote(actor_id=garden.ada.id, poll_id=bobs_poll.id, choices=None, text="agree")
    outbox.clear()
    row = reply(garden.bob, bobs_poll, "remind\n\nPlease vote by Friday, we order on Saturday.")
    assert row.action == "poll_remind"
    assert "Please vote by Friday" in outbox.last_to("dee@example.org").text
    assert outbox.to("ada@example.org") == []  # she voted
    assert "the 2 people who have not voted yet" in outbox.last_to("bob@example.org").text  # Dee and Bob


# --- reopen and outcome -------------------------------------------------------------------------

@pytest.fixture
def closed_mail(garden, outbox, bobs_poll):
    """The "closed" mail Bob got when his poll closed on schedule."""
    poll_service.close_due_polls(now=datetime.now(timezone.utc) + timedelta(days=4))
    mail = outbox.last_to("bob@example.org")
    assert "closed" in mail.subject.lower() or "closed" in mail.text.lower()
    return mail


def test_reopen_takes_votes_again_until_then(garden, reply, outbox, bobs_poll, closed_mail):
    row = reply(garden.bob, bobs_poll, "reopen 3 days", in_reply_to=closed_mail.header("Message-ID"))
    assert row.action == "poll_reopen"
    poll = fresh(bobs_poll)
    assert poll.closed_at is None
    assert abs(aware(poll.closing_at) - (datetime.now(timezone.utc) + timedelta(days=3))) < timedelta(minutes=5)


@pytest.mark.parametrize("body, says", [("reopen", "Say until when"), ("reopen until 1 Jan 2020 10:00", "has passed already")])
def test_a_reopen_without_a_good_time_is_explained(garden, reply, outbox, bobs_poll, closed_mail, body, says):
    row = reply(garden.bob, bobs_poll, body)
    assert row.status == "rejected" and fresh(bobs_poll).closed_at is not None
    assert says in outbox.last_to("bob@example.org").text


def test_an_anonymous_poll_is_not_reopened_by_reply(garden, reply, outbox):
    poll = garden.poll("proposal", author=garden.bob, title="Secret ballot", anonymous=True)
    poll_service.close_poll(actor_id=garden.bob.id, poll_id=poll.id)
    row = reply(garden.bob, poll, "reopen 2 days")
    assert row.status == "rejected" and "Anonymous polls can't be reopened" in outbox.last_to("bob@example.org").text


def test_the_outcome_by_reply_to_the_closed_mail_is_published_and_confirmed_in_thread(
        garden, reply, outbox, bobs_poll, closed_mail):
    row = reply(garden.bob, bobs_poll, "Outcome: We buy four spades.\nAda orders them.",
                in_reply_to=closed_mail.header("Message-ID"))
    assert row.action == "poll_outcome"
    outcome = db.session.scalar(select(Outcome).where(Outcome.poll_id == bobs_poll.id))
    assert outcome.statement == "We buy four spades.\nAda orders them." and outcome.author_id == garden.bob.id
    answer = outbox.last_to("bob@example.org")
    assert "The outcome of “Buy spades” is published" in answer.text
    assert answer.header("In-Reply-To") == row.raw_message_id
    assert closed_mail.header("Message-ID") in answer.header("References")
    assert "We buy four spades." in outbox.last_to("dee@example.org").text  # the outcome mail


def test_an_outcome_while_the_poll_is_open_is_explained(garden, reply, outbox, bobs_poll):
    row = reply(garden.bob, bobs_poll, "outcome: we buy them")
    assert row.status == "rejected" and "once the poll has closed" in outbox.last_to("bob@example.org").text


def test_a_meeting_outcome_names_the_slot_by_its_number(garden, reply, outbox):
    base = (datetime.now(timezone.utc) + timedelta(days=20)).replace(hour=9, minute=0, second=0, microsecond=0)
    poll = garden.poll("meeting", author=garden.bob, title="Work party", slots=[base, base + timedelta(days=1)],
                       duration_minutes=120)
    poll_service.close_poll(actor_id=garden.bob.id, poll_id=poll.id)
    assert reply(garden.bob, poll, "outcome: see you all there").status == "rejected"
    assert "number of the time you chose, from 1 to 2" in outbox.last_to("bob@example.org").text
    row = reply(garden.bob, poll, "outcome: 2")
    assert row.action == "poll_outcome"
    outcome = db.session.scalar(select(Outcome).where(Outcome.poll_id == poll.id))
    second = sorted(poll.options, key=lambda o: o.starts_at)[1]
    assert outcome.poll_option_id == second.id and outcome.statement.startswith("We meet on ")


def test_help_lists_the_poll_commands(garden, send, outbox):
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    send(message(sender="dee@example.org", to=to, body="help"), to=to, envelope_from="dee@example.org")
    text = outbox.last_to("dee@example.org").text
    for word in ("close", "extend 2 days", "remind", "reopen 3 days", "outcome:"):
        assert word in text


# --- any voter: take the vote back -------------------------------------------------------------

@pytest.mark.parametrize("body", ["remove my vote", "Unvote."])
def test_a_voter_removes_their_vote_by_reply(garden, reply, outbox, bobs_poll, body):
    reply(garden.dee, bobs_poll, "agree")
    row = reply(garden.dee, bobs_poll, body)
    assert row.action == "unvote"
    assert db.session.scalar(select(Stance.id).where(Stance.poll_id == bobs_poll.id, Stance.latest.is_(True))) is None
    assert "Your vote in “Buy spades” is removed" in outbox.last_to("dee@example.org").text


def test_unvote_without_a_vote_is_explained(garden, reply, outbox, bobs_poll):
    row = reply(garden.dee, bobs_poll, "unvote")
    assert row.status == "rejected" and "you have not voted in it" in outbox.last_to("dee@example.org").text


def test_a_forged_unvote_removes_nothing(garden, reply, outbox, bobs_poll, smtp_server):
    import smtplib

    reply(garden.dee, bobs_poll, "agree")
    to = garden.address(garden.dee, "poll", bobs_poll.id)
    with smtplib.SMTP(smtp_server.hostname, smtp_server.port, timeout=10, source_address=(FORGING_SOURCE, 0)) as c:
        c.sendmail("dee@example.org", [to], message(sender="dee@example.org", to=to, body="unvote", signed=False))
    assert "Remove your vote in “Buy spades”" in outbox.last_to("dee@example.org").text  # asked, not done
    db.session.expire_all()
    assert db.session.scalar(select(Stance.id).where(Stance.poll_id == bobs_poll.id, Stance.latest.is_(True)))


# --- retried jobs and dates -----------------------------------------------------------------------

@pytest.mark.parametrize("body", ["close", "reopen 2 days"])
def test_a_retried_close_or_reopen_is_confirmed_once_and_refused_never(garden, bobs_poll, body):
    from app.models import OutboundMessage

    from .test_retries import _process_twice, _store

    if body.startswith("reopen"):
        poll_service.close_poll(actor_id=garden.bob.id, poll_id=bobs_poll.id)
    to = garden.address(garden.bob, "poll", bobs_poll.id)
    row = _process_twice(_store(message(sender="bob@example.org", to=to, body=body), to=to, sender="bob@example.org"),
                         lose_confirmation=True)
    assert row.status == "processed" and row.action in ("poll_close", "poll_reopen")
    assert db.session.scalar(select(func.count(OutboundMessage.id)).where(
        OutboundMessage.kind == "inbound_refused")) == 0
    assert db.session.scalar(select(func.count(OutboundMessage.id)).where(
        OutboundMessage.dedupe_key == f"confirm:{row.id}")) == 1
    kind = "poll_closed" if body == "close" else "poll_reopened"
    assert db.session.scalar(select(func.count(Event.id)).where(Event.kind == kind)) == 1


def test_a_date_without_a_year_that_has_passed_means_the_next_one(garden, reply, bobs_poll):
    from unittest import mock

    import mail.polladmin as polladmin

    december = datetime(2026, 12, 28, 12, 0, tzinfo=timezone.utc)
    poll = fresh(bobs_poll)
    poll.closing_at = december + timedelta(days=1)
    db.session.commit()
    with mock.patch.object(polladmin, "_now", return_value=december), \
            mock.patch("app.services.polls.editing.now_or", return_value=december):
        row = reply(garden.bob, bobs_poll, "extend to 3 Jan 18:00")
    assert row.action == "poll_extend", row.reason
    closing = aware(fresh(bobs_poll).closing_at)
    assert (closing.year, closing.month, closing.day, closing.hour) == (2027, 1, 3, 18)


def test_the_closed_mail_tells_the_author_to_reply_with_the_outcome(closed_mail):
    assert 'reply to this email with "outcome: what was decided"' in closed_mail.text
