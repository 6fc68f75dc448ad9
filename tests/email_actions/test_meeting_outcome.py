"""A meeting poll's closed and outcome mails count each slot as the poll's page does (its yes,
maybe and no), and the outcome mail carries the chosen slot as a calendar invitation (the same event
as the page's download), so a member who never opens a browser can still put the meeting in their calendar."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from app.services import polls as poll_service
from tests.factories import GroupFactory, member
from tests.helpers import sign_in

SLOTS = [datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc), datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc),
         datetime(2026, 12, 7, 17, 30, tzinfo=timezone.utc)]


@pytest.fixture
def meeting(clean_app, outbox):
    """Ten members answer three slots: 8, 3 and 5 say yes; two say maybe to the second."""
    group = GroupFactory(handle="garden", name="Garden")
    ada = member(group, role="admin", name="Ada", email="ada@example.org")
    voters = [member(group, name=f"Voter {n}", email=f"voter{n}@example.org") for n in range(10)]
    poll = poll_service.create_poll(actor_id=ada.id, poll_type="meeting", group_id=group.id, title="Work party",
                                    slots=SLOTS, duration_minutes=120,
                                    closing_at=datetime.now(timezone.utc) + timedelta(days=2))
    first, second, third = sorted(poll.options, key=lambda o: o.starts_at)
    for n, voter in enumerate(voters):
        choices = {first.id: 2 if n < 8 else 0, second.id: 2 if n < 3 else (1 if n >= 8 else 0),
                   third.id: 2 if 3 <= n < 8 else 0}
        poll_service.cast_vote(actor_id=voter.id, poll_id=poll.id, choices=choices)
    poll_service.close_poll(actor_id=ada.id, poll_id=poll.id)
    closed = outbox.last_to("voter0@example.org")
    outcome = poll_service.set_outcome(actor_id=ada.id, poll_id=poll.id, statement="Saturday morning it is.",
                                       option_id=first.id)
    return dict(poll=poll, ada=ada, closed=closed, outcome_mail=outbox.last_to("voter0@example.org"), outcome=outcome)


COUNTS = ["1. Sat 5 Dec 2026, 09:00–11:00 (UTC): 8 yes, 0 maybe, 2 no",
          "2. Sun 6 Dec 2026, 09:00–11:00 (UTC): 3 yes, 2 maybe, 5 no",
          "3. Mon 7 Dec 2026, 17:30–19:30 (UTC): 5 yes, 0 maybe, 5 no"]


def test_the_closed_and_outcome_mails_give_each_slot_its_yes_maybe_and_no(meeting):
    for mail in (meeting["closed"], meeting["outcome_mail"]):
        assert "Results (10 votes):" in mail.text
        for line in COUNTS:
            assert line in mail.text
        assert "10 (" not in mail.text


def test_the_mails_count_as_the_polls_page_does(meeting, client):
    sign_in(client, meeting["ada"])
    page = client.get(f"/p/{meeting['poll'].id}").get_data(as_text=True)
    rows = re.findall(r'<td class="num">(\d+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>', page)
    assert rows == [("8", "0", "2"), ("3", "2", "5"), ("5", "0", "5")]


def test_the_outcome_mail_carries_the_pages_calendar_invitation(meeting, client):
    mail = meeting["outcome_mail"]
    assert "The time: Sat 5 Dec 2026, 09:00–11:00 (UTC)." in mail.text
    [part] = [p for p in mail.parsed.message.walk() if p.get_content_type() == "text/calendar"]
    [attached] = [p for p in mail.parsed.message.walk() if p.get_filename() == f"poll-{meeting['poll'].id}.ics"]
    assert part.get_param("method") == "REQUEST" and attached.get_payload(decode=True) == part.get_payload(decode=True)
    sign_in(client, meeting["ada"])
    download = client.get(f"/p/{meeting['poll'].id}/outcome.ics")
    assert download.status_code == 200 and b"METHOD:PUBLISH" in download.data
    assert b"DTSTART:20261205T090000Z\r\nDTEND:20261205T110000Z" in download.data
    invite = part.get_payload(decode=True)  # the same event: one UID, one SEQUENCE, the same times
    for line in (b"UID:poll-%d-outcome@" % meeting["poll"].id, b"SEQUENCE:0", b"DTSTART:20261205T090000Z",
                 b"DTEND:20261205T110000Z"):
        assert line in invite and line in download.data


def test_only_a_meeting_outcome_has_an_invitation(clean_app, outbox):
    group = GroupFactory(handle="garden", name="Garden")
    ada = member(group, role="admin", name="Ada", email="ada@example.org")
    member(group, name="Bob", email="bob@example.org")
    poll = poll_service.create_poll(actor_id=ada.id, poll_type="proposal", group_id=group.id, title="Buy bins",
                                    closing_at=datetime.now(timezone.utc) + timedelta(days=2))
    poll_service.close_poll(actor_id=ada.id, poll_id=poll.id)
    poll_service.set_outcome(actor_id=ada.id, poll_id=poll.id, statement="We buy them.")
    mail = outbox.last_to("bob@example.org")
    assert "We buy them." in mail.text
    assert [p for p in mail.parsed.message.walk() if p.get_content_type() == "text/calendar"] == []
