"""Accept, Tentative and Decline as Outlook, Gmail, Apple Mail and Thunderbird send them (iMIP
REPLY, RFC 6047), through the real SMTP server: recorded as the member's attendance and shown on
the poll's page; never a comment, never a vote; an unproven sender records nothing until the
member confirms; an answer to an old SEQUENCE, another event or for someone else is refused."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, MeetingAttendance, OutboundMessage, Stance
from app.services import polls as poll_service
from tests.helpers import post, sign_in

from .conftest import ANSWERS, CLIENTS, client_reply, send


def attendance(meeting) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.scalars(select(MeetingAttendance).where(MeetingAttendance.poll_id == meeting.poll.id))
    return {row.user.email: row.status for row in rows}


def refusals_to(address: str) -> list[OutboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.kind == "inbound_refused", OutboundMessage.to_address == address)))


def votes_and_comments(meeting) -> tuple[list, int]:
    db.session.expire_all()
    stances = [(s.participant_id, s.latest) for s in db.session.scalars(
        select(Stance).where(Stance.poll_id == meeting.poll.id).order_by(Stance.id))]
    return stances, db.session.scalar(select(func.count(Comment.id)))


@pytest.mark.parametrize("partstat", list(ANSWERS))
@pytest.mark.parametrize("client_name", CLIENTS)
def test_each_clients_answer_is_the_members_attendance_and_nothing_else(meeting, server, client_name, partstat):
    before = votes_and_comments(meeting)
    row = send(server, client_reply(meeting, client_name, partstat), to=meeting.organizer(meeting.bob))
    assert (row.status, row.action) == ("processed", "attendance"), row.reason
    assert row.classification == "human"
    assert attendance(meeting) == {"bob@example.org": ANSWERS[partstat]}
    assert votes_and_comments(meeting) == before  # not a comment, not a vote
    assert refusals_to("bob@example.org") == []  # and no mail back: the calendar shows the answer


def test_the_page_shows_who_comes_and_the_count_in_the_outcome(meeting, server, client):
    send(server, client_reply(meeting, "outlook", "ACCEPTED"), to=meeting.organizer(meeting.bob))
    send(server, client_reply(meeting, "gmail", "DECLINED", user=meeting.cai), to=meeting.organizer(meeting.cai),
         envelope_from="cai@example.org")
    sign_in(client, meeting.bob)
    page = client.get(f"/p/{meeting.poll.id}").get_data(as_text=True)
    assert "1 accepted, 0 tentative, 1 declined" in page and "you answered accepted" in page
    assert "<li>Bob: accepted</li>" in page and "<li>Cai: declined</li>" in page
    # A second answer replaces the first.
    send(server, client_reply(meeting, "thunderbird", "TENTATIVE"), to=meeting.organizer(meeting.bob))
    page = client.get(f"/p/{meeting.poll.id}").get_data(as_text=True)
    assert "0 accepted, 1 tentative, 1 declined" in page and "<li>Bob: tentative</li>" in page


def test_an_answer_to_an_earlier_version_is_refused_and_says_what_changed(meeting, server, outbox):
    old = client_reply(meeting, "outlook", "ACCEPTED")  # answering SEQUENCE 0
    poll_service.set_outcome(actor_id=meeting.ada.id, poll_id=meeting.poll.id, statement="Sunday.",
                             option_id=meeting.second.id)
    row = send(server, old, to=meeting.organizer(meeting.bob))
    assert row.action == "attendance" and row.status == "rejected" and "earlier version" in row.reason
    assert attendance(meeting) == {}
    assert len(refusals_to("bob@example.org")) == 1
    told = outbox.last_to("bob@example.org")
    assert "earlier version" in told.text
    assert "Sun 6 Dec 2026, 12:00–14:00 (America/New_York)" in told.text  # the new time, in Bob's zone


def test_answers_to_an_earlier_version_no_longer_count_once_the_time_changes(meeting, server, client):
    send(server, client_reply(meeting, "apple", "ACCEPTED"), to=meeting.organizer(meeting.bob))
    poll_service.set_outcome(actor_id=meeting.ada.id, poll_id=meeting.poll.id, statement="Sunday.",
                             option_id=meeting.second.id)
    sign_in(client, meeting.bob)
    page = client.get(f"/p/{meeting.poll.id}").get_data(as_text=True)
    assert "0 accepted, 0 tentative, 0 declined" in page and "Nobody has answered" in page
    send(server, client_reply(meeting, "apple", "DECLINED"), to=meeting.organizer(meeting.bob))  # SEQUENCE 1
    assert attendance(meeting) == {"bob@example.org": "declined"}


def test_an_answer_for_another_event_is_refused(meeting, server):
    raw = client_reply(meeting, "thunderbird", "ACCEPTED", uid="040000008200E00074C5B7101A82E008@elsewhere.example")
    row = send(server, raw, to=meeting.organizer(meeting.bob))
    assert row.status == "rejected" and "event we did not send" in row.reason
    assert attendance(meeting) == {} and len(refusals_to("bob@example.org")) == 1


def test_an_answer_naming_another_attendee_records_nothing(meeting, server):
    raw = client_reply(meeting, "gmail", "ACCEPTED", attendee="cai@example.org")  # Bob answering for Cai
    row = send(server, raw, to=meeting.organizer(meeting.bob))
    assert row.status == "rejected" and "someone else" in row.reason
    assert attendance(meeting) == {}


def test_an_answer_sent_to_someone_elses_organizer_address_is_refused(meeting, server):
    raw = client_reply(meeting, "outlook", "ACCEPTED")
    row = send(server, raw, to=meeting.organizer(meeting.cai))  # Cai's address, From Bob
    assert row.status == "rejected" and "does not match" in row.reason
    assert attendance(meeting) == {}


def test_an_answer_after_the_meeting_was_cancelled_is_refused(meeting, server):
    raw = client_reply(meeting, "apple", "ACCEPTED")
    from datetime import timedelta

    from app.models import utcnow

    poll_service.reopen_poll(actor_id=meeting.ada.id, poll_id=meeting.poll.id, closing_at=utcnow() + timedelta(days=1))
    row = send(server, raw, to=meeting.organizer(meeting.bob))
    assert row.status == "rejected" and "cancelled" in row.reason
    assert attendance(meeting) == {}


def test_an_unproven_senders_answer_records_nothing_until_the_member_confirms(meeting, server, dns, outbox, client):
    dns[("_dmarc.example.org", "TXT")] = ["v=DMARC1; p=reject"]
    dns[("example.org", "TXT")] = ["v=spf1 ip4:198.51.100.0/24 -all"]  # not the loopback we send from
    raw = client_reply(meeting, "outlook", "DECLINED", signed=False)
    row = send(server, raw, to=meeting.organizer(meeting.bob))
    assert (row.status, row.action) == ("held", "unconfirmed")
    assert attendance(meeting) == {}
    ask = outbox.last_to("bob@example.org")
    assert ask.subject.startswith("Did you send this?") and "answer \u201cdeclined\u201d" in ask.text
    [link] = [url for url in ask.links() if "/confirm/" in url]
    path = link.split("//", 1)[1].partition("/")[2]
    client.get("/" + path)
    post(client, "/" + path)
    assert attendance(meeting) == {"bob@example.org": "declined"}
    assert votes_and_comments(meeting)[1] == 0


def test_a_forged_answer_from_nobody_we_know_records_nothing(meeting, server, dns):
    dns[("_dmarc.example.org", "TXT")] = ["v=DMARC1; p=reject"]
    dns[("example.org", "TXT")] = ["v=spf1 ip4:198.51.100.0/24 -all"]
    raw = client_reply(meeting, "gmail", "ACCEPTED", signed=False).replace(b"bob@example.org", b"eve@example.org")
    row = send(server, raw, to=meeting.organizer(meeting.bob), envelope_from="eve@example.org")
    assert row.status == "rejected" and attendance(meeting) == {}


def test_a_calendar_answer_to_a_thread_address_is_not_posted(meeting, server):
    from app.email.addresses import reply_address
    from app.models import Discussion

    from tests.factories import DiscussionFactory

    thread = DiscussionFactory(group=meeting.group, author=meeting.ada, title="Garden day")
    to = reply_address(meeting.bob, "discussion", thread.id)
    raw = client_reply(meeting, "thunderbird", "ACCEPTED")
    row = send(server, raw, to=to)
    assert row.status == "rejected" and row.action == "attendance"
    assert db.session.scalar(select(func.count(Comment.id)).where(Comment.discussion_id == thread.id)) == 0
    assert isinstance(db.session.get(Discussion, thread.id), Discussion)


def test_a_proposed_new_time_is_refused_with_a_word_and_never_posted(meeting, server):
    raw = client_reply(meeting, "thunderbird", "ACCEPTED").replace(b"METHOD:REPLY", b"METHOD:COUNTER").replace(
        b"method=REPLY", b"method=COUNTER")
    before = votes_and_comments(meeting)
    row = send(server, raw, to=meeting.organizer(meeting.bob))
    assert (row.status, row.action) == ("rejected", "attendance") and "proposed another time" in row.reason
    assert attendance(meeting) == {} and votes_and_comments(meeting) == before
