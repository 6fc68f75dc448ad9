"""The outcome mail of a meeting poll is a calendar invitation (iMIP REQUEST) a mail client shows
with Accept / Decline; a changed outcome updates it (SEQUENCE+1, same UID) and a reopened poll or
a withdrawn outcome cancels it (METHOD:CANCEL). Read back with the email package and icalendar."""
from __future__ import annotations

from datetime import timedelta

from app.email.addresses import parse_reply_local
from app.models import utcnow
from app.services import polls as poll_service
from tests.helpers import post, sign_in


def test_the_outcome_mail_carries_a_request_beside_the_text_and_as_a_file(meeting):
    message, cal = meeting.invitation(meeting.bob)
    assert message.get_content_type() == "multipart/mixed"
    alternative, attached = message.get_payload()
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html", "text/calendar"]
    assert alternative.get_payload()[2].get_param("method") == "REQUEST"
    assert attached.get_filename() == f"poll-{meeting.poll.id}.ics" and attached.get_content_type() == "application/ics"
    assert attached.get_payload(decode=True) == alternative.get_payload()[2].get_payload(decode=True)
    assert cal["method"] == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["uid"]) == f"poll-{meeting.poll.id}-outcome@quorum.test"
    assert int(event["sequence"]) == 0 and event["dtstamp"].dt.tzinfo is not None
    assert event["dtstart"].dt == meeting.first.starts_at.replace(tzinfo=event["dtstart"].dt.tzinfo)
    assert event["dtend"].dt - event["dtstart"].dt == timedelta(hours=2)
    assert str(event["summary"]) == "Work party" and str(event["status"]) == "CONFIRMED"


def test_the_organizer_is_the_readers_reply_address_for_the_poll_and_the_attendee_is_the_reader(meeting):
    for user in (meeting.bob, meeting.cai):
        _, cal = meeting.invitation(user)
        [event] = cal.walk("VEVENT")
        organizer = str(event["organizer"]).removeprefix("mailto:")
        target = parse_reply_local(organizer.partition("@")[0])
        assert (target.kind, target.target_id, target.user_id) == ("poll", meeting.poll.id, user.id)
        attendee = event["attendee"]
        assert not isinstance(attendee, list)  # one attendee: no member's address is shown to another
        assert str(attendee) == f"mailto:{user.email}"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION" and attendee.params["RSVP"] == "TRUE"


def test_a_changed_outcome_sends_an_update_with_the_next_sequence_and_the_same_uid(meeting):
    _, first = meeting.invitation(meeting.bob)
    poll_service.set_outcome(actor_id=meeting.ada.id, poll_id=meeting.poll.id, statement="Sunday after all.",
                             option_id=meeting.second.id)
    _, second = meeting.invitation(meeting.bob)
    old, new = first.walk("VEVENT")[0], second.walk("VEVENT")[0]
    assert str(new["uid"]) == str(old["uid"]) and int(new["sequence"]) == int(old["sequence"]) + 1
    assert new["dtstart"].dt != old["dtstart"].dt and "Sunday after all." in str(new["description"])


def test_reopening_the_poll_cancels_the_invitation_and_a_new_outcome_invites_again(meeting):
    poll_service.reopen_poll(actor_id=meeting.ada.id, poll_id=meeting.poll.id, closing_at=utcnow() + timedelta(days=1))
    message, cancel = meeting.invitation(meeting.bob, method="CANCEL")
    assert "called off the meeting" in message.get_body(("plain",)).get_content()
    assert "Sat 5 Dec 2026, 04:00–06:00 (America/New_York)" in message.get_body(("plain",)).get_content()
    [event] = cancel.walk("VEVENT")
    assert cancel["method"] == "CANCEL" and str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == f"poll-{meeting.poll.id}-outcome@quorum.test" and int(event["sequence"]) == 1
    poll_service.close_poll(actor_id=meeting.ada.id, poll_id=meeting.poll.id)
    poll_service.set_outcome(actor_id=meeting.ada.id, poll_id=meeting.poll.id, statement="Sunday.",
                             option_id=meeting.second.id)
    _, again = meeting.invitation(meeting.bob)
    assert int(again.walk("VEVENT")[0]["sequence"]) == 2


def test_withdrawing_the_outcome_on_the_page_cancels_the_invitation(meeting, client):
    sign_in(client, meeting.ada)
    page = client.get(f"/p/{meeting.poll.id}").get_data(as_text=True)
    assert "Withdraw the outcome" in page
    answer = post(client, f"/p/{meeting.poll.id}/outcome/withdraw")
    assert answer.status_code == 303
    page = client.get(f"/p/{meeting.poll.id}").get_data(as_text=True)
    assert "Saturday morning it is." not in page and "Withdraw the outcome" not in page
    _, cancel = meeting.invitation(meeting.cai, method="CANCEL")
    assert int(cancel.walk("VEVENT")[0]["sequence"]) == 1
    assert post(client, f"/p/{meeting.poll.id}/outcome/withdraw").status_code == 422  # nothing left to withdraw


def test_only_the_polls_admins_may_withdraw_its_outcome(meeting, client):
    sign_in(client, meeting.bob)
    assert "Withdraw the outcome" not in client.get(f"/p/{meeting.poll.id}").get_data(as_text=True)
    assert post(client, f"/p/{meeting.poll.id}/outcome/withdraw").status_code == 403
    assert "Saturday morning it is." in client.get(f"/p/{meeting.poll.id}").get_data(as_text=True)


def test_the_pages_download_is_the_same_event_at_the_same_sequence(meeting, client):
    poll_service.set_outcome(actor_id=meeting.ada.id, poll_id=meeting.poll.id, statement="Moved.",
                             option_id=meeting.second.id)
    _, cal = meeting.invitation(meeting.bob)
    sign_in(client, meeting.bob)
    download = client.get(f"/p/{meeting.poll.id}/outcome.ics").data
    assert b"METHOD:PUBLISH" in download
    assert f"UID:{cal.walk('VEVENT')[0]['uid']}".encode() in download and b"SEQUENCE:1" in download
