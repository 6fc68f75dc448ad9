"""A meeting poll whose outcome has been mailed as a calendar invitation, and the replies four
mail clients send to it (shaped by the data files in tests/fixtures/imip/)."""
from __future__ import annotations

import base64
import json
import quopri
import smtplib
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from string import Template

import icalendar
import pytest

from app.services import polls as poll_service
from tests.factories import GroupFactory, member
from tests.mailauth import sign

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imip"
CLIENTS = ("outlook", "gmail", "apple", "thunderbird")
ANSWERS = {"ACCEPTED": "accepted", "TENTATIVE": "tentative", "DECLINED": "declined"}
SLOTS = [datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc), datetime(2026, 12, 6, 17, 0, tzinfo=timezone.utc)]


class Meeting:
    """Ada (Berlin) ran a meeting poll in Garden; Bob (New York) and Cai (Berlin) voted; the outcome
    names the first slot, so each was mailed an invitation."""

    def __init__(self, outbox):
        self.outbox = outbox
        self.group = GroupFactory(handle="garden", name="Garden")
        self.ada = member(self.group, role="admin", name="Ada", email="ada@example.org", time_zone="Europe/Berlin")
        self.bob = member(self.group, name="Bob", email="bob@example.org", time_zone="America/New_York")
        self.cai = member(self.group, name="Cai", email="cai@example.org", time_zone="Europe/Berlin")
        self.poll = poll_service.create_poll(
            actor_id=self.ada.id, poll_type="meeting", group_id=self.group.id, title="Work party",
            slots=SLOTS, duration_minutes=120, closing_at=datetime.now(timezone.utc) + timedelta(days=2))
        self.first, self.second = sorted(self.poll.options, key=lambda o: o.starts_at)
        for voter in (self.bob, self.cai):
            poll_service.cast_vote(actor_id=voter.id, poll_id=self.poll.id, choices={self.first.id: 2, self.second.id: 1})
        poll_service.close_poll(actor_id=self.ada.id, poll_id=self.poll.id)
        self.outcome = poll_service.set_outcome(actor_id=self.ada.id, poll_id=self.poll.id,
                                                statement="Saturday morning it is.", option_id=self.first.id)

    def invitation(self, user, method: str = "REQUEST"):
        """(the mail, its calendar part parsed) of the newest invitation `user` was sent."""
        for mail in reversed(self.outbox.to(user.email)):
            message = message_from_bytes(mail.raw, policy=default_policy)
            for part in message.walk():
                if part.get_content_type() == "text/calendar" and part.get_param("method") == method:
                    return message, icalendar.Calendar.from_ical(part.get_payload(decode=True))
        raise AssertionError(f"no {method} invitation to {user.email}")

    def organizer(self, user) -> str:
        _, cal = self.invitation(user)
        return str(cal.walk("VEVENT")[0]["organizer"]).removeprefix("mailto:")


def client_reply(meeting: Meeting, client: str, partstat: str, *, user=None, sequence: int | None = None,
                 uid: str | None = None, attendee: str | None = None, signed: bool = True) -> bytes:
    """What `client` sends when `user` presses Accept/Tentative/Decline on their newest invitation."""
    user = user or meeting.bob
    _, cal = meeting.invitation(user)
    event = cal.walk("VEVENT")[0]
    values = dict(
        ORGANIZER=str(event["organizer"]).removeprefix("mailto:"), ATTENDEE=user.email, NAME=user.name,
        UID=uid or str(event["uid"]), SEQUENCE=str(int(event["sequence"]) if sequence is None else sequence),
        PARTSTAT=partstat, TITLE=str(event["summary"]), DTSTART=event["dtstart"].to_ical().decode(),
        DTEND=event["dtend"].to_ical().decode(), DTSTAMP="20261203T101502Z",
        MESSAGE_ID=f"{client}.{partstat.lower()}.{sequence}.{uid and 'x'}.{attendee and 'y'}@example.org")
    subjects = json.loads((FIXTURES / "subjects.json").read_text())
    values["SUBJECT"] = Template(subjects[client][partstat]).substitute(values)
    # `attendee`: the calendar names someone other than the sender (the message is still from `user`)
    calendar = _crlf(Template((FIXTURES / f"{client}.ics").read_text()).substitute(
        values, ATTENDEE=attendee or user.email))
    values["CALENDAR"] = calendar.decode().rstrip("\r\n")
    values["CALENDAR_B64"] = base64.encodebytes(calendar).decode().rstrip("\n")
    values["CALENDAR_QP"] = quopri.encodestring(calendar).decode().rstrip("\r\n")
    raw = _crlf(Template((FIXTURES / f"{client}.eml").read_text()).substitute(values))
    return sign(raw, user.email.rpartition("@")[2]) if signed else raw


def _crlf(text: str) -> bytes:
    return ("\r\n".join(text.replace("\r\n", "\n").split("\n"))).encode()


@pytest.fixture
def meeting(clean_app, dns, outbox) -> Meeting:
    return Meeting(outbox)


@pytest.fixture
def server(clean_app, dns):
    from mail.server import start_server

    controller = start_server(clean_app)
    yield controller
    controller.stop()


def send(server, raw: bytes, *, to: str, envelope_from: str = "bob@example.org"):
    """Through the real SMTP server, as the member's mail provider would; the stored row after."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import InboundMessage

    with smtplib.SMTP(server.hostname, server.port, timeout=10) as client:
        assert client.sendmail(envelope_from, [to], raw) == {}
    db.session.expire_all()
    return db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
