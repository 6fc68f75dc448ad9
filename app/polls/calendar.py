"""A meeting poll's outcome as an iCalendar file (RFC 5545): one event at the chosen slot, the same
file whether it is downloaded from the poll's page or attached to the outcome mail."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..i18n import _


def outcome_event(poll, option, outcome, *, domain: str, base_url: str, sequence: int | None = None) -> str:
    """The .ics text for `outcome` of `poll`, whose chosen slot is `option` (it has a start).

    `sequence` is the mailed invitation's SEQUENCE (the same UID, so a calendar that has both
    sees one event); without an invitation, the outcome's id as before."""
    start = _utc(option.starts_at)
    end = start + timedelta(minutes=option.duration_minutes or 60)
    stamp = _utc(outcome.created_at or datetime.now(timezone.utc))
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Quorum//Decisions//EN", "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:poll-{poll.id}-outcome@{domain}", f"DTSTAMP:{_fmt(stamp)}", f"DTSTART:{_fmt(start)}", f"DTEND:{_fmt(end)}",
        f"SUMMARY:{_escape(poll.title)}", f"DESCRIPTION:{_escape(outcome.statement)}",
        f"URL:{base_url.rstrip('/')}/p/{poll.id}", f"SEQUENCE:{outcome.id if sequence is None else sequence}", "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(part for line in lines for part in _fold(line)) + "\r\n"


def _utc(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _fmt(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r", "").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Lines of at most 75 octets, continued with a space, never splitting a UTF-8 sequence."""
    out, raw = [], line.encode()
    while len(raw) > 73:
        cut = 73
        while (raw[cut] & 0xC0) == 0x80:
            cut -= 1
        out.append(raw[:cut].decode())
        raw = raw[cut:]
    out.append(raw.decode())
    return [out[0]] + [" " + part for part in out[1:]]


# --- Invitations by mail (iMIP, RFC 6047) ----------------------------------------------------
# The outcome mail carries the chosen slot as METHOD:REQUEST, one copy per member: its ORGANIZER
# is that member's reply address for the poll (so their calendar's answer comes back to us, bound
# to them) and its one ATTENDEE is that member (no member's address is shown to another).

ANSWERS = {"ACCEPTED": "accepted", "TENTATIVE": "tentative", "DECLINED": "declined"}


def event_uid(poll, *, domain: str) -> str:
    """The one UID a poll's meeting has for its whole life (every REQUEST, CANCEL and download)."""
    return f"poll-{poll.id}-outcome@{domain}"


def invitation(poll, option, outcome, *, method: str, sequence: int, stamp: datetime, organizer: str,
               organizer_name: str, attendee: str, attendee_name: str, domain: str, base_url: str) -> str:
    """A METHOD:REQUEST (or METHOD:CANCEL) calendar for one member: the chosen slot as one event."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", "-//Quorum//Decisions//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = icalendar.Event()
    start = _utc(option.starts_at)
    event.add("uid", event_uid(poll, domain=domain))
    event.add("sequence", sequence)
    event.add("dtstamp", _utc(stamp))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=option.duration_minutes or 60))
    event.add("summary", poll.title)
    if outcome is not None and outcome.statement:
        event.add("description", outcome.statement)
    event.add("url", f"{base_url.rstrip('/')}/p/{poll.id}")
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    who = icalendar.vCalAddress(f"mailto:{organizer}")
    who.params["cn"] = icalendar.vText(organizer_name)
    event.add("organizer", who)
    guest = icalendar.vCalAddress(f"mailto:{attendee}")
    guest.params.update({"cn": icalendar.vText(attendee_name or attendee), "role": "REQ-PARTICIPANT",
                         "partstat": "NEEDS-ACTION", "rsvp": "TRUE", "cutype": "INDIVIDUAL"})
    event.add("attendee", guest)
    cal.add_component(event)
    return cal.to_ical().decode()


class CalendarError(Exception):
    """A calendar part we cannot read as an answer; the message says why, for the sender."""


class CalendarReply:
    """What a member's calendar answered (METHOD:REPLY): which event, which version, who, what."""

    def __init__(self, *, uid: str, sequence: int, attendees: list[tuple[str, str]], stamp: datetime | None):
        self.uid, self.sequence, self.attendees, self.stamp = uid, sequence, attendees, stamp

    def __repr__(self) -> str:
        return f"CalendarReply(uid={self.uid!r}, sequence={self.sequence}, attendees={self.attendees!r})"


def method_of(data: bytes | str) -> str | None:
    """The METHOD of a calendar file (upper case), or None when it cannot be read at all."""
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception:  # noqa: BLE001 - anyone can send any bytes as text/calendar
        return None
    method = cal.get("method")
    return str(method).strip().upper() if method else None


def read_reply(data: bytes | str) -> CalendarReply:
    """A METHOD:REPLY's one event: its UID, SEQUENCE and each ATTENDEE's address and answer."""
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception:  # noqa: BLE001 - anyone can send any bytes as text/calendar
        raise CalendarError(_("Your calendar's answer could not be read.")) from None
    if str(cal.get("method") or "").strip().upper() != "REPLY":
        raise CalendarError(_("This calendar file is not an answer to an invitation (METHOD:REPLY)."))
    events = cal.walk("VEVENT")
    if len(events) != 1:
        raise CalendarError(_("Your calendar's answer should name exactly one event."))
    event = events[0]
    uid = str(event.get("uid") or "").strip()
    try:
        sequence = int(event.get("sequence") or 0)
    except (TypeError, ValueError):
        raise CalendarError(_("Your calendar's answer has a SEQUENCE that is not a number.")) from None
    found = event.get("attendee")
    found = found if isinstance(found, list) else [found] if found is not None else []
    attendees = []
    for address in found:
        email = str(address).strip()
        if email.lower().startswith("mailto:"):
            email = email[7:]
        partstat = str(getattr(address, "params", {}).get("PARTSTAT", "")).strip().upper()
        attendees.append((email.strip().lower(), partstat))
    stamp = event.get("dtstamp")
    try:
        stamp = _utc(stamp.dt) if stamp is not None and isinstance(stamp.dt, datetime) else None
    except Exception:  # noqa: BLE001 - a bad DTSTAMP only loses the stamp
        stamp = None
    return CalendarReply(uid=uid, sequence=sequence, attendees=attendees, stamp=stamp)
