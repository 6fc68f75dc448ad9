"""Meeting polls as calendar events: the invitation an outcome sends (and its SEQUENCE), its
withdrawal when the poll is reopened or the outcome withdrawn, and each member's answer from
their calendar (an iMIP REPLY: accepted, tentative or declined), shown on the poll's page.

The mail itself is built per member by `app/email/invitations.py` from the event recorded here;
the inbound side (`mail/meetings.py`) reads the REPLY and calls `record_attendance`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update

from .. import policy
from ..extensions import db
from ..models import ATTENDANCE, MeetingAttendance, MeetingInvitation, Outcome, Poll, PollOption, User, utcnow
from ..polls.calendar import ANSWERS, CalendarReply, event_uid
from ..timezones import local_slot
from . import events
from .accounts import acting_member, user_by_email
from ..i18n import _
from .errors import Invalid, NotAllowed, NotFound, all_or_nothing
from .polls.common import event_fields, visible_poll


def invitation_of(poll_id: int) -> MeetingInvitation | None:
    return db.session.scalar(select(MeetingInvitation).where(MeetingInvitation.poll_id == poll_id))


def invite(poll: Poll, outcome: Outcome) -> int:
    """The SEQUENCE the invitation for `outcome` goes out with (0 the first time, one more for each
    change), in the caller's transaction; the outcome's event carries it to every member's mail."""
    sent = invitation_of(poll.id)
    if sent is None:
        sent = MeetingInvitation(poll_id=poll.id, sequence=0)
        db.session.add(sent)
    else:
        sent.sequence += 1
    sent.method, sent.outcome_id, sent.updated_at = "REQUEST", outcome.id, utcnow()
    db.session.flush()
    return sent.sequence


def cancel(poll: Poll, *, actor_id: int | None, why: str) -> bool:
    """Withdraw the poll's invitation, if one stands: METHOD:CANCEL with the next SEQUENCE goes to
    the members (event `meeting_cancelled`), in the caller's transaction. False if none stood."""
    sent = invitation_of(poll.id)
    if sent is None or sent.method != "REQUEST":
        return False
    outcome = db.session.get(Outcome, sent.outcome_id) if sent.outcome_id else None
    sent.sequence += 1
    sent.method, sent.updated_at = "CANCEL", utcnow()
    events.record("meeting_cancelled", actor_id=actor_id, **event_fields(poll), title=poll.title, why=why,
                  ics_sequence=sent.sequence, option_id=outcome.poll_option_id if outcome else None,
                  outcome_id=outcome.id if outcome else None)
    return True


