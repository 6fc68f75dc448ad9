"""Replies in the member's language: a German member votes with "zustimmen", mutes with "stumm" and
closes their poll with "schließen"; members of every shipped language are understood, through the live
SMTP server, and English keeps working for everyone."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Membership, Poll, Stance

from .conftest import message


def _reply(garden, send, user, kind, target_id, body):
    to = garden.address(user, kind, target_id)
    raw = message(sender=f"{user.name} <{user.email}>", to=to, body=body + "\n", subject="Re: Garden day")
    return send(raw, to=to, envelope_from=user.email)


def _vote_of(user, poll) -> str | None:
    db.session.expire_all()
    stance = db.session.scalar(select(Stance).where(Stance.poll_id == poll.id, Stance.participant_id == user.id,
                                                    Stance.latest.is_(True)))
    if stance is None:
        return None
    names = {o.id: o.name for o in poll.options}
    return next(names[k] for k, v in stance.choices.items() if v)


@pytest.mark.parametrize(("locale", "word", "expected"), [
    ("de", "Zustimmen", "Agree"), ("de", "dagegen: zu teuer", "Disagree"), ("fr", "Pas d'accord", "Disagree"),
    ("es", "Me abstengo", "Abstain"), ("nl", "Blokkeren", "Block"), ("pt", "Concordo!", "Agree"),
    ("en", "agree", "Agree"),
])
def test_a_member_votes_on_a_proposal_in_their_language(garden, send, locale, word, expected):
    garden.bob.locale = locale
    db.session.commit()
    poll = garden.poll("proposal", author=garden.ada, title="Buy spades")
    row = _reply(garden, send, garden.bob, "poll", poll.id, word)
    assert (row.status, row.action) == ("processed", "vote")
    assert _vote_of(garden.bob, poll) == expected


@pytest.mark.parametrize(("word", "expected"), [("ja", "In"), ("bin raus", "Out"), ("estou dentro", "In")])
def test_count_and_yes_words_follow_the_poll_type(garden, send, word, expected):
    poll = garden.poll("count", author=garden.ada, title="Who comes on Saturday?")
    row = _reply(garden, send, garden.dee, "poll", poll.id, word)
    assert row.action == "vote" and _vote_of(garden.dee, poll) == expected


def test_a_german_member_mutes_the_thread_with_stumm_and_unsubscribes_with_abbestellen(garden, send, outbox):
    garden.dee.locale = "de"
    db.session.commit()
    row = _reply(garden, send, garden.dee, "discussion", garden.thread.id, "Stumm")
    assert (row.status, row.action) == ("processed", "mute")
    row = _reply(garden, send, garden.dee, "discussion", garden.thread.id, "abbestellen")
    assert (row.status, row.action) == ("processed", "unsubscribe")
    db.session.expire_all()
    assert db.session.scalar(select(Membership.volume).where(Membership.user_id == garden.dee.id)) == "mute"


def test_digest_words_are_read_in_any_language(garden, send):
    row = _reply(garden, send, garden.dee, "discussion", garden.thread.id, "Zusammenfassung wöchentlich")
    assert (row.status, row.action) == ("processed", "digest")
    db.session.expire_all()
    assert garden.dee.digest_frequency == "weekly"


def test_a_poll_author_closes_their_poll_in_french(garden, send):
    poll = garden.poll("proposal", author=garden.bob, title="Buy spades")
    row = _reply(garden, send, garden.bob, "poll", poll.id, "Clore")
    assert row.action == "poll_close"
    db.session.expire_all()
    assert db.session.get(Poll, poll.id).closed_at is not None


def test_a_sentence_starting_with_a_command_word_is_a_comment(garden, send):
    row = _reply(garden, send, garden.dee, "discussion", garden.thread.id, "Stumm war er nicht, er hat viel gesagt.")
    assert row.action == "comment"
