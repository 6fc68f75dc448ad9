"""Decisions in a digest: polls opened (with how to vote by reply), closing soon, results and outcomes."""
from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import utcnow
from app.services import polls
from tests.factories import MembershipFactory, UserFactory

from .conftest import digests_to, run


def poll(scene, *, title="Paint the shed?", closing_in=timedelta(days=5), **options):
    return polls.create_poll(actor_id=scene.bob.id, group_id=scene.group.id, poll_type="proposal", title=title,
                             closing_at=utcnow() + closing_in, **options)


def test_a_new_poll_comes_with_vote_by_reply_instructions_and_its_own_reply_link(scene, outbox, later):
    p = poll(scene)
    run(later)
    [mail] = digests_to(outbox, scene.alice)
    assert "NEW POLL" in mail.text and "Paint the shed?" in mail.text
    assert "To vote, reply with your choice" in mail.text
    assert "1. Agree" in mail.text
    assert f"/p/{p.id}" in mail.text


def test_a_poll_closing_within_a_day_is_flagged_for_members_who_have_not_voted(scene, outbox, later):
    dana = UserFactory(email="dana@example.org", digest_frequency="daily", digest_hour=0)
    MembershipFactory(group=scene.group, user=dana, volume="digest")
    p = poll(scene, title="Last call", closing_in=timedelta(hours=20))
    option = p.options[0]
    polls.cast_vote(actor_id=dana.id, poll_id=p.id, choices={option.id: 1})
    run(later)
    assert "CLOSING SOON" in digests_to(outbox, scene.alice)[0].text
    dana_mails = digests_to(outbox, dana)
    assert all("CLOSING SOON" not in m.text for m in dana_mails)


def test_closed_anonymous_poll_shows_counts_and_outcome_but_never_who_voted(scene, outbox, later):
    voters = []
    for name in ("Zelda Voter", "Yannick Voter"):
        user = UserFactory(name=name, email=f"{name.split()[0].lower()}@example.org")
        MembershipFactory(group=scene.group, user=user, volume="mute")
        voters.append(user)
    p = poll(scene, title="Secret ballot", anonymous=True)
    agree, disagree = p.options[0], p.options[2]
    polls.cast_vote(actor_id=voters[0].id, poll_id=p.id, choices={agree.id: 1}, reason="Zelda's own reason")
    polls.cast_vote(actor_id=voters[1].id, poll_id=p.id, choices={disagree.id: 1})
    polls.close_poll(actor_id=scene.bob.id, poll_id=p.id)
    polls.set_outcome(actor_id=scene.bob.id, poll_id=p.id, statement="We paint it green.")
    run(later)
    [mail] = digests_to(outbox, scene.alice)
    for part in (mail.text, mail.html):
        assert "Secret ballot" in part and "2 people voted" in part and "We paint it green." in part
        assert "Zelda" not in part and "Yannick" not in part and "own reason" not in part
    assert "NEW POLL" not in mail.text  # it closed before the digest: shown once, with its results


def test_a_poll_in_a_muted_thread_stays_out(scene, outbox, later):
    from app.models import ReadState

    thread = scene.thread(title="Muted place")
    db.session.add(ReadState(user_id=scene.alice.id, discussion_id=thread.id, volume="mute"))
    db.session.commit()
    polls.create_poll(actor_id=scene.bob.id, discussion_id=thread.id, poll_type="proposal", title="Hidden vote",
                      closing_at=utcnow() + timedelta(hours=12))
    assert run(later)["sent"] == 0
