"""Two members in different zones read every meeting slot in their own zone, named: on the poll's
page, in the vote mail, the outcome mail (and its invitation's text), the cancellation, the
vote-by-reply help and their digest. One slot: Sat 5 Dec 2026 09:00 UTC, two hours long."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.models import utcnow
from app.services import polls as poll_service
from app.services.digests import run_due
from tests.factories import GroupFactory, MembershipFactory, UserFactory, member
from tests.helpers import sign_in

NEW_YORK = "Sat 5 Dec 2026, 04:00–06:00 (America/New_York)"
TOKYO = "Sat 5 Dec 2026, 18:00–20:00 (Asia/Tokyo)"
SLOT = datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc)


def _meeting(outbox):
    group = GroupFactory(handle="garden", name="Garden")
    ada = member(group, role="admin", name="Ada", email="ada@example.org", time_zone="Europe/Berlin")
    bob = member(group, name="Bob", email="bob@example.org", time_zone="America/New_York")
    kei = member(group, name="Kei", email="kei@example.org", time_zone="Asia/Tokyo")
    poll = poll_service.create_poll(actor_id=ada.id, poll_type="meeting", group_id=group.id, title="Work party",
                                    slots=[SLOT, SLOT + timedelta(days=1)], duration_minutes=120,
                                    closing_at=datetime.now(timezone.utc) + timedelta(days=2))
    return group, ada, bob, kei, poll


def test_the_vote_mail_lists_the_slots_in_each_readers_zone(clean_app, dns, outbox):
    _, _, bob, kei, _ = _meeting(outbox)
    assert NEW_YORK in outbox.last_to(bob.email).text and TOKYO not in outbox.last_to(bob.email).text
    assert TOKYO in outbox.last_to(kei.email).text and NEW_YORK not in outbox.last_to(kei.email).text


def test_the_page_shows_each_reader_the_slots_in_their_zone(clean_app, dns, outbox, client):
    _, ada, bob, kei, poll = _meeting(outbox)
    for user, label in ((bob, NEW_YORK), (kei, TOKYO)):
        sign_in(client, user)
        page = client.get(f"/p/{poll.id}").get_data(as_text=True)
        assert label in page, user.email
    poll_service.close_poll(actor_id=ada.id, poll_id=poll.id)
    poll_service.set_outcome(actor_id=ada.id, poll_id=poll.id, statement="Saturday.", option_id=poll.options[0].id)
    sign_in(client, kei)
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert f"<strong>{TOKYO}</strong>" in page  # the outcome's chosen time


def test_the_outcome_and_cancellation_mails_name_the_time_in_each_readers_zone(clean_app, dns, outbox):
    _, ada, bob, kei, poll = _meeting(outbox)
    poll_service.close_poll(actor_id=ada.id, poll_id=poll.id)
    poll_service.set_outcome(actor_id=ada.id, poll_id=poll.id, statement="Saturday.", option_id=poll.options[0].id)
    assert f"The time: {NEW_YORK}." in outbox.last_to(bob.email).text
    assert f"The time: {TOKYO}." in outbox.last_to(kei.email).text
    poll_service.reopen_poll(actor_id=ada.id, poll_id=poll.id, closing_at=utcnow() + timedelta(days=1))
    assert "called off" in outbox.last_to(bob.email).text and NEW_YORK in outbox.last_to(bob.email).text
    assert TOKYO in outbox.last_to(kei.email).text


def test_the_digest_gives_the_slots_and_the_chosen_time_in_the_readers_zone(clean_app, dns, outbox):
    group, ada, bob, kei, poll = _meeting(outbox)
    ines = UserFactory(name="Ines", email="ines@example.org", time_zone="Asia/Tokyo", digest_frequency="daily",
                       digest_hour=0)
    MembershipFactory(group=group, user=ines, volume="digest")
    run_due(now=datetime.now(timezone.utc) + timedelta(minutes=5), ignore_hour=True, member_email=ines.email)
    opened = outbox.last_to(ines.email).text
    assert "NEW POLL" in opened and TOKYO in opened and "(UTC)" not in opened.split("NEW POLL")[1].split("Reply")[0]
    poll_service.close_poll(actor_id=ada.id, poll_id=poll.id)
    poll_service.set_outcome(actor_id=ada.id, poll_id=poll.id, statement="Saturday.", option_id=poll.options[0].id)
    run_due(now=datetime.now(timezone.utc) + timedelta(days=1, minutes=5), ignore_hour=True, member_email=ines.email)
    closed = outbox.last_to(ines.email).text
    assert f"The time: {TOKYO}" in closed and "Outcome: Saturday." in closed
