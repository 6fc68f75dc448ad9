"""A meeting poll's outcome as an iCalendar file (RFC 5545): one event at the chosen slot, the same
file whether it is downloaded from the poll's page or attached to the outcome mail."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


def outcome_event(poll, option, outcome, *, domain: str, base_url: str) -> str:
    """The .ics text for `outcome` of `poll`, whose chosen slot is `option` (it has a start)."""
    start = _utc(option.starts_at)
    end = start + timedelta(minutes=option.duration_minutes or 60)
    stamp = _utc(outcome.created_at or datetime.now(timezone.utc))
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Quorum//Decisions//EN", "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:poll-{poll.id}-outcome@{domain}", f"DTSTAMP:{_fmt(stamp)}", f"DTSTART:{_fmt(start)}", f"DTEND:{_fmt(end)}",
        f"SUMMARY:{_escape(poll.title)}", f"DESCRIPTION:{_escape(outcome.statement)}",
        f"URL:{base_url.rstrip('/')}/p/{poll.id}", f"SEQUENCE:{outcome.id}", "END:VEVENT", "END:VCALENDAR",
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
