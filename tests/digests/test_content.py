"""What a digest holds: only what the member has not seen, and nothing they may not see."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import DigestDelivery, Membership, ReadState, utcnow
from tests.factories import GroupFactory, MembershipFactory, UserFactory

from .conftest import digests_to, run


def test_a_digest_has_new_threads_with_their_first_paragraph_and_comments_newest_last(scene, outbox, later):
    thread = scene.thread(title="Seed swap", body="Bring your spare seeds.\n\nParking is behind the hall.")
    scene.comment(thread, "I have tomatoes.")
    scene.comment(thread, "And I have beans.")
    assert run(later)["sent"] == 1
    [mail] = digests_to(outbox, scene.alice)
    assert mail.subject == "3 new in Garden: your daily digest"
    text = mail.text
    assert "NEW THREAD: Seed swap" in text and "Bring your spare seeds." in text
    assert "Parking is behind the hall." not in text  # only the first paragraph
    assert text.index("I have tomatoes.") < text.index("And I have beans.")
    assert "Seed swap" in mail.html and "And I have beans." in mail.html
    assert "<img" not in mail.html  # no tracking pixels, no remote images


def test_what_the_member_read_on_the_web_is_left_out(scene, outbox, later):
    thread = scene.thread(title="Read already")
    scene.comment(thread, "Seen on the web.")
    db.session.add(ReadState(user_id=scene.alice.id, discussion_id=thread.id, last_read_at=utcnow(), read_comments_count=1))
    db.session.commit()
    other = scene.thread(title="Not read yet")
    assert run(later)["sent"] == 1
    text = digests_to(outbox, scene.alice)[0].text
    assert "Not read yet" in text
    assert "Read already" not in text and "Seen on the web." not in text


def test_a_muted_thread_is_left_out_and_nothing_at_all_is_not_sent(scene, outbox, later):
    thread = scene.thread(title="Noisy thread")
    db.session.add(ReadState(user_id=scene.alice.id, discussion_id=thread.id, volume="mute"))
    db.session.commit()
    scene.comment(thread, "More noise.")
    result = run(later)
    assert (result["sent"], result["empty"]) == (0, 1)
    assert digests_to(outbox, scene.alice) == []
    assert db.session.scalar(select(DigestDelivery.status).where(DigestDelivery.user_id == scene.alice.id)) == "empty"


def test_a_secret_group_the_member_left_sends_nothing_more(scene, outbox, later):
    secret = GroupFactory(handle="board", name="Board", privacy="secret")
    MembershipFactory(group=secret, user=scene.bob, role="admin")
    left = MembershipFactory(group=secret, user=scene.alice, volume="digest")
    db.session.delete(left)
    db.session.commit()
    scene.thread(title="Salaries for next year", group=secret)
    scene.thread(title="Garden news")
    run(later)
    [mail] = digests_to(outbox, scene.alice)
    assert "Garden news" in mail.text
    assert "Salaries" not in mail.text and "Board" not in mail.text and "Salaries" not in mail.html


def test_an_invitee_who_has_not_accepted_gets_nothing(scene, outbox, later):
    from app.models import Invitation

    db.session.add(Invitation(group_id=scene.group.id, email="invitee@example.org", token_hash="x" * 64))
    db.session.commit()
    scene.thread(title="Welcome")
    run(later)
    assert outbox.to("invitee@example.org") == []


def test_items_already_emailed_are_not_repeated_and_all_volume_groups_add_only_what_mail_missed(scene, outbox, later):
    carol = UserFactory(email="carol@example.org", name="Carol", digest_frequency="daily", digest_hour=0)
    MembershipFactory(group=scene.group, user=carol, volume="all")
    scene.thread(title="Every message")
    run(later)
    assert len(outbox.to(carol.email)) == 1  # the thread's own email, no digest repeating it
    assert digests_to(outbox, carol) == []
    assert len(digests_to(outbox, scene.alice)) == 1


def test_the_members_own_posts_are_not_in_their_digest(scene, outbox, later):
    thread = scene.thread(title="Alice's idea", author=scene.alice)
    scene.comment(thread, "Alice adds a detail.", author=scene.alice)
    assert run(later)["sent"] == 0


def test_items_in_a_sent_digest_are_not_repeated_in_the_next_one(scene, outbox, later):
    scene.thread(title="Monday news")
    run(later)
    tomorrow = later + timedelta(days=1)
    first_again = run(tomorrow)
    assert first_again["sent"] == 0  # nothing new since
    scene.thread(title="Tuesday news")
    day_after = tomorrow + timedelta(days=1)
    run(day_after + timedelta(minutes=5))
    mails = digests_to(outbox, scene.alice)
    assert len(mails) == 2
    assert "Tuesday news" in mails[1].text and "Monday news" not in mails[1].text


def test_a_group_in_digest_with_digests_off_still_gets_a_daily_digest(scene, outbox, later):
    scene.alice.digest_frequency = "off"
    db.session.commit()
    scene.thread(title="Still reaches Alice")
    assert run(later)["sent"] == 1
    assert "daily digest" in digests_to(outbox, scene.alice)[0].subject


def test_mentions_only_and_muted_groups_add_nothing(scene, outbox, later):
    membership = db.session.scalar(select(Membership).where(Membership.user_id == scene.alice.id))
    membership.volume = "mentions"
    db.session.commit()
    scene.thread(title="Not for the digest")
    assert run(later)["sent"] == 0
