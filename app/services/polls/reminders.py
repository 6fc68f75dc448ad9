"""Who may vote and who has not yet, and reminding them."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ... import policy
from ...extensions import db
from ...i18n import _, number
from ...models import Event, Membership, Participation, Poll, PollVoter
from .. import events
from ..accounts import acting_member
from ..errors import Invalid, NotAllowed
from .common import event_fields, visible_poll


MESSAGE_MAX = 2_000
# A person is reminded about one poll at most once a day (by "remind", or by name).
REMIND_AGAIN_AFTER = timedelta(days=1)


def electorate_ids(poll: Poll) -> list[int]:
    """Everyone who may vote now: the group's members (if the whole group) and the named people."""
    ids = set(db.session.scalars(select(PollVoter.user_id).where(PollVoter.poll_id == poll.id,
                                                                  PollVoter.user_id.is_not(None))))
    if poll.voter_scope == "group":
        ids |= set(db.session.scalars(select(Membership.user_id).where(Membership.group_id == poll.group_id)))
    return sorted(ids)


def non_voter_ids(poll: Poll) -> list[int]:
    voted = set(db.session.scalars(select(Participation.user_id).where(Participation.poll_id == poll.id)))
    return [i for i in electorate_ids(poll) if i not in voted]


def remind(*, actor_id: int, poll_id: int, message: str = "", inbound_message_id: int | None = None) -> int:
    """Remind those who have not voted yet, with a message; returns how many."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can send reminders."))
    if not poll.is_open:
        raise NotAllowed(_("This poll is a draft: nobody can vote yet.") if poll.draft else
                         _("This poll is closed, so there is nobody to remind."))
    message = (message or "").replace("\r\n", "\n").strip()
    if len(message) > MESSAGE_MAX:
        raise Invalid(_("The message can be at most %(limit)s characters.", limit=number(MESSAGE_MAX)), field="message")
    recipients = non_voter_ids(poll)
    if not recipients:
        raise Invalid(_("Everyone has voted already."), field="message")
    reminded = recently_reminded(poll.id)
    recipients = [i for i in recipients if i not in reminded]
    if not recipients:
        raise Invalid(_("Everyone who has not voted was reminded in the last day; a person is reminded at most "
                        "once a day."), field="message")
    events.record("poll_reminder", actor_id=user.id, **event_fields(poll), title=poll.title,
                          message=message, recipient_ids=recipients, inbound_message_id=inbound_message_id)
    db.session.commit()
    return len(recipients)


def recently_reminded(poll_id: int, now: datetime | None = None) -> set[int]:
    """Who was reminded about this poll in the last day (a person is reminded at most once a day)."""
    from .common import now_or

    since = now_or(now) - REMIND_AGAIN_AFTER
    ids: set[int] = set()
    for data in db.session.scalars(select(Event.data).where(Event.poll_id == poll_id, Event.kind == "poll_reminder",
                                                            Event.created_at > since)):
        ids |= set((data or {}).get("recipient_ids") or [])
    return ids
