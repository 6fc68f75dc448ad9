"""PRODUCT.md §9, end to end: a reply to a poll email, through process(), for all nine poll types."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Comment, Stance
from mail.pipeline import process

from .conftest import message

SLOTS = [datetime(2030, 5, d, 18, 0, tzinfo=timezone.utc) for d in (1, 2, 3)]

# (poll type, settings, reply, expected choices by option name (or slot number), expected reason)
GRAMMAR = [
    ("proposal", {}, "agree", {"Agree": 1}, None),
    ("proposal", {}, "disagree: too costly", {"Disagree": 1}, "too costly"),
    ("proposal", {}, "2", {"Abstain": 1}, None),
    ("proposal", {}, "Block\n\nThis breaks our rules.", {"Block": 1}, "This breaks our rules."),
    ("check", {}, "looks good", {"Looks good": 1}, None),
    ("check", {}, "3: not sure about the cost", {"Concerned": 1}, "not sure about the cost"),
    ("count", {"target": 5}, "in", {"In": 1}, None),
    ("count", {"target": 5}, "out: away that week", {"Out": 1}, "away that week"),
    ("question", {}, "Saturdays suit me best.\nMornings if possible.", {},
     "Saturdays suit me best.\nMornings if possible."),
    ("poll", {"options": ["Oak", "Birch", "Maple"]}, "2", {"Birch": 1}, None),
    ("poll", {"options": ["Oak", "Birch", "Maple"], "max_choices": 2}, "1, 3", {"Oak": 1, "Maple": 1}, None),
    ("poll", {"options": ["Oak", "Birch", "Maple"]}, "maple\nIt grows fast.", {"Maple": 1}, "It grows fast."),
    ("score", {"options": ["Oak", "Birch"], "min_score": 0, "max_score": 5}, "Oak=4, Birch=2", {"Oak": 4, "Birch": 2},
     None),
    ("score", {"options": ["Oak", "Birch"], "min_score": 0, "max_score": 5}, "Oak: 1\nBirch: 5",
     {"Oak": 1, "Birch": 5}, None),
    ("dot_vote", {"options": ["Oak", "Birch", "Maple"], "dots_per_person": 8}, "Oak: 5, Maple: 3",
     {"Oak": 5, "Maple": 3}, None),
    ("ranked_choice", {"options": ["Oak", "Birch", "Maple"]}, "Maple, Oak, Birch", "Maple>Oak>Birch", None),
    ("meeting", {"slots": SLOTS}, "yes 1, 3; maybe 2", {1: 2, 2: 1, 3: 2}, None),
]


def _names(poll, stance) -> dict:
    options = sorted(poll.options, key=lambda o: (o.priority, o.id))
    if poll.poll_type == "meeting":
        return {options.index(o) + 1: stance.choices.get(o.id, 0) for o in options}
    by_id = {o.id: o.name for o in options}
    return {by_id[k]: v for k, v in stance.choices.items() if v}


@pytest.mark.parametrize(("poll_type", "settings", "reply_text", "expected", "reason"), GRAMMAR,
                         ids=[f"{g[0]}: {g[2].splitlines()[0]}" for g in GRAMMAR])
@pytest.mark.parametrize("anonymous", [False, True], ids=["open", "anonymous"])
def test_a_reply_to_a_poll_email_is_a_vote(garden, outbox, poll_type, settings, reply_text, expected, reason,
                                           anonymous):
    poll = garden.poll(poll_type, anonymous=anonymous, **settings)
    to = garden.address(garden.dee, "poll", poll.id)
    outcome = process(message(sender="dee@example.org", to=to, body=reply_text + "\n"), envelope_from="dee@example.org",
                      recipients=[to])
    assert (outcome.status, outcome.action) == ("processed", "vote"), outcome.reason
    db.session.expire_all()
    stance = db.session.scalar(select(Stance).where(Stance.poll_id == poll.id, Stance.latest.is_(True)))
    assert stance.source == "email" and stance.reason == reason
    if poll_type == "ranked_choice":
        ranking = _names(poll, stance)
        assert ">".join(sorted(ranking, key=ranking.get, reverse=True)) == expected
    else:
        assert _names(poll, stance) == expected
    confirmation = outbox.last_to("dee@example.org")
    assert confirmation.subject == "Re: Garden day"  # an answer to Dee's own reply
    assert f'Your vote in "{poll.title}" was recorded' in confirmation.text
    assert ("anonymous" in confirmation.text) == anonymous
    # The confirmation speaks of this vote only: no other member is named.
    assert not any(name in confirmation.text for name in ("Ada", "Bob"))


def test_voting_again_by_reply_changes_the_vote_and_keeps_the_history(garden, outbox):
    poll = garden.poll("proposal")
    to = garden.address(garden.dee, "poll", poll.id)
    for vote in ("agree", "disagree: changed my mind"):
        process(message(sender="dee@example.org", to=to, body=vote), envelope_from="dee@example.org", recipients=[to])
    stances = list(db.session.scalars(select(Stance).where(Stance.poll_id == poll.id).order_by(Stance.id)))
    assert [s.latest for s in stances] == [False, True] and stances[-1].reason == "changed my mind"
    assert f'Your vote in "{poll.title}" was changed' in outbox.last_to("dee@example.org").text


def test_a_reply_that_is_not_a_vote_becomes_a_comment_in_the_polls_thread(garden, outbox):
    poll = garden.poll("poll", in_thread=True, options=["Oak", "Birch"])
    to = garden.address(garden.dee, "poll", poll.id)
    outcome = process(message(sender="dee@example.org", to=to, body="Can we have a hedge instead?"),
                      envelope_from="dee@example.org", recipients=[to])
    assert (outcome.status, outcome.action) == ("processed", "comment")
    assert db.session.scalar(select(Comment.body).where(Comment.discussion_id == garden.thread.id)) \
        == "Can we have a hedge instead?"
    assert db.session.scalar(select(Stance.id).where(Stance.poll_id == poll.id)) is None
    told = outbox.last_to("dee@example.org")
    assert f'We could not read your reply to "{poll.title}" as a vote' in told.text
    assert "isn't one of the options" in told.text and "1. Oak" in told.text


def test_text_after_a_vote_in_a_poll_without_reasons_is_posted_as_a_comment(garden, outbox):
    poll = garden.poll("proposal", in_thread=True, reason_mode="off")
    to = garden.address(garden.dee, "poll", poll.id)
    outcome = process(message(sender="dee@example.org", to=to, body="agree\n\nAnd thanks for organising."),
                      envelope_from="dee@example.org", recipients=[to])
    assert (outcome.status, outcome.action) == ("processed", "vote")
    assert db.session.scalar(select(Stance.reason).where(Stance.poll_id == poll.id)) is None
    assert db.session.scalar(select(Comment.body).where(Comment.discussion_id == garden.thread.id)) \
        == "And thanks for organising."
    assert "posted as a comment" in outbox.last_to("dee@example.org").text


def test_an_anonymous_poll_without_reasons_keeps_the_extra_text_out_of_the_thread(garden, outbox):
    poll = garden.poll("proposal", in_thread=True, reason_mode="off", anonymous=True)
    to = garden.address(garden.dee, "poll", poll.id)
    process(message(sender="dee@example.org", to=to, body="agree\n\nI am Dee, by the way."),
            envelope_from="dee@example.org", recipients=[to])
    assert db.session.scalar(select(Comment.id).where(Comment.discussion_id == garden.thread.id)) is None
    assert "was not kept" in outbox.last_to("dee@example.org").text


def test_poll_by_mail_takes_its_options_and_closing_time_from_the_body(garden):
    from app.models import Poll

    to = "garden@quorum.test"
    body = "Where shall we meet?\n- The shed\n- The café\n* The library\nCloses: in 2 days\n"
    outcome = process(message(sender="bob@example.org", to=to, subject="Poll: Meeting place", body=body),
                      envelope_from="bob@example.org", recipients=[to])
    assert (outcome.status, outcome.action) == ("processed", "new_poll")
    poll = db.session.scalar(select(Poll).where(Poll.title == "Meeting place"))
    assert [o.name for o in sorted(poll.options, key=lambda o: o.priority)] == ["The shed", "The café", "The library"]
    assert poll.details == "Where shall we meet?"
    closes_in = poll.closing_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)
    assert timedelta(days=1, hours=23) < closes_in <= timedelta(days=2)