@all_or_nothing
def withdraw_outcome(*, actor_id: int, poll_id: int) -> Poll:
    """Take the outcome back (the meeting is off): the page shows none, calendars are told CANCEL."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can withdraw the outcome."))
    if not db.session.scalar(select(Outcome.id).where(Outcome.poll_id == poll.id, Outcome.latest.is_(True))):
        raise Invalid(_("This poll has no outcome to withdraw."))
    db.session.execute(update(Outcome).where(Outcome.poll_id == poll.id).values(latest=False)
                       .execution_options(synchronize_session=False))
    cancel(poll, actor_id=user.id, why="The outcome was withdrawn.")
    db.session.commit()
    return poll


# --- Answers from members' calendars ---------------------------------------------------------

@dataclass
class Recorded:
    status: str  # accepted | tentative | declined
    slot: str  # the meeting's time, in the member's zone
    changed: bool  # False: the same answer was already recorded


def record_attendance(*, actor_id: int, poll_id: int, answer: CalendarReply, sender: str,
                      inbound_message_id: int | None = None, dry_run: bool = False) -> Recorded:
    """Record a member's answer to the poll's invitation, as their calendar sent it (iMIP REPLY).

    Refused (Invalid, NotAllowed, NotFound, each saying why for the sender) when the answer is for
    another event or an earlier version of this one, names someone other than the member, or the
    meeting was cancelled."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_answer_invitation(user, poll):
        raise NotAllowed(_("You can no longer see this poll, so your calendar's answer was not recorded."))
    sent = invitation_of(poll.id)
    from flask import current_app

    if sent is None or answer.uid != event_uid(poll, domain=current_app.config["MAIL_DOMAIN"]):
        raise NotFound(_("Your calendar answered an event we did not send for \u201c%(title)s\u201d, "
                         "so nothing was recorded.", title=poll.title))
    if sent.method == "CANCEL":
        raise Invalid(_("The meeting for \u201c%(title)s\u201d was cancelled, so your calendar's answer was "
                        "not recorded. You can remove it from your calendar.", title=poll.title))
    outcome = db.session.get(Outcome, sent.outcome_id) if sent.outcome_id else None
    option = db.session.get(PollOption, outcome.poll_option_id) if outcome and outcome.poll_option_id else None
    slot = local_slot(option.starts_at, user.time_zone, option.duration_minutes) if option else poll.title
    if answer.sequence < sent.sequence:
        raise Invalid(_("Your calendar answered an earlier version of the invitation for \u201c%(title)s\u201d; "
                        "it has changed since (the time is now %(slot)s). Please answer the newest invitation.",
                        title=poll.title, slot=slot))
    if answer.sequence > sent.sequence:
        raise NotFound(_("Your calendar answered a version of the invitation for \u201c%(title)s\u201d "
                         "that we never sent, so nothing was recorded.", title=poll.title))
    own = [(address, partstat) for address, partstat in answer.attendees if _is_theirs(address, user, sender)]
    if not own:
        raise NotAllowed(_("The answer names someone else as the attendee, not you, so it was not recorded. "
                           "Each member answers their own invitation."))
    partstat = own[0][1]
    status = ANSWERS.get(partstat)
    if status is None:
        raise Invalid(_("Your calendar answered \u201c%(answer)s\u201d; we record accepted, tentative or declined, "
                        "so nothing was recorded.", answer=partstat.lower() or "nothing"))
    row = db.session.scalar(select(MeetingAttendance).where(MeetingAttendance.poll_id == poll.id,
                                                            MeetingAttendance.user_id == user.id))
    changed = row is None or row.status != status or row.sequence != sent.sequence
    if dry_run:
        return Recorded(status, slot, changed)
    if row is None:
        row = MeetingAttendance(poll_id=poll.id, user_id=user.id)
        db.session.add(row)
    row.status, row.sequence, row.replied_at = status, sent.sequence, utcnow()
    row.inbound_message_id = inbound_message_id
    db.session.commit()
    return Recorded(status, slot, changed)


def _is_theirs(address: str, user: User, sender: str) -> bool:
    address = address.strip().lower()
    if not address:
        return False
    if address == (user.email or "").lower() or address == sender.strip().lower():
        return True
    owner = user_by_email(address)  # a proven alias of theirs
    return owner is not None and owner.id == user.id


# --- What the poll's page shows ---------------------------------------------------------------

@dataclass
class Attendance:
    """Answers to the standing invitation: counts for everyone who sees the poll, names beside."""

    invited: bool = False  # an invitation stands (sent and not cancelled)
    counts: dict[str, int] = field(default_factory=lambda: {status: 0 for status in ATTENDANCE})
    people: list[tuple[str, str]] = field(default_factory=list)  # (name, status), by status then name
    mine: str | None = None

    @property
    def summary(self) -> str:
        return ", ".join(f"{self.counts[s]} {s}" for s in ATTENDANCE)


def attendance(user, poll: Poll) -> Attendance:
    """The answers to the current invitation (answers to an earlier version no longer count)."""
    out = Attendance()
    sent = invitation_of(poll.id)
    if sent is None or sent.method != "REQUEST" or not policy.can_see_attendance(user, poll):
        return out
    out.invited = True
    rows = db.session.scalars(select(MeetingAttendance).where(
        MeetingAttendance.poll_id == poll.id, MeetingAttendance.sequence == sent.sequence))
    for row in rows:
        out.counts[row.status] += 1
        out.people.append((row.user.display_name, row.status))
        if user is not None and getattr(user, "id", None) == row.user_id:
            out.mine = row.status
    out.people.sort(key=lambda p: (ATTENDANCE.index(p[1]), p[0].lower()))
    return out
