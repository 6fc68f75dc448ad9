"""Running a poll by reply, through a live SMTP server: "remind Dee" / "remind dee@example.org" (the
author or an admin, once a day per person), "none" for a ranked choice that offers it, a vote by the
number a shuffled mail showed, and an outcome's review date on the last line of "outcome:"."""
from __future__ import annotations

import email
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Outcome, Poll, Stance, utcnow
from app.polls.base import ordered_options
from app.services import polls as poll_service

from .conftest import message


@pytest.fixture
def reply(garden, send):
    def deliver(user, poll, body: str):
        to = garden.address(user, "poll", poll.id)
        raw = message(sender=f"{user.name} <{user.email}>", to=to, body=body, subject=f"Re: {poll.title}")
        row = send(raw, to=to, envelope_from=user.email)
        row.raw_message_id = email.message_from_bytes(raw)["Message-ID"]
        return row

    return deliver


def latest(poll, user) -> Stance | None:
    db.session.expire_all()
    return db.session.scalar(select(Stance).where(Stance.poll_id == poll.id, Stance.participant_id == user.id,
                                                  Stance.latest.is_(True)))


@pytest.mark.parametrize("who", ["Dee", "dee@example.org"])
def test_the_author_reminds_one_person_by_name_or_address(garden, reply, outbox, who):
    poll = garden.poll("poll", author=garden.bob, options=["Rake", "Hoe"])
    outbox.clear()
    row = reply(garden.bob, poll, f"remind {who}\n\nPlease have a look before Friday.")
    assert (row.status, row.action) == ("processed", "poll_remind")
    reminder = outbox.last_to("dee@example.org")
    assert "reminds you to vote" in reminder.text and "Please have a look before Friday." in reminder.text
    assert not outbox.to("ada@example.org")  # the others are not reminded
    answer = outbox.last_to("bob@example.org")
    assert "We are reminding Dee" in answer.text and answer.header("In-Reply-To") == row.raw_message_id
    # Once a day: the second is refused with an explanation.
    row = reply(garden.bob, poll, f"remind {who}")
    assert row.status == "rejected" and "at most once a day" in outbox.last_to("bob@example.org").text


def test_reminding_someone_who_may_not_vote_or_by_a_member_is_refused(garden, reply, outbox):
    poll = garden.poll("poll", author=garden.bob, options=["Rake", "Hoe"])
    row = reply(garden.bob, poll, "remind Zed")
    assert row.status == "rejected" and "Nobody called “zed” may vote" in outbox.last_to("bob@example.org").text
    row = reply(garden.dee, poll, "remind Ada")
    assert row.status == "rejected" and "Only the author" in outbox.last_to("dee@example.org").text


def test_none_of_the_above_by_reply_in_a_ranked_choice(garden, reply, outbox):
    poll = garden.poll("ranked_choice", options=["Rake", "Hoe", "Spade"], allow_none_of_the_above=True)
    assert "Reply “none” if none of the options suit you." in outbox.last_to("dee@example.org").text
    row = reply(garden.dee, poll, "None of the above\n\nWe have enough tools.")
    assert row.status == "processed"
    stance = latest(poll, garden.dee)
    assert stance.choices == {} and stance.reason == "We have enough tools."
    assert poll_service.tally(db.session.get(Poll, poll.id)).none_of_the_above == 1


def test_a_reply_with_a_number_means_the_option_shown_beside_it_in_a_shuffled_mail(garden, reply, outbox):
    names = ["Rake", "Hoe", "Spade", "Fork", "Shears"]
    poll = garden.poll("poll", options=names, running={"shuffle_options": True})
    text = outbox.last_to("dee@example.org").text
    listed = re.findall(r"^  (\d)\. (\w+)\r?$", text, re.MULTILINE)
    n, name = listed[-1]  # the last one shown, whatever its number
    reply(garden.dee, poll, n)
    chosen = latest(poll, garden.dee).choices
    assert [o.name for o in ordered_options(db.session.get(Poll, poll.id)) if o.id in chosen] == [name]


def test_an_outcome_by_reply_takes_a_review_date_on_its_last_line(garden, reply, outbox):
    poll = garden.poll("proposal", author=garden.bob, title="Buy spades")
    poll_service.close_poll(actor_id=garden.bob.id, poll_id=poll.id)
    year = utcnow().year + 1
    row = reply(garden.bob, poll, f"outcome: We buy two spades.\nreview: 1 March {year}")
    assert (row.status, row.action) == ("processed", "poll_outcome")
    db.session.expire_all()
    outcome = db.session.scalar(select(Outcome).where(Outcome.poll_id == poll.id, Outcome.latest.is_(True)))
    assert outcome.statement == "We buy two spades."
    assert (outcome.review_at.year, outcome.review_at.month) == (year, 3)
    assert "You will be reminded to review it on" in outbox.last_to("bob@example.org").text
    outbox.clear()
    assert poll_service.send_outcome_reviews(now=outcome.review_at + timedelta(minutes=1)) == 1
    assert [m.to for m in outbox.messages()] == ["bob@example.org"]
    row = reply(garden.bob, poll, "outcome: Changed.\nreview: someday soonish")
    assert row.status == "rejected" and "as a review date" in outbox.last_to("bob@example.org").text
