"""Closing a poll (by hand or on schedule), the closing-soon notice, reopening; an anonymous
poll's stances are unlinked from their voters when it closes."""
from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import func, select, update

from ... import policy
from ...extensions import db
from ...i18n import _
from ...models import InboundMessage, Participation, Poll, Stance, StanceChoice
from .. import events
from ..accounts import acting_member
from ..errors import NotAllowed
from .common import CLOSING_SOON, aware, check_closing, event_fields, now_or, visible_poll
from .reminders import non_voter_ids




def _scrub_anonymous(poll: Poll) -> list[int]:
    """Unlink every stance of an anonymous poll from its voter (see the module docstring).

    Returns the stored emails votes came from: they name their sender, so the caller deletes them.
    """
    stances = list(db.session.scalars(select(Stance).where(Stance.poll_id == poll.id)))
    emailed = {s.inbound_message_id for s in stances if s.inbound_message_id is not None}
    # A second copy of an emailed vote (same Message-ID, kept as a duplicate) names its sender too.
    emailed |= set(db.session.scalars(select(InboundMessage.id).where(InboundMessage.duplicate_of_id.in_(emailed))))
    emailed = sorted(emailed)
    kept = [(s.reason, s.choices) for s in stances if s.latest]
    for s in stances:
        db.session.delete(s)
    db.session.flush()
    random.SystemRandom().shuffle(kept)
    for reason, choices in kept:
        # The source could single out an email voter, so every anonymous stance reads "web"; the
        # inbound message it came from names its sender, so none is kept.
        stance = Stance(poll_id=poll.id, participant_id=None, reason=reason, latest=True, created_at=None,
                        source="web", inbound_message_id=None)
        stance.stance_choices = [StanceChoice(poll_option_id=k, score=v) for k, v in choices.items()]
        db.session.add(stance)
    db.session.flush()
    # The column default would stamp the insert time; an explicit NULL keeps no time at all.
    db.session.execute(update(Stance).where(Stance.poll_id == poll.id).values(created_at=None, inbound_message_id=None)
                       .execution_options(synchronize_session="fetch"))
    return emailed


def _claim_once(poll_id: int, *still, **values) -> Poll | None:
    """One conditional UPDATE: of the callers (jobs, schedulers, people) that find `still` true, exactly
    one wins and gets the fresh poll; the others get None."""
    won = db.session.execute(update(Poll).where(Poll.id == poll_id, *still).values(**values)
                             .execution_options(synchronize_session=False)).rowcount
    if won != 1:
        db.session.rollback()
        return None
    poll = db.session.get(Poll, poll_id)
    db.session.refresh(poll)
    return poll


def _close(poll_id: int, *, actor_id: int | None, now: datetime, reason: str,
           inbound_message_id: int | None = None) -> bool:
    """Close once: the conditional update lets exactly one caller (job or person) win."""
    poll = _claim_once(poll_id, Poll.closed_at.is_(None), Poll.deleted_at.is_(None), Poll.draft.is_(False),
                       closed_at=now)
    if poll is None:
        return False
    emailed_votes = _scrub_anonymous(poll) if poll.anonymous else []
    voters = db.session.scalar(select(func.count(Participation.id)).where(Participation.poll_id == poll.id)) or 0
    events.record("poll_closed", actor_id=actor_id, **event_fields(poll), closed_by=reason,
                          voter_count=voters, title=poll.title, inbound_message_id=inbound_message_id)
    db.session.commit()
    if emailed_votes:
        from ..inbound import delete_messages

        delete_messages(emailed_votes)
    return True


def close_poll(*, actor_id: int, poll_id: int, now: datetime | None = None,
               inbound_message_id: int | None = None) -> Poll:
    """Close early (the author or a group admin)."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can close it."))
    if poll.closed_at is not None:
        raise NotAllowed(_("This poll is already closed."))
    if poll.draft:
        raise NotAllowed(_("This poll is a draft: open it for votes, or delete it."))
    _close(poll.id, actor_id=user.id, now=now_or(now), reason="person", inbound_message_id=inbound_message_id)
    return db.session.get(Poll, poll_id)


def close_due_polls(*, now: datetime | None = None) -> int:
    """Close every open poll whose closing time has passed; safe to run twice at once."""
    now = now_or(now)
    due = list(db.session.scalars(
        select(Poll.id).where(Poll.closed_at.is_(None), Poll.deleted_at.is_(None), Poll.draft.is_(False),
                              Poll.closing_at <= now)
        .order_by(Poll.closing_at)
    ))
    db.session.rollback()  # end the read transaction before the per-poll writes
    return sum(_close(poll_id, actor_id=None, now=now, reason="schedule") for poll_id in due)


def send_closing_soon(*, now: datetime | None = None) -> int:
    """Record `poll_closing_soon` once per poll when it is within its notice time (`closing_soon_hours`,
    24 unless set) of closing, for its audience (`closing_soon_audience`: nobody, the author, the undecided,
    everyone who may vote)."""
    from datetime import timedelta

    from .running import MAX_NOTICE_HOURS, closing_soon_recipients

    now = now_or(now)
    due = list(db.session.execute(
        select(Poll.id, Poll.closing_at, Poll.closing_soon_hours).where(
            Poll.closed_at.is_(None), Poll.deleted_at.is_(None), Poll.draft.is_(False), Poll.closing_soon_sent_at.is_(None),
            Poll.closing_at > now, Poll.closing_at <= now + max(CLOSING_SOON, timedelta(hours=MAX_NOTICE_HOURS)),
        )
    ).all())
    db.session.rollback()
    sent = 0
    for poll_id, closing_at, hours in due:
        window = timedelta(hours=hours or 24)
        if aware(closing_at) - now > window:
            continue  # not yet: this poll's notice goes out later
        poll = _claim_once(poll_id, Poll.closing_soon_sent_at.is_(None), Poll.closed_at.is_(None),
                           closing_soon_sent_at=now)
        if poll is None:
            continue
        if poll.created_at and poll.closing_at - poll.created_at <= window:
            db.session.commit()  # a poll shorter than its notice time gets no "closing soon" notice
            continue
        audience = poll.closing_soon_audience or "undecided"
        recipients = closing_soon_recipients(poll)
        if not recipients:
            db.session.commit()  # nobody to tell (the audience is nobody, or everyone has voted)
            continue
        events.record("poll_closing_soon", actor_id=None, **event_fields(poll), title=poll.title,
                      closing_at=poll.closing_at.isoformat(), non_voter_ids=non_voter_ids(poll),
                      audience=audience, recipient_ids=recipients)
        db.session.commit()
        sent += 1
    return sent


def reopen_poll(*, actor_id: int, poll_id: int, closing_at: datetime, now: datetime | None = None,
                inbound_message_id: int | None = None) -> Poll:
    """Reopen a closed poll with a new closing time (never an anonymous one)."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if poll.closed_at is None:
        raise NotAllowed(_("This poll is still open."))
    if poll.anonymous:
        raise NotAllowed(_("Anonymous polls can't be reopened: their votes were unlinked from voters at closing."))
    if not policy.can_reopen_poll(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can reopen it."))
    now = now_or(now)
    poll.closing_at = check_closing(closing_at, now)
    poll.closed_at = None
    poll.closing_soon_sent_at = None
    events.record("poll_reopened", actor_id=user.id, **event_fields(poll), title=poll.title,
                          closing_at=poll.closing_at.isoformat(), inbound_message_id=inbound_message_id)
    from ..meetings import cancel

    cancel(poll, actor_id=user.id, why="The poll was reopened to find another time.")  # calendars: CANCEL
    db.session.commit()
    return poll
