"""Casting and changing a vote (history kept), by web, mail or one-click link."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from ... import policy
from ...extensions import db
from ...i18n import _
from ...models import Participation, Poll, PollOption, Stance, StanceChoice, User
from ...polls import VoteError, get_type
from ...timezones import local_time
from .. import events
from ..accounts import acting_member
from ..errors import Invalid, NotAllowed, NotFound
from .common import event_fields, now_or, visible_poll


SOURCES = ("web", "email", "link")


def current_stance(user_id: int | None, poll_id: int) -> Stance | None:
    """This person's current vote (only findable while it still carries their id)."""
    if user_id is None:
        return None
    return db.session.scalar(
        select(Stance).where(Stance.poll_id == poll_id, Stance.participant_id == user_id, Stance.latest.is_(True))
    )


def vote_history(user_id: int | None, poll_id: int) -> list[Stance]:
    """Earlier (superseded) votes of this person, newest first."""
    if user_id is None:
        return []
    return list(db.session.scalars(
        select(Stance).where(Stance.poll_id == poll_id, Stance.participant_id == user_id, Stance.latest.is_(False))
        .order_by(Stance.id.desc())
    ))


def cast_vote(
    *, actor_id: int, poll_id: int, choices: dict | None = None, text: str | None = None,
    reason: str | None = None, source: str = "web", now: datetime | None = None,
    inbound_message_id: int | None = None,
) -> Stance:
    """Vote (or change a vote). `choices` maps option id → score; or `text` is a vote in the reply grammar."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if poll.draft:
        raise NotAllowed(_("This poll is a draft: votes are taken once it is opened."))
    if policy.poll_group(poll).archived_at is not None:
        raise NotAllowed(_("This poll's group is archived: it is read-only, so votes are no longer taken."))
    if not poll.is_open:
        raise NotAllowed(_("This poll closed on %(when)s; votes are no longer taken.",
                           when=local_time(poll.closed_at, user.time_zone)))
    if not policy.may_vote(user, poll):
        raise NotAllowed(_("You are not one of the people invited to vote in this poll."))
    kind = get_type(poll.poll_type)
    try:
        if text is not None:
            parsed = kind.parse_vote_text(poll, text)
            clean, reason = parsed.choices, parsed.reason
        else:
            clean = kind.validate(poll, choices or {}, reason)
            reason = kind.clean_reason(poll, reason)
    except VoteError as error:
        raise Invalid(error.message, field="vote") from None
    now = now_or(now)
    previous = current_stance(user.id, poll.id)
    if previous is not None:
        previous.latest = False
    stance = Stance(poll_id=poll.id, participant_id=user.id, reason=reason, latest=True,
                    created_at=now, source=source if source in SOURCES else "web",
                    inbound_message_id=inbound_message_id)
    stance.stance_choices = [StanceChoice(poll_option_id=int(k), score=int(v)) for k, v in clean.items()]
    db.session.add(stance)
    if not policy.has_voted(user, poll):
        db.session.add(Participation(poll_id=poll.id, user_id=user.id))
    db.session.flush()
    if poll.discussion_id:
        from ..discussions import participate

        participate(user.id, poll.discussion, read=False)
    if poll.anonymous:
        # No actor, no stance id, no choices: the log must not say who chose what.
        events.record("stance_created", actor_id=None, **event_fields(poll), anonymous=True)
    else:
        events.record(
            "stance_created", actor_id=user.id, **event_fields(poll), stance_id=stance.id,
            changed=previous is not None, choice=kind.describe_choices(poll, clean),
            source=stance.source,
        )
    db.session.commit()
    return stance


def remove_vote(*, actor_id: int, poll_id: int) -> Stance:
    """Take back one's vote while the poll is open: it no longer counts and one no longer counts as
    having voted; the stance stays in one's history (anonymous polls drop it at closing)."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_remove_vote(user, poll):
        if not poll.is_open:
            raise NotAllowed(_("This poll is not open, so votes can no longer be changed."))
        raise Invalid(_("You have not voted in this poll, so there is no vote to remove."), field="vote")
    stance = current_stance(user.id, poll.id)
    stance.latest = False
    db.session.execute(delete(Participation).where(Participation.poll_id == poll.id, Participation.user_id == user.id))
    # Anonymous polls: the log does not say who took a vote back.
    events.record("stance_removed", actor_id=None if poll.anonymous else user.id, **event_fields(poll))
    db.session.commit()
    return stance


def one_click_target(*, user_id: int, poll_id: int, option_id: int) -> tuple[Poll, User, PollOption]:
    """What a signed one-click vote link names: the poll, the voter and the option (NotFound if any is gone)."""
    poll = db.session.get(Poll, poll_id)
    voter = db.session.get(User, user_id)
    if poll is None or voter is None or voter.deleted_at is not None or not policy.can_view_poll(voter, poll):
        # Also when the voter may no longer see the poll (removed from a secret group, say): the
        # link's page must not show them its title.
        raise NotFound(_("That voting link names something that no longer exists."))
    option = next((o for o in poll.options if o.id == option_id), None)
    if option is None:
        raise NotFound(_("That voting link names an option this poll doesn't have."))
    return poll, voter, option


def one_click_choices(poll: Poll, option_id: int) -> dict[int, int]:
    """The vote a one-click link casts: that one option (types whose vote is one option)."""
    if not get_type(poll.poll_type).one_click(poll):
        raise Invalid(_("This kind of poll can't be answered in one click; please vote on the poll page."))
    if option_id not in {o.id for o in poll.options}:
        raise Invalid(_("That link names an option this poll doesn't have."))
    return {option_id: 1}
