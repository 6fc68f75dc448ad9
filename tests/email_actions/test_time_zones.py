"""Every time in mail is in the reader's own zone, with the zone named: a decision's closing time
in the starter's confirmation and in each member's notification, meeting slots in the poll's mails
and its results, a digest's closing times and an export's expiry. Maya reads in Sydney, Noah in
New York, Lena in Sydney too; New York moves its clocks on the second Sunday of March (Sydney on the
first Sunday of April). A closing time a member writes must lie ahead and within a year, so those tests
take the next such day rather than a fixed date."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from app.services import polls as poll_service
from app.services.digests import run_due
from tests.factories import GroupFactory, MembershipFactory, UserFactory, member

from .conftest import message

SYDNEY, NEW_YORK = "Australia/Sydney", "America/New_York"


def next_day(month: int, day: int | None = None) -> date:
    """The next `day` of `month` (or the month's second Sunday) at least two days ahead."""
    today = datetime.now(timezone.utc).date()
    for year in (today.year, today.year + 1):
        if day is None:
            first = date(year, month, 1)
            candidate = first + timedelta(days=(6 - first.weekday()) % 7 + 7)
        else:
            candidate = date(year, month, day)
        if candidate >= today + timedelta(days=2):
            return candidate
    raise AssertionError("unreachable")


def shown(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b} {d.year}"


@pytest.fixture
def club(clean_app, dns):
    group = GroupFactory(handle="garden", name="Garden")
    maya = member(group, role="admin", name="Maya", email="maya@example.org", time_zone=SYDNEY)
    noah = member(group, name="Noah", email="noah@example.org", time_zone=NEW_YORK)
    member(group, name="Lena", email="lena@example.org", time_zone=SYDNEY)
    return group, maya, noah


def start_by_mail(send, sender, closes: str, title: str = "Buy bins") -> None:
    raw = message(sender=f"{sender.name} <{sender.email}>", to="garden@quorum.test", subject=f"Proposal: {title}",
                  body=f"Two of them.\nCloses: {closes}\n")
    row = send(raw, to="garden@quorum.test", envelope_from=sender.email)
    assert (row.status, row.action) == ("processed", "new_poll")


def test_a_closing_time_written_in_sydney_is_shown_in_sydney_and_in_new_york(club, send, outbox):
    _, maya, noah = club
    day = next_day(12, 5)  # summer in Sydney, winter in New York
    start_by_mail(send, maya, f"{day.isoformat()} 18:00")  # 07:00 UTC
    confirmation = outbox.last_to("maya@example.org")
    assert f"closes {shown(day)}, 18:00 (Australia/Sydney)" in confirmation.text
    assert "UTC" not in confirmation.text
    notification = outbox.last_to("noah@example.org")
    assert f"Closes {shown(day)}, 02:00 (America/New_York)." in notification.text
    assert f"Closes {shown(day)}, 02:00 (America/New_York)." in notification.html


def test_a_closing_time_after_new_york_moves_its_clocks_keeps_its_hour(club, send, outbox):
    _, maya, noah = club
    day = next_day(3)  # EDT from 02:00 that day: 17:00 is 21:00 UTC, not 22:00; Sydney still on summer time
    start_by_mail(send, noah, f"{day.isoformat()} 17:00")
    assert f"closes {shown(day)}, 17:00 (America/New_York)" in outbox.last_to("noah@example.org").text
    assert f"Closes {shown(day + timedelta(days=1))}, 08:00 (Australia/Sydney)." in outbox.last_to("maya@example.org").text


def meeting(group, maya, noah):
    slots = [datetime(2026, 12, 5, 7, 0, tzinfo=timezone.utc),  # summer in Sydney, winter in New York
             datetime(2027, 3, 15, 13, 0, tzinfo=timezone.utc)]  # New York on summer time since the 14th
    poll = poll_service.create_poll(actor_id=maya.id, poll_type="meeting", group_id=group.id, title="Work party",
                                    slots=slots, duration_minutes=90,
                                    closing_at=datetime.now(timezone.utc) + timedelta(days=2))
    return poll, sorted(poll.options, key=lambda o: o.starts_at)


def test_meeting_slots_are_shown_in_each_readers_zone(club, outbox):
    group, maya, noah = club
    poll, (december, march) = meeting(group, maya, noah)
    for_noah, for_lena = outbox.last_to("noah@example.org"), outbox.last_to("lena@example.org")
    assert "1. Sat 5 Dec 2026, 02:00–03:30 (America/New_York)" in for_noah.text
    assert "2. Mon 15 Mar 2027, 09:00–10:30 (America/New_York)" in for_noah.text
    assert "1. Sat 5 Dec 2026, 18:00–19:30 (Australia/Sydney)" in for_lena.text
    assert "2. Tue 16 Mar 2027, 00:00–01:30 (Australia/Sydney)" in for_lena.text
    assert "UTC" not in for_noah.text + for_lena.text and "02:00–03:30" in for_noah.html

    poll_service.cast_vote(actor_id=noah.id, poll_id=poll.id, choices={december.id: 2, march.id: 1})
    poll_service.close_poll(actor_id=maya.id, poll_id=poll.id)
    closed = outbox.last_to("noah@example.org")
    assert "1. Sat 5 Dec 2026, 02:00–03:30 (America/New_York): 1 yes, 0 maybe, 0 no" in closed.text


def test_a_vote_by_reply_that_cannot_be_read_lists_the_slots_in_the_voters_zone(club, send, outbox):
    group, maya, noah = club
    poll, _ = meeting(group, maya, noah)
    to = outbox.last_to("lena@example.org").header("Reply-To")
    send(message(sender="Lena <lena@example.org>", to=to, body="yes 7"), to=to, envelope_from="lena@example.org")
    told = outbox.last_to("lena@example.org")
    assert "There is no slot 7" in told.text and "1. Sat 5 Dec 2026, 18:00–19:30 (Australia/Sydney)" in told.text


def test_a_digest_names_the_zone_of_its_closing_times(club, outbox):
    group, maya, _ = club
    ines = UserFactory(name="Ines", email="ines@example.org", time_zone=NEW_YORK, digest_frequency="daily", digest_hour=0)
    MembershipFactory(group=group, user=ines, volume="digest")
    poll_service.create_poll(actor_id=maya.id, poll_type="proposal", group_id=group.id, title="Buy bins",
                             closing_at=datetime.combine(day := next_day(12, 20), datetime.min.time(), timezone.utc)
                             + timedelta(hours=7))
    run_due(now=datetime.now(timezone.utc) + timedelta(minutes=5), ignore_hour=True, member_email=ines.email)
    assert f"NEW POLL (closes {day:%a} {day.day} {day:%b}, 02:00 (America/New_York)): Buy bins" \
        in outbox.last_to("ines@example.org").text


def test_an_exports_expiry_is_in_the_admins_zone(club, outbox):
    from app.stewardship.export import request_export

    group, maya, _ = club
    request_export(actor=maya, group_id=group.id)  # built by its job, inline in tests
    mail = outbox.last_to("maya@example.org")
    assert "(Australia/Sydney)" in mail.text and "UTC" not in mail.text
