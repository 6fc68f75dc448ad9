"""A member's calendar answering a meeting's invitation (iMIP, RFC 6047): Accept, Tentative or
Decline in Thunderbird, Apple Mail, Outlook or Gmail sends a `METHOD:REPLY` to the invitation's
ORGANIZER, which is that member's reply address for the poll.

Such a message takes its own route (`actions.dispatch` sends it here before commands, poll admin
and votes): it is recorded as the member's attendance, and never posted as a comment nor read as
a vote, whatever text the client put beside the calendar part ("Accepted: Work party", "Bob has
accepted this invitation."). The sender is proven first, as for any reply (`mail/pipeline.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from app.i18n import _, _l
from app.polls.calendar import CalendarError, CalendarReply, method_of, read_reply
from app.services import meetings
from app.services.errors import DomainError

from .reply import ActionResult, Attachment, Reply, refused

CALENDAR_TYPES = ("text/calendar", "application/ics", "text/x-vcalendar")
MAX_CALENDAR_BYTES = 256_000  # a REPLY is a few hundred bytes; anything far larger is not one
# Other answers a calendar sends to an organiser: refused with a word, never posted or read as a vote.
ANSWERED_OTHERWISE = {
    "COUNTER": _l("Your calendar proposed another time; Quorum records only accept, tentative or decline. "
                  "To suggest a time, write in the poll's thread."),
    "REFRESH": _l("Your calendar asked for the invitation again; the newest one is in the outcome mail and on the "
                  "poll's page (Add to calendar)."),
}


@dataclass
class CalendarAnswer:
    """The METHOD:REPLY found in a message: read, or why it could not be."""

    answer: CalendarReply | None
    error: str | None = None


def _is_calendar(content_type: str, filename: str | None) -> bool:
    return content_type.lower() in CALENDAR_TYPES or (filename or "").lower().endswith((".ics", ".ifb", ".vcs"))


def is_calendar_file(attachment: Attachment) -> bool:
    """An attachment that is the calendar answer's own copy (Gmail's invite.ics), not a member's file."""
    return _is_calendar(attachment.content_type, attachment.filename)


def calendar_answer(msg: Message) -> CalendarAnswer | None:
    """The message's iMIP REPLY, if it carries one (a text/calendar part or an .ics file)."""
    for part in msg.walk():
        if part.is_multipart() or not _is_calendar(part.get_content_type(), part.get_filename()):
            continue
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001 - a broken part is no answer
            continue
        if len(data) > MAX_CALENDAR_BYTES:
            continue
        declared = str(part.get_param("method") or "").strip().upper()
        method = method_of(data)
        if method in ANSWERED_OTHERWISE or (method is None and declared in ANSWERED_OTHERWISE):
            return CalendarAnswer(None, str(ANSWERED_OTHERWISE[method or declared]))
        if method != "REPLY" and not (declared == "REPLY" and method is None):
            continue
        try:
            return CalendarAnswer(read_reply(data))
        except CalendarError as error:
            return CalendarAnswer(None, str(error))
    return None


def answer_invitation(reply: Reply) -> ActionResult:
    """Record the member's Accept / Tentative / Decline as their attendance at the meeting."""
    found = reply.calendar
    if reply.kind != "poll":
        return refused("attendance", _("Your calendar's answer to a meeting invitation reached an address that is "
                                       "not the meeting's, so nothing was recorded or posted. Please answer the "
                                       "invitation itself (its organiser is the poll's reply address)."))
    if found.answer is None:
        return refused("attendance", _("%(error)s Nothing was recorded or posted.", error=found.error))
    try:
        recorded = meetings.record_attendance(actor_id=reply.user.id, poll_id=reply.target_id, answer=found.answer,
                                              sender=reply.user.email or "", inbound_message_id=reply.inbound_id,
                                              dry_run=reply.dry_run)
    except DomainError as error:
        return refused("attendance", error.message)
    verb = "would record" if reply.dry_run else "recorded"
    # No confirmation mail: the member's calendar already shows their answer.
    return ActionResult("processed", "attendance",
                        f"{verb} your answer \u201c{recorded.status}\u201d to the meeting at {recorded.slot}",
                        preview=_("Record your answer \u201c%(answer)s\u201d to the meeting at %(time)s",
                                  answer=recorded.status, time=recorded.slot))
